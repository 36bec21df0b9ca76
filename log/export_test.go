package log

import bolt "go.etcd.io/bbolt"

// View runs fn in a read transaction of the store, for tests that compare
// every bucket before and after a request.
func (s *BoltStore) View(fn func(*bolt.Tx) error) error { return s.db.View(fn) }
