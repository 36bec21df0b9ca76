package log

import (
	"fmt"

	"github.com/attestlog/attestlog/tiles"
	"golang.org/x/mod/sumdb/tlog"
)

// storeHashes reads tlog stored hashes out of the hash tiles of a Store, so
// that tlog's proof and tree-hash code runs directly on our storage.
type storeHashes struct{ store Store }

// ReadHashes implements tlog.HashReader. All hashes come from one consistent view.
func (r storeHashes) ReadHashes(indexes []int64) ([]tlog.Hash, error) {
	want := make([]tlog.Tile, len(indexes))
	pos := make(map[TileID]int)
	var ids []TileID
	for i, x := range indexes {
		t := tlog.TileForIndex(tiles.Height, x)
		want[i] = t
		id := TileID{Level: t.L, N: t.N}
		if _, ok := pos[id]; !ok {
			pos[id] = len(ids)
			ids = append(ids, id)
		}
	}
	data, err := r.store.Tiles(ids)
	if err != nil {
		return nil, fmt.Errorf("reading tiles: %w", err)
	}
	out := make([]tlog.Hash, len(indexes))
	for i, t := range want {
		d := data[pos[TileID{Level: t.L, N: t.N}]]
		if len(d) < t.W*tlog.HashSize {
			return nil, fmt.Errorf("tile %s holds %d hashes, need %d: %w", tiles.Path(t), len(d)/tlog.HashSize, t.W, ErrNotFound)
		}
		t.W = len(d) / tlog.HashSize
		if out[i], err = tlog.HashFromTile(t, d, indexes[i]); err != nil {
			return nil, fmt.Errorf("reading hash %d: %w", indexes[i], err)
		}
	}
	return out, nil
}
