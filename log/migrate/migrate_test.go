package migrate_test

import (
	"errors"
	"fmt"
	"path/filepath"
	"testing"

	"github.com/attestlog/attestlog/log"
	"github.com/attestlog/attestlog/log/logtest"
	"github.com/attestlog/attestlog/log/migrate"
	"golang.org/x/mod/sumdb/note"
)

// copyOf makes a log of n entries, stops it, and returns it opened
// read-only with its key.
func copyOf(t *testing.T, n int) (*log.BoltStore, note.Signer, note.Verifier) {
	t.Helper()
	dir := t.TempDir()
	l := logtest.New(t, dir, log.Config{})
	entries := make([][]byte, n)
	for i := range entries {
		entries[i] = fmt.Appendf(nil, "entry %d\n", i)
	}
	for len(entries) > 0 { // bounded by the queue
		k := min(len(entries), 4096)
		l.Append(t, entries[:k]...)
		entries = entries[k:]
	}
	if err := l.Store.Close(); err != nil { // the sequencer is idle; reads go to the read-only copy
		t.Fatal(err)
	}
	src, err := log.OpenBoltReadOnly(l.Path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { src.Close() })
	skey, _ := logtest.Keys(logtest.Origin)
	signer, err := note.NewSigner(skey)
	if err != nil {
		t.Fatal(err)
	}
	return src, signer, l.Verifier
}

// TestRunTileBoundaries migrates logs whose sizes and batch sizes put tile
// boundaries inside and at the edges of batches, including a log with a
// level-2 tile, into a bbolt target, and checks the copy with Run's own
// checks (CheckLog, index and dedup comparisons).
func TestRunTileBoundaries(t *testing.T) {
	sizes := []int{1, 255, 256, 257, 1000}
	if !testing.Short() {
		sizes = append(sizes, 65536+300)
	}
	for _, n := range sizes {
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			src, signer, v := copyOf(t, n)
			batches := []int{7, 256, 5000}
			if n > 1000 {
				batches = batches[1:] // fsync per commit: batches of 7 take minutes
			}
			for _, batch := range batches {
				target, err := log.OpenBolt(filepath.Join(t.TempDir(), "copy.db"))
				if err != nil {
					t.Fatal(err)
				}
				r, err := migrate.Run(t.Context(), migrate.Config{Source: src, Target: target, Signer: signer, Verifier: v, BatchEntries: batch})
				if err != nil || r.Entries != int64(n) || r.Checkpoint.Size != int64(n) {
					t.Errorf("batches of %d: copied %d entries of %d: %v", batch, r.Entries, n, err)
				}
				// A second run finds the copy finished and copies nothing.
				r, err = migrate.Run(t.Context(), migrate.Config{Source: src, Target: target, Signer: signer, Verifier: v, BatchEntries: batch})
				if err != nil || !r.Finished || r.Entries != 0 {
					t.Errorf("batches of %d: second run: %+v, %v; want a finished copy", batch, r, err)
				}
				target.Close()
			}
		})
	}
}

// TestRunRefusesNonEmpty: a target holding a log is refused with
// ErrNotEmpty, unchanged.
func TestRunRefusesNonEmpty(t *testing.T) {
	src, signer, v := copyOf(t, 10)
	other := logtest.New(t, "", log.Config{})
	other.Append(t, []byte("another tree\n"))
	before, _ := other.Store.Checkpoint()
	_, err := migrate.Run(t.Context(), migrate.Config{Source: src, Target: other.Store, Signer: signer, Verifier: v})
	if !errors.Is(err, migrate.ErrNotEmpty) {
		t.Fatalf("Run into a store holding a log = %v, want ErrNotEmpty", err)
	}
	if after, _ := other.Store.Checkpoint(); string(after) != string(before) {
		t.Errorf("the refused run changed the target's checkpoint")
	}
}
