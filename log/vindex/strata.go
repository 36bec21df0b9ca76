package vindex

import (
	"errors"
	"fmt"
	"math/bits"
	"slices"
	"sync"
)

// StratumLevels is the number of levels of the map one stratum holds.
const StratumLevels = 8

// stratumNodes is the most nodes a stratum holds: a full binary tree of
// [StratumLevels] levels.
const stratumNodes = 1<<StratumLevels - 1

// StratumOf returns the position of the root of the stratum that holds p:
// the ancestor of p (or p itself) at the largest depth that is a multiple
// of [StratumLevels].
func StratumOf(p Position) Position {
	r := Position{Depth: p.Depth - p.Depth%StratumLevels}
	copy(r.Prefix[:r.Depth/8], p.Prefix[:])
	return r
}

// place returns the place of p in the stratum rooted at root (which holds
// it): 0 for the root, then level by level, left to right, so that the
// children of place i are 2i+1 and 2i+2.
func place(root, p Position) uint8 {
	rel := p.Depth - root.Depth
	if rel == 0 {
		return 0
	}
	bits := p.Prefix[root.Depth/8] >> (8 - rel)
	return uint8(1<<rel - 1 + uint16(bits))
}

// A stratum is the nodes of one stratum: nodes in the order they were
// added, and where each place's node is in it.
type stratum struct {
	nodes []memNode
	index [stratumNodes]uint8 // 1 + the index in nodes of each place's node; 0 for none
	dirty bool
	// stored says that the store holds a record of the stratum (read from
	// it, or written since); changed and unstored are the places Put
	// since, and those of them whose stored node (a leaf) became an inner
	// node that the frontier encoding computes: what a patch holds.
	stored            bool
	changed, unstored placeSet
	// storedBytes is the size of the stored nodes' encoding (see
	// encodedSize), kept as nodes are set.
	storedBytes int
}

// A placeSet is a set of places of a stratum.
type placeSet [4]uint64

func (ps *placeSet) add(at uint8) { ps[at/64] |= 1 << (at % 64) }

func (s *stratum) get(at uint8) (*memNode, bool) {
	if i := s.index[at]; i > 0 {
		return &s.nodes[i-1], true
	}
	return nil, false
}

func (s *stratum) put(at uint8, n Node) {
	s.changed.add(at)
	if old, ok := s.get(at); ok && isStored(at, old.leaf) && !isStored(at, n.IsLeaf) {
		s.unstored.add(at)
	}
	s.set(at, n)
}

// ErrMalformedStratum is returned by [ParseStratum] for bytes that are not
// the encoding of a stratum.
var ErrMalformedStratum = errors.New("vindex: malformed stored stratum")

// frontierMark starts a stratum's record in the frontier encoding (see
// [Strata]); no place is 255.
const frontierMark = 0xff

// bottomPlace is the first place of a stratum's bottom level.
const bottomPlace = stratumNodes / 2

// isStored reports whether the node at place at, a leaf or not, is stored
// in the frontier encoding: a leaf, or a node of the bottom level, whose
// children are in the strata below. Every other node is an inner node
// whose children are in the stratum, and is computed from them.
func isStored(at uint8, leaf bool) bool { return leaf || at >= bottomPlace }

// encodedSize returns the size of the storage encoding of s.
func (s *stratum) encodedSize() int { return 1 + s.storedBytes }

// storedSize returns the size of the node at place at, a leaf or not, in
// a record: its place and encoding if it is stored, else 0.
func storedSize(at uint8, leaf bool) int {
	switch {
	case !isStored(at, leaf):
		return 0
	case leaf:
		return storedLeafSize
	}
	return storedInnerSize
}

// appendStratum appends the storage encoding of s (see [Strata]); b may
// have room for [stratum.encodedSize] bytes.
func appendStratum(b []byte, s *stratum) []byte {
	b = append(b, frontierMark)
	var buf [stratumNodes]uint8
	for _, at := range s.places(buf[:0]) {
		if n := &s.nodes[s.index[at]-1]; isStored(at, n.leaf) {
			b = n.appendBinary(append(b, at))
		}
	}
	return b
}

// places appends to out the places of the nodes of s, in increasing
// order: from its nodes when they are few (a lower stratum holds a
// handful), else by walking its index.
func (s *stratum) places(out []uint8) []uint8 {
	if len(s.nodes) < 32 {
		for _, p := range s.nodes {
			out = append(out, p.at)
		}
		slices.Sort(out)
		return out
	}
	for at, i := range s.index {
		if i > 0 {
			out = append(out, uint8(at))
		}
	}
	return out
}

// each calls fn with each place of ps, in increasing order.
func (ps *placeSet) each(fn func(at uint8)) {
	for w, word := range ps {
		for word != 0 {
			fn(uint8(w*64 + bits.TrailingZeros64(word)))
			word &= word - 1
		}
	}
}

// ParseStratum checks that b is the storage encoding of a stratum (see
// [Strata]), strictly: at least one node, places in increasing order,
// every node valid ([ParseNode]) and, but for the stratum's root, below an
// inner node of the stratum whose hash on its side is not [EmptyHash]. It
// returns the number of nodes, or an error wrapping [ErrMalformedStratum].
// It does not retain b.
//
// One check of ParseNode is left out: that a leaf of one index holds
// that one-index list's head. It costs a hash per leaf, most leaves of a
// large map have one index, and every stratum an update or a proof reads
// is parsed; a wrong head changes the roots above it, which a monitor's
// recomputation and CheckLog compare with the commitments, and fails a
// client's check of a proof that carries the leaf.
func ParseStratum(b []byte) (int, error) {
	s, err := parseStratum(b)
	if err != nil {
		return 0, err
	}
	return len(s.nodes), nil
}

func parseStratum(b []byte) (*stratum, error) {
	if len(b) > 0 && b[0] == frontierMark {
		return parseFrontier(b[1:])
	}
	s := &stratum{}
	if len(b) == 0 {
		return nil, fmt.Errorf("%w: no nodes", ErrMalformedStratum)
	}
	for len(b) > 0 {
		if len(b) < 2 {
			return nil, fmt.Errorf("%w: %d bytes after the last node", ErrMalformedStratum, len(b))
		}
		at := b[0]
		size := 1 + 2*HashSize
		if b[1] == nodeTagLeaf {
			size += 16
		}
		if len(b) < 1+size {
			return nil, fmt.Errorf("%w: node at place %d cut short", ErrMalformedStratum, at)
		}
		n, err := parseNode(b[1:1+size], false)
		if err != nil {
			return nil, fmt.Errorf("%w: place %d: %w", ErrMalformedStratum, at, err)
		}
		switch {
		case at >= stratumNodes:
			return nil, fmt.Errorf("%w: place %d, a stratum has %d", ErrMalformedStratum, at, stratumNodes)
		case len(s.nodes) > 0 && at <= s.nodes[len(s.nodes)-1].at:
			return nil, fmt.Errorf("%w: place %d after place %d", ErrMalformedStratum, at, s.nodes[len(s.nodes)-1].at)
		case at > 0:
			parent, ok := s.get((at - 1) / 2)
			if !ok || parent.leaf || *parent.child(int(1 - at%2)) == EmptyHash {
				return nil, fmt.Errorf("%w: node at place %d is not below an inner node's non-empty child", ErrMalformedStratum, at)
			}
		}
		s.put(at, n)
		b = b[1+size:]
	}
	return s, nil
}

// parseNodes parses the place || node pairs of a record, places in
// increasing order, each at most last.
func parseNodes(b []byte, last uint8, each func(at uint8, n memNode) error) error {
	prev := -1
	for len(b) > 0 {
		if len(b) < 2 {
			return fmt.Errorf("%w: %d bytes after the last node", ErrMalformedStratum, len(b))
		}
		at := b[0]
		size := 1 + 2*HashSize
		if b[1] == nodeTagLeaf {
			size += 16
		}
		if len(b) < 1+size {
			return fmt.Errorf("%w: node at place %d cut short", ErrMalformedStratum, at)
		}
		n, err := parsePacked(b[1 : 1+size])
		switch {
		case err != nil:
			return fmt.Errorf("%w: place %d: %w", ErrMalformedStratum, at, err)
		case at > last:
			return fmt.Errorf("%w: place %d, a stratum has %d", ErrMalformedStratum, at, stratumNodes)
		case int(at) <= prev:
			return fmt.Errorf("%w: place %d after place %d", ErrMalformedStratum, at, prev)
		}
		if err := each(at, n); err != nil {
			return err
		}
		prev = int(at)
		b = b[1+size:]
	}
	return nil
}

// parseStored parses the stored nodes of a record in the frontier
// encoding (after its mark) into s, refusing one that is not stored (an
// inner node above the bottom level).
func parseStored(b []byte, s *stratum) error {
	return parseNodes(b, stratumNodes-1, func(at uint8, n memNode) error {
		if !isStored(at, n.leaf) {
			return fmt.Errorf("%w: inner node at place %d, above the bottom level, is stored", ErrMalformedStratum, at)
		}
		s.setPacked(at, n)
		return nil
	})
}

// set puts n at place at, as parsing a record does: without marking the
// place changed.
func (s *stratum) set(at uint8, n Node) { s.setPacked(at, packNode(&n)) }

// setPacked is set for a packed node.
func (s *stratum) setPacked(at uint8, n memNode) {
	s.storedBytes += storedSize(at, n.leaf)
	if i := s.index[at]; i > 0 {
		s.storedBytes -= storedSize(at, s.nodes[i-1].leaf)
		n.at = at
		s.nodes[i-1] = n
		return
	}
	n.at = at
	s.nodes = append(s.nodes, n)
	s.index[at] = uint8(len(s.nodes))
}

// unset removes the node at place at, if any, moving the last node into
// its slot, so that s.nodes holds only the nodes of s.index.
func (s *stratum) unset(at uint8) {
	i := int(s.index[at])
	if i == 0 {
		return
	}
	s.storedBytes -= storedSize(at, s.nodes[i-1].leaf)
	last := s.nodes[len(s.nodes)-1]
	s.nodes[i-1] = last
	s.index[last.at] = uint8(i)
	s.index[at] = 0
	s.nodes = s.nodes[:len(s.nodes)-1]
}

// newParsed returns an empty stratum with room for the nodes of a record
// of n bytes, for the inner nodes above them and for the few an update
// adds, so that neither grows its slice. It takes one from strataPool if
// it can.
func newParsed(n int) *stratum { return newStratum(min(stratumNodes, 2*n/storedInnerSize+4)) }

// newStratum returns an empty stratum with room for want nodes, from
// strataPool if it can.
func newStratum(want int) *stratum {
	if st, ok := strataPool.Get().(*stratum); ok {
		if cap(st.nodes) < want {
			st.nodes = make([]memNode, 0, want)
		}
		return st
	}
	return &stratum{nodes: make([]memNode, 0, want)}
}

// strataPool holds strata that nothing uses any more, emptied, for
// newParsed: an update parses about one stratum per key it adds, and the
// committer's Strata drops as many as it parses (see [Strata.Reuse]), so
// that allocating each anew was a third of the committer's allocations
// (BenchmarkIndexCommit/agree=1).
var strataPool sync.Pool

// release empties st and puts it in strataPool. Nothing may use st, or a
// node in it, after.
func (st *stratum) release() {
	*st = stratum{nodes: st.nodes[:0]}
	strataPool.Put(st)
}

// The sizes of a node in a record, its place and its encoding: a
// bottom-level inner node (the smallest) and a leaf.
const (
	storedInnerSize = 1 + 1 + 2*HashSize
	storedLeafSize  = storedInnerSize + 16
)

// checkFrontier checks, as [parseFrontier] does but without computing a
// hash, that the stored nodes of s, a stratum in the frontier encoding,
// make one: at least one node, and no leaf with nodes below it. (Only
// leaves and bottom-level nodes are stored, which [parseStored] and a
// patch's parse check.)
func checkFrontier(s *stratum) error {
	var below [stratumNodes]bool // a node is at or below the place
	for at := stratumNodes - 1; at >= 0; at-- {
		under := at < bottomPlace && (below[2*at+1] || below[2*at+2])
		if under && s.index[at] > 0 {
			return fmt.Errorf("%w: leaf at place %d has nodes below it", ErrMalformedStratum, at)
		}
		below[at] = under || s.index[at] > 0
	}
	if !below[0] {
		return fmt.Errorf("%w: no nodes", ErrMalformedStratum)
	}
	return nil
}

// parseFrontier parses a record in the frontier encoding (after its
// mark): the stored nodes, then, bottom up, the inner nodes above them,
// whose children's hashes it computes. It refuses a stored node that is
// not a leaf above the bottom level (it would be computed), and a leaf
// with nodes below it.
//
// The pass up visits only the stored nodes and their ancestors, highest
// place first, so that both children of a place come before it: a lower
// stratum of a large map holds a handful of nodes among its 255 places.
func parseFrontier(b []byte) (*stratum, error) {
	s := newParsed(len(b))
	if err := parseStored(b, s); err != nil {
		return nil, err
	}
	return computeInner(s)
}

// computeInner adds to s, which holds only a stratum's stored nodes, the
// inner nodes above them, computing their children's hashes bottom up.
// It refuses a leaf with nodes below it, and a stratum with no node.
//
// The pass up visits only the stored nodes and their ancestors, highest
// place first, so that both children of a place come before it: a lower
// stratum of a large map holds a handful of nodes among its 255 places.
func computeInner(s *stratum) (*stratum, error) {
	if len(s.nodes) == 0 {
		return nil, fmt.Errorf("%w: no nodes", ErrMalformedStratum)
	}
	var up placeSet // places to visit
	for _, p := range s.nodes {
		up.add(p.at)
	}
	var hashes [stratumNodes]Hash // of each place visited but the root
	for w := len(up) - 1; w >= 0; w-- {
		for up[w] != 0 {
			bit := 63 - bits.LeadingZeros64(up[w])
			up[w] &^= 1 << bit
			at := w*64 + bit
			if at < bottomPlace {
				left, right := s.index[2*at+1] > 0, s.index[2*at+2] > 0
				if left || right {
					if s.index[at] > 0 {
						return nil, fmt.Errorf("%w: leaf at place %d has nodes below it", ErrMalformedStratum, at)
					}
					n := memNode{}
					if left {
						n.a = hashes[2*at+1]
					}
					if right {
						n.b = hashes[2*at+2]
					}
					s.setPacked(uint8(at), n)
				}
			}
			if at > 0 {
				hashes[at] = s.nodes[s.index[at]-1].hash()
				up.add(uint8((at - 1) / 2))
			}
		}
	}
	return s, nil
}

// parseComposed returns the stratum that results from applying patches,
// in order, to its record rec, with the checks of [ComposeStratum], as
// [parseStratum] would of ComposeStratum's result, without encoding that
// result: readers of a stratum that deltas patch compose it for each read.
func parseComposed(rec []byte, patches [][]byte) (*stratum, error) {
	if len(patches) == 0 {
		return parseStratum(rec)
	}
	s, err := composeStored(rec, patches)
	if err != nil {
		return nil, err
	}
	return computeInner(s)
}

// A StratumReader reads the stored records of strata for a [Strata].
type StratumReader interface {
	// ReadStrata returns what is stored of the stratum rooted at each of
	// ps (positions whose depth is a multiple of [StratumLevels]): a
	// record, the zero StoredStratum for a stratum with none, all from one
	// consistent view: a backend over a database reads them in one
	// transaction or one query.
	ReadStrata(ps []Position) ([]StoredStratum, error)
}

// A StoredStratum is a stratum as a store holds it: a record, and the
// patches ([IsPatch]) to apply to it, oldest first, if any; the stratum is
// [ComposeStratum] of them. Record is nil for a stratum with none, and
// then there are no patches.
type StoredStratum struct {
	Record  []byte
	Patches [][]byte
}

// Strata is a [Store] that keeps a map's nodes in strata, as a hash tile
// does for a Merkle tree: one record holds the nodes of [StratumLevels]
// levels below a position whose depth is a multiple of StratumLevels, so
// that an update or a proof reads and writes one record where it would
// read or write up to eight nodes. The map, its roots and its proofs are
// the same whichever Store holds it.
//
// A record is the stratum's stored nodes in increasing order of place,
// after a mark:
//
//	0xff || (place (1 byte) || node ([Node.AppendBinary]))...
//
// where the place of a node is 0 for the stratum's root, then level by
// level and left to right (the children of place i are 2i+1 and 2i+2). A
// stratum of a map is never empty: its root is a node, as are the
// ancestors of every node. The stored nodes are the leaves and the nodes
// of the bottom level (places 127 to 254), whose children are in the
// strata below: every other node is an inner node whose children are in
// the stratum, and reading the record computes it from them. That halves
// a full stratum (an upper stratum of a large map, which every update
// rewrites) for up to 127 hashes each time it is read. A record without
// the mark, as attestlog wrote before, holds every node of the stratum;
// it is read as well, and written again in the frontier encoding.
//
// Strata reads records through a [StratumReader], at most once each, and
// keeps them; Put changes the kept strata only, and [Strata.Dirty]
// returns the records to write. A Strata is for one [Update] (or any
// number of proofs) over one state of the store: make a new one after the
// records it read were replaced. Put into a stratum it never read starts
// the stratum empty, which is right for Update: it only puts nodes below
// a node it read or in a subtree that the node above says is empty.
type Strata struct {
	r      StratumReader
	strata map[Position]*stratum
	// changed are the strata Put changed, each once, with their roots.
	changed []rootedStratum
	// last is the stratum lookup found last, rooted at lastRoot.
	last     *stratum
	lastRoot Position
}

// NewStrata returns a Strata that reads records through r.
func NewStrata(r StratumReader) *Strata {
	return &Strata{r: r, strata: map[Position]*stratum{}}
}

// load reads the strata of ps that s has not read, in one ReadStrata.
func (s *Strata) load(ps []Position) error {
	var roots []Position
	seen := map[Position]bool{}
	for _, p := range ps {
		r := StratumOf(p)
		if _, ok := s.strata[r]; !ok && !seen[r] {
			roots, seen[r] = append(roots, r), true
		}
	}
	_, err := s.loadRoots(roots)
	return err
}

// loadRoots reads the strata rooted at roots, distinct and not read yet,
// in one ReadStrata, and returns them.
func (s *Strata) loadRoots(roots []Position) ([]*stratum, error) {
	if len(roots) == 0 {
		return nil, nil
	}
	recs, err := s.r.ReadStrata(roots)
	if err != nil {
		return nil, err
	}
	if len(recs) != len(roots) {
		return nil, fmt.Errorf("vindex: reading %d strata gave %d records", len(roots), len(recs))
	}
	out := make([]*stratum, len(recs))
	for i, rec := range recs {
		st := &stratum{}
		switch {
		case rec.Record == nil && len(rec.Patches) > 0:
			return nil, fmt.Errorf("stratum %s: %w: patches, but no record for them to patch", roots[i], ErrMalformedStratum)
		case rec.Record != nil:
			if st, err = parseComposed(rec.Record, rec.Patches); err != nil {
				return nil, fmt.Errorf("stratum %s: %w", roots[i], err)
			}
			st.stored, st.changed, st.unstored = true, placeSet{}, placeSet{}
		}
		s.strata[roots[i]], out[i] = st, st
	}
	return out, nil
}

// A strataVisit is a stratum that an update enters, and the groups of
// the update below its root.
type strataVisit struct {
	root Position
	gs   []group
}

// A rootedStratum is a stratum and its root.
type rootedStratum struct {
	root Position
	st   *stratum
}

// prefetch reads the strata that an update of gs (sorted by key) will
// read, one depth of strata at a time and each depth in one ReadStrata: it
// walks each stratum read down the batch's paths, by place, to the strata
// below that the paths enter. A path that ends at a missing node or below
// MaxDepth is left to the update, which reports the store corrupt. The
// strata of one depth are distinct (each is below another side of a
// bottom-level node), so that they need no check for repeats.
func (s *Strata) prefetch(gs []group) error {
	level := []strataVisit{{Position{}, gs}}
	var next []strataVisit
	var ps []Position  // the roots of the level's strata not read yet
	var missing []int  // where they are in level
	var sts []*stratum // the level's strata
	for len(level) > 0 {
		ps, missing, sts = ps[:0], missing[:0], sts[:0]
		for i, v := range level {
			st, ok := s.strata[v.root]
			if !ok {
				ps, missing = append(ps, v.root), append(missing, i)
			}
			sts = append(sts, st)
		}
		read, err := s.loadRoots(ps)
		if err != nil {
			return fmt.Errorf("vindex: reading stratum %s and %d others at its depth: %w", ps[0], len(ps)-1, err)
		}
		for j, i := range missing {
			sts[i] = read[j]
		}
		next = next[:0]
		for i, v := range level {
			next = sts[i].enter(v.root.Depth, 0, v.gs, next)
		}
		level, next = next, level
	}
	return nil
}

// enter appends to out the strata below st that an update of gs enters
// from the node at place at, of depth depth.
func (st *stratum) enter(depth uint16, at uint8, gs []group, out []strataVisit) []strataVisit {
	n, ok := st.get(at)
	if !ok || n.leaf || depth == MaxDepth {
		return out
	}
	i := split(gs, depth)
	for side, part := range [2][]group{gs[:i], gs[i:]} {
		switch {
		case len(part) == 0 || *n.child(side) == EmptyHash:
		case at >= bottomPlace:
			r := Position{Depth: depth + 1}
			copy(r.Prefix[:r.Depth/8], part[0].key[:])
			out = append(out, strataVisit{r, part})
		default:
			out = st.enter(depth+1, 2*at+1+uint8(side), part, out)
		}
	}
	return out
}

// lookup returns the stratum rooted at r, if s holds it. An update walks
// a path eight levels at a time within one stratum, so the last stratum
// found is kept, and a hit costs a comparison instead of a map lookup.
func (s *Strata) lookup(r Position) (*stratum, bool) {
	if s.last != nil && s.lastRoot == r {
		return s.last, true
	}
	st, ok := s.strata[r]
	if ok {
		s.last, s.lastRoot = st, r
	}
	return st, ok
}

func (s *Strata) get(p Position) (Node, bool) {
	n, ok := s.getLoaded(p)
	if !ok {
		return Node{}, false
	}
	return n.node(), true
}

// Get implements [Store].
func (s *Strata) Get(p Position) (Node, bool, error) {
	if _, ok := s.lookup(StratumOf(p)); !ok {
		if err := s.load([]Position{p}); err != nil {
			return Node{}, false, err
		}
	}
	n, ok := s.get(p)
	return n, ok, nil
}

// getLoaded returns the node at p, whose stratum s holds, in place.
func (s *Strata) getLoaded(p Position) (*memNode, bool) {
	r := StratumOf(p)
	st, ok := s.lookup(r)
	if !ok {
		return nil, false
	}
	return st.get(place(r, p))
}

// GetMany implements [Store], with one ReadStrata for the strata of ps
// not yet read.
func (s *Strata) GetMany(ps []Position) ([]Node, []bool, error) {
	if err := s.load(ps); err != nil {
		return nil, nil, err
	}
	nodes, ok := make([]Node, len(ps)), make([]bool, len(ps))
	for i, p := range ps {
		nodes[i], ok[i] = s.get(p)
	}
	return nodes, ok, nil
}

// Put implements [Store]; it changes only the strata kept in s.
func (s *Strata) Put(p Position, n Node) error {
	r := StratumOf(p)
	st, ok := s.lookup(r)
	if !ok {
		st = newStratum(8)
		s.strata[r] = st
	}
	return s.putAt(r, st, place(r, p), n)
}

// putAt puts n at place at of st, the stratum rooted at r that s holds.
func (s *Strata) putAt(r Position, st *stratum, at uint8, n Node) error {
	if !st.dirty {
		st.dirty = true
		s.changed = append(s.changed, rootedStratum{r, st})
	}
	st.put(at, n)
	return nil
}

// A StratumRecord is the record of the stratum rooted at Root.
type StratumRecord struct {
	Root   Position
	Record []byte
}

// Dirty returns the records of the strata that Put changed, in the order
// of their roots' storage keys ([Position.AppendBinary]), each after
// reserve zero bytes, which a backend may fill with a header of its own
// (a version) without copying the record.
func (s *Strata) Dirty(reserve int) []StratumRecord {
	_, out := s.appendDirty(nil, func(b []byte, _ Position, _ int) []byte { return append(b, make([]byte, reserve)...) }, false)
	return out
}

// DirtyPatches returns, like [Strata.Dirty], the records of the strata
// that Put changed, in the order of their roots' storage keys, but as a
// patch record (see [IsPatch]) for each stratum whose record the store
// holds already, is at least patchMinSize bytes, and whose patch is less
// than half its size.
func (s *Strata) DirtyPatches() []StratumRecord {
	_, out := s.appendDirty(nil, func(b []byte, _ Position, _ int) []byte { return b }, true)
	return out
}

// AppendDirtyPatches appends to b the records DirtyPatches returns, in
// its order, each after header(b, root, size), which appends the framing
// a caller stores the records in (its size being the record's), and
// returns b and the records, which are slices of it: the caller's
// framing of them all, made without copying them again.
func (s *Strata) AppendDirtyPatches(b []byte, header func(b []byte, root Position, size int) []byte) ([]byte, []StratumRecord) {
	return s.appendDirty(b, header, true)
}

func (s *Strata) appendDirty(b []byte, header func(b []byte, root Position, size int) []byte, patches bool) ([]byte, []StratumRecord) {
	// Each record is a patch or the whole stratum, whichever is smaller;
	// all are encoded into one buffer, so that the records a delta keeps
	// until a merge are one object for the garbage collector, not one a
	// stratum.
	type sized struct {
		at    int // index in s.changed
		patch bool
		size  int
	}
	recs := make([]sized, 0, len(s.changed))
	for i, c := range s.changed {
		st := c.st
		if len(st.nodes) == 0 {
			continue
		}
		r := sized{at: i, size: st.encodedSize()}
		if patches && st.stored && r.size >= patchMinSize {
			if patch := st.patchSize(); patch < r.size/2 {
				r.patch, r.size = true, patch
			}
		}
		recs = append(recs, r)
	}
	slices.SortFunc(recs, func(a, b sized) int { return s.changed[a.at].root.compareKeys(s.changed[b.at].root) })
	var scratch [64]byte
	total := 0
	for _, r := range recs {
		total += len(header(scratch[:0], s.changed[r.at].root, r.size)) + r.size
	}
	b = slices.Grow(b, total)
	out := make([]StratumRecord, len(recs))
	for i, r := range recs {
		root, st := s.changed[r.at].root, s.changed[r.at].st
		from := len(b)
		b = header(b, root, r.size)
		at := len(b)
		dst := b[at : at : at+r.size]
		var rec []byte
		if r.patch {
			rec = appendPatch(dst, st)
		} else {
			rec = appendStratum(dst, st)
		}
		if len(rec) != r.size {
			// The size was wrong, and append moved the record or left it
			// short: frame it again with its own size.
			rec = slices.Clone(rec)
			b = header(b[:from], root, len(rec))
			at = len(b)
			b = append(b, rec...)
		} else {
			b = b[:at+r.size]
		}
		out[i] = StratumRecord{Root: root, Record: b[at:len(b):len(b)]}
	}
	return b, out
}

// Reuse returns a Strata over r that starts with the strata of s, as
// Puts left them, and reads the others through r: for the next Update,
// once the store holds what [Strata.Dirty] returned, so that strata an
// update read or changed are neither read nor parsed again. Past limit
// strata, it drops those whose roots are at depths of at least depth
// until half of limit are left, and keeps those above (the upper levels
// of a large map, which every update changes). Unless it drops strata,
// its cost is that of the strata the last update changed, not of all it
// keeps. s must not be used after.
func (s *Strata) Reuse(r StratumReader, depth uint16, limit int) *Strata {
	for _, c := range s.changed {
		st := c.st
		st.dirty, st.stored, st.changed, st.unstored = false, true, placeSet{}, placeSet{}
	}
	out := &Strata{r: r, strata: s.strata}
	if len(out.strata) <= limit {
		return out
	}
	for root, st := range out.strata {
		if len(out.strata) <= limit/2 {
			break
		}
		if root.Depth >= depth || len(st.nodes) == 0 {
			delete(out.strata, root)
			st.release()
		}
	}
	return out
}

// patchMinSize is the smallest stratum record that DirtyPatches writes as
// a patch. A smaller one is a lower stratum of a few leaves: its patch
// would save a few hundred bytes of a delta, and cost every reader and
// the merge a read of the record it patches and a composition
// (BenchmarkIndexCommit/agree=1: 10% of the committer's CPU).
const patchMinSize = 1024
