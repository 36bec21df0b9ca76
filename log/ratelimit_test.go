package log

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"golang.org/x/mod/sumdb/note"
)

func TestRateLimiter(t *testing.T) {
	now := time.Unix(1000, 0)
	clock := func() time.Time { return now }
	r := newRateLimiter(10, 2, clock) // 10/s overall, 2/s per key
	for i := range 2 {
		if _, ok := r.allow([]string{"a"}); !ok {
			t.Fatalf("call %d for key a refused within its burst", i)
		}
	}
	d, ok := r.allow([]string{"a"})
	if ok || d <= 0 || d > time.Second {
		t.Fatalf("third call for a in the same instant: ok %v, retry %v; want refused with a retry under 1s", ok, d)
	}
	// Another key has its own bucket; the refused call took no global token.
	for i := range 2 {
		if _, ok := r.allow([]string{"b"}); !ok {
			t.Fatalf("call %d for key b refused", i)
		}
	}
	// A claim signed by c and a needs a token from each: a has none, so the
	// claim is refused and c keeps the token it would have spent.
	if _, ok := r.allow([]string{"c", "a"}); ok {
		t.Fatal("a claim by c and a allowed with a empty")
	}
	for i := range 2 {
		if _, ok := r.allow([]string{"c"}); !ok {
			t.Fatalf("call %d for c refused: c lost a token to a refused joint claim", i)
		}
	}
	// The global bucket: 10 burst, drained by many keys.
	now = now.Add(time.Hour)
	n := 0
	for i := range 20 {
		if _, ok := r.allow([]string{string(rune('k' + i))}); ok {
			n++
		}
	}
	if n != 10 {
		t.Fatalf("%d calls allowed in one instant under a global rate of 10/s, want 10", n)
	}
	// Zero rates mean no limit.
	free := newRateLimiter(0, 0, clock)
	for range 1000 {
		if _, ok := free.allow([]string{"x"}); !ok {
			t.Fatal("an unlimited limiter refused")
		}
	}
}

func TestParseBuilders(t *testing.T) {
	_, k1, err := note.GenerateKey(bytes.NewReader(bytes.Repeat([]byte{1}, 32)), "alice.example")
	if err != nil {
		t.Fatal(err)
	}
	keys, err := ParseBuilders([]byte("# builders\n" + k1 + "  # alice\n\n"))
	if err != nil || len(keys) != 1 || !keys[k1] {
		t.Fatalf("ParseBuilders = %v, %v", keys, err)
	}
	for _, bad := range []string{"not a key\n", k1 + "\n" + k1 + "\n", "a+00000000+AAAA\n"} {
		if _, err := ParseBuilders([]byte(bad)); err == nil || !strings.Contains(err.Error(), "line") {
			t.Errorf("ParseBuilders(%q): %v, want an error naming the line", bad, err)
		}
	}
}
