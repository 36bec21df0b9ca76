package log

import (
	"fmt"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"
)

// BenchmarkIndexCommit measures what the index committer costs per
// commitment on a bbolt store, without the rest of the log: computing the
// update (node reads included) from the store's index state and committing
// its writes, for intervals of 256 or 1,024 claims (see indexSim), on a
// map built first from 50,000 such claims. It reports the process's CPU time per claim,
// which the other jobs of a shared machine disturb less than wall time, and
// the size of the bbolt file (which holds only the index) per claim.
func BenchmarkIndexCommit(b *testing.B) {
	for _, claims := range []int{256, 1024} {
		b.Run(fmt.Sprintf("claims=%d", claims), func(b *testing.B) { benchIndexCommit(b, claims, 50_000, false) })
	}
	// The load of `attestlog bench --mode add --builders 256`: four new
	// keys a claim, on the map of 25,000 to 400,000 such claims.
	for _, initial := range []int{25_000, 100_000, 400_000} {
		b.Run(fmt.Sprintf("agree=1/initial=%d", initial), func(b *testing.B) { benchIndexCommit(b, 256, initial, true) })
	}
	// The same with commitments of 1,024 claims (serve --index-entries 1024).
	b.Run("agree=1/claims=1024/initial=100000", func(b *testing.B) { benchIndexCommit(b, 1024, 100_000, true) })
}

func benchIndexCommit(b *testing.B, claims, initial int, agreeOne bool) {
	path := filepath.Join(b.TempDir(), "log.db")
	s, err := OpenBolt(path)
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	cs := &readCountStore{BoltStore: s}
	sim := newIndexSim(cs, 5)
	if agreeOne {
		sim.agreeOne(256)
	}
	for range initial / 1000 {
		sim.claims(1000)
		sim.commit(b)
	}
	cs.reads = 0
	var cpu time.Duration
	for b.Loop() {
		sim.claims(claims)
		start := cpuTime()
		sim.commit(b)
		cpu += cpuTime() - start
	}
	b.ReportMetric(float64(cpu.Microseconds())/float64(b.N*claims), "cpu-µs/claim")
	b.ReportMetric(float64(b.Elapsed().Microseconds())/float64(b.N*claims), "µs/claim")
	b.ReportMetric(float64(fileSize(b, path))/float64(initial+b.N*claims), "file-bytes/claim")
	b.ReportMetric(float64(len(sim.keys)), "keys")
	b.ReportMetric(float64(cs.reads)/float64(b.N), "reads/commitment")
}

func fileSize(b *testing.B, path string) int64 {
	fi, err := os.Stat(path)
	if err != nil {
		b.Fatal(err)
	}
	return fi.Size()
}

// cpuTime returns the user and system CPU time of the process so far.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// readCountStore counts the index reads (IndexGet and IndexGetMany calls:
// transactions, or round trips to a database) made through it.
type readCountStore struct {
	*BoltStore
	reads int
}

func (c *readCountStore) IndexGet(space string, key []byte) ([]byte, error) {
	c.reads++
	return c.BoltStore.IndexGet(space, key)
}

func (c *readCountStore) IndexGetMany(reads []IndexRead) ([][]byte, error) {
	c.reads++
	return c.BoltStore.IndexGetMany(reads)
}
