package log

import bolt "go.etcd.io/bbolt"

// View runs fn in a read transaction of the store, for tests that compare
// every bucket before and after a request.
func (s *BoltStore) View(fn func(*bolt.Tx) error) error { return s.db.View(fn) }

// SetDedupStageLimit sets the number of staged deduplication records above
// which a Commit moves slices of them to the bucket dedup (see schema.go).
func (s *BoltStore) SetDedupStageLimit(n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.stageLimit = n
}

// StagedDedup returns the number of staged deduplication records.
func (s *BoltStore) StagedDedup() int {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.nStaged
}

// StagedBatches returns the number of records in the bucket dedup-staged.
func (s *BoltStore) StagedBatches() int {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return len(s.stagedBatches)
}

// DedupMoves returns the number of slice moves of staged deduplication
// records made.
func (s *BoltStore) DedupMoves() int64 {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.moves
}
