package vindex

import (
	"bytes"
	"cmp"
	"encoding/binary"
	"fmt"
	"slices"
)

// An Addition says that the log entry at Index belongs under Key.
type Addition struct {
	Key   Key
	Index int64
}

// Root returns the root hash of the map in s: [EmptyHash] for an empty map.
func Root(s Store) (Hash, error) {
	n, ok, err := s.Get(Position{})
	if err != nil || !ok {
		return EmptyHash, err
	}
	return n.Hash(), nil
}

// Update applies a batch of additions to the map in s and returns its new
// root. Additions may come in any order and an (key, index) pair may repeat
// (one entry naming one digest twice); but every index added under a key
// must be larger than the indexes already under it, since the map follows
// an append-only log. The result depends only on the set of additions made
// since the map was empty, not on how they were split into batches.
//
// Update reads and writes O(len(adds) × depth) nodes, where the depth is
// about log2 of the number of keys, and one hash per addition for the
// lists: its cost does not grow with the length of any list. It writes each
// node right after reading it, while it is in the CPU's cache (buffering
// the writes until the batch was known valid cost a third more on large
// batches), so an error can leave the map in s partly updated: a database
// Store rolls its transaction back, and a MemStore must be dropped. Only a
// negative index is refused before anything is written.
func Update(s Store, adds []Addition) (Hash, error) {
	gs, err := groupAdditions(adds)
	if err != nil {
		return EmptyHash, err
	}
	root, ok, err := s.Get(Position{})
	if err != nil {
		return EmptyHash, fmt.Errorf("vindex: reading the root: %w", err)
	}
	if len(gs) == 0 {
		if !ok {
			return EmptyHash, nil
		}
		return root.Hash(), nil
	}
	if st, strata := s.(*Strata); strata {
		// Strata keeps what it reads: read the batch's strata first, one
		// depth of strata at a time, then walk them by place.
		if err := st.prefetch(gs); err != nil {
			return EmptyHash, err
		}
		return strataUpdater{st}.update(stratumNode{root: Position{}, st: st.strata[Position{}]}, ok, gs)
	}
	u := updater{s: s}
	if _, mem := s.(*MemStore); !mem && ok && !root.IsLeaf {
		// A store with a cost per read: read the batch's paths first, one
		// level at a time, each level in one GetMany, and keep the nodes.
		c, err := prefetch(s, root, gs)
		if err != nil {
			return EmptyHash, err
		}
		u.s = c
	}
	h, err := u.update(Position{}, root, ok, gs)
	if err != nil {
		return EmptyHash, err
	}
	return h, nil
}

// A group is the new indexes of one key, in increasing order, and the key's
// current leaf once the walk has read it.
type group struct {
	key     Key
	indexes []int64
	old     *Leaf
}

// groupAdditions sorts adds by key and index into one group per key.
func groupAdditions(adds []Addition) ([]group, error) {
	sorted := slices.Clone(adds)
	// Keys are SHA-256 outputs: their first 8 bytes, compared as one
	// number, almost always decide, and the rest is compared only on a tie.
	slices.SortFunc(sorted, func(a, b Addition) int {
		if c := cmp.Compare(binary.BigEndian.Uint64(a.Key[:8]), binary.BigEndian.Uint64(b.Key[:8])); c != 0 {
			return c
		}
		if c := bytes.Compare(a.Key[8:], b.Key[8:]); c != 0 {
			return c
		}
		return cmp.Compare(a.Index, b.Index)
	})
	// The groups' indexes are runs of one array, each cut with a full
	// slice expression: one allocation, not one a key.
	n := 0 // groups
	for i := range sorted {
		if i == 0 || sorted[i].Key != sorted[i-1].Key {
			n++
		}
	}
	gs := make([]group, 0, n)
	starts := make([]int, 0, n) // where each group's run starts in indexes
	indexes := make([]int64, 0, len(sorted))
	for i, a := range sorted {
		if a.Index < 0 {
			return nil, fmt.Errorf("vindex: key %s: negative index %d", a.Key, a.Index)
		}
		switch {
		case i == 0 || a.Key != sorted[i-1].Key:
			gs, starts = append(gs, group{key: a.Key}), append(starts, len(indexes))
			indexes = append(indexes, a.Index)
		case a.Index != sorted[i-1].Index:
			indexes = append(indexes, a.Index)
		}
	}
	for i := range gs {
		end := len(indexes)
		if i+1 < len(gs) {
			end = starts[i+1]
		}
		gs[i].indexes = indexes[starts[i]:end:end]
	}
	return gs, nil
}

// leaf returns the key's leaf after appending the group's indexes.
func (g *group) leaf() (Leaf, error) {
	l := Leaf{Key: g.key, Last: -1}
	if g.old != nil {
		l = *g.old
	}
	for _, i := range g.indexes {
		if i <= l.Last {
			return Leaf{}, fmt.Errorf("vindex: key %s: index %d is not after the key's last index %d: a batch must add only new log entries", g.key, i, l.Last)
		}
		l.Count++
		l.Last = i
		l.Head = chain(l.Head, i)
	}
	return l, nil
}

// An updater walks the map down the paths of a batch, writing nodes and
// recomputing hashes on the way back up.
type updater struct {
	s Store
}

func (u *updater) put(p Position, n Node) error {
	if err := u.s.Put(p, n); err != nil {
		return fmt.Errorf("vindex: writing node %s: %w", p, err)
	}
	return nil
}

// update applies gs, sorted by key and all under p, to the subtree at p,
// whose node is cur if present, and returns the subtree's new hash.
func (u *updater) update(p Position, cur Node, present bool, gs []group) (Hash, error) {
	if !present {
		return u.fill(p, gs)
	}
	if cur.IsLeaf {
		// The leaf joins the batch; nothing was ever stored below a leaf.
		return u.fill(p, withLeaf(gs, cur.Leaf))
	}
	if p.Depth == MaxDepth {
		return EmptyHash, fmt.Errorf("vindex: inner node at %s, below which no key can differ: the store is corrupt", p)
	}
	i := split(gs, p.Depth)
	h := cur.Children
	for side, part := range [2][]group{gs[:i], gs[i:]} {
		if len(part) == 0 {
			continue
		}
		c := p.child(byte(side))
		var n Node
		if h[side] != EmptyHash {
			var ok bool
			var err error
			if n, ok, err = u.s.Get(c); err != nil {
				return EmptyHash, fmt.Errorf("vindex: reading node %s: %w", c, err)
			} else if !ok {
				return EmptyHash, fmt.Errorf("vindex: node %s is missing below an inner node: the store is corrupt", c)
			}
		}
		var err error
		if h[side], err = u.update(c, n, h[side] != EmptyHash, part); err != nil {
			return EmptyHash, err
		}
	}
	return u.putInner(p, h)
}

func (u *updater) putInner(p Position, children [2]Hash) (Hash, error) {
	return nodeHash(&children[0], &children[1]), u.put(p, Node{Children: children})
}

// fill builds the subtree at p, empty in the store, from gs (at least one
// group): a leaf for one key, else an inner node over the two halves.
func (u *updater) fill(p Position, gs []group) (Hash, error) {
	if len(gs) == 1 {
		l, err := gs[0].leaf()
		if err != nil {
			return EmptyHash, err
		}
		return l.hash(), u.put(p, leafNode(l))
	}
	// Distinct keys sharing the first Depth bits differ in a later bit, so
	// p.Depth < MaxDepth here.
	i := split(gs, p.Depth)
	var h [2]Hash
	for side, part := range [2][]group{gs[:i], gs[i:]} {
		if len(part) > 0 {
			var err error
			if h[side], err = u.fill(p.child(byte(side)), part); err != nil {
				return EmptyHash, err
			}
		}
	}
	return u.putInner(p, h)
}

// split returns the number of groups whose key has bit depth 0: since gs is
// sorted and its keys share the bits before depth, they come first.
func split(gs []group, depth uint16) int {
	i, _ := slices.BinarySearchFunc(gs, byte(1), func(g group, b byte) int {
		return cmp.Compare(g.key.bit(int(depth)), b)
	})
	return i
}

// withLeaf returns gs with the current leaf l attached to its key's group,
// added if the batch has none. It copies gs, which shares its array with
// the groups of other subtrees.
func withLeaf(gs []group, l Leaf) []group {
	i, found := slices.BinarySearchFunc(gs, l.Key, func(g group, k Key) int {
		return bytes.Compare(g.key[:], k[:])
	})
	out := make([]group, 0, len(gs)+1)
	out = append(out, gs[:i]...)
	if found {
		g := gs[i]
		g.old = &l
		out = append(out, g)
		i++
	} else {
		out = append(out, group{key: l.Key, old: &l})
	}
	return append(out, gs[i:]...)
}

// A cache is a [Store] that answers Get from the nodes a prefetch read,
// and passes every other call to the store under it.
type cache struct {
	Store
	nodes map[Position]cached
}

type cached struct {
	n  Node
	ok bool
}

func (c *cache) Get(p Position) (Node, bool, error) {
	if n, hit := c.nodes[p]; hit {
		return n.n, n.ok, nil
	}
	return c.Store.Get(p)
}

func (c *cache) Put(p Position, n Node) error {
	delete(c.nodes, p)
	return c.Store.Put(p, n)
}

// prefetch reads, one level at a time and each level in one GetMany, the
// nodes of s that an update of gs below the inner node root will read: the
// non-empty children, on the batch's paths, of the inner nodes read, and
// keeps them in the cache it returns.
func prefetch(s Store, root Node, gs []group) (*cache, error) {
	type visit struct {
		p  Position
		n  *Node
		gs []group
	}
	c := &cache{Store: s, nodes: map[Position]cached{}}
	level := []visit{{Position{}, &root, gs}}
	// Each level's positions and groups, in buffers the levels share.
	var ps []Position
	var parts [][]group
	for len(level) > 0 {
		ps, parts = ps[:0], parts[:0]
		for _, v := range level {
			if v.n.IsLeaf || v.p.Depth == MaxDepth {
				continue // a leaf, or a corrupt store that Update reports
			}
			i := split(v.gs, v.p.Depth)
			for side, part := range [2][]group{v.gs[:i], v.gs[i:]} {
				if len(part) > 0 && v.n.Children[side] != EmptyHash {
					ps, parts = append(ps, v.p.child(byte(side))), append(parts, part)
				}
			}
		}
		if len(ps) == 0 {
			break
		}
		level = level[:0]
		nodes, ok, err := s.GetMany(ps)
		if err != nil {
			return nil, fmt.Errorf("vindex: reading node %s and %d others at its depth: %w", ps[0], len(ps)-1, err)
		}
		if len(nodes) != len(ps) || len(ok) != len(ps) {
			return nil, fmt.Errorf("vindex: reading %d nodes gave %d", len(ps), len(nodes))
		}
		for i, p := range ps {
			c.nodes[p] = cached{nodes[i], ok[i]}
			if ok[i] {
				level = append(level, visit{p, &nodes[i], parts[i]})
			}
		}
	}
	return c, nil
}
