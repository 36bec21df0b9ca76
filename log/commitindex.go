package log

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"time"

	"github.com/attestlog/attestlog/log/vindex"
)

const (
	// DefaultCommitEntries is how many new entries make the
	// [IndexCommitter] commit the index at once.
	DefaultCommitEntries = 256
	// DefaultCommitAge is the longest a new entry waits for an index
	// commitment, as long as witnesses keep up.
	DefaultCommitAge = 5 * time.Second
	// commitPoll bounds how often the committer looks at the tree size.
	commitPoll = 200 * time.Millisecond
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
	// Logger receives the committer's logs; nil discards them.
	Logger *slog.Logger
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

// An IndexCommitter keeps the log's verifiable index (package log/vindex)
// and commits to it: every Entries new entries or Age, whichever comes
// first (and never for a tail without entries), it computes the map over
// the entries [0, N), N being the tree size, and appends an index
// commitment entry (N, root) through the normal append path, which stores
// the map's nodes in the same transaction (see indexmap.go). The map's
// hashing thus runs beside the sequencer, not on its path.
//
// It waits for the log's published (witnessed) checkpoint to cover its
// last commitment before it writes the next one, so that the map kept for
// the previous one serves clients until then, and the entries after a
// commitment (the tail a client reads itself) stay few. On a restart it
// resumes from the slots' state: nothing else is kept.
//
// The log's Config.Indexer must be a [ClaimIndex].
type IndexCommitter struct {
	l    *Log
	cfg  IndexConfig
	last time.Time // when the last commitment was made, or the committer made; owned by Run
	// keys caches the map function's keys of entries [keysStart, ...),
	// which the next commitment needs again for the other slot; owned by Run.
	keys      [][]vindex.Key
	keysStart int64
}

// NewIndexCommitter returns the committer of l's index.
func NewIndexCommitter(l *Log, cfg IndexConfig) (*IndexCommitter, error) {
	if _, ok := l.cfg.Indexer.(ClaimIndex); !ok {
		return nil, errors.New("log: index committer: the log does not index claims (Config.Indexer is not a ClaimIndex)")
	}
	switch {
	case cfg.Entries < 0 || cfg.Age < 0:
		return nil, errors.New("log: index committer: negative Entries or Age")
	case cfg.Entries == 0:
		cfg.Entries = DefaultCommitEntries
	}
	if cfg.Age == 0 {
		cfg.Age = DefaultCommitAge
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &IndexCommitter{l: l, cfg: cfg, last: cfg.Now()}, nil
}

// Run commits the index until ctx is done, and then returns nil. A failed
// commitment is logged and tried again at the next poll.
func (c *IndexCommitter) Run(ctx context.Context) error {
	t := time.NewTicker(min(commitPoll, c.cfg.Age))
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
		switch _, err := c.Step(ctx); {
		case errors.Is(err, errStaleCommitment):
			// Another frontend's committer was first; the next step starts
			// from its commitment.
			c.cfg.Logger.DebugContext(ctx, "committing the index", slog.Any("err", err))
		case err != nil && ctx.Err() == nil:
			c.cfg.Logger.ErrorContext(ctx, "committing the index", slog.Any("err", err))
		}
	}
}

// Step commits the index once if it is due: when Entries entries wait, or
// some do and Age has passed since the last commitment, and the published
// checkpoint covers the last commitment. It returns the new commitment's
// index, or -1 if none was due.
func (c *IndexCommitter) Step(ctx context.Context) (int64, error) {
	if c.l.Status() != nil {
		// Starting up, or rolled back: the log accepts no appends, and says
		// why itself.
		return -1, nil
	}
	slots, err := readSlots(c.l.store)
	if err != nil {
		return -1, err
	}
	latest, has := newest(slots, c.l.Checkpoint().Size)
	size := c.l.Checkpoint().Size
	waiting := size - latest.Size
	if has {
		waiting-- // the commitment itself, at or past its size
		if pub := c.l.Published(); pub == nil || pub.Size <= latest.Index {
			return -1, nil
		}
	}
	if waiting <= 0 || waiting < int64(c.cfg.Entries) && c.cfg.Now().Sub(c.last) < c.cfg.Age {
		return -1, nil
	}
	base, err := indexBase(c.l.store)
	if err != nil {
		return -1, err
	}
	u, err := c.prepare(base, size)
	if err != nil {
		return -1, err
	}
	// The next commitment updates the other slot, from its size on.
	c.pruneKeys(max(latest.Size, base.Size))
	idx, dup, err := c.l.AppendParsed(ctx, u.To.Marshal(), u)
	if err != nil {
		return -1, fmt.Errorf("log: appending the index commitment of size %d: %w", size, err)
	}
	if dup {
		return -1, fmt.Errorf("log: the index commitment of size %d was already logged at %d", size, idx)
	}
	c.last = c.cfg.Now()
	c.cfg.Logger.InfoContext(ctx, "committed index", slog.Int64("index", idx), slog.Int64("size", size), slog.String("root", u.To.Root.String()))
	return idx, nil
}

// prepare computes the nodes that bring the map in slot base to the map
// over the entries [0, size).
func (c *IndexCommitter) prepare(base slotState, size int64) (*indexUpdate, error) {
	var adds []vindex.Addition
	for i := base.Size; i < size; {
		keys, err := c.entryKeys(i, size)
		if err != nil {
			return nil, err
		}
		for j, ks := range keys {
			for _, k := range ks {
				adds = append(adds, vindex.Addition{Key: k, Index: i + int64(j)})
			}
		}
		i += int64(len(keys))
	}
	return updateIndex(c.l.store, base, size, adds)
}

// entryKeys returns the map function's keys of the entries from start (at
// most keysChunk of them, none past end), from the cache or the store,
// which it extends.
func (c *IndexCommitter) entryKeys(start, end int64) ([][]vindex.Key, error) {
	cacheEnd := c.keysStart + int64(len(c.keys))
	if start >= c.keysStart && start < cacheEnd {
		return c.keys[start-c.keysStart : min(cacheEnd, end, start+keysChunk)-c.keysStart], nil
	}
	n := int(min(end-start, keysChunk))
	entries, err := c.l.store.Entries(start, n)
	if err != nil {
		return nil, fmt.Errorf("log: reading entries [%d, %d) to index them: %w", start, start+int64(n), err)
	}
	out := make([][]vindex.Key, n)
	for j, e := range entries {
		keys, ok := vindex.EntryKeys(e)
		if !ok {
			c.cfg.Logger.Warn("entry is neither a claim nor an index commitment: it has no keys", slog.Int64("index", start+int64(j)))
		}
		out[j] = keys
	}
	if start != cacheEnd {
		c.keys, c.keysStart = nil, start
	}
	c.keys = append(c.keys, out...)
	return out, nil
}

// pruneKeys drops the cached keys of the entries before start.
func (c *IndexCommitter) pruneKeys(start int64) {
	if start <= c.keysStart {
		return
	}
	drop := min(start-c.keysStart, int64(len(c.keys)))
	c.keys, c.keysStart = slices.Clone(c.keys[drop:]), c.keysStart+drop
}
