package log_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/attestlog/attestlog/client"
	"github.com/attestlog/attestlog/log"
	"github.com/attestlog/attestlog/log/logtest"
	"golang.org/x/mod/sumdb/note"
)

// TestCorruptStore damages a store file in many ways (truncations, random
// byte flips) and checks that each is either refused with an error (at
// open, at New, or when a resource is read) or is still a log that the
// invariant checker accepts in full: never a panic, a crash or a wrong answer.
func TestCorruptStore(t *testing.T) {
	variants := 120
	if testing.Short() {
		variants = 30
	}
	if s := os.Getenv("ATTESTLOG_CORRUPT_VARIANTS"); s != "" {
		variants, _ = strconv.Atoi(s)
	}
	dir := t.TempDir()
	func() {
		l := logtest.New(t, dir, log.Config{})
		var es [][]byte
		for i := range 2000 {
			es = append(es, fmt.Appendf(nil, "entry %d", i))
		}
		l.Append(t, es...)
		l.Store.Close()
	}()
	orig, err := os.ReadFile(filepath.Join(dir, "log.db"))
	if err != nil {
		t.Fatal(err)
	}
	skey, vkey := logtest.Keys(logtest.Origin)
	signer, _ := note.NewSigner(skey)
	verifier, _ := note.NewVerifier(vkey)
	rng := rand.New(rand.NewPCG(1, 2))
	outcomes := map[string]int{}
	for i := range variants {
		b := append([]byte(nil), orig...)
		if i%3 == 0 {
			b = b[:rng.IntN(len(b))]
		} else {
			for range 1 + rng.IntN(8) {
				b[rng.IntN(len(b))] ^= byte(1 + rng.IntN(255))
			}
		}
		path := filepath.Join(t.TempDir(), "log.db")
		if err := os.WriteFile(path, b, 0o600); err != nil {
			t.Fatal(err)
		}
		outcomes[openAndCheck(path, signer, verifier)]++
	}
	t.Logf("%d damaged stores: %v", variants, outcomes)
	if outcomes["panic"] > 0 {
		t.Fatalf("%d damaged stores made the log panic", outcomes["panic"])
	}
}

// openAndCheck opens a store and checks the whole log, reporting where a
// damage was caught.
func openAndCheck(path string, signer note.Signer, v note.Verifier) (outcome string) {
	defer func() {
		if r := recover(); r != nil {
			outcome = "panic"
		}
	}()
	s, err := log.OpenBolt(path)
	if err != nil {
		return "refused at open"
	}
	defer s.Close()
	l, err := log.New(log.Config{Origin: logtest.Origin, Signer: signer, Store: s})
	if err != nil {
		return "refused by New"
	}
	if _, err := client.CheckLog(context.Background(), l, v); err != nil {
		return "refused when read"
	}
	return "intact"
}
