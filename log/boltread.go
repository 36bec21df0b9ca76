package log

import (
	"encoding/binary"
	"fmt"
	"runtime/debug"
	"slices"
	"sort"
	"strings"
	"time"

	bolt "go.etcd.io/bbolt"
)

// OpenBoltReadOnly opens the bbolt store at path for reading only, as a
// copy (attestlog migrate) or an inspection does: the file is never
// written, so it is neither created, nor migrated to a newer layout. It
// takes bbolt's shared lock, so it fails, saying so, while a serve holds
// the store. A store of another layout than this code's is refused; run
// this attestlog's serve on it once to migrate it. Commit and SetWitnessed
// of the returned store fail.
func OpenBoltReadOnly(path string) (s *BoltStore, err error) {
	if err := checkBoltFile(path); err != nil {
		return nil, openError(path, err)
	}
	defer recoverCorrupt(&err, debug.SetPanicOnFault(true))
	db, err := bolt.Open(path, 0o400, &bolt.Options{ReadOnly: true, Timeout: time.Second})
	if err != nil {
		return nil, openError(path, err)
	}
	err = db.View(func(tx *bolt.Tx) error {
		meta := tx.Bucket(bucketMeta)
		for _, name := range [][]byte{bucketMeta, bucketEntries, bucketTiles, bucketDedup} {
			if tx.Bucket(name) == nil {
				return fmt.Errorf("%w: no %s bucket (not a log store)", ErrCorrupt, name)
			}
		}
		v := meta.Get(keySchema)
		switch {
		case v == nil && meta.Get(keySize) == nil:
			return nil
		case len(v) != 8:
			return fmt.Errorf("log: the store has schema version 1 (or a damaged version key), this attestlog reads version %d only: start this attestlog's serve on it once, which migrates it, then stop it", schemaVersion)
		case binary.BigEndian.Uint64(v) != schemaVersion:
			return fmt.Errorf("log: the store has schema version %d, this attestlog reads version %d only: use the attestlog that wrote it", binary.BigEndian.Uint64(v), schemaVersion)
		}
		return nil
	})
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("opening log store %s read-only: %w", path, err)
	}
	s = &BoltStore{db: db, stageLimit: -1, index: newIndexStage()}
	if err := s.loadStaged(); err != nil {
		db.Close()
		return nil, fmt.Errorf("opening log store %s read-only: %w", path, err)
	}
	return s, nil
}

// IndexSpaces returns the names of the store's index spaces (see
// [IndexWrite]), sorted.
func (s *BoltStore) IndexSpaces() (_ []string, err error) {
	defer recoverCorrupt(&err, debug.SetPanicOnFault(true))
	var spaces []string
	err = s.db.View(func(tx *bolt.Tx) error {
		return tx.ForEach(func(name []byte, _ *bolt.Bucket) error {
			if sp, ok := strings.CutPrefix(string(name), indexBucketPrefix); ok {
				spaces = append(spaces, sp)
			}
			return nil
		})
	})
	s.mu.RLock()
	for _, sp := range s.index.spaceNames() {
		if !slices.Contains(spaces, sp) {
			spaces = append(spaces, sp)
		}
	}
	s.mu.RUnlock()
	sort.Strings(spaces)
	return spaces, err
}
