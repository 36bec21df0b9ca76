package log

import (
	"context"
	"fmt"
	"sync"
	"time"
)

// An indexGate holds claims back while the verifiable index is far
// behind the tree: a lookup's client reads the entries after the index
// commitment it is served (the tail) and checks them itself, and refuses
// a tail longer than its bound (client.DefaultMaxTail, 4,096 entries). A
// log that acknowledged claims faster than its [IndexCommitter] indexes
// them would grow the tail without bound under a sustained load (a
// 60,000-claim-a-round load left 46,000 entries uncommitted after seven
// rounds, BENCHMARKS.md), and every lookup would fail until the load
// stopped. With the gate the load slows to what the committer keeps up
// with, and an acknowledged claim is always in a lookup's proof or in a
// tail a client reads.
//
// The gate is open unless an IndexCommitter runs with a MaxTail: it
// closes while more than MaxTail entries of the published checkpoint's
// tree ([Log.visibleSize]) follow the latest commitment, and a closed gate
// wakes the committer. It counts from the published checkpoint, not the
// latest, because that is what clients verify lookups at: the committer
// runs ahead of the witnesses, and while they are down the published
// size stops, the committer catches up with it, and claims go on being
// logged, to be witnessed once they are back.
type indexGate struct {
	mu        sync.Mutex
	maxTail   int64         // 0: no committer runs, or it has no bound
	committed int64         // the latest commitment's size, as the committer last read it
	moved     chan struct{} // closed, and replaced, when committed moves or the gate opens
	kick      chan struct{} // wakes the committer; buffered
}

func newIndexGate() *indexGate {
	return &indexGate{moved: make(chan struct{}), kick: make(chan struct{}, 1)}
}

// gateWait bounds how long an append waits at a closed gate before it is
// refused, to be retried: a committer that cannot commit (its errors are
// logged) must not hold callers without deadlines forever. A variable for
// tests.
var gateWait = 10 * time.Second

// start closes the gate past maxTail entries (none if 0) after the latest
// commitment, for a committer that has caught up.
func (g *indexGate) start(maxTail int64) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.maxTail = maxTail
	g.wake()
}

// stop opens the gate for good: the committer stopped.
func (g *indexGate) stop() { g.start(0) }

// committedSize returns the latest commitment's size, as the committer
// last read or made it.
func (g *indexGate) committedSize() int64 {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.committed
}

// advance records the latest commitment's size.
func (g *indexGate) advance(committed int64) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if committed != g.committed {
		g.committed = committed
		g.wake()
	}
}

// wake releases the waiters; g.mu is held.
func (g *indexGate) wake() {
	close(g.moved)
	g.moved = make(chan struct{})
}

// wait returns once at most maxTail entries of the published tree, of
// size(), follow the latest commitment, or the gate is open; it fails with ctx's error,
// or a retryLaterError after gateWait.
func (g *indexGate) wait(ctx context.Context, size func() int64) error {
	var timeout <-chan time.Time
	for {
		g.mu.Lock()
		tail, maxTail, moved := size()-g.committed, g.maxTail, g.moved
		g.mu.Unlock()
		if maxTail == 0 || tail <= maxTail {
			return nil
		}
		select {
		case g.kick <- struct{}{}:
		default:
		}
		if timeout == nil {
			t := time.NewTimer(gateWait)
			defer t.Stop()
			timeout = t.C
		}
		select {
		case <-moved:
		case <-ctx.Done():
			return ctx.Err()
		case <-timeout:
			return retryLaterError{reason: fmt.Sprintf("the verifiable index is %d entries behind the tree (at most %d may wait)", tail, maxTail), retry: time.Second}
		}
	}
}
