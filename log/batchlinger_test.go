package log_test

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/attestlog/attestlog/log"
	"github.com/attestlog/attestlog/log/logtest"
)

// commitSizes is a Publisher that records the tree size of each commit.
type commitSizes struct {
	mu    sync.Mutex
	sizes []int64
}

func (c *commitSizes) Committed(size int64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.sizes = append(c.sizes, size)
}

func (c *commitSizes) get() []int64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.sizes)
}

// lingerLog returns a log with the given linger and batch bound, fed by
// a Service, whose sequencer is not running yet, and the record of its
// commits.
func lingerLog(t *testing.T, linger time.Duration, maxBatch int) (*log.Log, *commitSizes) {
	t.Helper()
	commits := &commitSizes{}
	l, _ := openFaulty(t, log.Config{BatchLinger: linger, MaxBatchSize: maxBatch, Publisher: commits}, false)
	l.FedByService()
	return l, commits
}

// runBusy queues 8 entries in l before its sequencer runs, so that they
// make one batch (the log is busy after it), runs it and waits for them.
func runBusy(t *testing.T, l *log.Log) {
	t.Helper()
	var waits []func(context.Context) (int64, error)
	for i := range 8 {
		waits = append(waits, l.Add(entry(i)))
	}
	logtest.Run(t, l)
	waitAll(t, waits)
}

// appendWithin appends e and fails the test, saying why, unless it is
// sequenced within a minute.
func appendWithin(t *testing.T, l *log.Log, e []byte, what string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if _, err := l.Add(e)(ctx); err != nil {
		t.Fatalf("append %s: %v", what, err)
	}
}

// waitAll waits for the appends of waits and fails the test on an error.
func waitAll(t *testing.T, waits []func(context.Context) (int64, error)) {
	t.Helper()
	for i, w := range waits {
		if _, err := w(context.Background()); err != nil {
			t.Fatalf("append %d: %v", i, err)
		}
	}
}

// TestBatchLinger checks when the sequencer waits for more entries: after
// a batch of at least 8 entries (a busy log), it waits for the appends
// being prepared (claims the Service is checking) to join the next batch,
// which it then commits whole; with none being prepared (the appenders
// are all in the batch) it does not wait, even with a linger of an hour;
// and a log appended to one entry at a time commits each at once.
func TestBatchLinger(t *testing.T) {
	t.Run("busy", func(t *testing.T) {
		log.SetLingerStep(t, 100*time.Millisecond)
		l, commits := lingerLog(t, time.Hour, 0)
		runBusy(t, l)
		// 16 claims being checked, then appended one by one: the
		// sequencer, woken by the first, waits for the others.
		l.AddIncoming(16)
		var waits []func(context.Context) (int64, error)
		for i := 8; i < 24; i++ {
			waits = append(waits, l.Add(entry(i)))
			l.AddIncoming(-1)
			time.Sleep(time.Millisecond)
		}
		waitAll(t, waits)
		if got := commits.get(); !slices.Equal(got, []int64{0, 8, 24}) {
			t.Fatalf("commits at sizes %v, want [0 8 24]: the 16 entries prepared while it lingered in one batch", got)
		}
		// Nothing being prepared: the linger of an hour does not start.
		appendWithin(t, l, entry(24), "after a busy batch, nothing being prepared")
	})
	t.Run("idle", func(t *testing.T) {
		l, commits := lingerLog(t, time.Hour, 0)
		l.AddIncoming(1) // a claim being checked that never comes
		defer l.AddIncoming(-1)
		logtest.Run(t, l)
		for i := range 20 {
			appendWithin(t, l, entry(i), fmt.Sprintf("%d, one at a time, with a linger of an hour", i))
		}
		if got := commits.get(); len(got) != 21 {
			t.Fatalf("%d commits for 20 entries appended one at a time, want 21 (the empty checkpoint's and one each)", len(got))
		}
	})
	t.Run("flood", func(t *testing.T) {
		// A stranger's flood keeps claims being checked all the time: the
		// linger still ends at its bound, and the batch is committed.
		l, commits := lingerLog(t, 50*time.Millisecond, 0)
		runBusy(t, l)
		l.AddIncoming(1)
		defer l.AddIncoming(-1)
		appendWithin(t, l, entry(8), "while claims are always being checked")
		if got := commits.get(); !slices.Equal(got, []int64{0, 8, 9}) {
			t.Fatalf("commits at sizes %v, want [0 8 9]", got)
		}
	})
	t.Run("no service", func(t *testing.T) {
		l, _ := openFaulty(t, log.Config{BatchLinger: time.Hour}, false)
		runBusy(t, l)
		l.AddIncoming(1)
		defer l.AddIncoming(-1)
		appendWithin(t, l, entry(8), "after a batch of 8 to a log no Service feeds")
	})
	t.Run("never", func(t *testing.T) {
		l, commits := lingerLog(t, -1, 0)
		runBusy(t, l)
		l.AddIncoming(1) // a claim being checked that never comes
		defer l.AddIncoming(-1)
		appendWithin(t, l, entry(8), "after a batch of 8, linger off")
		if got := commits.get(); !slices.Equal(got, []int64{0, 8, 9}) {
			t.Fatalf("commits at sizes %v, want [0 8 9]", got)
		}
	})
}
