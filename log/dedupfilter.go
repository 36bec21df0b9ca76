package log

import (
	"fmt"
	"hash/maphash"
	"math/bits"

	bolt "go.etcd.io/bbolt"
	"golang.org/x/mod/sumdb/tlog"
)

// A dedupFilter answers, for a hash, either "not in dedup" or "perhaps in
// dedup", from memory, so that the deduplication lookup of a new entry
// (nearly every lookup is one) does not walk dedup's B+tree: at 10M
// entries that walk was a fifth of the log core's CPU, a random leaf
// page read per entry.
//
// It is a blocked Bloom filter per slice of dedup (the records whose
// hashes start with one byte; see schema.go), built from the bucket when
// the store opens and grown, by reading the slice again, when a move of
// staged records fills it. Bit positions come from a keyed hash with a
// key of the process's own (hash/maphash), so a stranger who chooses
// entries cannot choose which bits they set: the worst such entries can do
// is cost what a lookup cost without the filter.
//
// The filter holds every hash of dedup, and may hold more: a move adds its
// records before its transaction commits, and a failed commit leaves them
// in the filter, which then only answers "perhaps" for them. It is used
// under the store's lock.
type dedupFilter struct {
	seeds  [2]maphash.Seed
	slices [dedupSlices]bloomSlice
	// keys is the buffer the slices are built from.
	keys []tlog.Hash
}

// A bloomSlice is the filter of one slice: blocks of 512 bits (a cache
// line), each hash setting bloomProbes bits of one block.
type bloomSlice struct {
	blocks   [][8]uint64
	n, limit int // hashes added, and the most it takes at bloomBits each
}

const (
	// bloomBits is the filter's bits per hash at its limit. With
	// bloomProbes bits set per hash in 512-bit blocks, about 1% of the
	// hashes not in dedup are answered "perhaps" at the limit, fewer below.
	bloomBits   = 10
	bloomProbes = 7
	// bloomMinLimit is the smallest limit a slice's filter is built with.
	bloomMinLimit = 1024
)

func newDedupFilter() *dedupFilter {
	return &dedupFilter{seeds: [2]maphash.Seed{maphash.MakeSeed(), maphash.MakeSeed()}}
}

// probes returns the block of a slice of nblocks that h sets bits in, and
// the 64 bits its bits' positions are taken from, 9 at a time.
func (f *dedupFilter) probes(h *tlog.Hash, nblocks int) (int, uint64) {
	x := maphash.Bytes(f.seeds[0], h[:])
	hi, _ := bits.Mul64(x, uint64(nblocks))
	return int(hi), maphash.Bytes(f.seeds[1], h[:])
}

// mayHave reports whether h may be in dedup: false means it is not.
func (f *dedupFilter) mayHave(h *tlog.Hash) bool {
	s := &f.slices[h[0]]
	if s.n == 0 {
		return false
	}
	b, pos := f.probes(h, len(s.blocks))
	block := &s.blocks[b]
	for range bloomProbes {
		if block[pos>>6&7]&(1<<(pos&63)) == 0 {
			return false
		}
		pos >>= 9
	}
	return true
}

// add adds h, which must fit (room).
func (f *dedupFilter) add(h *tlog.Hash) {
	s := &f.slices[h[0]]
	b, pos := f.probes(h, len(s.blocks))
	block := &s.blocks[b]
	for range bloomProbes {
		block[pos>>6&7] |= 1 << (pos & 63)
		pos >>= 9
	}
	s.n++
}

// room reports whether the filter of slice takes n more hashes.
func (f *dedupFilter) room(slice byte, n int) bool {
	s := &f.slices[slice]
	return s.n+n <= s.limit
}

// build makes the filter of slice anew from the records of dedup whose
// hashes start with slice, with room for as many again.
func (f *dedupFilter) build(dedup *bolt.Bucket, slice byte) error {
	f.keys = f.keys[:0]
	c := dedup.Cursor()
	for k, _ := c.Seek([]byte{slice}); k != nil && k[0] == slice; k, _ = c.Next() {
		if len(k) != tlog.HashSize {
			return fmt.Errorf("%w: deduplication record with a key of %d bytes", ErrCorrupt, len(k))
		}
		f.keys = append(f.keys, tlog.Hash(k))
	}
	limit := max(bloomMinLimit, 2*len(f.keys))
	f.slices[slice] = bloomSlice{
		blocks: make([][8]uint64, (limit*bloomBits+511)/512),
		limit:  limit,
	}
	for i := range f.keys {
		f.add(&f.keys[i])
	}
	return nil
}

// buildAll builds the filter of every slice from dedup.
func (f *dedupFilter) buildAll(dedup *bolt.Bucket) error {
	for slice := range dedupSlices {
		if err := f.build(dedup, byte(slice)); err != nil {
			return err
		}
	}
	f.keys = nil
	return nil
}
