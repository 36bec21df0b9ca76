package client_test

import (
	"fmt"
	"os"
	"runtime"
	"strconv"
	"testing"
	"time"

	"github.com/attestlog/attestlog/log/claim"
	"github.com/attestlog/attestlog/log/vindex"
)

// BenchmarkMonitorRecompute measures what a monitor process pays on its
// first pass to recompute the log's map (vindex.Replay, as loadReplay and
// CheckLog run it) from 100,000 entries already in memory: each a claim of
// its own artifact digest (five or six keys), ten claims per source commit,
// four builders, with an index commitment every 256 entries whose root is
// recomputed. Fetching and authenticating the tiles comes on top.
// ATTESTLOG_BENCH_ENTRIES sets another number of entries (1000000 for the
// figure at 1M claims: some 4 minutes and 6 GiB in all).
func BenchmarkMonitorRecompute(b *testing.B) {
	const interval = 256
	n := 100_000
	if v := os.Getenv("ATTESTLOG_BENCH_ENTRIES"); v != "" {
		var err error
		if n, err = strconv.Atoi(v); err != nil || n <= 0 {
			b.Fatalf("ATTESTLOG_BENCH_ENTRIES=%q: want a positive number of entries", v)
		}
	}
	w := newWorld(b)
	builders := []string{"ci-a", "alice", "bob", "carol"}
	entries := make([][]byte, 0, n+n/interval)
	var rp vindex.Replay
	for i := 0; len(entries) < cap(entries); i++ {
		if len(entries)%(interval+1) == interval {
			root, err := rp.RootAt(rp.Size())
			if err != nil {
				b.Fatal(err)
			}
			e := vindex.Commitment{Size: rp.Size(), Root: root}.Marshal()
			entries = append(entries, e)
			rp.Add(e)
			continue
		}
		c := &claim.Claim{Subjects: []claim.Subject{{Name: fmt.Sprintf("a%d", i%10), SHA256: sha(fmt.Sprint("artifact ", i))}},
			Source: testSource, Commit: fmt.Sprintf("%040x", i/10), Recipe: sha("recipe"), Platform: "linux/amd64",
			BuilderID: "https://builders.example/" + builders[i%4]}
		st, err := claim.NewStatement(c)
		if err != nil {
			b.Fatal(err)
		}
		e, err := claim.SignStatement(st, w.b[builders[i%4]])
		if err != nil {
			b.Fatal(err)
		}
		entries = append(entries, e.Marshal())
		rp.Add(entries[len(entries)-1])
	}
	b.ResetTimer()
	for b.Loop() {
		start := time.Now()
		var r vindex.Replay
		for _, e := range entries {
			idx := r.Size()
			r.Add(e)
			if c, err := vindex.ParseCommitment(e); err == nil {
				if root, err := r.RootAt(c.Size); err != nil || root != c.Root {
					b.Fatalf("commitment at %d: %v", idx, err)
				}
			}
		}
		b.ReportMetric(float64(time.Since(start).Milliseconds()), "ms/recompute")
		var m runtime.MemStats
		runtime.ReadMemStats(&m)
		b.ReportMetric(float64(r.Nodes()), "nodes")
		b.ReportMetric(float64(m.HeapAlloc)/(1<<20), "heap-MiB")
	}
}
