package log_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/attestlog/attestlog/log"
	"github.com/attestlog/attestlog/log/logtest"
	"golang.org/x/mod/sumdb/tlog"
)

// TestDedupStaged appends entries past the bbolt store's staging limit for
// deduplication records, reopening the store between steps: an entry
// whose record is staged, was moved to the dedup bucket, or came in the
// batch that moved its slice is found as a duplicate with its own index,
// after a reopen as before, the staged records are reloaded, and no more
// than the limit stay staged.
//
// With colliding keys, the same: nearly every staged record shares its
// in-memory key with others, so every lookup of a new entry finds a
// candidate to check against dedup-staged and refuse.
func TestDedupStaged(t *testing.T) {
	t.Run("keys", testDedupStaged)
	t.Run("colliding keys", func(t *testing.T) {
		log.WeakDedupKeys(t)
		testDedupStaged(t)
	})
}

func testDedupStaged(t *testing.T) {
	const limit = 10
	dir := t.TempDir()
	// entry returns entry i; entries i from 10,000 are made up as the test
	// needs them, and set in extra.
	extra := map[int][]byte{}
	entry := func(i int) []byte {
		if e, ok := extra[i]; ok {
			return e
		}
		return fmt.Appendf(nil, "entry %d", i)
	}
	var size, staged, batches int // the log's size, its staged records and staged batches
	open := func(t *testing.T) *logtest.Log {
		l := logtest.New(t, dir, log.Config{})
		l.Store.SetDedupStageLimit(limit)
		if got := l.Store.StagedDedup(); got != staged {
			t.Errorf("after opening, %d staged dedup records, want %d", got, staged)
		}
		if got := l.Store.StagedBatches(); got != batches {
			t.Errorf("after opening, %d staged batches, want %d", got, batches)
		}
		t.Cleanup(func() { staged, batches = l.Store.StagedDedup(), l.Store.StagedBatches() })
		return l
	}
	// addOneByOne appends n new entries, one batch each.
	addOneByOne := func(t *testing.T, l *logtest.Log, n int) {
		for range n {
			if got := l.Append(t, entry(size)); got[0] != int64(size) {
				t.Fatalf("entry %d got index %d", size, got[0])
			}
			size++
			if staged = l.Store.StagedDedup(); staged > limit || staged > size {
				t.Fatalf("%d staged dedup records in a log of %d, limit %d", staged, size, limit)
			}
		}
	}
	checkAll := func(t *testing.T, l *logtest.Log) {
		for i := range size {
			idx, dup, err := l.Log.Append(context.Background(), entry(i))
			if err != nil || !dup || idx != int64(i) {
				t.Errorf("appending entry %d again = %d, %v, %v; want %d, a duplicate", i, idx, dup, err, i)
			}
		}
		if got := l.Checkpoint().Size; got != int64(size) {
			t.Errorf("tree size %d after appending duplicates, want %d", got, size)
		}
	}
	t.Run("staged", func(t *testing.T) {
		l := open(t)
		addOneByOne(t, l, 7)
		checkAll(t, l)
	})
	t.Run("reopened, then merged", func(t *testing.T) {
		l := open(t)
		checkAll(t, l)
		addOneByOne(t, l, 40) // from the fourth, each moves slices
		checkAll(t, l)
	})
	t.Run("reopened, then concurrent batches", func(t *testing.T) {
		l := open(t)
		checkAll(t, l)
		var es [][]byte
		for i := range 30 {
			es = append(es, entry(size+i))
		}
		for i, idx := range l.Append(t, es...) {
			if idx != int64(size+i) {
				t.Fatalf("entry %d got index %d", size+i, idx)
			}
		}
		size += 30
		staged = l.Store.StagedDedup()
		if staged > limit {
			t.Errorf("%d staged dedup records, limit %d", staged, limit)
		}
		checkAll(t, l)
	})
	t.Run("reopened, then one by one", func(t *testing.T) {
		l := open(t)
		checkAll(t, l)
		addOneByOne(t, l, 600) // more than 256 moves: staged batches are deleted
		if n := l.Store.StagedBatches(); n > 100 {
			t.Errorf("%d batches staged after 600 batches, at most %d records each", n, limit)
		}
		checkAll(t, l)
	})
	t.Run("reopened, then every slice in one commit", func(t *testing.T) {
		l := open(t)
		checkAll(t, l)
		// An entry in the slice moved last, with nothing to keep staged:
		// its commit makes all 256 moves, emptying its own staged batch.
		l.Store.SetDedupStageLimit(0)
		last := byte((l.Store.DedupMoves() + 255) % 256)
		for n := 0; ; n++ {
			if e := fmt.Appendf(nil, "entry %d, %d", size, n); tlog.RecordHash(e)[0] == last {
				extra[size] = e
				break
			}
		}
		moves := l.Store.DedupMoves()
		addOneByOne(t, l, 1)
		if got := l.Store.DedupMoves() - moves; got != 256 {
			t.Fatalf("%d moves, want 256", got)
		}
		// The next commit, moving nothing, deletes that batch.
		l.Store.SetDedupStageLimit(limit)
		addOneByOne(t, l, 1)
		checkAll(t, l)
	})
	t.Run("reopened", func(t *testing.T) {
		l := open(t)
		checkAll(t, l)
	})
}
