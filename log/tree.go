package log

import (
	"bytes"
	"fmt"

	"github.com/attestlog/attestlog/tiles"
	"github.com/transparency-dev/merkle/compact"
	"github.com/transparency-dev/merkle/rfc6962"
	"golang.org/x/mod/sumdb/tlog"
)

var rangeFactory = &compact.RangeFactory{Hash: rfc6962.DefaultHasher.HashChildren}

// tree is the sequencer's in-memory right edge of the Merkle tree: the compact
// range of all entries, from which the root comes, and the rightmost partial
// tile at every level, which new hashes extend. It is owned by Log.Run.
type tree struct {
	size int64
	rng  *compact.Range
	edge [][]byte // edge[L]: data of the partial tile at level L, empty if none
}

// appendLeaves extends the tree by the given leaf hashes and returns every
// hash tile that changed, as it now stands. Full tiles are handed over; the
// partial ones are copies, so the caller owns the whole result.
func (t *tree) appendLeaves(hashes []tlog.Hash) (map[TileID][]byte, error) {
	changed := make(map[TileID][]byte)
	var bad error
	visit := func(id compact.NodeID, h []byte) {
		if id.Level%tiles.Height != 0 {
			return
		}
		level := int(id.Level / tiles.Height)
		for len(t.edge) <= level {
			t.edge = append(t.edge, nil)
		}
		if pos := int(id.Index % tiles.Width); pos*tlog.HashSize != len(t.edge[level]) {
			bad = fmt.Errorf("log: tree edge out of step: node %d/%d lands at hash %d of a tile holding %d", id.Level, id.Index, pos, len(t.edge[level])/tlog.HashSize)
			return
		}
		t.edge[level] = append(t.edge[level], h...)
		id8 := TileID{Level: level, N: int64(id.Index / tiles.Width)}
		if len(t.edge[level]) == tiles.Width*tlog.HashSize {
			changed[id8] = t.edge[level]
			t.edge[level] = nil
		} else {
			changed[id8] = nil // filled in below, once this batch is done with it
		}
	}
	for i := range hashes {
		if err := t.rng.Append(hashes[i][:], visit); err != nil {
			return nil, fmt.Errorf("log: extending compact range: %w", err)
		}
		if bad != nil {
			return nil, bad
		}
	}
	t.size += int64(len(hashes))
	for id, data := range changed {
		if data == nil {
			changed[id] = bytes.Clone(t.edge[id.Level])
		}
	}
	return changed, nil
}

// root returns the root hash of the tree.
func (t *tree) root() (tlog.Hash, error) {
	if t.size == 0 {
		return tlog.Hash(rfc6962.DefaultHasher.EmptyRoot()), nil
	}
	r, err := t.rng.GetRootHash(nil)
	if err != nil {
		return tlog.Hash{}, fmt.Errorf("log: computing root: %w", err)
	}
	return tlog.Hash(r), nil
}

// loadTree rebuilds the right edge of a tree of the given size from stored tiles.
func loadTree(r tlog.HashReader, store Store, size int64) (*tree, error) {
	t := &tree{size: size}
	var ids []TileID
	for level := 0; size>>(tiles.Height*level) > 0; level++ {
		n := size >> (tiles.Height * level)
		ids = append(ids, TileID{Level: level, N: n / tiles.Width})
	}
	data, err := store.Tiles(ids)
	if err != nil {
		return nil, fmt.Errorf("reading edge tiles: %w", err)
	}
	for level, id := range ids {
		w := tiles.TileWidth(level, id.N, size) % tiles.Width // 0 when the rightmost tile is full
		if len(data[level]) < w*tlog.HashSize {
			return nil, fmt.Errorf("tile %d/%d has %d bytes, tree size %d needs %d", id.Level, id.N, len(data[level]), size, w*tlog.HashSize)
		}
		t.edge = append(t.edge, data[level][:w*tlog.HashSize])
	}
	nodes := compact.RangeNodes(0, uint64(size), nil)
	indexes := make([]int64, len(nodes))
	for i, n := range nodes {
		indexes[i] = tlog.StoredHashIndex(int(n.Level), int64(n.Index))
	}
	hashes, err := r.ReadHashes(indexes)
	if err != nil {
		return nil, fmt.Errorf("reading compact range: %w", err)
	}
	raw := make([][]byte, len(hashes))
	for i := range hashes {
		raw[i] = hashes[i][:]
	}
	if t.rng, err = rangeFactory.NewRange(0, uint64(size), raw); err != nil {
		return nil, fmt.Errorf("rebuilding compact range: %w", err)
	}
	return t, nil
}
