package log_test

import (
	"fmt"
	"path/filepath"
	"testing"

	"github.com/attestlog/attestlog/log"
	"github.com/attestlog/attestlog/log/claim"
)

// BenchmarkIndexBusyIdentity measures what indexing one more claim of a
// build costs when the store already holds n claims of it: all naming one
// digest (no mismatch yet), or each its own digest (a mismatch of n
// digests). The cost must not grow with n.
func BenchmarkIndexBusyIdentity(b *testing.B) {
	c := buildClaim([]byte("next"), "bench")
	id := c.Identities()[0]
	ik := id.Key()
	for _, kind := range []string{"one digest", "n digests"} {
		for _, n := range []int{100, 1000, 10000} {
			b.Run(fmt.Sprintf("%s/n=%d", kind, n), func(b *testing.B) {
				store, err := log.OpenBolt(filepath.Join(b.TempDir(), "log.db"))
				if err != nil {
					b.Fatal(err)
				}
				defer store.Close()
				entries := make([]log.NewEntry, n)
				for i := range entries {
					bin := []byte("same")
					if kind == "n digests" {
						bin = fmt.Appendf(nil, "binary %d", i)
					}
					entries[i] = log.NewEntry{Parsed: log.ParsedClaim{Entry: &claim.Entry{}, Claim: buildClaim(bin, "bench")}}
				}
				writes, err := log.ClaimIndex{}.Index(store, 0, entries)
				if err != nil {
					b.Fatal(err)
				}
				if err := store.Commit(&log.Batch{Start: 0, Checkpoint: []byte("bench"), Index: writes}); err != nil {
					b.Fatal(err)
				}
				next := []log.NewEntry{{Parsed: log.ParsedClaim{Entry: &claim.Entry{}, Claim: c}}}
				if kind == "one digest" { // one more claim agreeing with them all
					next[0].Parsed = log.ParsedClaim{Entry: &claim.Entry{}, Claim: buildClaim([]byte("same"), "bench")}
				}
				b.ResetTimer()
				for b.Loop() {
					if _, err := (log.ClaimIndex{}).Index(store, int64(n), next); err != nil {
						b.Fatal(err)
					}
				}
				b.StopTimer()
				records := 0
				store.IndexScan("identity", ik[:], func(_, _ []byte) bool { records++; return true })
				if records != n {
					b.Fatalf("the store holds %d claims of the identity, want %d", records, n)
				}
			})
		}
	}
}
