package log

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
	"sync"

	"github.com/attestlog/attestlog/internal/varint"
	"github.com/attestlog/attestlog/log/vindex"
)

// A delta is the strata one index commitment changed (see indexmap.go),
// by stratum key, with a Bloom filter of the keys. A reader looks a
// stratum up in every delta after the base, newest first, until one holds
// a full record of it, and most hold none: a miss in the filter costs a
// few bit tests of one cache line, where a miss in the map cost a hash of
// the key and a probe of the table, for each delta (with two dozen
// deltas, 5% of the committer's CPU, BenchmarkIndexCommit).
type delta struct {
	strata map[string][]byte
	bytes  int // the record's size
	filter bloom
}

// newDelta returns a delta of the n strata of a record of size bytes;
// add puts each in it.
func newDelta(n, bytes int) *delta {
	return &delta{strata: make(map[string][]byte, n), bytes: bytes, filter: newBloom(n)}
}

func (d *delta) add(k string, rec []byte) {
	d.strata[k] = rec
	d.filter.add(stratumFilterKey(k))
}

// get returns the record of the stratum with the key k, whose filter key
// (stratumFilterKey) is fk, if d holds one.
func (d *delta) get(k string, fk bloomKey) ([]byte, bool) {
	if !d.filter.mayHave(fk) {
		return nil, false
	}
	rec, ok := d.strata[k]
	return rec, ok
}

// stratumSeeds key the filter keys of stratum keys with seeds of the
// process's own.
var stratumSeeds = newBloomSeeds()

// stratumFilterKey returns the filter key of the stratum key k.
func stratumFilterKey(k string) bloomKey {
	return stratumSeeds.keyString(k)
}

// deltaMark starts every delta record, so that a delta of no strata is
// not an empty value, and the format can change.
const deltaMark = 0x01

// appendDelta appends the record of a delta of rs (in key order):
//
//	0x01 || (uvarint(len(key)) || key || uvarint(len(record)) || record)...
//
// where key is the stratum's root ([vindex.Position.AppendBinary]) and
// record the stratum ([vindex.Strata]).
func appendDelta(b []byte, rs []vindex.StratumRecord) []byte {
	n := 1
	for _, r := range rs {
		n += 2*binary.MaxVarintLen32 + 2 + vindex.HashSize + len(r.Record)
	}
	b = slices.Grow(b, n)
	b = append(b, deltaMark)
	for _, r := range rs {
		k := stratumKey(r.Root)
		b = binary.AppendUvarint(b, uint64(len(k)))
		b = append(b, k...)
		b = binary.AppendUvarint(b, uint64(len(r.Record)))
		b = append(b, r.Record...)
	}
	return b
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
// checked when a [vindex.Strata] reads them. The delta keeps slices of b.
func parseDelta(b []byte) (*delta, error) {
	size := len(b)
	type stratum struct{ key, rec []byte }
	var strata []stratum
	if len(b) == 0 || b[0] != deltaMark {
		return nil, fmt.Errorf("%w: no mark %#x", ErrMalformedDelta, deltaMark)
	}
	var prev []byte
	for b = b[1:]; len(b) > 0; {
		k, rest, ok := varint.Bytes(b)
		if !ok {
			return nil, fmt.Errorf("%w: stratum key after %d strata: length cut short, too long or not in its shortest form", ErrMalformedDelta, len(strata))
		}
		if len(k) < 2 {
			return nil, fmt.Errorf("%w: stratum key of %d bytes", ErrMalformedDelta, len(k))
		}
		depth := int(binary.BigEndian.Uint16(k))
		switch {
		case depth%vindex.StratumLevels != 0 || depth > vindex.MaxDepth || len(k) != 2+(depth+7)/8:
			return nil, fmt.Errorf("%w: key %x is not a stratum root's", ErrMalformedDelta, k)
		case prev != nil && bytes.Compare(k, prev) <= 0:
			return nil, fmt.Errorf("%w: stratum key %x after %x", ErrMalformedDelta, k, prev)
		}
		rec, rest, ok := varint.Bytes(rest)
		if !ok || len(rec) == 0 {
			return nil, fmt.Errorf("%w: record of stratum %x: empty, or its length cut short, too long or not in its shortest form", ErrMalformedDelta, k)
		}
		strata, prev, b = append(strata, stratum{k, rec}), k, rest
	}
	var keys packedStrings
	recs := make([][]byte, len(strata))
	for i, st := range strata {
		keys.add(st.key)
		recs[i] = st.rec
	}
	return newDeltaOf(keys.strings(), recs, size), nil
}

// deltaOf returns the delta of rs (in key order), whose record of n bytes
// appendDelta gave, as parseDelta would read it back.
func deltaOf(rs []vindex.StratumRecord, n int) *delta {
	var keys packedStrings
	recs := make([][]byte, len(rs))
	var k []byte
	for i, r := range rs {
		k, _ = r.Root.AppendBinary(k[:0])
		keys.add(k)
		recs[i] = r.Record
	}
	return newDeltaOf(keys.strings(), recs, n)
}

// newDeltaOf returns the delta of a record of size bytes holding the
// strata recs under keys (a delta stays in memory until a merge: see
// packedStrings for why its keys share one allocation).
func newDeltaOf(keys []string, recs [][]byte, size int) *delta {
	d := newDelta(len(recs), size)
	for i, k := range keys {
		d.add(k, recs[i])
	}
	return d
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

// put keeps d, written by the commitment at idx.
func (c *deltaCache) put(idx int64, d *delta) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.m[idx] = d
}
