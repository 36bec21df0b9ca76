package vindex

import (
	"encoding/binary"
	"fmt"
	"math/rand/v2"
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
// 256 additions, half to new keys and half appending to existing ones, to
// a map of 10k, 100k and 1M keys.
func BenchmarkUpdate(b *testing.B) {
	for _, n := range []int{10_000, 100_000, 1_000_000} {
		b.Run(fmt.Sprintf("keys=%d", n), func(b *testing.B) {
			s, keys := benchMap(b, n)
			r := rand.New(rand.NewPCG(3, 4))
			next := int64(n)
			const batch = 256
			adds := make([]Addition, batch)
			for b.Loop() {
				for i := range adds {
					k := keys[r.IntN(len(keys))]
					if i%2 == 0 {
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
		})
	}
}

// BenchmarkProof measures proofs in a map of 1M keys: their size, and the
// time to verify them (parse included), for a key with 1 index, a key with
// 1,000 indexes and an absent key.
func BenchmarkProof(b *testing.B) {
	s, keys := benchMap(b, 1_000_000)
	busy := keys[0]
	list := []int64{0}
	var adds []Addition
	for i := range int64(999) {
		list = append(list, 1_000_000+i*7)
		adds = append(adds, Addition{busy, 1_000_000 + i*7})
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
	b.Run("prove-present-1", func(b *testing.B) {
		for b.Loop() {
			if _, err := Prove(s, keys[1], []int64{1}); err != nil {
				b.Fatal(err)
			}
		}
	})
}
