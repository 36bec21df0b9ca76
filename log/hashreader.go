package log

import (
	"container/list"
	"fmt"
	"sync"

	"github.com/attestlog/attestlog/tiles"
	"golang.org/x/mod/sumdb/tlog"
)

// DefaultTileCacheSize is the default number of expanded tiles the proof
// path keeps, about 16 KiB each ([ExpandedTileBytes]): 64 MiB.
const DefaultTileCacheSize = 4096

// ExpandedTileBytes is the memory one cached expanded tile holds: every
// node hash of a full tile, the level-0 hashes and the 7 levels above them.
const ExpandedTileBytes = (2*tiles.Width - 2) * tlog.HashSize

// TileCacheFor returns the [Config.TileCacheSize] whose cache holds at most
// budget bytes, and at least one tile per level a proof of a large log
// crosses.
func TileCacheFor(budget int64) int {
	return max(int(budget/ExpandedTileBytes), 8)
}

// tileHashes reads tlog stored hashes out of the hash tiles of a Store, so
// that tlog's proof and tree-hash code runs directly on our storage. A tile
// holds the hashes at one level of every 8th; the levels between are hashed
// from it, which is most of the cost of a proof, so tiles are kept
// expanded (every node hash inside them) in an LRU cache. A full tile never
// changes and a partial one is cached under its width, so the cache is never
// stale. It is safe for concurrent use.
type tileHashes struct {
	store Store
	mu    sync.Mutex
	max   int
	lru   *list.List                    // of *expandedTile, most recently used first
	byKey map[expandedKey]*list.Element // guarded by mu
	// widest holds, for each tile of which only partial widths are cached,
	// the widest of them; guarded by mu. The hashes a partial tile holds
	// are final, so a proof needing the first n of them can use any cached
	// width of at least n: the receipts' proofs, which end in the right
	// edge's partial tiles, then need no read of the store.
	widest map[TileID]*list.Element
}

type expandedKey struct {
	id    TileID
	width int
}

// expandedTile holds levels[k][j]: the hash of the j-th subtree of 2^k
// consecutive hashes of the tile, for k from 0 to 7.
type expandedTile struct {
	key    expandedKey
	levels [tiles.Height][]tlog.Hash
}

func newTileHashes(s Store, size int) *tileHashes {
	return &tileHashes{store: s, max: size, lru: list.New(), byKey: make(map[expandedKey]*list.Element), widest: make(map[TileID]*list.Element)}
}

func expand(key expandedKey, data []byte) *expandedTile {
	e := &expandedTile{key: key}
	e.levels[0] = make([]tlog.Hash, len(data)/tlog.HashSize)
	for i := range e.levels[0] {
		copy(e.levels[0][i][:], data[i*tlog.HashSize:])
	}
	for k := 1; k < tiles.Height; k++ {
		prev := e.levels[k-1]
		e.levels[k] = make([]tlog.Hash, len(prev)/2)
		for j := range e.levels[k] {
			e.levels[k][j] = tlog.NodeHash(prev[2*j], prev[2*j+1])
		}
	}
	return e
}

func (r *tileHashes) cached(key expandedKey) *expandedTile {
	r.mu.Lock()
	defer r.mu.Unlock()
	if el, ok := r.byKey[key]; ok {
		r.lru.MoveToFront(el)
		return el.Value.(*expandedTile)
	}
	return nil
}

// cachedFor returns a cached expansion of tile id holding at least its
// first need hashes: the full tile or the widest partial one.
func (r *tileHashes) cachedFor(id TileID, need int) *expandedTile {
	if e := r.cached(expandedKey{id, tiles.Width}); e != nil {
		return e
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if el, ok := r.widest[id]; ok && el.Value.(*expandedTile).key.width >= need {
		r.lru.MoveToFront(el)
		return el.Value.(*expandedTile)
	}
	return nil
}

// add caches e, unless a width of its tile at least as wide is cached. It
// keeps one width per tile: a wider one serves every read a narrower one
// would, and the right edge's tiles, which every batch widens and every
// receipt's proof reads, would otherwise fill the cache with their widths.
func (r *tileHashes) add(e *expandedTile) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if _, ok := r.byKey[e.key]; ok || r.max <= 0 {
		return
	}
	if w, ok := r.widest[e.key.id]; ok {
		if w.Value.(*expandedTile).key.width >= e.key.width {
			return
		}
		r.remove(w)
	}
	el := r.lru.PushFront(e)
	r.byKey[e.key] = el
	if e.key.width < tiles.Width {
		r.widest[e.key.id] = el
	}
	for r.lru.Len() > r.max {
		r.remove(r.lru.Back())
	}
}

// remove drops el from the cache. r.mu must be held.
func (r *tileHashes) remove(el *list.Element) {
	old := r.lru.Remove(el).(*expandedTile)
	delete(r.byKey, old.key)
	if w, ok := r.widest[old.key.id]; ok && w == el {
		delete(r.widest, old.key.id)
	}
}

// ReadHashes implements tlog.HashReader. Hashes not in cached full tiles
// come from one consistent read of the store.
func (r *tileHashes) ReadHashes(indexes []int64) ([]tlog.Hash, error) {
	type want struct {
		id     TileID
		k, pos int // sub-level inside the tile and position at that sub-level
		need   int // hashes the tile must hold
	}
	wants := make([]want, len(indexes))
	found := make(map[TileID]*expandedTile)
	var missing []TileID
	for i, x := range indexes {
		level, n := tlog.SplitStoredHashIndex(x)
		k := level % tiles.Height
		first := n << k // first hash at the tile's level that the node covers
		w := want{id: TileID{Level: level / tiles.Height, N: first / tiles.Width}, k: k, pos: int(first%tiles.Width) >> k}
		w.need = (w.pos + 1) << k
		wants[i] = w
		if e, ok := found[w.id]; ok && (e == nil || e.key.width >= w.need) {
			continue
		}
		if e := r.cachedFor(w.id, w.need); e != nil {
			found[w.id] = e
		} else {
			found[w.id] = nil
			missing = append(missing, w.id)
		}
	}
	if len(missing) > 0 {
		data, err := r.store.Tiles(missing)
		if err != nil {
			return nil, fmt.Errorf("reading tiles: %w", err)
		}
		for i, id := range missing {
			key := expandedKey{id, len(data[i]) / tlog.HashSize}
			e := r.cached(key)
			if e == nil {
				e = expand(key, data[i])
				r.add(e)
			}
			found[id] = e
		}
	}
	out := make([]tlog.Hash, len(indexes))
	for i, w := range wants {
		e := found[w.id]
		if e.key.width < w.need {
			return nil, fmt.Errorf("hash %d: tile %d/%d holds %d hashes, need %d: %w", indexes[i], w.id.Level, w.id.N, e.key.width, w.need, ErrNotFound)
		}
		out[i] = e.levels[w.k][w.pos]
	}
	return out, nil
}

// remember caches the tiles a commit wrote, so that the receipts' proofs
// against the new checkpoint, which every appender of the batch asks for
// at once, are not each a read of the store.
func (r *tileHashes) remember(tiles map[TileID][]byte) {
	if r.max <= 0 {
		return
	}
	for id, data := range tiles {
		key := expandedKey{id, len(data) / tlog.HashSize}
		if r.cached(key) == nil {
			r.add(expand(key, data))
		}
	}
}
