package client

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"sync"

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
}

// CheckLog is a whole-log consistency check, in the spirit of fsck. It
// fetches the checkpoint and verifies its signature with v (whose name must
// be the origin); authenticates every hash tile of that tree against the
// root with tlog's tile hash reader; re-hashes every entry of every entry
// bundle and compares it with its authenticated leaf hash, which proves the
// inclusion of every entry; and recomputes the root from all leaf hashes.
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
	tr := &tileReader{ctx: ctx, f: f, saved: make(map[tlog.Tile][]byte), read: make(map[tlog.Tile]bool)}
	hr := tlog.TileHashReader(tlog.Tree{N: cp.Size, Hash: cp.Hash}, tr)
	rng := (&compact.RangeFactory{Hash: rfc6962.DefaultHasher.HashChildren}).NewEmptyRange(0)
	for start := int64(0); start < cp.Size; start += tiles.Width {
		n := start / tiles.Width
		w := tiles.TileWidth(0, n, cp.Size)
		indexes := make([]int64, w)
		for i := range indexes {
			indexes[i] = tlog.StoredHashIndex(0, start+int64(i))
		}
		leaves, err := hr.ReadHashes(indexes)
		if err != nil {
			if tr.err != nil {
				return r, tr.err
			}
			return r, fmt.Errorf("%w: authenticating level-0 tile %d: %w", ErrCheck, n, err)
		}
		if err := checkBundle(ctx, f, tlog.Tile{H: tiles.Height, L: tiles.EntriesLevel, N: n, W: w}, leaves); err != nil {
			return r, err
		}
		r.Bundles++
		for _, h := range leaves {
			rng.Append(h[:], nil)
		}
	}
	for _, t := range tiles.NewTiles(0, cp.Size) {
		if t.L != tiles.EntriesLevel && !tr.read[t] {
			return r, fmt.Errorf("%w: tile %s was never authenticated", ErrCheck, tiles.Path(t))
		}
	}
	r.Tiles = len(tr.read)
	root := rfc6962.DefaultHasher.EmptyRoot()
	if cp.Size > 0 {
		root, _ = rng.GetRootHash(nil)
	}
	if !bytes.Equal(root, cp.Hash[:]) {
		return r, fmt.Errorf("%w: leaf hashes give root %x, checkpoint says %v", ErrCheck, root, cp.Hash)
	}
	return r, nil
}

// checkBundle fetches entry bundle t and checks that its entries hash to leaves.
func checkBundle(ctx context.Context, f Fetcher, t tlog.Tile, leaves []tlog.Hash) error {
	path := tiles.Path(t)
	data, err := f.Fetch(ctx, path)
	if err != nil {
		return fmt.Errorf("fetching %s: %w", path, err)
	}
	entries, err := tiles.ParseEntryBundle(data)
	if err != nil {
		return fmt.Errorf("%w: %s: %w", ErrCheck, path, err)
	}
	if len(entries) != len(leaves) {
		return fmt.Errorf("%w: %s holds %d entries, want %d", ErrCheck, path, len(entries), len(leaves))
	}
	for i, e := range entries {
		if tlog.RecordHash(e) != leaves[i] {
			return fmt.Errorf("%w: entry %d in %s does not hash to its leaf in the tree", ErrCheck, t.N*tiles.Width+int64(i), path)
		}
	}
	return nil
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
