package log

import (
	"context"
	"fmt"

	"github.com/attestlog/attestlog/tiles"
	"golang.org/x/mod/sumdb/tlog"
)

// CheckpointPath is the tlog-tiles path of the checkpoint.
const CheckpointPath = "checkpoint"

// Fetch returns the tlog-tiles resource at path, relative to the log prefix:
// "checkpoint", a hash tile "tile/<L>/<N>[.p/<W>]" or an entry bundle
// "tile/entries/<N>[.p/<W>]". It serves exactly the resources of the latest
// checkpoint's tree and of every earlier one (partial tiles included), and
// returns an error wrapping [ErrNotFound] and fs.ErrNotExist for anything
// else, or wrapping [tiles.ErrMalformedPath] for a malformed path. The
// checkpoint fails with [Log.Status]'s error while that is not nil.
// The caller owns the returned slice. Fetch is the one reader behind the
// HTTP API and the invariant checker.
func (l *Log) Fetch(ctx context.Context, path string) ([]byte, error) {
	cp := l.Checkpoint()
	if path == CheckpointPath {
		if err := l.Status(); err != nil {
			return nil, err
		}
		pub := l.Published()
		if pub == nil {
			return nil, notFound("no checkpoint has met the witness quorum yet")
		}
		return pub.Note, nil
	}
	t, err := tiles.ParsePath(path)
	if err != nil {
		return nil, err
	}
	if t.W > tiles.TileWidth(t.L, t.N, cp.Size) {
		return nil, notFound("%s is not in the tree of size %d", path, cp.Size)
	}
	if t.L == tiles.EntriesLevel {
		entries, err := l.Entries(t.N*tiles.Width, t.W)
		if err != nil {
			return nil, fmt.Errorf("log: reading %s: %w", path, err)
		}
		return tiles.FormatEntryBundle(entries)
	}
	data, err := l.store.Tiles([]TileID{{Level: t.L, N: t.N}})
	if err != nil {
		return nil, fmt.Errorf("log: reading %s: %w", path, err)
	}
	if len(data[0]) < t.W*tlog.HashSize {
		return nil, fmt.Errorf("%w: %s holds %d bytes, tree size %d needs %d", ErrCorrupt, path, len(data[0]), cp.Size, t.W*tlog.HashSize)
	}
	return data[0][:t.W*tlog.HashSize], nil
}
