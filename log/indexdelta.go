package log

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"slices"
	"sort"
	"sync"

	"github.com/attestlog/attestlog/internal/varint"
	"github.com/attestlog/attestlog/log/vindex"
)

// A delta is the strata one index commitment changed (see indexmap.go):
// its record, as appendDelta encodes it, and where each stratum's key and
// record are in it, in key order, with a Bloom filter of the keys and a
// hash table of them. A reader looks a stratum up in every delta after the
// base, newest first, until one holds a full record of it, and most hold
// none: a miss in the filter costs a few bit tests of one cache line,
// where a miss in a table costs a probe of memory further away, for each
// delta (with two dozen deltas, 5% of the committer's CPU,
// BenchmarkIndexCommit); a hit costs one probe of the table
// (BenchmarkDeltaGet).
//
// A delta stays in memory until a merge, some 50 MiB of them under load,
// so it holds no pointer but to its record and its arrays: four objects
// that the garbage collector marks without scanning, where a map of the
// keys to slices of the record had it follow two pointers a stratum at
// every collection.
type delta struct {
	rec    []byte
	strata []deltaStratum
	// slots is the hash table, open addressing by the filter key's x: 1 +
	// the index in strata of the key in each slot, 0 for none. It has at
	// least twice as many slots as keys, a power of two.
	slots  []uint32
	filter bloom
}

// A deltaStratum is where one stratum's key and record are in a delta's
// record: rec[key:keyEnd] and rec[recAt:recEnd].
type deltaStratum struct{ key, keyEnd, recAt, recEnd int }

// size returns the size of d's record.
func (d *delta) size() int { return len(d.rec) }

// key returns the key of d's i-th stratum.
func (d *delta) key(i int) []byte { s := d.strata[i]; return d.rec[s.key:s.keyEnd:s.keyEnd] }

// record returns the record of d's i-th stratum.
func (d *delta) record(i int) []byte { s := d.strata[i]; return d.rec[s.recAt:s.recEnd:s.recEnd] }

// appendPartKeys appends to keys the keys of d's strata that are in the
// merge's part `part` (see mergePart). d's keys are in key order: by
// depth, then by prefix, so that within each depth the parts come in
// order, and it finds each depth's run of the part by binary search
// instead of reading every key of d, which costs a cache miss each.
func (d *delta) appendPartKeys(keys [][]byte, part int) [][]byte {
	n := len(d.strata)
	for lo := 0; lo < n; {
		depth := keyDepth(d.key(lo))
		end := lo + sort.Search(n-lo, func(i int) bool { return keyDepth(d.key(lo+i)) > depth })
		from := lo + sort.Search(end-lo, func(i int) bool { return mergePart(d.key(lo+i)) >= part })
		to := from + sort.Search(end-from, func(i int) bool { return mergePart(d.key(from+i)) > part })
		for i := from; i < to; i++ {
			keys = append(keys, d.key(i))
		}
		lo = end
	}
	return keys
}

// keyDepth returns the depth of a stratum's storage key
// ([vindex.Position.AppendBinary]); it is 0 for a key too short to hold
// one, which parseDelta refuses.
func keyDepth(k []byte) int {
	if len(k) < 2 {
		return 0
	}
	return int(binary.BigEndian.Uint16(k))
}

// get returns the record of the stratum with the key k, whose filter key
// (stratumFilterKey) is fk, if d holds one.
func (d *delta) get(k []byte, fk bloomKey) ([]byte, bool) {
	if !d.filter.mayHave(fk) {
		return nil, false
	}
	mask := uint64(len(d.slots) - 1)
	for j := fk.x & mask; d.slots[j] != 0; j = (j + 1) & mask {
		if i := int(d.slots[j] - 1); bytes.Equal(d.key(i), k) {
			return d.record(i), true
		}
	}
	return nil, false
}

// index fills d's filter and hash table with the keys of its strata.
func (d *delta) index() {
	d.filter = newBloom(len(d.strata))
	n := 2
	for n < 2*len(d.strata) {
		n <<= 1
	}
	d.slots = make([]uint32, n)
	mask := uint64(len(d.slots) - 1)
	for i := range d.strata {
		fk := stratumFilterKey(d.key(i))
		d.filter.add(fk)
		j := fk.x & mask
		for d.slots[j] != 0 {
			j = (j + 1) & mask
		}
		d.slots[j] = uint32(i + 1)
	}
}

// stratumSeeds key the filter keys of stratum keys with seeds of the
// process's own.
var stratumSeeds = newBloomSeeds()

// stratumFilterKey returns the filter key of the stratum key k.
func stratumFilterKey(k []byte) bloomKey {
	return stratumSeeds.key(k)
}

// deltaMark starts every delta record, so that a delta of no strata is
// not an empty value, and the format can change.
const deltaMark = 0x01

// appendDelta appends the record of a delta of rs (in key order):
//
//	0x01 || (uvarint(len(key)) || key || uvarint(len(record)) || record)...
//
// where key is the stratum's root ([vindex.Position.AppendBinary]) and
// record the stratum ([vindex.Strata]). The committer frames a delta as
// [vindex.Strata.AppendDirtyPatches] encodes it, with appendDeltaHeader,
// into the same bytes.
func appendDelta(b []byte, rs []vindex.StratumRecord) []byte {
	b = append(b, deltaMark)
	for _, r := range rs {
		b = append(appendDeltaHeader(b, r.Root, len(r.Record)), r.Record...)
	}
	return b
}

// appendDeltaHeader appends what precedes the record of size bytes of the
// stratum rooted at root in a delta record.
func appendDeltaHeader(b []byte, root vindex.Position, size int) []byte {
	b = binary.AppendUvarint(b, uint64(root.BinarySize()))
	b, _ = root.AppendBinary(b)
	return binary.AppendUvarint(b, uint64(size))
}

// deltaChunk is the size of the values a delta record is stored in, each
// under the key deltaKey(idx) || chunk number (4 bytes, big-endian): a
// B+tree keeps a value in the leaf page of its key, and a leaf is
// rewritten whole whenever a key is added next to it, so one large value
// per delta would have every commitment copy the delta before it again.
// Chunks go to new leaves at the end of the space; a chunk of a little
// less than bbolt's 4 KiB page (its header and the key take the rest)
// fills its page.
const deltaChunk = 4000

// deltaWrites returns the writes of the delta record b of the commitment
// at idx, in chunks.
func deltaWrites(idx int64, b []byte) []IndexWrite {
	out := make([]IndexWrite, 0, (len(b)+deltaChunk-1)/deltaChunk)
	for i := 0; len(b) > 0; i++ {
		n := min(len(b), deltaChunk)
		out = append(out, IndexWrite{Space: spaceVindexDelta, Key: binary.BigEndian.AppendUint32(deltaKey(idx), uint32(i)), Value: b[:n]})
		b = b[n:]
	}
	return out
}

// deltaDeletes returns the deletes of the chunks of a delta record of n
// bytes written by the commitment at idx.
func deltaDeletes(idx int64, n int) []IndexWrite {
	out := make([]IndexWrite, 0, (n+deltaChunk-1)/deltaChunk)
	for i := 0; i*deltaChunk < n; i++ {
		out = append(out, IndexWrite{Space: spaceVindexDelta, Key: binary.BigEndian.AppendUint32(deltaKey(idx), uint32(i)), Delete: true})
	}
	return out
}

// readDelta reads the record of the delta of the commitment at idx, from
// one view of s, and checks that its chunks are numbered from 0 without a
// gap and are full but for the last.
func readDelta(s Store, idx int64) ([]byte, error) {
	var b []byte
	var bad error
	n := 0
	err := s.IndexScan(spaceVindexDelta, deltaKey(idx), func(k, v []byte) bool {
		switch {
		case len(k) != 12 || binary.BigEndian.Uint32(k[8:]) != uint32(n):
			bad = fmt.Errorf("key %x where chunk %d was due", k, n)
		case n > 0 && len(b) != n*deltaChunk, len(v) == 0 || len(v) > deltaChunk:
			bad = fmt.Errorf("chunk %d of %d bytes after %d bytes", n, len(v), len(b))
		}
		b, n = append(b, v...), n+1
		return bad == nil
	})
	switch {
	case err != nil:
		return nil, fmt.Errorf("log: reading the index delta of commitment %d: %w", idx, err)
	case bad != nil:
		return nil, fmt.Errorf("%w: index delta of commitment %d: %w", ErrCorrupt, idx, bad)
	case n == 0:
		return nil, fmt.Errorf("%w: delta of commitment %d", errDeltaGone, idx)
	}
	return b, nil
}

// ErrMalformedDelta is returned by parseDelta for bytes that are not a
// delta record.
var ErrMalformedDelta = errors.New("log: malformed index delta")

// parseDelta parses a delta record, strictly: the mark, then strata in
// increasing order of key, each key a stratum root's (a depth that is a
// multiple of [vindex.StratumLevels], at most [vindex.MaxDepth], and the
// bytes that hold it), each record not empty. The records themselves are
// checked when a [vindex.Strata] reads them. The delta keeps b.
func parseDelta(b []byte) (*delta, error) {
	if len(b) == 0 || b[0] != deltaMark {
		return nil, fmt.Errorf("%w: no mark %#x", ErrMalformedDelta, deltaMark)
	}
	var strata []deltaStratum
	var prev []byte
	for rest := b[1:]; len(rest) > 0; {
		k, after, ok := varint.Bytes(rest)
		if !ok {
			return nil, fmt.Errorf("%w: stratum key after %d strata: length cut short, too long or not in its shortest form", ErrMalformedDelta, len(strata))
		}
		if len(k) < 2 {
			return nil, fmt.Errorf("%w: stratum key of %d bytes", ErrMalformedDelta, len(k))
		}
		depth := int(binary.BigEndian.Uint16(k))
		switch {
		case depth%vindex.StratumLevels != 0 || depth > vindex.MaxDepth || len(k) != (vindex.Position{Depth: uint16(depth)}).BinarySize():
			return nil, fmt.Errorf("%w: key %x is not a stratum root's", ErrMalformedDelta, k)
		case prev != nil && bytes.Compare(k, prev) <= 0:
			return nil, fmt.Errorf("%w: stratum key %x after %x", ErrMalformedDelta, k, prev)
		}
		keyEnd := len(b) - len(after)
		rec, after, ok := varint.Bytes(after)
		if !ok || len(rec) == 0 {
			return nil, fmt.Errorf("%w: record of stratum %x: empty, or its length cut short, too long or not in its shortest form", ErrMalformedDelta, k)
		}
		recEnd := len(b) - len(after)
		strata = append(strata, deltaStratum{key: keyEnd - len(k), keyEnd: keyEnd, recAt: recEnd - len(rec), recEnd: recEnd})
		prev, rest = k, after
	}
	if len(strata) >= math.MaxUint32/2 {
		return nil, fmt.Errorf("%w: %d strata", ErrMalformedDelta, len(strata))
	}
	d := &delta{rec: b, strata: slices.Clip(strata)}
	d.index()
	return d, nil
}

// A deltaCache keeps the index's deltas a process read or wrote, by the
// entry index of their commitment: a delta never changes once written, and
// is only deleted, by a merge. It drops the deltas before the oldest one
// asked for, which a merge made part of the base. Safe for concurrent use.
type deltaCache struct {
	mu sync.Mutex
	m  map[int64]*delta
}

func newDeltaCache() *deltaCache { return &deltaCache{m: map[int64]*delta{}} }

// errDeltaGone means that a delta the index state named was not in the
// store: a merge deleted it after the state was read.
var errDeltaGone = errors.New("log: an index delta was merged while it was read")

// get returns the deltas idxs (increasing), reading those it does not hold
// from s, each in one [Store.IndexScan].
func (c *deltaCache) get(s Store, idxs []int64) ([]*delta, error) {
	out := make([]*delta, len(idxs))
	var at []int
	c.mu.Lock()
	for i, idx := range idxs {
		if d, ok := c.m[idx]; ok {
			out[i] = d
		} else {
			at = append(at, i)
		}
	}
	c.mu.Unlock()
	for _, i := range at {
		b, err := readDelta(s, idxs[i])
		if err != nil {
			return nil, err
		}
		if out[i], err = parseDelta(b); err != nil {
			return nil, fmt.Errorf("%w: index delta of commitment %d: %w", ErrCorrupt, idxs[i], err)
		}
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	for j := range at {
		c.m[idxs[at[j]]] = out[at[j]]
	}
	if len(idxs) > 0 {
		for idx := range c.m {
			if idx < idxs[0] {
				delete(c.m, idx)
			}
		}
	}
	return out, nil
}

// put keeps the delta of the record rec, written by the commitment at
// idx: what it keeps is what a reader parses from the store.
func (c *deltaCache) put(idx int64, rec []byte) error {
	d, err := parseDelta(rec)
	if err != nil {
		return fmt.Errorf("log: the index delta of commitment %d: %w", idx, err)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.m[idx] = d
	return nil
}
