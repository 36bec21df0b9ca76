package client

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/attestlog/attestlog/log/vindex"
	"github.com/attestlog/attestlog/tiles"
	"github.com/transparency-dev/merkle/compact"
	"github.com/transparency-dev/merkle/rfc6962"
	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"
)

// ErrCheck is wrapped by every finding of [CheckLog]: the log serves
// something that contradicts its signed checkpoint.
var ErrCheck = errors.New("client: log check failed")

// A CheckReport summarises a successful [CheckLog].
type CheckReport struct {
	Checkpoint tiles.Checkpoint // the checkpoint every resource was checked against
	Note       []byte           // that checkpoint's signed note, verbatim
	Tiles      int              // hash tiles authenticated
	Bundles    int              // entry bundles re-hashed
	// Commitments is the number of index commitments whose root was
	// recomputed from the entries.
	Commitments int
}

// CheckLog is a whole-log consistency check, in the spirit of fsck. It
// fetches the checkpoint and verifies its signature with v (whose name must
// be the origin); authenticates every hash tile of that tree against the
// root with tlog's tile hash reader; re-hashes every entry of every entry
// bundle and compares it with its authenticated leaf hash, which proves the
// inclusion of every entry; recomputes the root from all leaf hashes; and
// recomputes the verifiable index (package log/vindex) from the entries:
// every index-commitment entry must be well formed, name a size at most
// its own index and no smaller than the last, and give the root of the
// map of the entries below that size. It holds the map in memory (about
// 1.2 GB at a million keys; BENCHMARKS.md).
// Findings wrap [ErrCheck]; fetch failures are returned as they are.
func CheckLog(ctx context.Context, f Fetcher, v note.Verifier) (CheckReport, error) {
	msg, err := f.Fetch(ctx, "checkpoint")
	if err != nil {
		return CheckReport{}, fmt.Errorf("fetching checkpoint: %w", err)
	}
	cp, err := OpenCheckpoint(msg, v)
	if err != nil {
		return CheckReport{}, fmt.Errorf("%w: %w", ErrCheck, err)
	}
	r := CheckReport{Checkpoint: cp, Note: msg}
	w := newTileWalker(ctx, f, tlog.Tree{N: cp.Size, Hash: cp.Hash})
	rng := (&compact.RangeFactory{Hash: rfc6962.DefaultHasher.HashChildren}).NewEmptyRange(0)
	replay := &vindex.Replay{}
	for n := int64(0); n*tiles.Width < cp.Size; n++ {
		entries, leaves, err := w.bundle(ctx, n)
		if err != nil {
			return r, err
		}
		r.Bundles++
		for _, e := range entries {
			idx := replay.Size()
			c, err := replayEntry(replay, e)
			if err != nil {
				return r, fmt.Errorf("%w: entry %d: %w", ErrCheck, idx, err)
			}
			if c != nil {
				r.Commitments++
			}
		}
		for _, h := range leaves {
			rng.Append(h[:], nil)
		}
	}
	for _, t := range tiles.NewTiles(0, cp.Size) {
		if t.L != tiles.EntriesLevel && !w.tr.read[t] {
			return r, fmt.Errorf("%w: tile %s was never authenticated", ErrCheck, tiles.Path(t))
		}
	}
	r.Tiles = len(w.tr.read)
	root := rfc6962.DefaultHasher.EmptyRoot()
	if cp.Size > 0 {
		root, _ = rng.GetRootHash(nil)
	}
	if !bytes.Equal(root, cp.Hash[:]) {
		return r, fmt.Errorf("%w: leaf hashes give root %x, checkpoint says %v", ErrCheck, root, cp.Hash)
	}
	return r, nil
}

// A tamperError is a resource that contradicts the checkpoint it was read
// against: a hash tile that does not authenticate, or an entry bundle whose
// entries do not hash to their authenticated leaves. It wraps [ErrCheck].
type tamperError struct {
	kind string // FindingTile or FindingBundle
	err  error
}

func (e *tamperError) Error() string   { return ErrCheck.Error() + ": " + e.err.Error() }
func (e *tamperError) Unwrap() []error { return []error{ErrCheck, e.err} }

// A tileWalker reads one tree's hashes and entries from a Fetcher,
// authenticating every hash tile against the tree's root hash with tlog's
// tile hash reader and every entry against its authenticated leaf hash.
// Errors are a *tamperError for what contradicts the tree, or the
// Fetcher's error. It is not safe for concurrent use.
type tileWalker struct {
	f    Fetcher
	tree tlog.Tree
	tr   *tileReader
	hr   tlog.HashReader
}

func newTileWalker(ctx context.Context, f Fetcher, tree tlog.Tree) *tileWalker {
	tr := &tileReader{ctx: ctx, f: f, saved: make(map[tlog.Tile][]byte), read: make(map[tlog.Tile]bool)}
	return &tileWalker{f: f, tree: tree, tr: tr, hr: tlog.TileHashReader(tree, tr)}
}

// ReadHashes implements tlog.HashReader with authenticated stored hashes.
func (w *tileWalker) ReadHashes(indexes []int64) ([]tlog.Hash, error) {
	hs, err := w.hr.ReadHashes(indexes)
	if err != nil {
		if w.tr.err != nil {
			return nil, w.tr.err
		}
		return nil, &tamperError{kind: FindingTile, err: fmt.Errorf("authenticating hash tiles of the tree of size %d: %w", w.tree.N, err)}
	}
	return hs, nil
}

// bundle returns the entries of level-0 tile n of the tree and their leaf
// hashes, every entry checked against its authenticated leaf hash.
func (w *tileWalker) bundle(ctx context.Context, n int64) ([][]byte, []tlog.Hash, error) {
	width := tiles.TileWidth(0, n, w.tree.N)
	indexes := make([]int64, width)
	for i := range indexes {
		indexes[i] = tlog.StoredHashIndex(0, n*tiles.Width+int64(i))
	}
	leaves, err := w.hr.ReadHashes(indexes)
	if err != nil {
		if w.tr.err != nil {
			return nil, nil, w.tr.err
		}
		return nil, nil, &tamperError{kind: FindingTile, err: fmt.Errorf("authenticating level-0 tile %d: %w", n, err)}
	}
	entries, err := checkBundle(ctx, w.f, tlog.Tile{H: tiles.Height, L: tiles.EntriesLevel, N: n, W: width}, leaves)
	return entries, leaves, err
}

// checkBundle fetches entry bundle t and checks that its entries hash to leaves.
func checkBundle(ctx context.Context, f Fetcher, t tlog.Tile, leaves []tlog.Hash) ([][]byte, error) {
	path := tiles.Path(t)
	data, err := f.Fetch(ctx, path)
	if err != nil {
		return nil, fmt.Errorf("fetching %s: %w", path, err)
	}
	tamper := func(format string, args ...any) error {
		return &tamperError{kind: FindingBundle, err: fmt.Errorf(format, args...)}
	}
	entries, err := tiles.ParseEntryBundle(data)
	if err != nil {
		return nil, tamper("%s: %w", path, err)
	}
	if len(entries) != len(leaves) {
		return nil, tamper("%s holds %d entries, want %d", path, len(entries), len(leaves))
	}
	for i, e := range entries {
		if tlog.RecordHash(e) != leaves[i] {
			return nil, tamper("entry %d in %s does not hash to its leaf in the tree", t.N*tiles.Width+int64(i), path)
		}
	}
	return entries, nil
}

// tileReader adapts a Fetcher to tlog.TileReader. Tiles above level 0 that
// tlog authenticated are kept, since every level-0 tile needs them again.
type tileReader struct {
	ctx   context.Context
	f     Fetcher
	mu    sync.Mutex
	saved map[tlog.Tile][]byte // authenticated tiles above level 0
	read  map[tlog.Tile]bool   // every tile authenticated
	err   error                // first fetch error, reported instead of tlog's wrapping
}

func (r *tileReader) Height() int { return tiles.Height }

func (r *tileReader) ReadTiles(ts []tlog.Tile) ([][]byte, error) {
	out := make([][]byte, len(ts))
	for i, t := range ts {
		r.mu.Lock()
		d, ok := r.saved[t]
		r.mu.Unlock()
		if ok {
			out[i] = d
			continue
		}
		d, err := r.f.Fetch(r.ctx, tiles.Path(t))
		if err != nil {
			r.err = fmt.Errorf("fetching %s: %w", tiles.Path(t), err)
			return nil, r.err
		}
		out[i] = d
	}
	return out, nil
}

func (r *tileReader) SaveTiles(ts []tlog.Tile, data [][]byte) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for i, t := range ts {
		r.read[t] = true
		if t.L > 0 {
			r.saved[t] = data[i]
		}
	}
}
