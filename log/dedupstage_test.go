package log_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/attestlog/attestlog/log"
	"github.com/attestlog/attestlog/log/logtest"
)

// TestDedupStaged appends entries past the bbolt store's staging limit for
// deduplication records, reopening the store between steps: an entry
// whose record is staged, was moved to the dedup bucket, or came in the
// batch that moved its slice is found as a duplicate with its own index,
// after a reopen as before, the staged records are reloaded, and no more
// than the limit stay staged.
func TestDedupStaged(t *testing.T) {
	const limit = 10
	dir := t.TempDir()
	entry := func(i int) []byte { return fmt.Appendf(nil, "entry %d", i) }
	var size, staged int // the log's size and its staged records at the last close
	open := func(t *testing.T) *logtest.Log {
		l := logtest.New(t, dir, log.Config{})
		l.Store.SetDedupStageLimit(limit)
		if got := l.Store.StagedDedup(); got != staged {
			t.Errorf("after opening, %d staged dedup records, want %d", got, staged)
		}
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
	t.Run("reopened", func(t *testing.T) {
		l := open(t)
		checkAll(t, l)
	})
}
