package log

import (
	"github.com/attestlog/attestlog/log/claim"
	bolt "go.etcd.io/bbolt"
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
	c.keys.put(idx, entry, keys)
}
