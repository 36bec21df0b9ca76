package log

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"runtime"
	rtmetrics "runtime/metrics"
	"sync"
	"sync/atomic"
	"time"

	"github.com/attestlog/attestlog/tiles"
	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"
)

// A Log is an append-only tiled Merkle log. [Log.Add] queues entries from
// any goroutine; one [Log.Run] loop sequences them. Reads ([Log.Fetch],
// proofs, [Log.Checkpoint]) go to the store and may run concurrently with Run.
type Log struct {
	cfg     Config
	store   Store
	log     *slog.Logger
	metrics *metrics
	queue   chan *pending // written by Add, read by Run
	// incoming counts the appends being prepared (a claim being checked by
	// the Service), which a lingering sequencer waits for.
	incoming atomic.Int64
	serviced atomic.Bool // a Service feeds the log
	// runnable samples the goroutines waiting for a CPU, for linger; owned
	// by Run.
	runnable [1]rtmetrics.Sample
	stopped  chan struct{} // closed when Run returns
	stopErr  error         // what Run returned; set before stopped is closed

	hashes *tileHashes // the proof path's view of the store
	tree   *tree       // owned by Run
	// shared is the store if other writers share it, else nil; treeDirty
	// (owned by Run) says that tree may be ahead of it after a failed commit.
	shared    SharedStore
	treeDirty bool
	// latest is the newest committed checkpoint; written by Run after each
	// commit (and, on a shared store, each time it follows the store), read
	// by anyone.
	latest atomic.Pointer[Signed]
	// witnessing is nil without a witness policy; witnessed is the latest
	// checkpoint with a witness quorum, written by the witnessing loop.
	witnessing *witnessing
	witnessed  atomic.Pointer[Signed]
	// rolledBack is set, once, by the witnessing loop when a witness shows
	// the store to be rolled back; see [Log.Status].
	rolledBack atomic.Pointer[RolledBackError]
	// vdeltas are the verifiable index's deltas read or written so far
	// (see indexmap.go).
	vdeltas *deltaCache
	// gate holds claims back while the index is far behind (see
	// indexGate).
	gate *indexGate
}

// Signed is a signed checkpoint note and its parsed body.
type Signed struct {
	Note []byte // the note verbatim, signatures included
	tiles.Checkpoint
}

type pending struct {
	entry  []byte
	parsed any // what the appender parsed of entry, for the Indexer
	hash   tlog.Hash
	done   chan struct{} // closed by Run once index or err is set
	index  int64
	// duplicate is set with index when the log already held the entry.
	duplicate bool
	err       error
}

// New opens the log held by cfg.Store, checking that its tiles hash to its
// checkpoint, or starts a new log with a signed checkpoint of size 0.
func New(cfg Config) (*Log, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	l := &Log{
		cfg:     cfg,
		store:   cfg.Store,
		log:     cfg.Logger,
		queue:   make(chan *pending, cfg.QueueSize),
		stopped: make(chan struct{}),
		vdeltas: newDeltaCache(),
		gate:    newIndexGate(),
	}
	l.runnable[0].Name = "/sched/goroutines/runnable:goroutines"
	l.metrics = newMetrics(l)
	l.shared, _ = cfg.Store.(SharedStore)
	if l.witnessing, err = newWitnessing(cfg); err != nil {
		return nil, err
	}
	l.hashes = newTileHashes(cfg.Store, cfg.TileCacheSize)
	if err := l.load(); err != nil {
		return nil, err
	}
	return l, nil
}

// load reads the tree's right edge and latest checkpoint from the store.
func (l *Log) load() error {
	msg, err := l.store.Checkpoint()
	if err != nil {
		return fmt.Errorf("log: reading checkpoint: %w", err)
	}
	if msg == nil {
		l.tree = &tree{rng: rangeFactory.NewEmptyRange(0)}
		return l.commit(nil, nil, nil)
	}
	cp, err := parseOwnNote(msg)
	if err != nil {
		return fmt.Errorf("%w: stored checkpoint: %w", ErrCorrupt, err)
	}
	if cp.Origin != l.cfg.Origin {
		return fmt.Errorf("log: store holds the log %q, configured origin is %q", cp.Origin, l.cfg.Origin)
	}
	t, err := loadTree(l.hashes, l.store, cp.Size)
	if err != nil {
		return fmt.Errorf("%w: %w", ErrCorrupt, err)
	}
	if root, err := t.root(); err != nil || root != cp.Hash {
		return fmt.Errorf("%w: tiles hash to %v, checkpoint of size %d says %v (%v)", ErrCorrupt, root, cp.Size, cp.Hash, err)
	}
	l.tree = t
	l.latest.Store(&Signed{Note: msg, Checkpoint: cp})
	if err := l.loadWitnessed(); err != nil {
		return err
	}
	l.metrics.treeSize.Set(float64(cp.Size))
	return nil
}

// loadWitnessed restores the published witnessed checkpoint after a restart.
func (l *Log) loadWitnessed() error {
	if l.witnessing == nil {
		return nil
	}
	msg, err := l.store.Witnessed()
	if err != nil || msg == nil {
		return err
	}
	cp, err := parseOwnNote(msg)
	if err != nil {
		return fmt.Errorf("%w: stored witnessed checkpoint: %w", ErrCorrupt, err)
	}
	if cp.Size > l.tree.size {
		return fmt.Errorf("%w: witnessed checkpoint of size %d beyond the tree's %d", ErrCorrupt, cp.Size, l.tree.size)
	}
	l.witnessed.Store(&Signed{Note: msg, Checkpoint: cp})
	return nil
}

// parseOwnNote parses the body of a note this log signed and stored. The
// signature is not checked: the store is trusted, and its tiles are checked
// against the body by the caller.
func parseOwnNote(msg []byte) (tiles.Checkpoint, error) {
	i := bytes.LastIndex(msg, []byte("\n\n"))
	if i < 0 {
		return tiles.Checkpoint{}, errors.New("not a signed note")
	}
	return tiles.ParseCheckpoint(msg[:i+1])
}

// Checkpoint returns the latest committed checkpoint. Every entry, tile and
// proof it implies is durable.
func (l *Log) Checkpoint() *Signed { return l.latest.Load() }

// Add queues e for sequencing and returns at once. The returned wait blocks
// until e has a durable index: its own new one, or that of an identical entry
// already in the log. A full queue fails at once with [ErrPushback]; an entry
// over 65,535 bytes with [ErrEntryTooLarge]; a rolled-back log with a
// [*RolledBackError]. After a start with a witness policy, no entry gets an
// index before the first witness round (see [Log.Status]). Add copies e.
func (l *Log) Add(e []byte) (wait func(context.Context) (int64, error)) {
	p, err := l.enqueue(e, nil)
	return func(ctx context.Context) (int64, error) {
		if err != nil {
			return 0, err
		}
		err := l.wait(ctx, p)
		return p.index, err
	}
}

// Append adds e and waits until it has a durable index, like [Log.Add], and
// also reports whether the log already held e, in which case index is the
// original entry's.
func (l *Log) Append(ctx context.Context, e []byte) (index int64, duplicate bool, err error) {
	return l.AppendParsed(ctx, e, nil)
}

// AppendParsed is [Log.Append] for an entry the caller already parsed: the
// Indexer receives parsed with it instead of parsing it on the sequencer's
// goroutine. parsed must be exactly what the Indexer would parse from e.
func (l *Log) AppendParsed(ctx context.Context, e []byte, parsed any) (index int64, duplicate bool, err error) {
	p, err := l.enqueue(e, parsed)
	if err != nil {
		return 0, false, err
	}
	if err := l.wait(ctx, p); err != nil {
		return 0, false, err
	}
	return p.index, p.duplicate, nil
}

func (l *Log) enqueue(e []byte, parsed any) (*pending, error) {
	if len(e) > tiles.MaxEntrySize {
		return nil, fmt.Errorf("%w: %d bytes", ErrEntryTooLarge, len(e))
	}
	if rb := l.rolledBack.Load(); rb != nil {
		return nil, rb
	}
	p := &pending{entry: bytes.Clone(e), parsed: parsed, hash: tlog.RecordHash(e), done: make(chan struct{})}
	select {
	case l.queue <- p:
		return p, nil
	default:
		l.metrics.pushback.Inc()
		return nil, ErrPushback
	}
}

func (l *Log) wait(ctx context.Context, p *pending) error {
	select {
	case <-p.done:
		return p.err
	case <-ctx.Done():
		return ctx.Err()
	case <-l.stopped:
		select {
		case <-p.done: // resolved just before Run returned
			return p.err
		default:
			if l.stopErr != nil {
				// Why it stopped: a store that no longer extends the tree
				// (ErrStaleBatch) says so to the appender that finds it
				// stopped as well as to the one whose batch it refused.
				return fmt.Errorf("%w: %w", ErrClosed, l.stopErr)
			}
			return ErrClosed
		}
	}
}

// Run sequences queued entries until ctx is done. Each step takes everything
// queued while the previous one committed (up to MaxBatchSize), so a lone
// appender waits for no timer. With a witness policy, it sequences nothing
// until the witnessing loop's first round has confirmed the store, and
// fails every entry with the [*RolledBackError] once the store is shown
// rolled back. It returns nil when ctx is done, or an error if the store
// failed and the tree could not be reloaded from it, or refused a batch
// with [ErrStaleBatch] (another writer, or a store replaced under it).
// On a [SharedStore] it sequences each batch under the store's writer lock,
// publishes what other writers commit, and rides out a store that is
// unreachable for a while (its batches fail, it does not stop), assigns a
// batch again when another writer's commit wins the store's
// compare-and-swap, and stops with [ErrStaleBatch] when the stored tree
// does not extend its own.
func (l *Log) Run(ctx context.Context) (err error) {
	defer func() {
		l.stopErr = err
		close(l.stopped)
	}()
	if l.witnessing != nil {
		var wg sync.WaitGroup
		wctx, cancel := context.WithCancel(ctx)
		wg.Go(func() { l.witnessLoop(wctx) })
		defer wg.Wait()
		defer cancel()
		l.poke()
		select {
		case <-ctx.Done():
			return nil
		case <-l.witnessing.confirmed:
		}
	}
	batch := make([]*pending, 0, l.cfg.MaxBatchSize)
	busy := false               // the last batch was large enough to linger after
	var follow <-chan time.Time // ticks while idle on a shared store
	if l.shared != nil {
		tick := time.NewTicker(l.cfg.FollowInterval)
		defer tick.Stop()
		follow = tick.C
	}
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-follow:
			if err := l.followIdle(ctx); err != nil {
				return err
			}
			continue
		case p := <-l.queue:
			batch = append(batch[:0], p)
		}
		if busy {
			l.linger(ctx)
		}
		batch = l.drain(batch)
		busy = l.cfg.BatchLinger > 0 && len(batch) >= lingerBatch
		if rb := l.rolledBack.Load(); rb != nil {
			resolveAll(batch, rb)
			clear(batch)
			continue
		}
		if err := l.step(ctx, batch); err != nil {
			l.log.ErrorContext(ctx, "sequencing batch", slog.Int("entries", len(batch)), slog.Any("err", err))
			if errors.Is(err, ErrStaleBatch) {
				// The store was replaced by an older copy, or a writer
				// ignores the writer lock: going on could sign a second
				// tree and publish it.
				return fmt.Errorf("log: stopping: %w", err)
			}
			// A shared store may be unreachable for a while (a database
			// failing over): the next step rebuilds the tree from it.
			if l.shared == nil {
				if err := l.reload(); err != nil {
					return err
				}
			}
		}
		clear(batch)
	}
}

// linger waits, up to BatchLinger or until ctx is done, for more entries
// to join the batch of a log that a [Service] feeds, as long as it costs
// the process nothing: while appends are being prepared (claims being
// checked), which will join the batch, or while goroutines queue for the
// CPUs (the process is CPU-bound, with requests on their way to being
// checked), so that the sequencer's wait leaves no CPU idle while it saves
// the CPU of commits. It looks every lingerStep and stops once neither
// holds: appenders that are all in the batch already (a few builders,
// each waiting for its last claim) are not held back. A log that no
// Service feeds never lingers: its appenders (the log core's benchmark's)
// cost nearly nothing, queue their next entry at once, and a CPU-bound
// process there means only the sequencer is behind. It leaves the entries
// in the queue rather than taking each as it comes, which woke the
// sequencer once an entry and cost a third of what lingering saved.
func (l *Log) linger(ctx context.Context) {
	if !l.serviced.Load() || !l.worthLingering() {
		return
	}
	deadline := time.Now().Add(l.cfg.BatchLinger)
	t := time.NewTimer(min(l.cfg.BatchLinger, lingerStep))
	defer t.Stop()
	for {
		select {
		case <-t.C:
		case <-ctx.Done():
			return
		}
		left := time.Until(deadline)
		if left <= 0 || !l.worthLingering() {
			return
		}
		t.Reset(min(left, lingerStep))
	}
}

// worthLingering reports whether appends are being prepared or the
// process is CPU-bound (see linger).
func (l *Log) worthLingering() bool { return l.incoming.Load() > 0 || l.cpuBound() }

// cpuBound reports whether at least lingerRunnable goroutines per CPU
// wait to run.
func (l *Log) cpuBound() bool {
	rtmetrics.Read(l.runnable[:])
	return l.runnable[0].Value.Kind() == rtmetrics.KindUint64 && l.runnable[0].Value.Uint64() >= uint64(lingerRunnable*runtime.GOMAXPROCS(0))
}

// lingerRunnable is how many goroutines per CPU (GOMAXPROCS) must wait
// to run for linger to take the process for CPU-bound: at one or two,
// 16 builders' claims, which a CPU serves as they come, lingered too, and
// appended 2-9% fewer claims a second (BENCHMARKS.md, "Eleventh pass").
const lingerRunnable = 4

// lingerStep is how often linger looks whether appends are still being
// prepared or the process still CPU-bound. A variable for tests.
var lingerStep = 200 * time.Microsecond

// drain adds to batch the entries queued, up to MaxBatchSize, without
// waiting.
func (l *Log) drain(batch []*pending) []*pending {
	for len(batch) < l.cfg.MaxBatchSize {
		select {
		case p := <-l.queue:
			batch = append(batch, p)
		default:
			return batch
		}
	}
	return batch
}

// step sequences one batch, under the writer lock if the store is shared.
func (l *Log) step(ctx context.Context, batch []*pending) error {
	if l.shared != nil {
		return l.stepShared(ctx, l.shared, batch)
	}
	return l.sequence(batch)
}

// sequence assigns indexes to a batch, commits it and resolves its futures.
func (l *Log) sequence(batch []*pending) error {
	batch, err := l.dropAndAssign(batch)
	return resolveAll(batch, err)
}

// dropAndAssign drops (and resolves) the stale index commitments of batch
// and assigns the rest, leaving their futures unresolved. It returns the
// batch less what it dropped.
func (l *Log) dropAndAssign(batch []*pending) ([]*pending, error) {
	batch, err := l.dropStaleCommitments(batch)
	if err != nil {
		return batch, err
	}
	return batch, l.assign(batch)
}

// assign assigns indexes to a batch, with deduplication, and commits its
// new entries, leaving its futures unresolved: on a failed commit the
// caller may assign them again on a reloaded tree.
func (l *Log) assign(batch []*pending) error {
	hashes := make([]tlog.Hash, len(batch))
	for i, p := range batch {
		hashes[i] = p.hash
	}
	existing, err := l.store.Lookup(hashes)
	if err != nil {
		return fmt.Errorf("log: reading dedup index: %w", err)
	}
	if err := l.confirmDuplicates(hashes, existing); err != nil {
		return err
	}
	start := l.tree.size
	inBatch := make(map[tlog.Hash]int64, len(batch))
	var entries []NewEntry
	var newHashes []tlog.Hash
	for i, p := range batch {
		switch idx, ok := inBatch[p.hash]; {
		case existing[i] >= 0:
			p.index, p.duplicate = existing[i], true
		case ok:
			p.index, p.duplicate = idx, true
		default:
			p.index, p.duplicate = start+int64(len(entries)), false
			inBatch[p.hash] = p.index
			entries = append(entries, NewEntry{Bytes: p.entry, Parsed: p.parsed, Hash: p.hash})
			newHashes = append(newHashes, p.hash)
		}
	}
	l.metrics.deduplicated.Add(float64(len(batch) - len(entries)))
	if len(entries) > 0 {
		return l.commit(entries, newHashes, batch)
	}
	return nil
}

// confirmDuplicates checks each index the dedup index returned against the
// leaf hash at that index in the tiles, so that a damaged dedup record is an
// error rather than a wrong index handed to an appender.
func (l *Log) confirmDuplicates(hashes []tlog.Hash, existing []int64) error {
	var idx []int64
	var want []tlog.Hash
	for i, x := range existing {
		if x >= 0 {
			if x >= l.tree.size {
				return fmt.Errorf("%w: dedup index names entry %d of a tree of %d", ErrCorrupt, x, l.tree.size)
			}
			idx = append(idx, tlog.StoredHashIndex(0, x))
			want = append(want, hashes[i])
		}
	}
	if len(idx) == 0 {
		return nil
	}
	got, err := l.hashes.ReadHashes(idx)
	if err != nil {
		return fmt.Errorf("log: confirming duplicates: %w", err)
	}
	for i := range got {
		if got[i] != want[i] {
			return fmt.Errorf("%w: dedup index names an entry with another hash", ErrCorrupt)
		}
	}
	return nil
}

// commit extends the tree, signs a checkpoint and stores it all in one
// transaction. With no entries it stores the checkpoint of the current tree.
func (l *Log) commit(entries []NewEntry, hashes []tlog.Hash, batch []*pending) error {
	start := l.tree.size
	prev, err := l.tree.root()
	if err != nil {
		return err
	}
	changed, err := l.tree.appendLeaves(hashes)
	if err != nil {
		return err
	}
	root, err := l.tree.root()
	if err != nil {
		return err
	}
	var index []IndexWrite
	if l.cfg.Indexer != nil && len(entries) > 0 {
		if index, err = l.cfg.Indexer.Index(l.store, start, entries); err != nil {
			return fmt.Errorf("log: indexing entries [%d, %d): %w", start, l.tree.size, err)
		}
	}
	cp := tiles.Checkpoint{Origin: l.cfg.Origin, Size: l.tree.size, Hash: root}
	msg, err := note.Sign(&note.Note{Text: string(cp.Format())}, l.cfg.Signer)
	if err != nil {
		return fmt.Errorf("log: signing checkpoint: %w", err)
	}
	t0 := time.Now()
	raw := make([][]byte, len(entries))
	for i, e := range entries {
		raw[i] = e.Bytes
	}
	err = l.store.Commit(&Batch{Start: start, PrevRoot: prev, Root: root, Entries: raw, Hashes: hashes, Tiles: changed, Checkpoint: msg, Index: index})
	if err != nil {
		return fmt.Errorf("%w: committing entries [%d, %d): %w", ErrStorage, start, l.tree.size, err)
	}
	if batch != nil { // not the first, empty checkpoint of a new log
		l.metrics.observeCommit(time.Since(t0), len(entries), len(batch))
	}
	if l.shared != nil {
		// A store behind a network: spare it the receipts' tile reads.
		l.hashes.remember(changed)
	}
	l.metrics.treeSize.Set(float64(cp.Size))
	l.latest.Store(&Signed{Note: msg, Checkpoint: cp})
	l.poke()
	if l.cfg.Publisher != nil {
		l.cfg.Publisher.Committed(cp.Size)
	}
	return nil
}

// reload rebuilds the in-memory tree from the store after a failed commit,
// whose changes to the tree must not survive.
func (l *Log) reload() error {
	if err := l.load(); err != nil {
		return fmt.Errorf("log: reloading after a failed commit: %w", err)
	}
	return nil
}

// resolveAll sets err on every future of batch that has none, and releases them all.
func resolveAll(batch []*pending, err error) error {
	for _, p := range batch {
		if err != nil {
			p.err = err
		}
		close(p.done)
	}
	return err
}
