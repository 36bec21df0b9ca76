package vindex

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
)

// HashSize is the size of a [Hash] and of a [Key]: SHA-256.
const HashSize = sha256.Size

// A Hash is the hash of a subtree of the map, of a leaf, or a list head.
type Hash [HashSize]byte

// String returns h as lowercase hex.
func (h Hash) String() string { return hex.EncodeToString(h[:]) }

// A Key is a search key: the SHA-256 of a domain-separated key string (see
// [DigestKey] and the other key functions). Its bits, most significant bit
// of byte 0 first, are the path from the map's root to its leaf.
type Key [HashSize]byte

// String returns k as lowercase hex.
func (k Key) String() string { return hex.EncodeToString(k[:]) }

// bit returns bit i of k, 0 being the most significant bit of k[0].
func (k *Key) bit(i int) byte { return k[i/8] >> (7 - i%8) & 1 }

// Domain-separation prefixes. Each starts with a byte other than 0x00 and
// 0x01, so no vindex hash is the preimage of an RFC 6962 leaf or node hash
// of the log, and the four differ from each other in their text.
const (
	tagKey   = "attestlog/vindex/key/v1\x00"
	tagLeaf  = "attestlog/vindex/leaf/v1\x00"
	tagNode  = "attestlog/vindex/node/v1\x00"
	tagChain = "attestlog/vindex/chain/v1\x00"
)

// EmptyHash is the hash of an empty subtree, and so the root of the empty
// map: 32 zero bytes, which no SHA-256 output is known to equal.
var EmptyHash Hash

// nodeHash is the hash of an inner node with the given children:
// SHA-256(tagNode || left || right).
func nodeHash(left, right *Hash) Hash {
	var b [len(tagNode) + 2*HashSize]byte
	n := copy(b[:], tagNode)
	n += copy(b[n:], left[:])
	copy(b[n:], right[:])
	return sha256.Sum256(b[:])
}

// hash returns the leaf hash of l:
// SHA-256(tagLeaf || key || count (8, big-endian) || last (8) || head).
func (l *Leaf) hash() Hash { return leafHash((*[HashSize]byte)(&l.Key), l.Count, l.Last, &l.Head) }

// leafHash is [Leaf.hash] of the leaf's fields, for a leaf held packed.
func leafHash(key *[HashSize]byte, count, last int64, head *Hash) Hash {
	var b [len(tagLeaf) + 2*HashSize + 16]byte
	n := copy(b[:], tagLeaf)
	n += copy(b[n:], key[:])
	binary.BigEndian.PutUint64(b[n:], uint64(count))
	binary.BigEndian.PutUint64(b[n+8:], uint64(last))
	copy(b[n+16:], head[:])
	return sha256.Sum256(b[:])
}

// chain returns the list head after appending index to a list whose head
// is head: SHA-256(tagChain || head || index (8, big-endian)). The head of
// the empty list is [EmptyHash].
func chain(head Hash, index int64) Hash {
	var b [len(tagChain) + HashSize + 8]byte
	n := copy(b[:], tagChain)
	n += copy(b[n:], head[:])
	binary.BigEndian.PutUint64(b[n:], uint64(index))
	return sha256.Sum256(b[:])
}

// ListHead returns the head of the hash chain over indexes, in order:
// [EmptyHash] for none, then chain(head, index) for each index.
func ListHead(indexes []int64) Hash {
	h := EmptyHash
	for _, i := range indexes {
		h = chain(h, i)
	}
	return h
}
