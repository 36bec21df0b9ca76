package vindex

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"slices"

	"github.com/attestlog/attestlog/internal/varint"
)

// A Proof answers the lookup of one key in a map of known root: either the
// full list of the indexes under the key (a proof of presence) or the proof
// that the key has none (a proof of absence), with the hashes that tie the
// answer to the root. A verified proof of presence proves the list
// complete: no index was left out and none was added.
type Proof struct {
	// Siblings are the hashes of the siblings of the nodes on the key's
	// path from the root: Siblings[i] is the sibling at depth i+1,
	// [EmptyHash] for an empty subtree. The path ends at depth
	// len(Siblings), at the key's leaf, at another key's leaf or at an
	// empty subtree.
	Siblings []Hash
	// Indexes are, in a proof of presence, every index under the key, in
	// increasing order. A proof of absence has none.
	Indexes []int64
	// Other is, in a proof of absence that ends at another key's leaf, that
	// leaf; nil otherwise.
	Other *Leaf
}

// Present reports whether p is a proof of presence.
func (p *Proof) Present() bool { return len(p.Indexes) > 0 }

var (
	// ErrMalformedProof is returned by [ParseProof] for bytes that are not
	// the encoding of a proof.
	ErrMalformedProof = errors.New("vindex: malformed proof")
	// ErrInvalidProof is wrapped by every error of [Proof.Verify]: the proof
	// does not show the answer it claims for the key and root.
	ErrInvalidProof = errors.New("vindex: invalid proof")
)

// Prove returns the proof for key in the map in s. indexes is the caller's
// list of the indexes under key (nil if it has none): Prove checks it
// against the map, so that a server whose lookup index and map disagree
// reports an error instead of serving a proof that fails. The Proof shares
// indexes.
func Prove(s Store, key Key, indexes []int64) (*Proof, error) {
	p := &Proof{}
	var pos Position
	n, ok, err := s.Get(pos)
	for {
		if err != nil {
			return nil, fmt.Errorf("vindex: reading node %s: %w", pos, err)
		}
		switch {
		case !ok || n.IsLeaf && n.Leaf.Key != key:
			if len(indexes) > 0 {
				return nil, fmt.Errorf("vindex: key %s has %d indexes in the lookup index but none in the map", key, len(indexes))
			}
			if ok {
				p.Other = &n.Leaf
			}
			return p, nil
		case n.IsLeaf:
			if l := n.Leaf; l.Count != int64(len(indexes)) || l.Last != indexes[len(indexes)-1] || l.Head != ListHead(indexes) {
				return nil, fmt.Errorf("vindex: key %s has %d indexes in the lookup index, but the map's list has %d ending at %d", key, len(indexes), l.Count, l.Last)
			}
			p.Indexes = indexes
			return p, nil
		case pos.Depth == MaxDepth:
			return nil, fmt.Errorf("vindex: inner node at %s, below which no key can differ: the store is corrupt", pos)
		}
		b := key.bit(int(pos.Depth))
		p.Siblings = append(p.Siblings, n.Children[1-b])
		pos = pos.child(b)
		if n.Children[b] == EmptyHash {
			ok = false
			continue
		}
		if n, ok, err = s.Get(pos); err == nil && !ok {
			return nil, fmt.Errorf("vindex: node %s is missing below an inner node: the store is corrupt", pos)
		}
	}
}

// Verify checks that p proves its answer for key in the map of the given
// root. Every error wraps [ErrInvalidProof] and says what failed. On
// success, p.Indexes is every index under key (none if it is absent).
func (p *Proof) Verify(root Hash, key Key) error {
	h, err := p.terminal(key)
	if err != nil {
		return fmt.Errorf("%w: %w", ErrInvalidProof, err)
	}
	for d := len(p.Siblings) - 1; d >= 0; d-- {
		if key.bit(d) == 0 {
			h = nodeHash(&h, &p.Siblings[d])
		} else {
			h = nodeHash(&p.Siblings[d], &h)
		}
	}
	if h == root {
		return nil
	}
	if p.Present() {
		return fmt.Errorf("%w: the %d indexes under key %s (last %d) do not lead to map root %s: an index was left out or added, or the proof is for another key or root",
			ErrInvalidProof, len(p.Indexes), key, p.Indexes[len(p.Indexes)-1], root)
	}
	return fmt.Errorf("%w: the proof that key %s is absent does not lead to map root %s: the key may be present, or the proof is for another key or root", ErrInvalidProof, key, root)
}

// terminal checks the end of the path and returns its hash.
func (p *Proof) terminal(key Key) (Hash, error) {
	d := len(p.Siblings)
	if d > MaxDepth {
		return EmptyHash, fmt.Errorf("path of %d levels is longer than the key", d)
	}
	// A leaf, or an empty subtree, has a non-empty sibling: otherwise its
	// parent's subtree would hold at most one key, and be that leaf.
	if d > 0 && p.Siblings[d-1] == EmptyHash {
		return EmptyHash, fmt.Errorf("path for key %s ends at depth %d beside an empty subtree, which a map never holds", key, d)
	}
	switch {
	case p.Present() && p.Other != nil:
		return EmptyHash, errors.New("proof holds both indexes and another key's leaf")
	case p.Present():
		for i, x := range p.Indexes {
			if x < 0 || i > 0 && x <= p.Indexes[i-1] {
				return EmptyHash, fmt.Errorf("indexes under key %s are not increasing and non-negative at position %d (%d)", key, i, x)
			}
		}
		l := Leaf{Key: key, Count: int64(len(p.Indexes)), Last: p.Indexes[len(p.Indexes)-1], Head: ListHead(p.Indexes)}
		return l.hash(), nil
	case p.Other != nil:
		o := p.Other
		if o.Key == key {
			return EmptyHash, fmt.Errorf("proof of absence of key %s ends at that key's own leaf, with %d indexes", key, o.Count)
		}
		if !samePrefix(&o.Key, &key, d) {
			return EmptyHash, fmt.Errorf("proof of absence of key %s ends at the leaf of key %s, which is not on its path at depth %d", key, o.Key, d)
		}
		if err := o.check(true); err != nil {
			return EmptyHash, err
		}
		return o.hash(), nil
	}
	return EmptyHash, nil
}

// samePrefix reports whether a and b have the same first n bits.
func samePrefix(a, b *Key, n int) bool {
	if !bytes.Equal(a[:n/8], b[:n/8]) {
		return false
	}
	if n%8 == 0 {
		return true
	}
	mask := byte(0xff) << (8 - n%8)
	return a[n/8]&mask == b[n/8]&mask
}

// Proof encoding kinds.
const (
	proofPresent     = 0x01
	proofAbsentEmpty = 0x02
	proofAbsentLeaf  = 0x03
)

// AppendBinary appends the encoding of p, which is canonical:
//
//	kind (1)    0x01 presence, 0x02 absence at an empty subtree,
//	            0x03 absence at another key's leaf
//	depth (2)   len(Siblings), big-endian, at most 256
//	bitmap      (depth+7)/8 bytes: bit i (most significant first) is set
//	            if Siblings[i] is not empty; the unused bits are zero
//	siblings    the non-empty siblings, 32 bytes each, root side first
//	presence:   uvarint count (at least 1), uvarint first index, then for
//	            each further index uvarint (index - previous index - 1)
//	leaf:       key (32), uvarint count, uvarint last, head (32)
//
// Nothing follows. The proof of an empty map is the three bytes 02 00 00;
// a proof of presence of k indexes at depth d with s non-empty siblings
// takes 3 + (d+7)/8 + 32s bytes and 1 to 10 bytes per index (usually 1-3).
// It implements [encoding.BinaryAppender]; it encodes a proof that
// [Proof.Verify] would refuse as well, provided the indexes are
// non-negative and increasing and len(Siblings) <= 256 (else it returns an
// error).
func (p *Proof) AppendBinary(b []byte) ([]byte, error) {
	d := len(p.Siblings)
	if d > MaxDepth {
		return nil, fmt.Errorf("%w: path of %d levels", ErrMalformedProof, d)
	}
	switch {
	case p.Present():
		b = append(b, proofPresent)
	case p.Other != nil:
		b = append(b, proofAbsentLeaf)
	default:
		b = append(b, proofAbsentEmpty)
	}
	b = binary.BigEndian.AppendUint16(b, uint16(d))
	bitmap := make([]byte, (d+7)/8)
	for i, s := range p.Siblings {
		if s != EmptyHash {
			bitmap[i/8] |= 0x80 >> (i % 8)
		}
	}
	b = append(b, bitmap...)
	for _, s := range p.Siblings {
		if s != EmptyHash {
			b = append(b, s[:]...)
		}
	}
	switch {
	case p.Present():
		b = binary.AppendUvarint(b, uint64(len(p.Indexes)))
		for i, x := range p.Indexes {
			switch {
			case i == 0 && x >= 0:
				b = binary.AppendUvarint(b, uint64(x))
			case i > 0 && x > p.Indexes[i-1]:
				b = binary.AppendUvarint(b, uint64(x-p.Indexes[i-1]-1))
			default:
				return nil, fmt.Errorf("%w: indexes not increasing and non-negative at position %d", ErrMalformedProof, i)
			}
		}
	case p.Other != nil:
		b = append(b, p.Other.Key[:]...)
		b = binary.AppendUvarint(b, uint64(p.Other.Count))
		b = binary.AppendUvarint(b, uint64(p.Other.Last))
		b = append(b, p.Other.Head[:]...)
	}
	return b, nil
}

// ParseProof parses the encoding written by [Proof.AppendBinary]. It is
// strict: re-encoding the result yields b, and anything else is refused
// with an error wrapping [ErrMalformedProof]. It does not verify the proof
// (see [Proof.Verify]) and does not retain b.
func ParseProof(b []byte) (*Proof, error) {
	p, err := parseProof(b)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrMalformedProof, err)
	}
	if again, err := p.AppendBinary(nil); err != nil || !bytes.Equal(again, b) {
		return nil, fmt.Errorf("%w: not in canonical form", ErrMalformedProof)
	}
	return p, nil
}

func parseProof(b []byte) (*Proof, error) {
	r := proofReader{b: b}
	kind, depth := r.byte(), int(r.uint16())
	if r.err != nil || kind < proofPresent || kind > proofAbsentLeaf || depth > MaxDepth {
		return nil, errors.New("bad header")
	}
	bitmap := r.bytes((depth + 7) / 8)
	p := &Proof{Siblings: make([]Hash, depth)}
	for i := range p.Siblings {
		if r.err == nil && bitmap[i/8]&(0x80>>(i%8)) != 0 {
			p.Siblings[i] = Hash(r.bytes(HashSize))
		}
	}
	switch kind {
	case proofPresent:
		n := r.uvarint()
		if r.err == nil && (n < 1 || n > uint64(len(r.b))) { // each index takes a byte at least
			return nil, fmt.Errorf("index count %d out of range", n)
		}
		p.Indexes = make([]int64, 0, n)
		for next := uint64(0); r.err == nil && uint64(len(p.Indexes)) < n; {
			x := r.uvarint()
			if next > math.MaxInt64 || x > math.MaxInt64-next {
				return nil, errors.New("index out of range")
			}
			p.Indexes = append(p.Indexes, int64(next+x))
			next += x + 1
		}
	case proofAbsentLeaf:
		o := &Leaf{Key: Key(r.bytes(HashSize))}
		count, last := r.uvarint(), r.uvarint()
		if count > math.MaxInt64 || last > math.MaxInt64 {
			return nil, errors.New("leaf count or last index out of range")
		}
		o.Count, o.Last, o.Head = int64(count), int64(last), Hash(r.bytes(HashSize))
		p.Other = o
	}
	if r.err != nil {
		return nil, r.err
	}
	if len(r.b) > 0 {
		return nil, fmt.Errorf("%d trailing bytes", len(r.b))
	}
	return p, nil
}

// A proofReader reads fields off a byte slice; after its first error every
// read returns zeros and err stays set.
type proofReader struct {
	b   []byte
	err error
}

var errShort = errors.New("truncated")

func (r *proofReader) bytes(n int) []byte {
	if r.err != nil || len(r.b) < n {
		r.err = errShort
		return make([]byte, n)
	}
	v := r.b[:n]
	r.b = r.b[n:]
	return v
}

func (r *proofReader) byte() byte { return r.bytes(1)[0] }

func (r *proofReader) uint16() uint16 { return binary.BigEndian.Uint16(r.bytes(2)) }

func (r *proofReader) uvarint() uint64 {
	if r.err != nil {
		return 0
	}
	v, n := varint.Uvarint(r.b)
	if n <= 0 {
		r.err = errors.New("uvarint cut short, too long or not in its shortest form")
		return 0
	}
	r.b = r.b[n:]
	return v
}

// VerifyProof parses an encoded proof for key and verifies it against the
// map root. It returns every index under key, in increasing order, or none
// if the key is absent. Errors wrap [ErrMalformedProof] or
// [ErrInvalidProof].
func VerifyProof(root Hash, key Key, proof []byte) ([]int64, error) {
	p, err := ParseProof(proof)
	if err != nil {
		return nil, err
	}
	if err := p.Verify(root, key); err != nil {
		return nil, err
	}
	return slices.Clip(p.Indexes), nil
}
