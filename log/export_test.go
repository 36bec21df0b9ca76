package log

import (
	"hash/maphash"
	"testing"
	"time"

	"github.com/attestlog/attestlog/log/claim"
	bolt "go.etcd.io/bbolt"
	"golang.org/x/mod/sumdb/tlog"
)

// View runs fn in a read transaction of the store, for tests that compare
// every bucket before and after a request.
func (s *BoltStore) View(fn func(*bolt.Tx) error) error { return s.db.View(fn) }

// CachedKeys returns how many claims' index keys the sequencer left for c.
func (c *IndexCommitter) CachedKeys() int {
	c.keys.mu.Lock()
	defer c.keys.mu.Unlock()
	return len(c.keys.m)
}

// CacheKeys leaves keys for the entry at idx, as the sequencer does.
func (c *IndexCommitter) CacheKeys(idx int64, entry []byte, keys claim.IndexKeys) {
	c.keys.put(idx, tlog.RecordHash(entry), keys)
}

// SetDedupStageLimit sets the number of staged deduplication records above
// which a Commit moves slices of them to the bucket dedup (see schema.go).
func (s *BoltStore) SetDedupStageLimit(n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.stageLimit = n
}

// WeakDedupKeys makes the deduplication stages of stores opened until the
// test ends key hashes by two bits of their second byte, so that nearly
// every staged record shares its key with others, and lookups of new
// entries find another entry's index to check and refuse.
func WeakDedupKeys(t testing.TB) {
	dedupKey = func(_ maphash.Seed, h *tlog.Hash) uint64 { return uint64(h[1] & 3) }
	t.Cleanup(func() { dedupKey = keyOf })
}

// StagedDedup returns the number of staged deduplication records.
func (s *BoltStore) StagedDedup() int {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.stage.n
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

// SetIndexStageLimit sets the number of staged index records above which a
// Commit moves slices of them to their buckets (see schema.go).
func (s *BoltStore) SetIndexStageLimit(n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.index.limit = n
}

// StagedIndex returns the number of staged index records, the number of
// records of the bucket index-staged, and the slice moves made.
func (s *BoltStore) StagedIndex() (records, batches int, moves int64) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.index.n, len(s.index.batches), s.index.moves
}

// SetIndexMerges makes the index start merging its deltas into the base
// at deltas deltas, in steps steps, until the test ends.
func SetIndexMerges(t testing.TB, deltas, steps int) {
	d, s := mergeDeltas, mergeSteps
	mergeDeltas, mergeSteps = deltas, steps
	t.Cleanup(func() { mergeDeltas, mergeSteps = d, s })
}

// SetLingerStep sets how often a lingering sequencer looks whether entries
// still come, until the test ends.
func SetLingerStep(t testing.TB, step time.Duration) {
	s := lingerStep
	lingerStep = step
	t.Cleanup(func() { lingerStep = s })
}

// Incoming returns how many appends the Service is preparing (claims
// being checked), which a busy sequencer lingers for.
func (l *Log) Incoming() int64 { return l.incoming.Load() }

// AddIncoming adds n to the appends being prepared, as the Service does
// while it checks claims.
func (l *Log) AddIncoming(n int64) { l.incoming.Add(n) }

// FedByService marks l as fed by a Service, whose sequencer may linger.
func (l *Log) FedByService() { l.serviced.Store(true) }
