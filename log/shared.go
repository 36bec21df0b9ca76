package log

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/attestlog/attestlog/tiles"
	"golang.org/x/mod/sumdb/tlog"
)

// DefaultFollowInterval is how often, by default, a Log on a [SharedStore]
// reads the store's checkpoint while it has nothing to sequence.
const DefaultFollowInterval = 200 * time.Millisecond

// ErrStaleWitnessed is returned by a [SharedStore]'s SetWitnessed for a note of a
// smaller tree size than the stored one: another writer published a newer
// witnessed checkpoint, which must not move back.
var ErrStaleWitnessed = errors.New("log: a newer witnessed checkpoint is stored")

// A SharedStore is a [Store] that several Logs, in one process or in many
// (the frontends of a scaled-out log), write at once. Each Log sequences
// its own entries: it takes the store's writer lock, adopts what the other
// writers committed, extends the tree, commits and lets go, so that index
// ranges are contiguous, deduplication spans every writer and one tree
// results. The lock only spares the writers wasted work: Commit's
// compare-and-swap on (size, root) stays the guard. A Log that loses it
// discards the checkpoint it signed, adopts the other writer's tree and
// assigns its batch again on it; it stops (see [Log.Run]) only if the
// stored tree does not extend its own.
//
// Implementations MUST be safe for concurrent use by many writers.
// SetWitnessed MUST be a swap that never moves the witnessed checkpoint to
// a smaller tree size: it refuses such a note with an error wrapping
// [ErrStaleWitnessed] and stores nothing.
type SharedStore interface {
	Store
	// LockWriter blocks until the caller holds the store's writer lock, or
	// ctx is done. The lock may be lost without the holder knowing (its
	// connection to the database dies): unlock then returns an error.
	LockWriter(ctx context.Context) (unlock func() error, err error)
	// TryLockIndex takes the store's index lock if no other caller holds
	// it, and returns ok false at once if one does. Its holder is the one
	// writer that commits the verifiable index (see [IndexCommitter]): the
	// others would compute the same update only to have it dropped. Like
	// the writer lock it may be lost unknown to the holder, and it is not
	// the guard either: the sequencer drops a commitment whose base state
	// changed.
	TryLockIndex(ctx context.Context) (unlock func() error, ok bool, err error)
}

// A FollowingPublisher is a [Publisher] that tells the commits of the
// other writers of a [SharedStore], which a Log adopts, from its own: the
// Log calls Followed instead of Committed for those. A Publisher that every
// writer runs can then leave publishing a commit to the writer that made
// it, and only catch up later with what that one did not publish (it
// crashed, say).
type FollowingPublisher interface {
	Publisher
	// Followed is called by the one writer of the tree, instead of
	// Committed, each time the Log adopts what other writers committed,
	// with the new tree size. It MUST NOT block.
	Followed(size int64)
}

// stepShared sequences batch on a shared store: under the writer lock, it
// first adopts the store's tree (another writer may have extended it, or a
// failed commit of this one left the in-memory tree ahead of the store).
// A commit that loses the store's compare-and-swap to another writer's
// commit lets go of the lock, takes it again and assigns the batch again
// on the adopted tree, up to staleRetries times.
func (l *Log) stepShared(ctx context.Context, s SharedStore, batch []*pending) error {
	for attempt := 1; ; attempt++ {
		kept, lost, err := l.lockedStep(ctx, s, batch)
		batch = kept
		if !lost || attempt == staleRetries {
			return resolveAll(batch, err)
		}
		// The writer lock is no fence: a writer that died or lost its
		// session while holding it may have had a commit in flight, which
		// the database finished after this Log took the lock and read the
		// stored tree; or this Log's own session died and the lock with
		// it. This batch's checkpoint was never stored nor shown to anyone;
		// the next follow adopts the other commit if it extends this Log's
		// tree (and stops the Log if not), and the batch is assigned again
		// on top of it.
		l.log.WarnContext(ctx, "another writer's commit landed after this one took the store's writer lock; sequencing the batch again on the stored tree",
			slog.Int("attempt", attempt), slog.Any("err", err))
	}
}

// staleRetries is how many times stepShared assigns one batch when each
// commit loses the store's compare-and-swap to another writer's. More
// losses than that in a row, each under a newly taken writer lock, mean a
// writer that ignores the lock: the Log then stops.
const staleRetries = 3

// lockedStep takes the writer lock, adopts the store's tree and assigns
// the batch, leaving its futures unresolved. It returns the batch less
// the index commitments it dropped (and resolved) as stale, and whether
// the batch's commit lost the store's compare-and-swap (then err wraps
// [ErrStaleBatch]; a store whose tree does not extend this Log's fails
// follow instead, with lost false).
func (l *Log) lockedStep(ctx context.Context, s SharedStore, batch []*pending) (_ []*pending, lost bool, err error) {
	t0 := time.Now()
	unlock, err := s.LockWriter(ctx)
	if err != nil {
		return batch, false, fmt.Errorf("%w: taking the store's writer lock: %w", ErrStorage, err)
	}
	t1 := time.Now()
	l.metrics.lockWait.Observe(t1.Sub(t0).Seconds())
	defer func() {
		l.metrics.lockHeld.Observe(time.Since(t1).Seconds())
		if err := unlock(); err != nil {
			l.log.WarnContext(ctx, "the store's writer lock was lost during a batch; the store's compare-and-swap kept the tree whole", slog.Any("err", err))
		}
	}()
	if err := l.follow(); err != nil {
		return batch, false, err
	}
	batch, err = l.dropAndAssign(batch)
	if err != nil {
		l.treeDirty = true
		return batch, errors.Is(err, ErrStaleBatch), err
	}
	return batch, false, nil
}

// follow adopts the checkpoint in the store if another writer extended the
// tree, or rebuilds the tree from the store if a failed commit left it
// dirty. It fails with [ErrStaleBatch] if the store's tree does not extend
// the latest one this Log knows (the store was restored from an older
// copy, or forked): then the Log must stop. It runs on Run's goroutine.
func (l *Log) follow() error {
	msg, err := l.store.Checkpoint()
	if err != nil {
		return fmt.Errorf("%w: reading the stored checkpoint: %w", ErrStorage, err)
	}
	cur := l.latest.Load()
	if bytes.Equal(msg, cur.Note) && !l.treeDirty {
		return nil
	}
	if msg == nil {
		return fmt.Errorf("%w: the store holds no checkpoint, this log had one of size %d", ErrStaleBatch, cur.Size)
	}
	cp, err := parseOwnNote(msg)
	if err != nil {
		return fmt.Errorf("%w: stored checkpoint: %w", ErrCorrupt, err)
	}
	if cp.Origin != l.cfg.Origin {
		return fmt.Errorf("%w: the store's checkpoint is of the log %q", ErrStaleBatch, cp.Origin)
	}
	if cp.Size < cur.Size || cp.Size == cur.Size && cp.Hash != cur.Hash {
		return fmt.Errorf("%w: the store's tree of size %d does not extend this log's of size %d (was the database restored from an older copy?)", ErrStaleBatch, cp.Size, cur.Size)
	}
	t, err := loadTree(l.hashes, l.store, cp.Size)
	if err != nil {
		return fmt.Errorf("%w: %w", ErrCorrupt, err)
	}
	if root, err := t.root(); err != nil || root != cp.Hash {
		return fmt.Errorf("%w: tiles hash to %v, checkpoint of size %d says %v (%v)", ErrCorrupt, root, cp.Size, cp.Hash, err)
	}
	if cp.Size > cur.Size && cur.Size > 0 {
		p, err := tlog.ProveTree(cp.Size, cur.Size, l.hashes)
		if err != nil {
			return fmt.Errorf("%w: proving the store's tree of size %d consistent with this log's of size %d: %w", ErrStorage, cp.Size, cur.Size, err)
		}
		if err := tlog.CheckTree(p, cp.Size, cp.Hash, cur.Size, cur.Hash); err != nil {
			return fmt.Errorf("%w: the store's tree of size %d is not consistent with this log's of size %d: %w", ErrStaleBatch, cp.Size, cur.Size, err)
		}
	}
	l.tree, l.treeDirty = t, false
	if !bytes.Equal(msg, cur.Note) {
		l.latest.Store(&Signed{Note: msg, Checkpoint: cp})
		l.metrics.treeSize.Set(float64(cp.Size))
		l.poke()
		switch p := l.cfg.Publisher.(type) {
		case nil:
		case FollowingPublisher:
			p.Followed(cp.Size)
		default: // it publishes the whole tree
			p.Committed(cp.Size)
		}
	}
	return nil
}

// followIdle is Run's tick while idle on a shared store: it keeps the
// published checkpoint up with the other writers'. A store error is logged
// and retried at the next tick; a store that does not extend this log's
// tree stops the Log.
func (l *Log) followIdle(ctx context.Context) error {
	err := l.follow()
	if err == nil {
		return nil
	}
	l.log.ErrorContext(ctx, "following the store", slog.Any("err", err))
	if errors.Is(err, ErrStaleBatch) {
		return fmt.Errorf("log: stopping: %w", err)
	}
	return nil
}

// adoptWitnessed publishes the stored witnessed checkpoint, which another
// writer of a shared store stored, if it is newer than the one this Log
// publishes and within the tree this Log knows.
func (l *Log) adoptWitnessed() error {
	msg, err := l.store.Witnessed()
	if err != nil || msg == nil {
		return err
	}
	cp, err := parseOwnNote(msg)
	if err != nil {
		return fmt.Errorf("%w: stored witnessed checkpoint: %w", ErrCorrupt, err)
	}
	if cp.Size > l.latest.Load().Size || cp.Size <= l.publishedSize() {
		return nil
	}
	l.witnessed.Store(&Signed{Note: msg, Checkpoint: cp})
	return nil
}

// storeAhead reports whether the store is shared and holds a tree of which
// wc, a witness's checkpoint larger than the one this Log sent it, is a
// prefix: another writer got it cosigned first, which is no rollback. The
// next round sends a newer checkpoint.
func (l *Log) storeAhead(wc tiles.Checkpoint) (bool, error) {
	if l.shared == nil {
		return false, nil
	}
	msg, err := l.store.Checkpoint()
	if err != nil || msg == nil {
		return false, err
	}
	stored, err := parseOwnNote(msg)
	if err != nil || stored.Size < wc.Size {
		return false, err
	}
	h, err := tlog.TreeHash(wc.Size, l.hashes)
	if err != nil {
		return false, fmt.Errorf("log: hashing the stored tree of size %d: %w", wc.Size, err)
	}
	return h == wc.Hash, nil
}
