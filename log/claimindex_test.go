package log_test

import (
	"fmt"
	"path/filepath"
	"testing"

	"github.com/attestlog/attestlog/log"
	"github.com/attestlog/attestlog/log/claim"
)

// readCounter is a Store that counts the index reads made through it.
type readCounter struct {
	log.Store
	reads int
}

func (s *readCounter) IndexGet(space string, key []byte) ([]byte, error) {
	s.reads++
	return s.Store.IndexGet(space, key)
}

func (s *readCounter) IndexScan(space string, prefix []byte, fn func(key, value []byte) bool) error {
	s.reads++
	return s.Store.IndexScan(space, prefix, fn)
}

func (s *readCounter) IndexGetMany(reads []log.IndexRead) ([][]byte, error) {
	s.reads++
	return s.Store.IndexGetMany(reads)
}

// TestClaimIndexOneReadPerBatch indexes batches of claims of many build
// identities (new ones, ones already in the store with the same or another
// digest, ones already mismatched, and identities repeated inside the
// batch) and checks that each batch reads the store once, whatever its
// size, and that the mismatches found are those claim by claim indexing
// finds: a store behind a network must not pay a round trip per claim.
func TestClaimIndexOneReadPerBatch(t *testing.T) {
	store, err := log.OpenBolt(filepath.Join(t.TempDir(), "log.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	counter := &readCounter{Store: store}
	claimOf := func(build, bin string) log.NewEntry {
		c := buildClaim([]byte(bin), "b")
		c.Commit = sha([]byte(build))[:40]
		return log.NewEntry{Parsed: log.ParsedClaim{Entry: &claim.Entry{}, Claim: c}}
	}
	var size int64
	index := func(batch []log.NewEntry) int {
		t.Helper()
		counter.reads = 0
		writes, err := log.ClaimIndex{}.Index(counter, size, batch)
		if err != nil {
			t.Fatal(err)
		}
		if counter.reads != 1 {
			t.Errorf("indexing %d claims read the store %d times, want once", len(batch), counter.reads)
		}
		if err := store.Commit(&log.Batch{Checkpoint: []byte("test"), Index: writes}); err != nil {
			t.Fatal(err)
		}
		size += int64(len(batch))
		n := 0
		for _, w := range writes {
			if w.Space == "mismatch-order" {
				n++
			}
		}
		return n
	}
	// Batch 1: 40 builds, each claimed twice with the same binary, and
	// build "x" claimed with two binaries in the batch: one mismatch.
	var batch []log.NewEntry
	for i := range 40 {
		b := fmt.Sprintf("build-%02d", i)
		batch = append(batch, claimOf(b, "bin-"+b), claimOf(b, "bin-"+b))
	}
	batch = append(batch, claimOf("x", "x1"), claimOf("x", "x2"), claimOf("x", "x3"))
	if n := index(batch); n != 1 {
		t.Errorf("batch 1 created %d mismatches, want 1 (build x)", n)
	}
	// Batch 2: builds 0-9 with another binary (10 mismatches), builds 10-19
	// agreeing, build x again (already mismatched), and 20 new builds.
	batch = nil
	for i := range 20 {
		b := fmt.Sprintf("build-%02d", i)
		bin := "bin-" + b
		if i < 10 {
			bin = "other"
		}
		batch = append(batch, claimOf(b, bin))
	}
	batch = append(batch, claimOf("x", "x4"))
	for i := range 20 {
		batch = append(batch, claimOf(fmt.Sprintf("new-%02d", i), "n"))
	}
	if n := index(batch); n != 10 {
		t.Errorf("batch 2 created %d mismatches, want 10", n)
	}
}
