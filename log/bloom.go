package log

import (
	"hash/maphash"
	"math/bits"
)

// A bloom is a blocked Bloom filter: blocks of 512 bits (a cache line),
// each key setting bloomProbes bits of one block. A key is given by two
// hashes keyed with a seed of the process's own (a bloomKey), so that a
// stranger who chooses the keys cannot choose which bits they set: the
// worst such keys can do is cost what a lookup cost without the filter.
// The deduplication filter (dedupFilter) and the index's deltas (delta)
// use it.
type bloom struct {
	blocks   [][8]uint64
	n, limit int // keys added, and the most it takes at bloomBits each
}

const (
	// bloomBits is the filter's bits per key at its limit. With
	// bloomProbes bits set per key in 512-bit blocks, about 1% of the
	// keys not added are answered "perhaps" at the limit, fewer below.
	bloomBits   = 10
	bloomProbes = 7
)

// newBloom returns an empty filter that takes limit keys.
func newBloom(limit int) bloom {
	return bloom{blocks: make([][8]uint64, max(1, (limit*bloomBits+511)/512)), limit: limit}
}

// A bloomKey is a key's two keyed hashes: x picks its block, and pos the
// positions of its bits in it, 9 bits at a time.
type bloomKey struct{ x, pos uint64 }

// bloomSeeds make the bloomKeys of one filter's keys: two hashes keyed
// with seeds of the process's own.
type bloomSeeds [2]maphash.Seed

func newBloomSeeds() bloomSeeds { return bloomSeeds{maphash.MakeSeed(), maphash.MakeSeed()} }

// key returns the bloomKey of b.
func (s *bloomSeeds) key(b []byte) bloomKey {
	return bloomKey{maphash.Bytes(s[0], b), maphash.Bytes(s[1], b)}
}

// keyString returns the bloomKey of k, as key does of []byte(k).
func (s *bloomSeeds) keyString(k string) bloomKey {
	return bloomKey{maphash.String(s[0], k), maphash.String(s[1], k)}
}

func (f *bloom) block(k bloomKey) *[8]uint64 {
	hi, _ := bits.Mul64(k.x, uint64(len(f.blocks)))
	return &f.blocks[hi]
}

// mayHave reports whether k may have been added: false means it was not.
func (f *bloom) mayHave(k bloomKey) bool {
	if f.n == 0 {
		return false
	}
	block, pos := f.block(k), k.pos
	for range bloomProbes {
		if block[pos>>6&7]&(1<<(pos&63)) == 0 {
			return false
		}
		pos >>= 9
	}
	return true
}

// add adds k; it should fit (n below limit), or more keys pass than
// bloomBits promises.
func (f *bloom) add(k bloomKey) {
	block, pos := f.block(k), k.pos
	for range bloomProbes {
		block[pos>>6&7] |= 1 << (pos & 63)
		pos >>= 9
	}
	f.n++
}
