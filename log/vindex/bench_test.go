package vindex

import (
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"syscall"
	"testing"
	"time"
)

// benchMap returns a map of n random keys, one index each (0 to n-1), and
// the keys.
func benchMap(b *testing.B, n int) (*MemStore, []Key) {
	b.Helper()
	r := rand.New(rand.NewPCG(1, 2))
	keys := make([]Key, n)
	s := &MemStore{}
	start := time.Now()
	const batch = 1 << 14
	adds := make([]Addition, 0, batch)
	for i := range keys {
		binary.LittleEndian.PutUint64(keys[i][:], r.Uint64())
		binary.LittleEndian.PutUint64(keys[i][8:], r.Uint64())
		keys[i] = DigestKey(string(keys[i][:16]))
		adds = append(adds, Addition{keys[i], int64(i)})
		if len(adds) == batch || i == n-1 {
			if _, err := Update(s, adds); err != nil {
				b.Fatal(err)
			}
			adds = adds[:0]
		}
	}
	b.Logf("built a map of %d keys in %v", n, time.Since(start))
	return s, keys
}

// BenchmarkUpdate measures the sequencer's work per addition: batches of
// 256 and 4,096 additions, one in 16 to a new key and the others appending
// to existing keys, to a map of 10k, 100k and 1M keys. Choose -benchtime so
// that the map grows little (it reports the number of keys at the end).
// Besides wall time per addition it reports the process's CPU time per
// addition, which the other jobs of a shared machine disturb less.
func BenchmarkUpdate(b *testing.B) {
	for _, n := range []int{10_000, 100_000, 1_000_000} {
		var s *MemStore
		var keys []Key
		next := int64(n)
		for _, batch := range []int{256, 4096} {
			b.Run(fmt.Sprintf("keys=%d/batch=%d", n, batch), func(b *testing.B) {
				if s == nil {
					s, keys = benchMap(b, n)
				}
				r := rand.New(rand.NewPCG(3, 4))
				adds := make([]Addition, batch)
				cpu := cpuTime()
				for b.Loop() {
					for i := range adds {
						k := keys[r.IntN(len(keys))]
						if i%16 == 0 {
							binary.LittleEndian.PutUint64(k[:], r.Uint64())
						}
						adds[i] = Addition{k, next}
						next++
					}
					if _, err := Update(s, adds); err != nil {
						b.Fatal(err)
					}
				}
				b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*batch), "ns/addition")
				b.ReportMetric(float64((cpuTime()-cpu).Nanoseconds())/float64(b.N*batch), "cpu-ns/addition")
				_, leaves := s.Len()
				b.ReportMetric(float64(leaves), "keys")
			})
		}
	}
}

// cpuTime returns the user and system CPU time of the process so far.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkProof measures proofs in a map of 1M keys: their size, and the
// time to verify them (parse included), for a key with 1 index, a key with
// 1,000 indexes and an absent key.
func BenchmarkProof(b *testing.B) { benchProof(b, 1_000_000) }

// BenchmarkProof10M is BenchmarkProof in a map of 10M keys, built in
// memory first (about 2 minutes and 5 GB). -short skips it.
func BenchmarkProof10M(b *testing.B) {
	if testing.Short() {
		b.Skip("builds a map of 10M keys in memory")
	}
	benchProof(b, 10_000_000)
}

func benchProof(b *testing.B, n int) {
	s, keys := benchMap(b, n)
	busy := keys[0]
	list := []int64{0}
	var adds []Addition
	for i := range int64(999) {
		list = append(list, int64(n)+i*7)
		adds = append(adds, Addition{busy, int64(n) + i*7})
	}
	root, err := Update(s, adds)
	if err != nil {
		b.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		key  Key
		list []int64
	}{
		{"present-1", keys[1], []int64{1}},
		{"present-1000", busy, list},
		{"absent", DigestKey("absent"), nil},
	} {
		b.Run(tc.name, func(b *testing.B) {
			p, err := Prove(s, tc.key, tc.list)
			if err != nil {
				b.Fatal(err)
			}
			enc, _ := p.AppendBinary(nil)
			for b.Loop() {
				if _, err := VerifyProof(root, tc.key, enc); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(len(enc)), "proof-bytes")
			b.ReportMetric(float64(len(p.Siblings)), "depth")
		})
	}
	// Sizes vary with the depth of each key's leaf: the mean over 1,000
	// keys with one index each, and over 1,000 absent keys.
	for _, absent := range []bool{false, true} {
		name := "mean-present-1"
		if absent {
			name = "mean-absent"
		}
		b.Run(name, func(b *testing.B) {
			total := 0
			for b.Loop() {
				total = 0
				for i := range 1000 {
					k, list := keys[2+i], []int64{int64(2 + i)}
					if absent {
						k, list = DigestKey(fmt.Sprint("absent", i)), nil
					}
					p, err := Prove(s, k, list)
					if err != nil {
						b.Fatal(err)
					}
					enc, _ := p.AppendBinary(nil)
					total += len(enc)
				}
			}
			b.ReportMetric(float64(total)/1000, "mean-proof-bytes")
		})
	}
	b.Run("prove-present-1", func(b *testing.B) {
		for b.Loop() {
			if _, err := Prove(s, keys[1], []int64{1}); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkBuild measures building a map of 1M keys from nothing in one
// Update, as a monitor starting from the log's first entry can.
func BenchmarkBuild(b *testing.B) {
	const n = 1_000_000
	r := rand.New(rand.NewPCG(5, 6))
	adds := make([]Addition, n)
	for i := range adds {
		binary.LittleEndian.PutUint64(adds[i].Key[:], r.Uint64())
		binary.LittleEndian.PutUint64(adds[i].Key[8:], r.Uint64())
		adds[i].Index = int64(i)
	}
	cpu := cpuTime()
	for b.Loop() {
		if _, err := Update(&MemStore{}, adds); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n), "ns/addition")
	b.ReportMetric(float64((cpuTime()-cpu).Nanoseconds())/float64(b.N*n), "cpu-ns/addition")
}

// BenchmarkParseStratum measures parsing the records of a map of keys
// keys: the lower strata of a large map hold a few leaves each, the
// upper ones are full.
func BenchmarkParseStratum(b *testing.B) {
	for _, keys := range []int{3_000, 200_000} {
		recs := &records{m: map[string][]byte{}}
		s := NewStrata(recs)
		var adds []Addition
		for i := range keys {
			adds = append(adds, Addition{DigestKey(fmt.Sprint(i)), int64(i)})
		}
		if _, err := Update(s, adds); err != nil {
			b.Fatal(err)
		}
		var all [][]byte
		for _, d := range s.Dirty(0) {
			all = append(all, d.Record)
		}
		b.Run(fmt.Sprintf("keys=%d/strata=%d", keys, len(all)), func(b *testing.B) {
			for i := 0; b.Loop(); i++ {
				st, err := parseStratum(all[i%len(all)])
				if err != nil {
					b.Fatal(err)
				}
				st.release()
			}
		})
	}
}

// BenchmarkGroupAdditions measures sorting and grouping the additions of
// one commitment under `attestlog bench --mode add` (about 1,000 claims of
// five keys, four of them new, the fifth one of 256 builders' keys).
func BenchmarkGroupAdditions(b *testing.B) {
	r := rand.New(rand.NewPCG(5, 6))
	builders := make([]Key, 256)
	for i := range builders {
		builders[i] = DigestKey(fmt.Sprint("builder", i))
	}
	var adds []Addition
	for i := range int64(1000) {
		for j := range 4 {
			adds = append(adds, Addition{DigestKey(fmt.Sprint(i, j, r.Uint64())), i})
		}
		adds = append(adds, Addition{builders[r.IntN(len(builders))], i})
	}
	r.Shuffle(len(adds), func(i, j int) { adds[i], adds[j] = adds[j], adds[i] })
	for b.Loop() {
		if _, err := groupAdditions(adds); err != nil {
			b.Fatal(err)
		}
	}
}
