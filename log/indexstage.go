package log

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"slices"
	"strings"

	"github.com/attestlog/attestlog/internal/varint"
	bolt "go.etcd.io/bbolt"
	berrors "go.etcd.io/bbolt/errors"
)

// The claim index's records (claimindex.go) are keyed by hashes, so a batch
// writing them to their buckets dirtied a leaf page of each bucket per
// claim: four or five random pages per claim, a third of the server's CPU
// per verified claim (BENCHMARKS.md, issue 14). A BoltStore stages them as
// it stages deduplication records: a Commit writes the records of the
// staged spaces as one value of the bucket index-staged (pages at the end
// of an append-only bucket) and keeps them in memory, where reads merge
// them with the buckets; staged records are moved to their buckets a slice
// at a time (the records whose keys start with one byte), sorted, once
// more than indexStageLimit are staged. See schema.go for the layout.

// stagedSpaces are the index spaces a BoltStore stages: those whose keys
// are hashes. A space whose keys arrive in order gains nothing from it.
var stagedSpaces = map[string]bool{spaceDigest: true, spaceSource: true, spaceIdentity: true, spaceBuilder: true, spaceName: true}

// indexStageLimit bounds the index records a BoltStore keeps staged (about
// 190 bytes of memory each, a claim making four or five). Each staged
// record is a few pointers for the garbage collector to follow, and its
// bytes are live heap that brings the next collection closer under serve's
// memory limit: at 131,072 a serve process under load collected a third
// more often than at 65,536, which costs more CPU than the moves that a
// smaller stage makes more frequent (BENCHMARKS.md, issue 14's fifth
// pass).
const indexStageLimit = 1 << 16

// stageGroupLen is the length of the key prefix by which staged records
// are grouped for prefix reads: the claim index's keys start with a
// 32-byte hash, and its scans are by that hash.
const stageGroupLen = 32

// An indexStage is the staged index records of a BoltStore, guarded by its
// mu.
type indexStage struct {
	spaces map[string]*stagedSpace
	n      int   // staged records
	moves  int64 // slice moves made, as meta's "index-moves" holds it
	// batches are the sequence numbers of index-staged's records, in order,
	// with the moves made before each was written.
	batches []stagedBatch
	limit   int
}

// A stagedSpace holds one space's staged records. slices[b] holds those
// whose keys start with byte b, by group (a key's first stageGroupLen
// bytes, or the whole of a shorter key), each group sorted by key; counts[b]
// is their number. A slice move then drops a map, and a claim's record is
// one map access and, mostly, an append.
type stagedSpace struct {
	slices [dedupSlices]map[string][]stagedRecord
	counts [dedupSlices]int
}

// A stagedValue is a staged record's value, or its deletion.
type stagedValue struct {
	value   []byte
	deleted bool
}

// A stagedRecord is a staged record with its key.
type stagedRecord struct {
	key string
	stagedValue
}

// A stagedWrite is an index write of a staged space.
type stagedWrite struct {
	space string
	stagedRecord
}

func newIndexStage() *indexStage {
	return &indexStage{spaces: map[string]*stagedSpace{}, limit: indexStageLimit}
}

func group(key string) string { return key[:min(len(key), stageGroupLen)] }

func byKey(r stagedRecord, key string) int { return strings.Compare(r.key, key) }

// set stages w.
func (st *indexStage) set(w stagedWrite) {
	sp := st.spaces[w.space]
	if sp == nil {
		sp = &stagedSpace{}
		st.spaces[w.space] = sp
	}
	slice := w.key[0]
	m := sp.slices[slice]
	if m == nil {
		m = map[string][]stagedRecord{}
		sp.slices[slice] = m
	}
	g := group(w.key)
	recs := m[g]
	i, found := slices.BinarySearchFunc(recs, w.key, byKey)
	if found {
		recs[i].stagedValue = w.stagedValue
		return
	}
	m[g] = slices.Insert(recs, i, w.stagedRecord)
	sp.counts[slice]++
	st.n++
}

// clearSlice forgets the staged records of one slice.
func (st *indexStage) clearSlice(slice byte) {
	for _, sp := range st.spaces {
		st.n -= sp.counts[slice]
		sp.counts[slice] = 0
		sp.slices[slice] = nil
	}
}

// get returns the staged record of key in space, if there is one.
func (st *indexStage) get(space string, key []byte) (stagedValue, bool) {
	sp := st.spaces[space]
	if sp == nil || len(key) == 0 {
		return stagedValue{}, false
	}
	recs := sp.slices[key[0]][string(key[:min(len(key), stageGroupLen)])]
	if i, ok := slices.BinarySearchFunc(recs, string(key), byKey); ok {
		return recs[i].stagedValue, true
	}
	return stagedValue{}, false
}

// scan returns the staged records of space whose keys start with prefix, in
// key order. The values are shared: callers must not change them.
func (st *indexStage) scan(space string, prefix []byte) []stagedRecord {
	sp := st.spaces[space]
	if sp == nil {
		return nil
	}
	var out []stagedRecord
	if len(prefix) >= stageGroupLen {
		for _, r := range sp.slices[prefix[0]][string(prefix[:stageGroupLen])] {
			if strings.HasPrefix(r.key, string(prefix)) {
				out = append(out, r)
			}
		}
		return out
	}
	for b := range sp.slices {
		if len(prefix) > 0 && byte(b) != prefix[0] {
			continue
		}
		for g, recs := range sp.slices[b] {
			if strings.HasPrefix(g, string(prefix)) {
				for _, r := range recs {
					if strings.HasPrefix(r.key, string(prefix)) {
						out = append(out, r)
					}
				}
			}
		}
	}
	slices.SortFunc(out, func(a, b stagedRecord) int { return strings.Compare(a.key, b.key) })
	return out
}

// read is what [BoltStore.IndexGetMany] reads for r, of a staged space whose
// bucket is b (nil: none).
func (st *indexStage) read(b *bolt.Bucket, r IndexRead) []byte {
	if !r.Prefix {
		if v, ok := st.get(r.Space, r.Key); ok {
			if v.deleted {
				return nil
			}
			return bytes.Clone(v.value)
		}
		if b == nil {
			return nil
		}
		return bytes.Clone(b.Get(r.Key))
	}
	var out []byte
	mergeScan(b, r.Key, st.scan(r.Space, r.Key), func(_, v []byte) bool {
		out = bytes.Clone(v)
		return false
	})
	return out
}

// spaceNames returns the names of the spaces with staged records.
func (st *indexStage) spaceNames() []string {
	var out []string
	for name, sp := range st.spaces {
		for _, n := range sp.counts {
			if n > 0 {
				out = append(out, name)
				break
			}
		}
	}
	return out
}

// mergeScan calls fn with each record of b (nil: none) whose key starts
// with prefix, merged with the staged records of the same prefix in key
// order: a staged record replaces the bucket's of its key, or hides it if
// it is a deletion.
func mergeScan(b *bolt.Bucket, prefix []byte, staged []stagedRecord, fn func(key, value []byte) bool) {
	var c *bolt.Cursor
	var k, v []byte
	if b != nil {
		c = b.Cursor()
		k, v = c.Seek(prefix)
	}
	for {
		if k != nil && !bytes.HasPrefix(k, prefix) {
			k = nil
		}
		if k == nil && len(staged) == 0 {
			return
		}
		if len(staged) == 0 || k != nil && bytes.Compare(k, []byte(staged[0].key)) < 0 {
			if !fn(k, v) {
				return
			}
			k, v = c.Next()
			continue
		}
		r := staged[0]
		staged = staged[1:]
		if k != nil && string(k) == r.key {
			k, v = c.Next()
		}
		if !r.deleted && !fn([]byte(r.key), r.value) {
			return
		}
	}
}

// stageWrites checks the writes of a batch to staged spaces as bbolt would
// check them, and returns them. Of several writes of one key the last one
// counts, as in a bucket.
func stageWrites(index []IndexWrite) ([]stagedWrite, error) {
	var out []stagedWrite
	// The stage keeps keys and values past the batch: copies, all of a
	// batch's keys in one allocation (packedStrings) and its values in
	// another, so that the stage's records are a few objects for the
	// garbage collector, not two each.
	var keys packedStrings
	for _, w := range index {
		if !stagedSpaces[w.Space] {
			continue
		}
		switch {
		case len(w.Key) == 0 && w.Delete:
			return nil, fmt.Errorf("deleting from index %s: empty key", w.Space)
		case len(w.Key) == 0:
			return nil, fmt.Errorf("storing index %s: %w", w.Space, berrors.ErrKeyRequired)
		case len(w.Key) > bolt.MaxKeySize:
			return nil, fmt.Errorf("storing index %s: %w", w.Space, berrors.ErrKeyTooLarge)
		case len(w.Value) > bolt.MaxValueSize:
			return nil, fmt.Errorf("storing index %s: %w", w.Space, berrors.ErrValueTooLarge)
		}
		keys.add(w.Key)
		r := stagedRecord{stagedValue: stagedValue{deleted: w.Delete}}
		if !w.Delete {
			r.value = w.Value // copied by packValues
		}
		out = append(out, stagedWrite{space: w.Space, stagedRecord: r})
	}
	for i, k := range keys.strings() {
		out[i].key = k
	}
	packValues(out)
	return out, nil
}

// packValues copies the values of the puts of ws into one slice, each cut
// with a full slice expression so that none can grow into the next, and
// never nil, so that reads tell an empty value from none.
func packValues(ws []stagedWrite) {
	n := 0
	for _, w := range ws {
		n += len(w.value)
	}
	buf := make([]byte, 0, n)
	for i := range ws {
		if ws[i].deleted {
			continue
		}
		start := len(buf)
		buf = append(buf, ws[i].value...)
		ws[i].value = buf[start:len(buf):len(buf)]
	}
}

// encodeStaged is a value of index-staged: the moves made before it was
// written, then each write as its space, key and value, each with its
// length as a uvarint, and a byte saying whether it is a deletion.
func encodeStaged(moves int64, ws []stagedWrite) []byte {
	n := 8
	for _, w := range ws {
		n += 3*binary.MaxVarintLen32 + 1 + len(w.space) + len(w.key) + len(w.value)
	}
	b := binary.BigEndian.AppendUint64(make([]byte, 0, n), uint64(moves))
	for _, w := range ws {
		b = binary.AppendUvarint(b, uint64(len(w.space)))
		b = append(b, w.space...)
		b = binary.AppendUvarint(b, uint64(len(w.key)))
		b = append(b, w.key...)
		if w.deleted {
			b = append(b, 1)
			continue
		}
		b = append(b, 0)
		b = binary.AppendUvarint(b, uint64(len(w.value)))
		b = append(b, w.value...)
	}
	return b
}

// decodeStaged decodes a value of index-staged.
func decodeStaged(v []byte) (moves int64, ws []stagedWrite, err error) {
	bad := fmt.Errorf("%w: staged index record of %d bytes does not decode", ErrCorrupt, len(v))
	if len(v) < 8 {
		return 0, nil, bad
	}
	moves, v = int64(binary.BigEndian.Uint64(v)), v[8:]
	field := func() (string, bool) {
		n, k := varint.Uvarint(v)
		if k <= 0 || n > uint64(len(v)-k) {
			return "", false
		}
		f := string(v[k : k+int(n)])
		v = v[k+int(n):]
		return f, true
	}
	for len(v) > 0 {
		var w stagedWrite
		var ok1, ok2 bool
		w.space, ok1 = field()
		w.key, ok2 = field()
		if !ok1 || !ok2 || len(w.key) == 0 || len(v) == 0 || v[0] > 1 {
			return 0, nil, bad
		}
		w.deleted, v = v[0] == 1, v[1:]
		if !w.deleted {
			val, ok := field()
			if !ok {
				return 0, nil, bad
			}
			w.value = []byte(val)
		}
		ws = append(ws, w)
	}
	return moves, ws, nil
}

// load reads the staged records of index-staged not yet moved.
func (st *indexStage) load(tx *bolt.Tx) error {
	b := tx.Bucket(bucketIndexStaged)
	if b == nil {
		return nil
	}
	if v := tx.Bucket(bucketMeta).Get(keyIndexMoves); v != nil {
		if len(v) != 8 || int64(binary.BigEndian.Uint64(v)) < 0 {
			return fmt.Errorf("%w: index moves record of %d bytes", ErrCorrupt, len(v))
		}
		st.moves = int64(binary.BigEndian.Uint64(v))
	}
	return b.ForEach(func(k, v []byte) error {
		moves, ws, err := decodeStaged(v)
		switch {
		case err != nil:
			return err
		case len(k) != 8 || moves < 0 || moves > st.moves:
			return fmt.Errorf("%w: staged index record of %d-byte key after %d moves, of %d", ErrCorrupt, len(k), moves, st.moves)
		}
		st.batches = append(st.batches, stagedBatch{int64(binary.BigEndian.Uint64(k)), moves})
		for _, w := range ws {
			if !moved(w.key[0], moves, st.moves) {
				st.set(w)
			}
		}
		return nil
	})
}

// A stageCommit is what a Commit does to the index stage: computed before
// its transaction, written in it, and applied to memory once it is durable.
type stageCommit struct {
	writes []stagedWrite
	nMoves int64
	done   int   // the batches of st.batches every slice has been moved out of
	seq    int64 // the key of the batch's index-staged record, once written
}

// plan returns what committing writes does to the stage: the slices to
// move, from the next in turn, until no more than the limit stay staged.
func (st *indexStage) plan(writes []stagedWrite) stageCommit {
	var perSlice [dedupSlices]int
	for _, w := range writes {
		perSlice[w.key[0]]++
	}
	c := stageCommit{writes: writes}
	for left := st.n + len(writes); left > st.limit && c.nMoves < dedupSlices; c.nMoves++ {
		slice := (st.moves + c.nMoves) % dedupSlices
		for _, sp := range st.spaces {
			left -= sp.counts[slice]
		}
		left -= perSlice[slice]
	}
	for c.done < len(st.batches) && st.moves+c.nMoves-st.batches[c.done].moves >= dedupSlices {
		c.done++
	}
	return c
}

// write writes c in tx: the batch's staged records, the moves, and the
// deletion of the index-staged records the moves emptied. It sets c.seq.
func (st *indexStage) write(tx *bolt.Tx, c *stageCommit) error {
	staged := tx.Bucket(bucketIndexStaged)
	staged.FillPercent = 1
	if len(c.writes) > 0 {
		seq, err := staged.NextSequence()
		if err != nil {
			return fmt.Errorf("storing staged index records: %w", err)
		}
		c.seq = int64(seq)
		if err := staged.Put(indexKey(c.seq), encodeStaged(st.moves, c.writes)); err != nil {
			return fmt.Errorf("storing staged index records: %w", err)
		}
	}
	for _, b := range st.batches[:c.done] {
		if err := staged.Delete(indexKey(b.start)); err != nil {
			return fmt.Errorf("deleting staged index records: %w", err)
		}
	}
	if c.nMoves == 0 {
		return nil
	}
	for m := st.moves; m < st.moves+c.nMoves; m++ {
		if err := st.move(tx, byte(m%dedupSlices), c.writes); err != nil {
			return err
		}
	}
	if err := tx.Bucket(bucketMeta).Put(keyIndexMoves, binary.BigEndian.AppendUint64(nil, uint64(st.moves+c.nMoves))); err != nil {
		return fmt.Errorf("storing index moves: %w", err)
	}
	return nil
}

// move writes the staged records of one slice, and the batch's, to their
// buckets in key order.
func (st *indexStage) move(tx *bolt.Tx, slice byte, writes []stagedWrite) error {
	bySpace := map[string]map[string]stagedValue{}
	for name, sp := range st.spaces {
		if sp.counts[slice] == 0 {
			continue
		}
		recs := make(map[string]stagedValue, sp.counts[slice])
		for _, g := range sp.slices[slice] {
			for _, r := range g {
				recs[r.key] = r.stagedValue
			}
		}
		bySpace[name] = recs
	}
	for _, w := range writes {
		if w.key[0] == slice {
			if bySpace[w.space] == nil {
				bySpace[w.space] = map[string]stagedValue{}
			}
			bySpace[w.space][w.key] = w.stagedValue
		}
	}
	for name, recs := range bySpace {
		b, err := tx.CreateBucketIfNotExists([]byte(indexBucketPrefix + name))
		if err != nil {
			return fmt.Errorf("creating index %s: %w", name, err)
		}
		keys := make([]string, 0, len(recs))
		for k := range recs {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		for _, k := range keys {
			if r := recs[k]; r.deleted {
				err = b.Delete([]byte(k))
			} else {
				err = b.Put([]byte(k), r.value)
			}
			if err != nil {
				return fmt.Errorf("moving staged records to index %s: %w", name, err)
			}
		}
	}
	return nil
}

// apply records in memory a stage commit that is durable.
func (st *indexStage) apply(c *stageCommit) {
	for _, w := range c.writes {
		st.set(w)
	}
	for m := st.moves; m < st.moves+c.nMoves; m++ {
		st.clearSlice(byte(m % dedupSlices))
	}
	st.batches = slices.Delete(st.batches, 0, c.done)
	if len(c.writes) > 0 {
		st.batches = append(st.batches, stagedBatch{c.seq, st.moves})
	}
	st.moves += c.nMoves
}
