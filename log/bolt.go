package log

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime/debug"
	"slices"
	"strings"
	"sync"
	"time"

	bolt "go.etcd.io/bbolt"
	berrors "go.etcd.io/bbolt/errors"
	"golang.org/x/mod/sumdb/tlog"
)

// A BoltStore is the embedded default [Store], one bbolt file.
// It is safe for concurrent use.
type BoltStore struct {
	db *bolt.DB
	// mu orders Lookup against Commit: Commit holds it across its
	// transaction and its change to the fields below, Lookup across its
	// reads.
	mu sync.RWMutex
	// stage holds the deduplication records of dedup-staged not yet moved
	// to dedup (see schema.go).
	stage *dedupStage
	// moves is the number of slice moves made, as meta's "dedup-moves"
	// holds it: move m moved slice m % dedupSlices.
	moves int64
	// stagedBatches are the keys of dedup-staged in order, with the moves
	// made before each was written.
	stagedBatches []stagedBatch
	// stageLimit is the number of staged records above which a Commit
	// moves slices, if tests set one; if negative, dedupStageLimit of the
	// tree's size.
	stageLimit int
	// filter answers most lookups of hashes not in dedup without reading
	// it; nil in a read-only store, which reads dedup for every lookup.
	filter *dedupFilter
	// index holds the staged records of the claim index's hash-keyed
	// spaces (indexstage.go).
	index *indexStage
}

type stagedBatch struct{ start, moves int64 }

// dedupStageLimit bounds the deduplication records a BoltStore with size
// entries keeps staged (36 bytes of memory each, BenchmarkDedupMemory): an
// eighth of the tree, but at least dedupStageMin and at most dedupStageMax
// (36 MiB, reached at 8.4M entries). Moving the records of a slice, about a 256th of those staged, into
// a B+tree of L leaf pages writes about min(that, L/256) pages, where
// writing them batch by batch would write one per record. A stage that
// grows with the tree keeps that ratio: a fixed one of 32,768 records
// wrote about a page per record past a few million entries, and halved the
// append rate by 10M; one of at most 524,288 (18 MiB) kept 70% of the rate
// at 100k by 10M on a faster processor, where 1,048,576 keeps 79-83%
// (BENCHMARKS.md).
func dedupStageLimit(size int64) int {
	return int(min(max(size/8, dedupStageMin), dedupStageMax))
}

const dedupStageMin, dedupStageMax = 1 << 15, 1 << 20

// dedupSlices is the number of slices staged records are moved by: all
// records whose hashes start with one byte go at once, so that each move
// touches one 256th of dedup.
const dedupSlices = 256

var _ Store = (*BoltStore)(nil)

// BoltPageSize is the size of the pages of a bbolt file that [OpenBolt]
// makes. bbolt fixes a file's page size when it makes the file and keeps
// it for the file's life, so that a store made with another (attestlog
// made 4 KiB pages before) keeps it.
//
// 16 KiB pages, four times the default, make a large log's commits
// cheaper: the verifiable index's base is written in runs of records of
// a few KiB (a merge), which fill fewer, larger pages, written with fewer
// system calls, and the trees are shallower. From 0 to 600,000 claims
// under `attestlog bench --builders 256`, the rate a round was 6–22%
// higher, and 13–26% at 600,000 claims, for the same file size; the log
// core and a fresh log are unchanged (BENCHMARKS.md, issue 14's twelfth
// pass). 8 and 32 KiB pages did about as well, 64 KiB no better.
const BoltPageSize = 16 << 10

// OpenBolt opens or creates the bbolt store at path. It fails, saying so,
// if another process has the file open or the running user may not read
// and write it. A store of an older layout is migrated, in one
// transaction, and one of a newer layout refused (see schema.go).
//
// A damaged file is refused with an error wrapping [ErrCorrupt]: the file is
// checked before bbolt maps it, and bbolt's panics on damaged pages become
// errors of the call that met them.
func OpenBolt(path string) (s *BoltStore, err error) {
	if err := checkBoltFile(path); err != nil {
		return nil, openError(path, err)
	}
	defer recoverCorrupt(&err, debug.SetPanicOnFault(true))
	db, err := bolt.Open(path, 0o600, &bolt.Options{
		Timeout: time.Second,
		// The freelist is synced with every commit. Without it bbolt
		// rebuilds it at open by walking every page in a goroutine of its
		// own, where a damaged page is a panic that nothing can recover.
		FreelistType:    bolt.FreelistMapType,
		InitialMmapSize: 1 << 30,
		PageSize:        BoltPageSize, // for a new file only: see BoltPageSize
	})
	if err != nil {
		return nil, openError(path, err)
	}
	err = db.Update(func(tx *bolt.Tx) error {
		for _, name := range [][]byte{bucketMeta, bucketEntries, bucketTiles, bucketDedup, bucketDedupStaged, bucketIndexStaged} {
			if _, err := tx.CreateBucketIfNotExists(name); err != nil {
				return err
			}
		}
		return migrate(tx)
	})
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("initialising log store %s: %w", path, err)
	}
	s = &BoltStore{db: db, stageLimit: -1, index: newIndexStage(), filter: newDedupFilter()}
	if err := s.loadStaged(); err != nil {
		db.Close()
		return nil, fmt.Errorf("opening log store %s: %w", path, err)
	}
	if err := db.View(func(tx *bolt.Tx) error { return s.filter.buildAll(tx.Bucket(bucketDedup)) }); err != nil {
		db.Close()
		return nil, fmt.Errorf("opening log store %s: reading the deduplication index: %w", path, err)
	}
	return s, nil
}

// loadStaged reads the records of dedup-staged not yet moved to dedup.
func (s *BoltStore) loadStaged() error {
	s.stage = newDedupStage()
	return s.db.View(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketDedupStaged)
		if b == nil { // a new store opened read-only
			return nil
		}
		meta := tx.Bucket(bucketMeta)
		var size int64
		if v := meta.Get(keySize); len(v) == 8 {
			size = int64(binary.BigEndian.Uint64(v))
		}
		if v := meta.Get(keyDedupMoves); v != nil {
			if len(v) != 8 || int64(binary.BigEndian.Uint64(v)) < 0 {
				return fmt.Errorf("%w: dedup moves record of %d bytes", ErrCorrupt, len(v))
			}
			s.moves = int64(binary.BigEndian.Uint64(v))
		}
		if err := s.index.load(tx); err != nil {
			return err
		}
		return b.ForEach(func(k, v []byte) error {
			if len(k) != 8 || len(v) < 8 || (len(v)-8)%tlog.HashSize != 0 {
				return fmt.Errorf("%w: staged deduplication record of %d-byte key and %d-byte value", ErrCorrupt, len(k), len(v))
			}
			start, n := int64(binary.BigEndian.Uint64(k)), int64((len(v)-8)/tlog.HashSize)
			moves := int64(binary.BigEndian.Uint64(v))
			if start < 0 || start+n > size || moves < 0 || moves > s.moves {
				return fmt.Errorf("%w: staged deduplication record for entries [%d, %d) after %d moves, in a tree of %d after %d moves", ErrCorrupt, start, start+n, moves, size, s.moves)
			}
			s.stagedBatches = append(s.stagedBatches, stagedBatch{start, moves})
			for i := range n {
				h := tlog.Hash(v[8+i*tlog.HashSize : 8+(i+1)*tlog.HashSize])
				if !moved(h[0], moves, s.moves) {
					s.stage.add(&h, start+i)
				}
			}
			return nil
		})
	})
}

// moved reports whether the moves numbered [from, to) include one of slice.
func moved(slice byte, from, to int64) bool {
	return (int64(slice)-from%dedupSlices+dedupSlices)%dedupSlices < to-from
}

// openError says why the store at path could not be opened, in words an
// operator can act on: bbolt's lock timeout is another process holding the
// file, a permission error names the permission that is missing, and only
// bbolt's format errors (and checkBoltFile's) say the store is corrupt.
func openError(path string, err error) error {
	switch {
	case errors.Is(err, ErrCorrupt):
		return err
	case errors.Is(err, berrors.ErrTimeout):
		return fmt.Errorf("log: store %s is in use by another process (another attestlog serve?); stop it, or give this one another data directory", path)
	case errors.Is(err, fs.ErrPermission):
		return fmt.Errorf("log: no permission to open store %s: %s: %w", path, missingPermission(path), err)
	case errors.Is(err, berrors.ErrInvalid), errors.Is(err, berrors.ErrVersionMismatch),
		errors.Is(err, berrors.ErrChecksum), errors.Is(err, berrors.ErrInvalidMapping):
		return fmt.Errorf("%w: opening log store %s: %w", ErrCorrupt, path, err)
	}
	return fmt.Errorf("opening log store %s: %w", path, err)
}

// missingPermission describes which permission the running user lacks to
// open path for reading and writing: on the file itself, or to search its
// directory.
func missingPermission(path string) string {
	uid, gid := os.Geteuid(), os.Getegid()
	dir := filepath.Dir(path)
	fi, err := os.Stat(path)
	if err != nil {
		return fmt.Sprintf("the directory %s must be searchable (x) and writable (w) by uid %d", dir, uid)
	}
	perm := fi.Mode().Perm()
	owner, group, ok := fileOwner(fi)
	var shift uint // others' bits
	switch {
	case ok && owner == uid:
		shift = 6
	case ok && group == gid:
		shift = 3
	}
	var missing []string
	if perm&(4<<shift) == 0 {
		missing = append(missing, "read")
	}
	if perm&(2<<shift) == 0 {
		missing = append(missing, "write")
	}
	if len(missing) == 0 {
		return fmt.Sprintf("the file's mode %v allows uid %d to read and write it, so the directory %s must be searchable (x) by uid %d", perm, uid, dir, uid)
	}
	return fmt.Sprintf("uid %d needs %s permission on it (mode %v, owner uid %d); run serve as its owner, or chmod u+rw it", uid, strings.Join(missing, " and "), perm, owner)
}

// Close closes the bbolt file.
func (s *BoltStore) Close() error { return s.db.Close() }

// Checkpoint implements [Store].
func (s *BoltStore) Checkpoint() (_ []byte, err error) {
	defer recoverCorrupt(&err, debug.SetPanicOnFault(true))
	var cp []byte
	err = s.db.View(func(tx *bolt.Tx) error {
		cp = bytes.Clone(tx.Bucket(bucketMeta).Get(keyCheckpoint))
		return nil
	})
	return cp, err
}

// Witnessed implements [Store].
func (s *BoltStore) Witnessed() (_ []byte, err error) {
	defer recoverCorrupt(&err, debug.SetPanicOnFault(true))
	var n []byte
	err = s.db.View(func(tx *bolt.Tx) error {
		n = bytes.Clone(tx.Bucket(bucketMeta).Get(keyWitnessed))
		return nil
	})
	return n, err
}

// SetWitnessed implements [Store].
func (s *BoltStore) SetWitnessed(note []byte) (err error) {
	defer recoverCorrupt(&err, debug.SetPanicOnFault(true))
	return s.db.Update(func(tx *bolt.Tx) error { return tx.Bucket(bucketMeta).Put(keyWitnessed, note) })
}

// Tiles implements [Store].
func (s *BoltStore) Tiles(ids []TileID) (_ [][]byte, err error) {
	defer recoverCorrupt(&err, debug.SetPanicOnFault(true))
	out := make([][]byte, len(ids))
	err = s.db.View(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketTiles)
		for i, id := range ids {
			out[i] = bytes.Clone(b.Get(tileKey(id)))
		}
		return nil
	})
	return out, err
}

// Entries implements [Store].
func (s *BoltStore) Entries(start int64, n int) (_ [][]byte, err error) {
	defer recoverCorrupt(&err, debug.SetPanicOnFault(true))
	out := make([][]byte, 0, n)
	err = s.db.View(func(tx *bolt.Tx) error {
		c := tx.Bucket(bucketEntries).Cursor()
		want := start
		for k, v := c.Seek(indexKey(start)); k != nil && len(out) < n; k, v = c.Next() {
			if binary.BigEndian.Uint64(k) != uint64(want) {
				break
			}
			out = append(out, bytes.Clone(v))
			want++
		}
		if len(out) < n {
			return fmt.Errorf("entry %d: %w", want, ErrNotFound)
		}
		return nil
	})
	return out, err
}

// Lookup implements [Store].
func (s *BoltStore) Lookup(hashes []tlog.Hash) (_ []int64, err error) {
	defer recoverCorrupt(&err, debug.SetPanicOnFault(true))
	s.mu.RLock()
	defer s.mu.RUnlock()
	out := make([]int64, len(hashes))
	err = s.db.View(func(tx *bolt.Tx) error {
		b, staged := tx.Bucket(bucketDedup), tx.Bucket(bucketDedupStaged)
		for i := range hashes {
			h := &hashes[i]
			out[i] = -1
			if x, ok, err := s.stagedIndex(staged, h); err != nil {
				return err
			} else if ok {
				out[i] = x
			} else if s.filter != nil && !s.filter.mayHave(h) {
				continue
			} else if v := b.Get(h[:]); v != nil {
				out[i] = int64(binary.BigEndian.Uint64(v))
			}
		}
		return nil
	})
	return out, err
}

// IndexGet implements [Store].
func (s *BoltStore) IndexGet(space string, key []byte) (_ []byte, err error) {
	defer recoverCorrupt(&err, debug.SetPanicOnFault(true))
	s.mu.RLock()
	defer s.mu.RUnlock()
	if r, ok := s.index.get(space, key); ok {
		if r.deleted {
			return nil, nil
		}
		return bytes.Clone(r.value), nil
	}
	var v []byte
	err = s.db.View(func(tx *bolt.Tx) error {
		if b := tx.Bucket([]byte(indexBucketPrefix + space)); b != nil {
			v = bytes.Clone(b.Get(key))
		}
		return nil
	})
	return v, err
}

// IndexScan implements [Store].
func (s *BoltStore) IndexScan(space string, prefix []byte, fn func(key, value []byte) bool) (err error) {
	defer recoverCorrupt(&err, debug.SetPanicOnFault(true))
	// The staged records and the transaction are taken together, under
	// s.mu, so that they are one view; fn runs without it.
	s.mu.RLock()
	staged := s.index.scan(space, prefix)
	tx, err := s.db.Begin(false)
	s.mu.RUnlock()
	if err != nil {
		return err
	}
	defer tx.Rollback()
	mergeScan(tx.Bucket([]byte(indexBucketPrefix+space)), prefix, staged, fn)
	return nil
}

// recoverCorrupt turns a bbolt panic, which bbolt raises on damaged pages,
// into an error wrapping ErrCorrupt, and restores the goroutine's fault
// mode. Its callers set debug.SetPanicOnFault: a damaged page id makes bbolt
// read its memory map past the end of the file, a fault that would
// otherwise kill the process.
func recoverCorrupt(err *error, panicOnFault bool) {
	debug.SetPanicOnFault(panicOnFault)
	if r := recover(); r != nil {
		*err = fmt.Errorf("%w: bbolt: %v", ErrCorrupt, r)
	}
}

// Commit implements [Store].
func (s *BoltStore) Commit(batch *Batch) (err error) {
	defer recoverCorrupt(&err, debug.SetPanicOnFault(true))
	if len(batch.Hashes) != len(batch.Entries) {
		return fmt.Errorf("log: batch of %d entries has %d hashes", len(batch.Entries), len(batch.Hashes))
	}
	writes, err := stageWrites(batch.Index)
	if err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	stage := s.index.plan(writes)
	// The slices to move, from the next in turn, until no more than
	// stageLimit records stay staged.
	var perSlice [dedupSlices]int
	for _, h := range batch.Hashes {
		perSlice[h[0]]++
	}
	limit := s.stageLimit
	if limit < 0 {
		limit = dedupStageLimit(batch.Start)
	}
	var nMoves int64
	for left := s.stage.n + len(batch.Hashes); left > limit && nMoves < dedupSlices; nMoves++ {
		slice := (s.moves + nMoves) % dedupSlices
		left -= s.stage.count(byte(slice)) + perSlice[slice]
	}
	var done int // the staged batches that every slice has been moved out of
	for done < len(s.stagedBatches) && s.moves+nMoves-s.stagedBatches[done].moves >= dedupSlices {
		done++
	}
	err = s.db.Update(func(tx *bolt.Tx) error {
		meta := tx.Bucket(bucketMeta)
		var size int64
		if v := meta.Get(keySize); v != nil {
			size = int64(binary.BigEndian.Uint64(v))
		}
		if size != batch.Start {
			return fmt.Errorf("%w: batch starts at %d, store has %d entries", ErrStaleBatch, batch.Start, size)
		}
		// A root record of another size was left by an attestlog that did
		// not keep roots; only the size can be compared then.
		if v := meta.Get(keyRoot); len(v) == 8+tlog.HashSize && int64(binary.BigEndian.Uint64(v)) == size &&
			!bytes.Equal(v[8:], batch.PrevRoot[:]) {
			return fmt.Errorf("%w: batch extends a tree of size %d with root %v, the store's has root %x", ErrStaleBatch, size, batch.PrevRoot, v[8:])
		}
		entries, tileBucket := tx.Bucket(bucketEntries), tx.Bucket(bucketTiles)
		entries.FillPercent = 1
		tileBucket.FillPercent = 1
		for i, e := range batch.Entries {
			if err := entries.Put(indexKey(batch.Start+int64(i)), e); err != nil {
				return fmt.Errorf("storing entry: %w", err)
			}
		}
		if err := s.storeDedup(tx, batch, nMoves, s.stagedBatches[:done]); err != nil {
			return err
		}
		for id, data := range batch.Tiles {
			if err := tileBucket.Put(tileKey(id), data); err != nil {
				return fmt.Errorf("storing tile: %w", err)
			}
		}
		for _, w := range batch.Index {
			if stagedSpaces[w.Space] {
				continue // in stage
			}
			if w.Delete {
				if len(w.Key) == 0 {
					return fmt.Errorf("deleting from index %s: empty key", w.Space)
				}
				if b := tx.Bucket([]byte(indexBucketPrefix + w.Space)); b != nil {
					if err := b.Delete(w.Key); err != nil {
						return fmt.Errorf("deleting from index %s: %w", w.Space, err)
					}
				}
				continue
			}
			b, err := tx.CreateBucketIfNotExists([]byte(indexBucketPrefix + w.Space))
			if err != nil {
				return fmt.Errorf("creating index %s: %w", w.Space, err)
			}
			if err := b.Put(w.Key, w.Value); err != nil {
				return fmt.Errorf("storing index %s: %w", w.Space, err)
			}
		}
		if err := s.index.write(tx, &stage); err != nil {
			return err
		}
		if err := meta.Put(keyCheckpoint, batch.Checkpoint); err != nil {
			return fmt.Errorf("storing checkpoint: %w", err)
		}
		newSize := indexKey(batch.Start + int64(len(batch.Entries)))
		if err := meta.Put(keyRoot, append(bytes.Clone(newSize), batch.Root[:]...)); err != nil {
			return fmt.Errorf("storing root: %w", err)
		}
		return meta.Put(keySize, newSize)
	})
	if err != nil {
		return err
	}
	// Only now that the transaction is durable: a failed one leaves the
	// staged records as the store has them.
	for i := range batch.Hashes {
		s.stage.add(&batch.Hashes[i], batch.Start+int64(i))
	}
	for m := s.moves; m < s.moves+nMoves; m++ {
		s.stage.clear(byte(m % dedupSlices))
	}
	s.index.apply(&stage)
	s.stagedBatches = slices.Delete(s.stagedBatches, 0, done)
	if len(batch.Hashes) > 0 {
		s.stagedBatches = append(s.stagedBatches, stagedBatch{batch.Start, s.moves})
	}
	s.moves += nMoves
	return nil
}

// storeDedup writes the deduplication records of batch in tx, staged, and
// moves the next nMoves slices of staged records to dedup, each in key
// order. It deletes the staged batches in done, which the moves empty.
// s.mu is held.
func (s *BoltStore) storeDedup(tx *bolt.Tx, batch *Batch, nMoves int64, done []stagedBatch) error {
	staged := tx.Bucket(bucketDedupStaged)
	staged.FillPercent = 1
	if len(batch.Hashes) > 0 {
		v := binary.BigEndian.AppendUint64(make([]byte, 0, 8+len(batch.Hashes)*tlog.HashSize), uint64(s.moves))
		for _, h := range batch.Hashes {
			v = append(v, h[:]...)
		}
		if err := staged.Put(indexKey(batch.Start), v); err != nil {
			return fmt.Errorf("storing staged dedup records: %w", err)
		}
	}
	// The moves read the staged records' hashes from the batches that
	// hold them, before the batches they empty are deleted.
	dedup := tx.Bucket(bucketDedup)
	var recs []dedupRecord
	for m := s.moves; m < s.moves+nMoves; m++ {
		slice := byte(m % dedupSlices)
		var err error
		if recs, err = s.stagedRecords(staged, slice, recs[:0]); err != nil {
			return err
		}
		for i, h := range batch.Hashes {
			if h[0] == slice {
				recs = append(recs, dedupRecord{h, batch.Start + int64(i)})
			}
		}
		slices.SortFunc(recs, func(a, b dedupRecord) int { return bytes.Compare(a.hash[:], b.hash[:]) })
		for _, r := range recs {
			if err := dedup.Put(r.hash[:], indexKey(r.index)); err != nil {
				return fmt.Errorf("storing dedup index: %w", err)
			}
		}
		switch {
		case s.filter == nil:
		case s.filter.room(slice, len(recs)):
			for i := range recs {
				s.filter.add(&recs[i].hash)
			}
		default:
			if err := s.filter.build(dedup, slice); err != nil {
				return err
			}
		}
	}
	for _, b := range done {
		if err := staged.Delete(indexKey(b.start)); err != nil {
			return fmt.Errorf("deleting staged dedup records: %w", err)
		}
	}
	if nMoves == 0 {
		return nil
	}
	if err := tx.Bucket(bucketMeta).Put(keyDedupMoves, binary.BigEndian.AppendUint64(nil, uint64(s.moves+nMoves))); err != nil {
		return fmt.Errorf("storing dedup moves: %w", err)
	}
	return nil
}

func indexKey(i int64) []byte { return binary.BigEndian.AppendUint64(nil, uint64(i)) }

func tileKey(id TileID) []byte {
	return binary.BigEndian.AppendUint64([]byte{byte(id.Level)}, uint64(id.N))
}

// IndexGetMany implements [Store].
func (s *BoltStore) IndexGetMany(reads []IndexRead) (_ [][]byte, err error) {
	defer recoverCorrupt(&err, debug.SetPanicOnFault(true))
	out := make([][]byte, len(reads))
	s.mu.RLock()
	defer s.mu.RUnlock()
	err = s.db.View(func(tx *bolt.Tx) error {
		for i, r := range reads {
			b := tx.Bucket([]byte(indexBucketPrefix + r.Space))
			if stagedSpaces[r.Space] {
				out[i] = s.index.read(b, r)
				continue
			}
			if b == nil {
				continue
			}
			if !r.Prefix {
				out[i] = bytes.Clone(b.Get(r.Key))
				continue
			}
			if k, v := b.Cursor().Seek(r.Key); k != nil && bytes.HasPrefix(k, r.Key) {
				out[i] = bytes.Clone(v)
			}
		}
		return nil
	})
	return out, err
}
