package log

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"time"

	"github.com/attestlog/attestlog/log/vindex"
	"github.com/prometheus/client_golang/prometheus"
	"golang.org/x/mod/sumdb/tlog"
)

const (
	// DefaultCommitEntries is how many new entries make the
	// [IndexCommitter] commit the index at once.
	DefaultCommitEntries = 256
	// DefaultCommitAge is the longest a new entry waits for an index
	// commitment, as long as witnesses keep up.
	DefaultCommitAge = 5 * time.Second
	// DefaultCommitMaxEntries is the most entries one commitment adds to
	// the map (some 2,500 keys at five a claim). The strata an update
	// reads stay in memory until its commitment is written, several KiB
	// for each key of a large map. Under a sustained load that the
	// committer could not keep up with, commitments of up to 65,536
	// entries took a serve process to 1.28 GiB of RssAnon at 600,000
	// claims, far past its 208 MiB soft limit. At 2,048, the collector and the
	// scavenger's madvise took 45% of serve's CPU at 360,000 claims, and a
	// heap profile on a 460,000-claim log had 112 MB of the 219 MB live
	// heap in one update's parsed strata. At 512, serve appended 1.7 times
	// the claims a second from 360,000 claims on, and a quarter more on a
	// fresh log, at less CPU a claim (BENCHMARKS.md, issue 14's eighth
	// pass).
	DefaultCommitMaxEntries = 1 << 9
	// DefaultCommitMaxTail is how many entries may follow the latest
	// index commitment before claims wait for the next (see indexGate):
	// half of what a client reads by default (client.DefaultMaxTail), to
	// leave room for the claims in flight and for a commitment that waits
	// for the witnesses.
	DefaultCommitMaxTail = 2048
	// DefaultCommitPoll is how often an idle committer looks at the tree
	// size.
	DefaultCommitPoll = 200 * time.Millisecond
	// publishPoll is how often a committer with a commitment due looks
	// again while the published checkpoint does not cover its last one
	// (a witness round is under way).
	publishPoll = 10 * time.Millisecond
	// keysChunk is how many entries the committer reads from the store at once.
	keysChunk = 256
)

// IndexConfig configures an [IndexCommitter]. Every zero value means the
// documented default.
type IndexConfig struct {
	// Entries is how many entries after the last commitment make the
	// committer commit at once. Default DefaultCommitEntries.
	Entries int
	// Age is the longest time between two commitments while new entries
	// wait. Default DefaultCommitAge.
	Age time.Duration
	// MaxEntries bounds the entries one commitment adds to the map: a
	// rebuild from the entries, or a committer far behind, catches up in
	// commitments of at most this many entries, so that the strata one
	// update holds stay within memory. Default DefaultCommitMaxEntries.
	MaxEntries int
	// MaxTail is how many entries may follow the latest commitment
	// while the committer runs before AddClaim waits for the next
	// commitment (see indexGate); negative for no bound, which lets a
	// load faster than the committer grow the tail that lookups' clients
	// read until they refuse it. Default DefaultCommitMaxTail.
	MaxTail int
	// Poll is how often an idle committer looks at the tree size: a
	// committer that made a commitment looks again at once, and one
	// waiting for the published checkpoint to cover its last commitment
	// every few milliseconds. Default DefaultCommitPoll.
	Poll time.Duration
	// Logger receives the committer's logs; nil discards them.
	Logger *slog.Logger
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

// An IndexCommitter keeps the log's verifiable index (package log/vindex)
// and commits to it: every Entries new entries or Age, whichever comes
// first (and never for a tail without entries), it applies the additions
// of the entries since the latest commitment to the map, which gives the
// map over the entries [0, N), N being the tree size, and appends an index
// commitment entry (N, root) through the normal append path, which stores
// the map's changed strata in the same transaction (see indexmap.go). The
// map's hashing thus runs beside the sequencer, not on its path.
//
// It does not wait for the log's published (witnessed) checkpoint to
// cover its last commitment before it writes the next one, or it would
// index at most MaxEntries entries a witness round: each commitment names
// the newest one before it that the published checkpoint covers as its
// anchor, which the index goes on serving beside the new one (see
// updateIndex), so that a client holding the published checkpoint always
// finds a commitment below its tree size, and the entries after it (the
// tail a client reads itself) stay few. It goes at most maxAhead
// commitments past the anchor, and makes none past a first commitment
// that is not published yet. On a restart it
// resumes from the index's state: nothing else is kept. A log whose index
// is in the layout of an older attestlog (or has none) has it rebuilt from
// all the entries by the first commitment, which says so in the log.
//
// The log's Config.Indexer must be a [ClaimIndex].
type IndexCommitter struct {
	l    *Log
	cfg  IndexConfig
	keys *keyCache // what the sequencer's ClaimIndex parsed
	last time.Time // when the last commitment was made or seen, or the committer made; owned by Run
	// seen is the latest commitment the last step read; deferred whether
	// the last due step let another frontend's committer go first. Owned by Run.
	seen     commitState
	deferred bool
	// unpublished says that the last step found entries due but the
	// published checkpoint not covering the latest commitment. Owned by Run.
	unpublished bool
	// stateRead says that a step has read the index's state (and given
	// the gate the latest commitment's size). Owned by Run.
	stateRead bool
	// carry is what the last update left for the next; owned by Run.
	carry *indexCarry
}

// maxAhead bounds the commitments the committer makes after the previous
// one a state serves (its anchor) while the published checkpoint covers
// none of them: their deltas cannot be merged until it does, and every
// reader of the index keeps them in memory. A witness round takes about
// a second (DefaultWitnessInterval); the committer makes a commitment of
// MaxEntries entries in some 50 to 100 ms under a heavy load.
const maxAhead = 32

// canGoAhead reports whether the committer may make a commitment after
// st's latest before the published checkpoint covers it: st serves a
// previous commitment, which is the anchor the new state keeps at least,
// and fewer than maxAhead commitments follow it.
func canGoAhead(st indexState) bool {
	if st.Previous.Index < 0 {
		return false
	}
	i, _ := slices.BinarySearch(st.Deltas, st.Previous.Index+1)
	return len(st.Deltas)-i < maxAhead
}

// anchor returns the commitment the next state serves beside the new one
// (see updateIndex and anchorOf), reading it from its entry unless it is
// the state's latest or previous one.
func (c *IndexCommitter) anchor(st indexState) (commitState, error) {
	published := int64(-1)
	if pub := c.l.Published(); pub != nil {
		published = pub.Size
	}
	idx := anchorOf(st, published)
	switch idx {
	case st.Latest.Index:
		return st.Latest, nil
	case st.Previous.Index:
		return st.Previous, nil
	}
	e, err := c.l.Entries(idx, 1)
	if err != nil {
		return commitState{}, fmt.Errorf("log: reading index commitment %d: %w", idx, err)
	}
	com, err := vindex.ParseCommitment(e[0])
	if err != nil {
		return commitState{}, fmt.Errorf("%w: the index state names commitment %d, whose entry is not one: %w", ErrCorrupt, idx, err)
	}
	return commitState{Index: idx, Commitment: com}, nil
}

// anchorOf returns the entry index of the commitment the state after st
// serves beside its new one: the newest of st's commitments, from its
// previous one to its latest, below the published tree size (st's
// previous one if none is). Without witnesses it is the latest; with
// them, the latest is often still being cosigned, and the one before it
// too, as the committer goes on committing while a round lasts.
func anchorOf(st indexState, published int64) int64 {
	if st.Latest.Index < published {
		return st.Latest.Index
	}
	for i := len(st.Deltas) - 1; i >= 0 && st.Deltas[i] > st.Previous.Index; i-- {
		if st.Deltas[i] < published {
			return st.Deltas[i]
		}
	}
	return st.Previous.Index
}

// Metrics returns the committer's Prometheus collectors, for the caller to
// register beside the log's: the size of the latest index commitment,
// and the tail after it, which a lookup's client reads and checks itself
// and refuses past its bound (client.DefaultMaxTail): a tail that keeps
// growing is a committer that does not keep up.
func (c *IndexCommitter) Metrics() []prometheus.Collector {
	return []prometheus.Collector{
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "index_committed_entries", Help: "Entries the latest index commitment covers.",
		}, func() float64 { return float64(c.l.gate.committedSize()) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "index_tail_entries", Help: "Entries of the latest checkpoint after those the latest index commitment covers: the tail a lookup's client reads itself.",
		}, func() float64 { return float64(max(c.l.Checkpoint().Size-c.l.gate.committedSize(), 0)) }),
	}
}

// NewIndexCommitter returns the committer of l's index.
func NewIndexCommitter(l *Log, cfg IndexConfig) (*IndexCommitter, error) {
	ci, ok := l.cfg.Indexer.(ClaimIndex)
	if !ok {
		return nil, errors.New("log: index committer: the log does not index claims (Config.Indexer is not a ClaimIndex)")
	}
	switch {
	case cfg.Entries < 0 || cfg.Age < 0 || cfg.MaxEntries < 0 || cfg.Poll < 0:
		return nil, errors.New("log: index committer: negative Entries, Age, MaxEntries or Poll")
	case cfg.Entries == 0:
		cfg.Entries = DefaultCommitEntries
	}
	if cfg.Age == 0 {
		cfg.Age = DefaultCommitAge
	}
	if cfg.MaxEntries == 0 {
		cfg.MaxEntries = DefaultCommitMaxEntries
	}
	if cfg.Poll == 0 {
		cfg.Poll = DefaultCommitPoll
	}
	switch {
	case cfg.MaxTail == 0:
		cfg.MaxTail = DefaultCommitMaxTail
	case cfg.MaxTail < 0:
		cfg.MaxTail = 0
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	ci.keys.activate()
	return &IndexCommitter{l: l, cfg: cfg, keys: ci.keys, last: cfg.Now(), seen: noCommitment}, nil
}

// Run commits the index until ctx is done, and then returns nil. A failed
// commitment is logged and tried again at the next poll.
//
// After a commitment it steps again at once, and while its last
// commitment waits to be published it looks again every few
// milliseconds, so that a committer keeps up with the sequencer as long
// as it has the CPU to: one commitment a poll (at most MaxEntries entries
// each) would index at most 2,560 entries a second at the defaults, and
// under a heavier load the tail a lookup's client must read itself would
// grow without bound, until clients refuse it (client.DefaultMaxTail).
//
// While it runs, claims wait (in [Service.AddClaim]) whenever more than
// MaxTail entries follow the latest commitment, and a claim that waits
// wakes it; from the first time it has caught up to within MaxTail, so
// that a rebuild of the index, or a committer that was stopped for long,
// catches up while the log goes on taking claims.
func (c *IndexCommitter) Run(ctx context.Context) error {
	poll := min(c.cfg.Poll, c.cfg.Age)
	t := time.NewTimer(0)
	defer t.Stop()
	defer c.l.gate.stop()
	gated := false
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		case <-c.l.gate.kick:
		}
		idx, err := c.Step(ctx)
		if !gated && c.stateRead && c.l.visibleSize()-c.l.gate.committedSize() <= int64(c.cfg.MaxTail) {
			// The gate closes once the committer has caught up: a rebuild
			// of the index, or a committer stopped for long, catches up
			// while the log takes claims.
			c.l.gate.start(int64(c.cfg.MaxTail))
			gated = true
		}
		switch {
		case errors.Is(err, errStaleCommitment):
			// Another frontend's committer was first; the next step starts
			// from its commitment.
			c.cfg.Logger.DebugContext(ctx, "committing the index", slog.Any("err", err))
		case err != nil && ctx.Err() == nil:
			c.cfg.Logger.ErrorContext(ctx, "committing the index", slog.Any("err", err))
		}
		next := poll
		switch {
		case err == nil && idx >= 0:
			next = 0
		case err == nil && c.unpublished:
			next = min(poll, publishPoll)
		}
		t.Reset(next)
	}
}

// Step commits the index once if it is due: when Entries entries wait, or
// some do and Age has passed since the last commitment, and the published
// checkpoint covers the last commitment. On a [SharedStore] it commits
// only while it holds the store's index lock, so that one frontend at a
// time computes the update, and a committer that did not make the latest
// commitment lets one due poll pass first, so that the one that did (and
// keeps its upper strata) goes on making them while it lives. It returns
// the new commitment's index, or -1 if none was due or another frontend
// holds the lock.
func (c *IndexCommitter) Step(ctx context.Context) (int64, error) {
	if c.l.Status() != nil {
		// Starting up, or rolled back: the log accepts no appends, and says
		// why itself.
		return -1, nil
	}
	state, size, due, err := c.due()
	if err != nil || !due {
		return -1, err
	}
	if s := c.l.shared; s != nil {
		if c.carry == nil || c.carry.at != state.Latest {
			if c.deferred = !c.deferred; c.deferred {
				return -1, nil
			}
		}
		unlock, ok, err := s.TryLockIndex(ctx)
		if err != nil || !ok {
			return -1, err
		}
		defer func() {
			if err := unlock(); err != nil {
				c.cfg.Logger.WarnContext(ctx, "the store's index lock was lost while committing the index; the sequencer drops a commitment whose base changed", slog.Any("err", err))
			}
		}()
		// Whoever held the lock before may have committed since.
		if state, size, due, err = c.due(); err != nil || !due {
			return -1, err
		}
	}
	return c.commit(ctx, state, size)
}

// due reads the index's state and reports whether a commitment of the
// tree size is due.
func (c *IndexCommitter) due() (state indexState, size int64, due bool, err error) {
	state, err = readIndexState(c.l.store)
	if err != nil {
		return state, 0, false, err
	}
	latest := state.Latest
	c.unpublished, c.stateRead = false, true
	c.l.gate.advance(latest.Size)
	c.keys.dropBelow(latest.Size)
	if latest != c.seen {
		// Another frontend's commitment restarts the age too.
		if c.seen = latest; c.carry == nil || c.carry.at != latest {
			c.last = c.cfg.Now()
		}
	}
	size = c.l.Checkpoint().Size
	waiting := size - latest.Size
	// Claims wait at the gate, which counts the entries of the published
	// tree.
	gated := c.cfg.MaxTail > 0 && c.l.visibleSize()-latest.Size > int64(c.cfg.MaxTail)
	if latest.Index >= 0 {
		waiting-- // the commitment itself, at or past its size
		if pub := c.l.Published(); pub == nil || pub.Size <= latest.Index && !canGoAhead(state) {
			c.unpublished = waiting >= int64(c.cfg.Entries) || gated
			return state, size, false, nil
		}
	}
	due = waiting > 0 && (waiting >= int64(c.cfg.Entries) || c.cfg.Now().Sub(c.last) >= c.cfg.Age || gated)
	// A rebuild, or a committer that was stopped a long time, catches up
	// in steps, so that one update's strata stay within memory.
	size = min(size, latest.Size+int64(c.cfg.MaxEntries))
	return state, size, due, nil
}

// commit makes the commitment of the tree size from state.
func (c *IndexCommitter) commit(ctx context.Context, state indexState, size int64) (int64, error) {
	latest := state.Latest
	var err error
	var old []IndexWrite
	if latest.Index < 0 {
		if old, err = oldLayoutDeletes(c.l.store); err != nil {
			return -1, err
		}
		if len(old) > 0 {
			c.cfg.Logger.WarnContext(ctx, "the verifiable index is in the layout of an older attestlog: rebuilding it from the entries in the next commitment, and deleting the older layout's records",
				slog.Int64("entries", size), slog.Int("old_records", len(old)))
		}
	}
	adds, err := c.additions(latest.Size, size)
	if err != nil {
		return -1, err
	}
	anchor, err := c.anchor(state)
	if err != nil {
		return -1, err
	}
	carry := c.carry
	c.carry = nil // its strata are the update's now, even if it fails half-way
	u, err := updateIndex(c.l.store, c.l.vdeltas, state, size, adds, carry, anchor)
	if err != nil {
		return -1, err
	}
	u.OldLayout = old
	idx, dup, err := c.l.AppendParsed(ctx, u.To.Marshal(), u)
	if err != nil {
		return -1, fmt.Errorf("log: appending the index commitment of size %d: %w", size, err)
	}
	if dup {
		return -1, fmt.Errorf("log: the index commitment of size %d was already logged at %d", size, idx)
	}
	c.last = c.cfg.Now()
	c.l.gate.advance(size)
	c.carry = u.carryAt(idx)
	if !u.ToBase {
		if err := c.l.vdeltas.put(idx, u.Delta); err != nil {
			return -1, err
		}
	}
	step := -1 // no merge step
	if u.Merging {
		step = u.MergeStep
	}
	c.cfg.Logger.InfoContext(ctx, "committed index", slog.Int64("index", idx), slog.Int64("size", size), slog.String("root", u.To.Root.String()),
		slog.Int("strata", len(u.Strata)), slog.Int("delta_bytes", len(u.Delta)), slog.Bool("to_base", u.ToBase),
		slog.Int("merge_step", step), slog.Int("merged_records", len(u.Merge)))
	return idx, nil
}

// additions returns the map function's additions of the entries
// [start, end), in index order, keysChunk entries at a time: for each
// entry, the index keys the sequencer parsed, if it left them for the very
// entry the tiles' leaf hash names, else the keys of the entry read from
// the store. In the steady state the committer thus reads no entry, which
// may be large, but 32-byte leaf hashes from the tiles.
func (c *IndexCommitter) additions(start, end int64) ([]vindex.Addition, error) {
	// Most entries are claims of about five keys.
	adds := make([]vindex.Addition, 0, 6*min(end-start, int64(c.cfg.MaxEntries)))
	keys := make([][]vindex.Key, keysChunk)
	var missed []int
	for i := start; i < end; {
		n := int(min(end-i, keysChunk))
		leaves, err := c.leafHashes(i, n)
		if err != nil {
			return nil, fmt.Errorf("log: indexing entries [%d, %d): %w", i, i+int64(n), err)
		}
		missed = missed[:0]
		for j, leaf := range leaves {
			ck, ok := c.keys.take(i+int64(j), leaf)
			if !ok {
				keys[j] = nil
				missed = append(missed, j)
				continue
			}
			keys[j] = vindex.ClaimKeys(ck)
		}
		if err := c.readKeys(i, keys, missed); err != nil {
			return nil, err
		}
		for j, ks := range keys[:n] {
			for _, k := range ks {
				adds = append(adds, vindex.Addition{Key: k, Index: i + int64(j)})
			}
		}
		i += int64(n)
	}
	return adds, nil
}

// leafHashes returns the leaf hashes of the entries [start, start+n) from
// the log's tiles, through the cache of expanded tiles its proofs use
// (which, on a shared store, already holds those the sequencer wrote).
func (c *IndexCommitter) leafHashes(start int64, n int) ([]tlog.Hash, error) {
	indexes := make([]int64, n)
	for j := range indexes {
		indexes[j] = tlog.StoredHashIndex(0, start+int64(j))
	}
	return c.l.hashes.ReadHashes(indexes)
}

// readKeys sets keys[j], for each j of missed (increasing), to the keys of
// the entry at index first+j, read from the store a run of consecutive
// entries at a time.
func (c *IndexCommitter) readKeys(first int64, keys [][]vindex.Key, missed []int) error {
	for len(missed) > 0 {
		run := 1
		for run < len(missed) && missed[run] == missed[0]+run {
			run++
		}
		at := first + int64(missed[0])
		entries, err := c.l.store.Entries(at, run)
		if err != nil {
			return fmt.Errorf("log: reading entries [%d, %d) to index them: %w", at, at+int64(run), err)
		}
		for k, e := range entries {
			ks, ok := vindex.EntryKeys(e)
			if !ok {
				c.cfg.Logger.Warn("entry is neither a claim nor an index commitment: it has no keys", slog.Int64("index", at+int64(k)))
			}
			keys[missed[k]] = ks
		}
		missed = missed[run:]
	}
	return nil
}
