package log

import (
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"path/filepath"
	"runtime"
	"testing"

	bolt "go.etcd.io/bbolt"
	"golang.org/x/mod/sumdb/tlog"
)

// TestDedupFilter fills a dedup bucket in steps, growing the filter as
// BoltStore.storeDedup does (adding while there is room, rebuilding the
// slice from the bucket when there is not), and checks after each step
// that every hash in the bucket is "perhaps" (a "no" for one would make
// the log append a duplicate), that a filter built anew from the bucket
// says the same, and that hashes never added are mostly answered "no".
func TestDedupFilter(t *testing.T) {
	db, err := bolt.Open(filepath.Join(t.TempDir(), "f.db"), 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	hash := func(i int) tlog.Hash { return sha256.Sum256(binary.BigEndian.AppendUint64(nil, uint64(i))) }
	f := newDedupFilter()
	var n, rebuilds int
	for _, step := range []int{0, 100, 5000, 60000, 200000, 400000} {
		err := db.Update(func(tx *bolt.Tx) error {
			b, err := tx.CreateBucketIfNotExists(bucketDedup)
			if err != nil {
				return err
			}
			if step == 0 {
				return f.buildAll(b)
			}
			// A move's records, one slice at a time, as storeDedup adds them.
			var perSlice [dedupSlices][]tlog.Hash
			for i := n; i < n+step; i++ {
				h := hash(i)
				perSlice[h[0]] = append(perSlice[h[0]], h)
				if err := b.Put(h[:], indexKey(int64(i))); err != nil {
					return err
				}
			}
			for slice, hs := range perSlice {
				if !f.room(byte(slice), len(hs)) {
					rebuilds++
					if err := f.build(b, byte(slice)); err != nil {
						return err
					}
					continue
				}
				for i := range hs {
					f.add(&hs[i])
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		n += step
		fresh := newDedupFilter()
		if err := db.View(func(tx *bolt.Tx) error { return fresh.buildAll(tx.Bucket(bucketDedup)) }); err != nil {
			t.Fatal(err)
		}
		for i := range n {
			if h := hash(i); !f.mayHave(&h) || !fresh.mayHave(&h) {
				t.Fatalf("after %d hashes, hash %d (%x) is not in the filter (grown %v, fresh %v)", n, i, h[:4], f.mayHave(&h), fresh.mayHave(&h))
			}
		}
		var perhaps int
		const probes = 100000
		for i := range probes {
			if h := hash(-1 - i); f.mayHave(&h) {
				perhaps++
			}
		}
		// About 1% at a slice's limit; 3% would mean the probes are not spread.
		if n > 0 && perhaps > probes*3/100 {
			t.Errorf("after %d hashes, %d of %d hashes never added are perhaps in the filter", n, perhaps, probes)
		}
		t.Logf("%d hashes: %d of %d others perhaps present; %d rebuilds", n, perhaps, probes, rebuilds)
	}
	if rebuilds == 0 {
		t.Error("no slice was rebuilt: the test did not grow the filter")
	}
}

// TestDedupFilterCorrupt: a deduplication record whose key is not a hash
// is corruption, reported, not a filter built around it.
func TestDedupFilterCorrupt(t *testing.T) {
	db, err := bolt.Open(filepath.Join(t.TempDir(), "f.db"), 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	err = db.Update(func(tx *bolt.Tx) error {
		b, err := tx.CreateBucketIfNotExists(bucketDedup)
		if err != nil {
			return err
		}
		if err := b.Put([]byte{7, 1, 2}, indexKey(1)); err != nil {
			return err
		}
		return newDedupFilter().buildAll(b)
	})
	if !errors.Is(err, ErrCorrupt) {
		t.Fatalf("building a filter over a 3-byte key: %v, want ErrCorrupt", err)
	}
}

// BenchmarkDedupMemory reports the heap that the deduplication stage and
// the filter take per record,
// at the stage's largest size:
//
//	go test -run '^$' -bench DedupMemory -benchtime 1x ./log
func BenchmarkDedupMemory(b *testing.B) {
	const n = dedupStageMax
	heap := func() uint64 {
		runtime.GC()
		var m runtime.MemStats
		runtime.ReadMemStats(&m)
		return m.HeapAlloc
	}
	for b.Loop() {
		before := heap()
		stage := newDedupStage()
		for i := range n {
			h := tlog.Hash(sha256.Sum256(binary.BigEndian.AppendUint64(nil, uint64(i))))
			stage.add(&h, int64(i))
		}
		mid := heap()
		f := newDedupFilter()
		for slice := range dedupSlices {
			f.slices[slice] = newBloom(2 * n / dedupSlices)
		}
		after := heap()
		b.ReportMetric(float64(mid-before)/n, "stage-B/record")
		b.ReportMetric(float64(after-mid)/n, "filter-B/record")
		runtime.KeepAlive(stage)
		runtime.KeepAlive(f)
	}
}
