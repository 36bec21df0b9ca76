package log_test

import (
	"context"
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/attestlog/attestlog/log"
	"github.com/attestlog/attestlog/log/logtest"
)

// benchEntry returns a distinct 300-byte entry: a counter, then random bytes.
func benchEntry(rng *rand.Rand, n uint64) []byte {
	e := make([]byte, 300)
	binary.BigEndian.PutUint64(e, n)
	for i := 8; i+8 <= len(e); i += 8 {
		binary.LittleEndian.PutUint64(e[i:], rng.Uint64())
	}
	return e
}

// BenchmarkAppend measures durable appends of distinct 300-byte entries
// (deduplication on) to the bbolt store, with 1, 64 and 256 concurrent
// appenders each waiting for its index. It reports appends/s and the median
// and 99th-percentile latency of one append, and appends/s over the ninth
// tenth of the run (the last one ends with the appenders running out),
// which -benchtime 10000000x makes the rate at 9M entries.
func BenchmarkAppend(b *testing.B) {
	for _, appenders := range []int{1, 64, 256} {
		b.Run(fmt.Sprintf("appenders=%d", appenders), func(b *testing.B) {
			l := logtest.New(b, "", log.Config{})
			var next atomic.Uint64
			lat := make([][]time.Duration, appenders)
			var wg sync.WaitGroup
			var done atomic.Int64
			var tenth8, tenth9 atomic.Int64 // UnixNano when eight and nine tenths were done
			b.ResetTimer()
			start := time.Now()
			for g := range appenders {
				wg.Go(func() {
					rng := rand.New(rand.NewPCG(uint64(g), 0))
					for {
						n := next.Add(1)
						if n > uint64(b.N) {
							return
						}
						e := benchEntry(rng, n)
						t0 := time.Now()
						if _, err := l.Add(e)(context.Background()); err != nil {
							b.Error(err)
							return
						}
						lat[g] = append(lat[g], time.Since(t0))
						switch done.Add(1) {
						case int64(b.N) * 8 / 10:
							tenth8.Store(time.Now().UnixNano())
						case int64(b.N) * 9 / 10:
							tenth9.Store(time.Now().UnixNano())
						}
					}
				})
			}
			wg.Wait()
			elapsed := time.Since(start)
			b.StopTimer()
			all := slices.Concat(lat...)
			slices.Sort(all)
			b.ReportMetric(float64(b.N)/elapsed.Seconds(), "appends/s")
			b.ReportMetric(float64(all[len(all)/2].Microseconds())/1000, "p50-ms")
			b.ReportMetric(float64(all[len(all)*99/100].Microseconds())/1000, "p99-ms")
			if t8, t9 := tenth8.Load(), tenth9.Load(); b.N >= 10 && t9 > t8 {
				b.ReportMetric(float64(b.N*9/10-b.N*8/10)/time.Duration(t9-t8).Seconds(), "ninth-tenth-appends/s")
			}
		})
	}
}

// BenchmarkProofs measures inclusion and consistency proofs from stored
// tiles in a tree of 1,000,000 entries.
func BenchmarkProofs(b *testing.B) {
	const size = 1_000_000
	l := logtest.New(b, "", log.Config{})
	rng := rand.New(rand.NewPCG(1, 2))
	for done := 0; done < size; {
		var chunk [][]byte
		for i := 0; i < 50_000 && done < size; i++ {
			done++
			chunk = append(chunk, benchEntry(rng, uint64(done)))
		}
		l.Append(b, chunk...)
	}
	b.Run("inclusion", func(b *testing.B) {
		for i := 0; b.Loop(); i++ {
			if _, err := l.InclusionProof(rng.Int64N(size), size); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("consistency", func(b *testing.B) {
		for b.Loop() {
			if _, err := l.ConsistencyProof(1+rng.Int64N(size-1), size); err != nil {
				b.Fatal(err)
			}
		}
	})
}
