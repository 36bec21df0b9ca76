package web

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/attestlog/attestlog/log"
)

func FuzzParseQuery(f *testing.F) {
	for _, s := range []string{
		"", "42", "007", "sha256:2CF24DBA5FB0A30E26E83B2AC5B9E29E1B161E5C1FA7425E73043362938B9824",
		"ci.example.org+1cc5f2ef+AWdPkXLp6VCSQXtEp9K5E4+Fa3g0mN8Q4p7m3L9qT2Yc",
		"git+https://Example.org/hello.git@v1 0123456789ABCDEF0123456789abcdef01234567 linux/AMD64",
		"git+https://example.org/hello 0123", "<script>", "a b c d",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		q, err := parseQuery(s)
		if err != nil {
			return
		}
		again, err := parseQuery(q.String())
		if err != nil || again != q {
			t.Fatalf("parseQuery(%q) = %+v, whose String %q parses to %+v, %v", s, q, q.String(), again, err)
		}
	})
}

func FuzzParseCursor(f *testing.F) {
	for _, s := range []string{"0.0", "12.3", "1", "1.", ".1", "01.0", "1.4294967296", "-1.0"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		c, ok := parseCursor(s)
		if ok && fmt.Sprintf("%d.%d", c.Claim, c.Subject) != s {
			t.Fatalf("parseCursor(%q) = %+v, which formats differently", s, c)
		}
	})
}

func TestRateTracker(t *testing.T) {
	t0 := time.Unix(1_800_000_000, 0)
	tr := newRateTracker(t0, 100)
	if r := tr.observe(t0.Add(time.Second), 110); r.Known {
		t.Errorf("a rate after 1s: %+v", r)
	}
	if r := tr.observe(t0.Add(time.Minute), 160); !r.Known || r.PerMinute != 60 || r.Over != time.Minute {
		t.Errorf("after a minute: %+v, want 60/min over 1m", r)
	}
	// An hour later, the window drops what is older than rateWindow, but
	// keeps the sample at its start.
	for i := 2; i <= 60; i++ {
		tr.observe(t0.Add(time.Duration(i)*time.Minute), 160+int64(i-1)*10)
	}
	r := tr.observe(t0.Add(61*time.Minute), 160+60*10)
	if !r.Known || r.PerMinute != 10 || r.Over > rateWindow+time.Minute {
		t.Errorf("after an hour at 10/min: %+v", r)
	}
	if n := len(tr.samples); n > int(rateWindow/time.Minute)+2 {
		t.Errorf("%d samples kept", n)
	}
}

func TestHealthOf(t *testing.T) {
	rb := &log.RolledBackError{Witness: "w1", WitnessSize: 9, TreeSize: 5, Checkpoint: []byte("x")}
	tests := []struct {
		err         error
		class, want string
	}{
		{nil, "ok", "healthy"},
		{log.ErrUnconfirmed, "warn", "starting"},
		{fmt.Errorf("wrapped: %w", rb), "bad", "rolled back"},
	}
	for _, tt := range tests {
		h := healthOf(tt.err)
		if h.Class != tt.class || h.Label != tt.want {
			t.Errorf("healthOf(%v) = %+v, want %s %s", tt.err, h, tt.class, tt.want)
		}
	}
	if h := healthOf(rb); !strings.Contains(h.Msg, "witness w1 has cosigned tree size 9") || !strings.Contains(h.Msg, "restore") {
		t.Errorf("rolled back: %q does not say what happened and what to do", h.Msg)
	}
}
