package vindex

import (
	"bytes"
	"cmp"
	"encoding/binary"
	"errors"
	"fmt"
)

// MaxDepth is the depth of the deepest possible node: a leaf whose key
// differs from another key only in its last bit.
const MaxDepth = 8 * HashSize

// A Position names a node of the map: the subtree of the keys whose first
// Depth bits are those of Prefix. The root is the zero Position.
type Position struct {
	// Depth is the number of key bits fixed by the position, 0 to [MaxDepth].
	Depth uint16
	// Prefix holds those bits; every later bit is zero.
	Prefix Key
}

// child returns the position of the child of p on the side b (0 or 1).
func (p Position) child(b byte) Position {
	c := Position{Depth: p.Depth + 1, Prefix: p.Prefix}
	c.Prefix[p.Depth/8] |= b << (7 - p.Depth%8)
	return c
}

// AppendBinary appends the storage key of p: its depth (2 bytes,
// big-endian) then the bytes of its prefix that hold the first Depth bits.
// Distinct positions have distinct storage keys. It implements
// [encoding.BinaryAppender].
func (p Position) AppendBinary(b []byte) ([]byte, error) {
	b = binary.BigEndian.AppendUint16(b, p.Depth)
	return append(b, p.prefixBytes()...), nil
}

// BinarySize returns the size of p's storage key ([Position.AppendBinary]).
func (p Position) BinarySize() int { return 2 + len(p.prefixBytes()) }

// prefixBytes returns the bytes of p's prefix that hold its first Depth
// bits.
func (p *Position) prefixBytes() []byte { return p.Prefix[:(int(p.Depth)+7)/8] }

// compareKeys compares the storage keys of p and q
// ([Position.AppendBinary]) without making them: by depth, then by the
// bytes of the prefix that hold it.
func (p Position) compareKeys(q Position) int {
	if c := cmp.Compare(p.Depth, q.Depth); c != 0 {
		return c
	}
	return bytes.Compare(p.prefixBytes(), q.prefixBytes())
}

// String returns p as "depth/prefix-hex", for messages.
func (p Position) String() string {
	return fmt.Sprintf("%d/%x", p.Depth, p.prefixBytes())
}

// A Leaf is the value of one key: the list of the indexes of the log
// entries under the key, committed to by its length, its last index and the
// head of a hash chain over it (see [ListHead]), so that appending to the
// list costs one hash however long it is.
type Leaf struct {
	Key   Key
	Count int64 // number of indexes, at least 1
	Last  int64 // the largest index, appended last
	Head  Hash  // ListHead of the indexes
}

// A Node is what a [Store] holds at a position: an inner node, with the
// hashes of its two children, or a leaf, the only key of its subtree. An
// empty subtree holds no node. A node does not store its own hash: its
// parent holds it, and [Node.Hash] recomputes it.
type Node struct {
	// IsLeaf says whether the node is a leaf (Leaf is set) or an inner
	// node (Children are set).
	IsLeaf bool
	Leaf   Leaf
	// Children are the hashes of an inner node's children, on the 0 and the
	// 1 side of the next key bit; [EmptyHash] for an empty child, which at
	// most one of them is.
	Children [2]Hash
}

// Hash returns the hash of the subtree whose root is n.
func (n *Node) Hash() Hash {
	if n.IsLeaf {
		return n.Leaf.hash()
	}
	return nodeHash(&n.Children[0], &n.Children[1])
}

func leafNode(l Leaf) Node { return Node{IsLeaf: true, Leaf: l} }

// A Store holds the nodes of one map, by position. [Update] reads and
// writes it; [Prove] and [Root] only read. Every method may be called with
// any valid position. Implementations need not be safe for concurrent use:
// a caller that shares one MUST serialise writers, and a backend over a
// database runs one Update inside one transaction, so that an error rolls
// it all back.
type Store interface {
	// Get returns the node at p, or ok false if the subtree at p is
	// empty (no node was ever put there).
	Get(p Position) (n Node, ok bool, err error)
	// GetMany returns the nodes at ps, as Get would for each (nodes[i] is
	// valid where ok[i]), all from one consistent view. A backend over a
	// database reads them in one transaction or one query: [Update] reads
	// its batch's paths one level at a time through it, so that it pays one
	// read per level of the map rather than one per node.
	GetMany(ps []Position) (nodes []Node, ok []bool, err error)
	// Put stores n at p, replacing what was there. The Store MUST NOT keep
	// a reference into n past the call (Node holds no pointers).
	Put(p Position, n Node) error
}

// ErrMalformedNode is returned by [ParseNode] for bytes that are not the
// encoding of a node.
var ErrMalformedNode = errors.New("vindex: malformed stored node")

// Node encoding tags.
const (
	nodeTagInner = 0x00
	nodeTagLeaf  = 0x01
)

// AppendBinary appends the storage encoding of n, for backends that keep
// nodes as bytes:
//
//	inner node: 0x00 || child 0 hash (32) || child 1 hash (32)
//	leaf:       0x01 || key (32) || count (8, big-endian) || last (8) || head (32)
//
// It implements [encoding.BinaryAppender].
func (n Node) AppendBinary(b []byte) ([]byte, error) {
	if !n.IsLeaf {
		return append(append(append(b, nodeTagInner), n.Children[0][:]...), n.Children[1][:]...), nil
	}
	l := &n.Leaf
	b = append(append(b, nodeTagLeaf), l.Key[:]...)
	b = binary.BigEndian.AppendUint64(b, uint64(l.Count))
	b = binary.BigEndian.AppendUint64(b, uint64(l.Last))
	return append(b, l.Head[:]...), nil
}

// ParseNode parses the storage encoding written by [Node.AppendBinary],
// strictly: an inner node must have a non-empty child, a leaf must have a count of at least 1, a last index of at
// least count-1 (indexes are distinct and non-negative), and a count of 1
// must come with the head of the one-index list. It returns
// [ErrMalformedNode] otherwise. It does not retain b.
func ParseNode(b []byte) (Node, error) { return parseNode(b, true) }

// parseNode is [ParseNode], checking a one-index leaf's head only if head
// is set: that costs a hash, which reading a store's strata skips (see
// [ParseStratum]).
func parseNode(b []byte, head bool) (Node, error) {
	m, err := parsePacked(b)
	if err != nil {
		return Node{}, err
	}
	n := m.node()
	if head && n.IsLeaf {
		if err := n.Leaf.check(true); err != nil {
			return Node{}, fmt.Errorf("%w: %w", ErrMalformedNode, err)
		}
	}
	return n, nil
}

// parsePacked is parseNode without the head check, into a memNode: what
// reading a stratum does for each of its nodes, without building the
// larger Node.
func parsePacked(b []byte) (memNode, error) {
	switch {
	case len(b) == 1+2*HashSize && b[0] == nodeTagInner:
		m := memNode{a: Hash(b[1:33]), b: Hash(b[33:])}
		if m.a == EmptyHash && m.b == EmptyHash {
			return memNode{}, fmt.Errorf("%w: inner node with two empty children", ErrMalformedNode)
		}
		return m, nil
	case len(b) == 1+2*HashSize+16 && b[0] == nodeTagLeaf:
		m := memNode{a: Hash(b[1:33]), count: int64(binary.BigEndian.Uint64(b[33:])), last: int64(binary.BigEndian.Uint64(b[41:])), b: Hash(b[49:]), leaf: true}
		if m.count < 1 || m.last < m.count-1 {
			l := m.leafOf()
			return memNode{}, fmt.Errorf("%w: %w", ErrMalformedNode, l.check(false))
		}
		return m, nil
	}
	return memNode{}, fmt.Errorf("%w: %d bytes starting %#x", ErrMalformedNode, len(b), b[:min(len(b), 1)])
}

// check reports whether l could describe a list of distinct non-negative
// indexes; head says to check the head of a one-index list too.
func (l *Leaf) check(head bool) error {
	switch {
	case l.Count < 1:
		return fmt.Errorf("leaf of key %s has count %d, want at least 1", l.Key, l.Count)
	case l.Last < l.Count-1:
		return fmt.Errorf("leaf of key %s has %d distinct indexes but the last is %d", l.Key, l.Count, l.Last)
	case head && l.Count == 1 && l.Head != chain(EmptyHash, l.Last):
		return fmt.Errorf("leaf of key %s has one index, %d, but another list head", l.Key, l.Last)
	}
	return nil
}

// MemStore is an in-memory [Store], for tests and for a monitor that
// recomputes a map from the log's entries. It is not safe for concurrent
// use. The zero value is an empty map.
type MemStore struct {
	// One map for both kinds, so that a leaf turning into an inner node is
	// overwritten in place: deleting from a Go map leaves tombstones that
	// made every later miss probe longer (a third of Update's time).
	nodes map[Position]memNode
}

// A memNode is a Node in 88 bytes where a Node takes 152: an inner node's
// children in a and b, or a leaf's key in a and head in b. [MemStore] and
// the strata of [Strata] keep nodes so: a parsed stratum of a large map
// held most of the index committer's heap at 152 bytes a node. at is the
// node's place in its stratum (see [stratum]), in what would be padding.
type memNode struct {
	a, b        Hash
	count, last int64
	leaf        bool
	at          uint8
}

// packNode returns n as a memNode.
func packNode(n *Node) memNode {
	if n.IsLeaf {
		return memNode{a: Hash(n.Leaf.Key), b: n.Leaf.Head, count: n.Leaf.Count, last: n.Leaf.Last, leaf: true}
	}
	return memNode{a: n.Children[0], b: n.Children[1]}
}

// node returns m as a Node.
func (m *memNode) node() Node {
	if m.leaf {
		return leafNode(m.leafOf())
	}
	return Node{Children: m.children()}
}

// leafOf returns the leaf m is.
func (m *memNode) leafOf() Leaf { return Leaf{Key: Key(m.a), Count: m.count, Last: m.last, Head: m.b} }

// children returns the children of the inner node m.
func (m *memNode) children() [2]Hash { return [2]Hash{m.a, m.b} }

// child returns the child of the inner node m on the given side.
func (m *memNode) child(side int) *Hash {
	if side == 0 {
		return &m.a
	}
	return &m.b
}

// hash returns the hash of the subtree whose root is m ([Node.Hash]).
func (m *memNode) hash() Hash {
	if m.leaf {
		return leafHash((*[HashSize]byte)(&m.a), m.count, m.last, &m.b)
	}
	return nodeHash(&m.a, &m.b)
}

// appendBinary appends the storage encoding of m ([Node.AppendBinary]).
func (m *memNode) appendBinary(b []byte) []byte {
	if !m.leaf {
		return append(append(append(b, nodeTagInner), m.a[:]...), m.b[:]...)
	}
	b = append(append(b, nodeTagLeaf), m.a[:]...)
	b = binary.BigEndian.AppendUint64(b, uint64(m.count))
	b = binary.BigEndian.AppendUint64(b, uint64(m.last))
	return append(b, m.b[:]...)
}

// Get implements [Store]. It never fails.
func (m *MemStore) Get(p Position) (Node, bool, error) {
	n, ok := m.nodes[p]
	if !ok {
		return Node{}, false, nil
	}
	return n.node(), true, nil
}

// GetMany implements [Store]. It never fails.
func (m *MemStore) GetMany(ps []Position) ([]Node, []bool, error) {
	nodes, ok := make([]Node, len(ps)), make([]bool, len(ps))
	for i, p := range ps {
		nodes[i], ok[i], _ = m.Get(p)
	}
	return nodes, ok, nil
}

// Put implements [Store]. It never fails.
func (m *MemStore) Put(p Position, n Node) error {
	if m.nodes == nil {
		m.nodes = map[Position]memNode{}
	}
	m.nodes[p] = packNode(&n)
	return nil
}

// Len returns the number of nodes in m: inner nodes and leaves.
func (m *MemStore) Len() (inner, leaves int) {
	for _, n := range m.nodes {
		if n.leaf {
			leaves++
		}
	}
	return len(m.nodes) - leaves, leaves
}
