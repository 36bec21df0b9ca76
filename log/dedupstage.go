package log

import (
	"cmp"
	"encoding/binary"
	"fmt"
	"hash/maphash"
	"slices"

	bolt "go.etcd.io/bbolt"
	"golang.org/x/mod/sumdb/tlog"
)

// A dedupStage holds in memory the deduplication records of dedup-staged
// not yet moved to dedup (see schema.go), in about a third of the memory
// a map by whole hash takes (36 bytes a record against 96,
// BenchmarkDedupMemory): by slice (the first byte of the hash), a keyed
// 64-bit hash of the record's hash (hash/maphash, with a seed of the
// process's own) gives the entry's index. The hashes themselves stay in
// dedup-staged, where a lookup checks the hash of the entry it found
// ([BoltStore.stagedIndex]) and a move reads them ([BoltStore.stagedHashes]).
//
// Two staged hashes with one key (for n records, a chance of about
// n²/2⁶⁵, and a stranger who chooses entries cannot aim at the process's
// keys) are kept apart: the second, and any after, by its whole hash in
// others. It is used under the store's lock.
type dedupStage struct {
	seed   maphash.Seed
	slices [dedupSlices]map[uint64]int64
	others map[tlog.Hash]int64
	n      int
	// key is the key of a hash: keyOf, or a weaker one in tests, so that
	// keys collide.
	key func(seed maphash.Seed, h *tlog.Hash) uint64
}

func keyOf(seed maphash.Seed, h *tlog.Hash) uint64 { return maphash.Bytes(seed, h[:]) }

// dedupKey is the key function of new stages: keyOf, but for tests.
var dedupKey = keyOf

func newDedupStage() *dedupStage {
	st := &dedupStage{seed: maphash.MakeSeed(), others: map[tlog.Hash]int64{}, key: dedupKey}
	for i := range st.slices {
		st.slices[i] = map[uint64]int64{}
	}
	return st
}

// add stages h as the hash of the entry at index.
func (st *dedupStage) add(h *tlog.Hash, index int64) {
	m, k := st.slices[h[0]], st.key(st.seed, h)
	if _, taken := m[k]; taken {
		st.others[*h] = index
	} else {
		m[k] = index
	}
	st.n++
}

// get returns the index that may be h's: exact says it is (h is in
// others); otherwise the caller checks the entry's hash, since another
// hash of the same key may have put it there.
func (st *dedupStage) get(h *tlog.Hash) (index int64, exact, ok bool) {
	if index, ok := st.others[*h]; ok {
		return index, true, true
	}
	index, ok = st.slices[h[0]][st.key(st.seed, h)]
	return index, false, ok
}

// count returns the number of records staged in slice.
func (st *dedupStage) count(slice byte) int {
	n := len(st.slices[slice])
	for h := range st.others {
		if h[0] == slice {
			n++
		}
	}
	return n
}

// clear drops the records of slice, once moved.
func (st *dedupStage) clear(slice byte) {
	st.n -= len(st.slices[slice])
	clear(st.slices[slice])
	for h := range st.others {
		if h[0] == slice {
			delete(st.others, h)
			st.n--
		}
	}
}

// A dedupRecord is a deduplication record: an entry's hash and index.
type dedupRecord struct {
	hash  tlog.Hash
	index int64
}

// stagedIndex returns the index of the staged record of h, if h is staged,
// reading the hash the stage's key points to from staged (dedup-staged).
// s.mu is held.
func (s *BoltStore) stagedIndex(staged *bolt.Bucket, h *tlog.Hash) (int64, bool, error) {
	index, exact, ok := s.stage.get(h)
	if !ok || exact {
		return index, ok, nil
	}
	var found bool
	err := s.stagedHashes(staged, []int64{index}, func(r dedupRecord) { found = r.hash == *h })
	return index, found, err
}

// stagedHashes calls fn with the record of each index of indexes (staged
// records, in increasing order), reading its hash from staged
// (dedup-staged) in one pass over the batches that hold them. s.mu is
// held.
func (s *BoltStore) stagedHashes(staged *bolt.Bucket, indexes []int64, fn func(dedupRecord)) error {
	if len(indexes) == 0 {
		return nil
	}
	i, found := slices.BinarySearchFunc(s.stagedBatches, indexes[0], func(b stagedBatch, x int64) int { return cmp.Compare(b.start, x) })
	if !found {
		i--
	}
	if i < 0 {
		return fmt.Errorf("%w: staged deduplication record of entry %d is in no staged batch", ErrCorrupt, indexes[0])
	}
	c := staged.Cursor()
	k, v := c.Seek(indexKey(s.stagedBatches[i].start))
	for _, x := range indexes {
		var start int64
		for {
			if len(k) != 8 || len(v) < 8 || (len(v)-8)%tlog.HashSize != 0 {
				return fmt.Errorf("%w: staged deduplication record of entry %d is in no staged batch", ErrCorrupt, x)
			}
			start = int64(binary.BigEndian.Uint64(k))
			if x < start {
				return fmt.Errorf("%w: staged deduplication record of entry %d is in no staged batch", ErrCorrupt, x)
			}
			if x < start+int64(len(v)-8)/tlog.HashSize {
				break
			}
			k, v = c.Next()
		}
		at := 8 + (x-start)*tlog.HashSize
		fn(dedupRecord{tlog.Hash(v[at : at+tlog.HashSize]), x})
	}
	return nil
}

// stagedRecords returns the staged records of slice, their hashes read
// from staged (dedup-staged). s.mu is held.
func (s *BoltStore) stagedRecords(staged *bolt.Bucket, slice byte, recs []dedupRecord) ([]dedupRecord, error) {
	indexes := make([]int64, 0, len(s.stage.slices[slice]))
	for _, x := range s.stage.slices[slice] {
		indexes = append(indexes, x)
	}
	slices.Sort(indexes)
	err := s.stagedHashes(staged, indexes, func(r dedupRecord) { recs = append(recs, r) })
	if err != nil {
		return nil, err
	}
	for _, r := range recs {
		if r.hash[0] != slice {
			return nil, fmt.Errorf("%w: staged deduplication record of entry %d, of slice %d, has a hash of slice %d", ErrCorrupt, r.index, slice, r.hash[0])
		}
	}
	for h, x := range s.stage.others {
		if h[0] == slice {
			recs = append(recs, dedupRecord{h, x})
		}
	}
	return recs, nil
}
