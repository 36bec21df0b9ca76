package log

import (
	"crypto/sha256"
	"testing"

	"github.com/attestlog/attestlog/tiles"
	"golang.org/x/mod/sumdb/tlog"
)

// tileStore is a Store whose Tiles serves one level-0 tile and counts the
// calls; its other methods are not used.
type tileStore struct {
	Store
	tile  []byte
	reads int
}

func (s *tileStore) Tiles(ids []TileID) ([][]byte, error) {
	s.reads++
	out := make([][]byte, len(ids))
	for i, id := range ids {
		if id == (TileID{}) {
			out[i] = s.tile
		}
	}
	return out, nil
}

// TestTileHashesPartial checks that proofs use the widest partial tile a
// commit left in the cache for any hash it holds, without reading the
// store (the receipts' proofs end in the right edge's partial tiles), and
// read the store for a hash beyond it.
func TestTileHashesPartial(t *testing.T) {
	var data []byte
	for i := range 12 {
		h := sha256.Sum256([]byte{byte(i)})
		data = append(data, h[:]...)
	}
	s := &tileStore{tile: data}
	r := newTileHashes(s, 16)
	r.remember(map[TileID][]byte{{}: data[:6*tlog.HashSize]})
	r.remember(map[TileID][]byte{{}: data[:10*tlog.HashSize]})
	r.remember(map[TileID][]byte{{}: data[:8*tlog.HashSize]})
	h := func(i int) tlog.Hash { return tlog.Hash(data[i*tlog.HashSize : (i+1)*tlog.HashSize]) }
	n := tlog.NodeHash
	for _, tc := range []struct {
		indexes []int64
		want    []tlog.Hash
		reads   int
	}{
		{[]int64{tlog.StoredHashIndex(0, 0), tlog.StoredHashIndex(0, 9)}, []tlog.Hash{h(0), h(9)}, 0},
		{[]int64{tlog.StoredHashIndex(2, 1)}, []tlog.Hash{n(n(h(4), h(5)), n(h(6), h(7)))}, 0},
		{[]int64{tlog.StoredHashIndex(1, 4), tlog.StoredHashIndex(0, 3)}, []tlog.Hash{n(h(8), h(9)), h(3)}, 0},
		{[]int64{tlog.StoredHashIndex(0, 2), tlog.StoredHashIndex(0, 11)}, []tlog.Hash{h(2), h(11)}, 1},
	} {
		s.reads = 0
		got, err := r.ReadHashes(tc.indexes)
		if err != nil {
			t.Fatalf("ReadHashes(%v): %v", tc.indexes, err)
		}
		for i := range tc.want {
			if got[i] != tc.want[i] {
				t.Fatalf("ReadHashes(%v)[%d] = %v, want %v", tc.indexes, i, got[i], tc.want[i])
			}
		}
		if s.reads != tc.reads {
			t.Errorf("ReadHashes(%v) read the store %d times, want %d", tc.indexes, s.reads, tc.reads)
		}
	}
	// One width per tile: the widest, 12 hashes, read last.
	if r.lru.Len() != 1 || len(r.byKey) != 1 || len(r.widest) != 1 || r.widest[TileID{}].Value.(*expandedTile).key.width != 12 {
		t.Errorf("the cache holds %d expansions (%d keys, %d widest) of one tile, want its widest only", r.lru.Len(), len(r.byKey), len(r.widest))
	}
}

// TestTileCacheFor checks that ExpandedTileBytes is what an expanded full
// tile holds, and that TileCacheFor fits a budget with it.
func TestTileCacheFor(t *testing.T) {
	e := expand(expandedKey{TileID{}, tiles.Width}, make([]byte, tiles.Width*tlog.HashSize))
	held := 0
	for _, level := range e.levels {
		held += len(level) * tlog.HashSize
	}
	if held != ExpandedTileBytes {
		t.Fatalf("an expanded full tile holds %d bytes of hashes, ExpandedTileBytes is %d", held, ExpandedTileBytes)
	}
	for _, c := range []struct {
		budget int64
		want   int
	}{{0, 8}, {ExpandedTileBytes * 100, 100}, {ExpandedTileBytes*100 - 1, 99}, {13 << 20, 835}} {
		if got := TileCacheFor(c.budget); got != c.want {
			t.Errorf("TileCacheFor(%d) = %d, want %d", c.budget, got, c.want)
		}
	}
}
