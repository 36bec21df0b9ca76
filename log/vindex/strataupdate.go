package vindex

import "fmt"

// A strataUpdater is Update's walk on a [Strata]: the walk of an
// [updater], but naming each node by its stratum and its place in it
// instead of by its Position, so that a step within a stratum is an index
// into the stratum's nodes, not a map lookup and a copy of the node, and
// only a step into the stratum below looks a stratum up. Update runs it
// after [Strata.prefetch] read the batch's strata. It reads, writes and
// computes exactly what an updater would on the same map.
type strataUpdater struct {
	s *Strata
}

// A stratumNode names a node of a Strata: the place at in the stratum st
// rooted at root, at depth depth.
type stratumNode struct {
	root  Position
	st    *stratum
	at    uint8
	depth uint16
}

// position returns the Position of n, for messages.
func (n stratumNode) position() Position {
	p := n.root
	rel := n.depth - n.root.Depth
	if rel > 0 {
		p.Depth = n.depth
		first := uint16(1)<<rel - 1
		p.Prefix[n.root.Depth/8] = byte(uint16(n.at)-first) << (8 - rel)
	}
	return p
}

// child returns the child of n on the side where gs (at least one group,
// all on that side) go, present in the map or not. A child below the
// stratum's bottom level roots a stratum below: one that s has read
// (prefetch read every stratum an update enters), else, when the child is
// present, one it reads now, else a new, empty one, as [Strata.Put]
// starts one.
func (u strataUpdater) child(n stratumNode, side int, gs []group, present bool) (stratumNode, error) {
	if n.at < bottomPlace {
		return stratumNode{n.root, n.st, 2*n.at + 1 + uint8(side), n.depth + 1}, nil
	}
	r := Position{Depth: n.depth + 1}
	copy(r.Prefix[:r.Depth/8], gs[0].key[:])
	st, ok := u.s.strata[r]
	switch {
	case ok:
	case present:
		if err := u.s.load([]Position{r}); err != nil {
			return stratumNode{}, fmt.Errorf("vindex: reading node %s: %w", r, err)
		}
		st = u.s.strata[r]
	default:
		st = newStratum(8)
		u.s.strata[r] = st
	}
	return stratumNode{r, st, 0, r.Depth}, nil
}

// update is [updater.update] for the node n, present or not.
func (u strataUpdater) update(n stratumNode, present bool, gs []group) (Hash, error) {
	if !present {
		return u.fill(n, gs)
	}
	cur, ok := n.st.get(n.at)
	switch {
	case !ok:
		return EmptyHash, fmt.Errorf("vindex: node %s is missing below an inner node: the store is corrupt", n.position())
	case cur.leaf:
		// The leaf joins the batch; nothing was ever stored below a leaf.
		return u.fill(n, withLeaf(gs, cur.leafOf()))
	case n.depth == MaxDepth:
		return EmptyHash, fmt.Errorf("vindex: inner node at %s, below which no key can differ: the store is corrupt", n.position())
	}
	// cur points into the stratum's nodes, which the walk below may move.
	h := cur.children()
	i := split(gs, n.depth)
	for side, part := range [2][]group{gs[:i], gs[i:]} {
		if len(part) == 0 {
			continue
		}
		c, err := u.child(n, side, part, h[side] != EmptyHash)
		if err != nil {
			return EmptyHash, err
		}
		if h[side], err = u.update(c, h[side] != EmptyHash, part); err != nil {
			return EmptyHash, err
		}
	}
	return nodeHash(&h[0], &h[1]), u.s.putAt(n.root, n.st, n.at, Node{Children: h})
}

// fill is [updater.fill] for the node n, empty in the store.
func (u strataUpdater) fill(n stratumNode, gs []group) (Hash, error) {
	if len(gs) == 1 {
		l, err := gs[0].leaf()
		if err != nil {
			return EmptyHash, err
		}
		return l.hash(), u.s.putAt(n.root, n.st, n.at, leafNode(l))
	}
	i := split(gs, n.depth)
	var h [2]Hash
	for side, part := range [2][]group{gs[:i], gs[i:]} {
		if len(part) == 0 {
			continue
		}
		c, err := u.child(n, side, part, false)
		if err != nil {
			return EmptyHash, err
		}
		if h[side], err = u.fill(c, part); err != nil {
			return EmptyHash, err
		}
	}
	return nodeHash(&h[0], &h[1]), u.s.putAt(n.root, n.st, n.at, Node{Children: h})
}
