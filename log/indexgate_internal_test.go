package log

import (
	"context"
	"errors"
	"testing"
	"time"
)

// TestIndexGateWaits checks the gate alone: open without a committer or
// within its bound; closed past it until the committed size moves, the
// caller's context ends (its error), gateWait passes (a retryLaterError
// naming the tail) or the committer stops (open again); and that a
// closed gate wakes the committer.
func TestIndexGateWaits(t *testing.T) {
	defer func(d time.Duration) { gateWait = d }(gateWait)
	gateWait = 50 * time.Millisecond
	ctx := context.Background()
	g := newIndexGate()
	size := int64(10)
	tree := func() int64 { return size }
	if err := g.wait(ctx, tree); err != nil {
		t.Fatalf("wait() with no committer = %v", err)
	}
	g.advance(6)
	g.start(4) // 4 entries follow the commitment: within the bound
	if err := g.wait(ctx, tree); err != nil {
		t.Fatalf("wait() at the bound = %v", err)
	}
	g.advance(5) // 5 entries now
	var rl retryLaterError
	if err := g.wait(ctx, tree); !errors.As(err, &rl) {
		t.Fatalf("wait() past the bound for gateWait = %v, want a retryLaterError", err)
	}
	select {
	case <-g.kick:
	default:
		t.Fatal("a closed gate did not wake the committer")
	}
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if err := g.wait(cctx, tree); !errors.Is(err, context.Canceled) {
		t.Fatalf("wait() with a canceled context = %v", err)
	}
	<-g.kick // its kick
	gateWait = time.Minute
	for _, release := range []func(){func() { g.advance(8) }, g.stop} {
		g.advance(5)
		g.start(4)
		done := make(chan error, 1)
		go func() { done <- g.wait(ctx, tree) }()
		<-g.kick // the waiter is at the gate
		release()
		if err := <-done; err != nil {
			t.Fatalf("wait() after the gate opened = %v", err)
		}
	}
}
