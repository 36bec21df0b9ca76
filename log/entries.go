package log

import (
	"fmt"

	"golang.org/x/mod/sumdb/tlog"
)

// Entries returns the entries at indexes [start, start+n), all below the
// latest checkpoint's size, each checked against its leaf hash in the hash
// tiles (which New checked against the checkpoint's root): a damaged entry
// is an error wrapping [ErrCorrupt], never a wrong answer. It is the one
// way the log's APIs read entries.
func (l *Log) Entries(start int64, n int) ([][]byte, error) {
	if start < 0 || n < 0 || start+int64(n) > l.Checkpoint().Size {
		return nil, fmt.Errorf("%w: entries [%d, %d) in a tree of %d", ErrOutOfRange, start, start+int64(n), l.Checkpoint().Size)
	}
	entries, err := l.store.Entries(start, n)
	if err != nil {
		return nil, fmt.Errorf("log: reading entries [%d, %d): %w", start, start+int64(n), err)
	}
	indexes := make([]int64, n)
	for i := range indexes {
		indexes[i] = tlog.StoredHashIndex(0, start+int64(i))
	}
	leaves, err := l.hashes.ReadHashes(indexes)
	if err != nil {
		return nil, fmt.Errorf("log: reading leaf hashes [%d, %d): %w", start, start+int64(n), err)
	}
	for i, e := range entries {
		if tlog.RecordHash(e) != leaves[i] {
			return nil, fmt.Errorf("%w: entry %d does not hash to its leaf", ErrCorrupt, start+int64(i))
		}
	}
	return entries, nil
}
