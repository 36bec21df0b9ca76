package log

import (
	"fmt"

	bolt "go.etcd.io/bbolt"
	"golang.org/x/mod/sumdb/tlog"
)

// A dedupFilter answers, for a hash, either "not in dedup" or "perhaps in
// dedup", from memory, so that the deduplication lookup of a new entry
// (nearly every lookup is one) does not walk dedup's B+tree: at 10M
// entries that walk was a fifth of the log core's CPU, a random leaf
// page read per entry.
//
// It is a Bloom filter (a bloom) per slice of dedup (the records whose
// hashes start with one byte; see schema.go), built from the bucket when
// the store opens and grown, by reading the slice again, when a move of
// staged records fills it.
//
// The filter holds every hash of dedup, and may hold more: a move adds its
// records before its transaction commits, and a failed commit leaves them
// in the filter, which then only answers "perhaps" for them. It is used
// under the store's lock.
type dedupFilter struct {
	seeds  bloomSeeds
	slices [dedupSlices]bloom
	// keys is the buffer the slices are built from.
	keys []tlog.Hash
}

// bloomMinLimit is the smallest limit a slice's filter is built with.
const bloomMinLimit = 1024

func newDedupFilter() *dedupFilter {
	return &dedupFilter{seeds: newBloomSeeds()}
}

// key returns the filter key of h.
func (f *dedupFilter) key(h *tlog.Hash) bloomKey {
	return f.seeds.key(h[:])
}

// mayHave reports whether h may be in dedup: false means it is not.
func (f *dedupFilter) mayHave(h *tlog.Hash) bool { return f.slices[h[0]].mayHave(f.key(h)) }

// add adds h, which must fit (room).
func (f *dedupFilter) add(h *tlog.Hash) { f.slices[h[0]].add(f.key(h)) }

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
	f.slices[slice] = newBloom(max(bloomMinLimit, 2*len(f.keys)))
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
