package log

import (
	"fmt"

	"golang.org/x/mod/sumdb/tlog"
)

// InclusionProof returns the RFC 6962 inclusion proof of the entry at index
// in the tree of the given size, computed from stored tiles, leaf sibling
// first. It returns [ErrOutOfRange] unless 0 <= index < size <= the latest
// checkpoint's size.
func (l *Log) InclusionProof(index, size int64) ([]tlog.Hash, error) {
	if index < 0 || index >= size || size > l.Checkpoint().Size {
		return nil, fmt.Errorf("%w: inclusion of index %d in tree size %d (latest checkpoint has %d)", ErrOutOfRange, index, size, l.Checkpoint().Size)
	}
	p, err := tlog.ProveRecord(size, index, l.hashes)
	if err != nil {
		return nil, fmt.Errorf("log: proving inclusion of %d in %d: %w", index, size, err)
	}
	return p, nil
}

// ConsistencyProof returns the RFC 6962 consistency proof from tree size
// size1 to size2, computed from stored tiles. It is empty when size1 is 0 or
// equals size2. It returns [ErrOutOfRange] unless 0 <= size1 <= size2 <= the
// latest checkpoint's size.
func (l *Log) ConsistencyProof(size1, size2 int64) ([]tlog.Hash, error) {
	if size1 < 0 || size1 > size2 || size2 > l.Checkpoint().Size {
		return nil, fmt.Errorf("%w: consistency of tree size %d with %d (latest checkpoint has %d)", ErrOutOfRange, size1, size2, l.Checkpoint().Size)
	}
	if size1 == 0 || size1 == size2 {
		return []tlog.Hash{}, nil
	}
	p, err := tlog.ProveTree(size2, size1, l.hashes)
	if err != nil {
		return nil, fmt.Errorf("log: proving consistency of %d with %d: %w", size1, size2, err)
	}
	return p, nil
}

// TreeHash returns the root hash of the tree of the given size, at most the
// latest checkpoint's, computed from stored tiles.
func (l *Log) TreeHash(size int64) (tlog.Hash, error) {
	if size < 0 || size > l.Checkpoint().Size {
		return tlog.Hash{}, fmt.Errorf("%w: tree size %d (latest checkpoint has %d)", ErrOutOfRange, size, l.Checkpoint().Size)
	}
	h, err := tlog.TreeHash(size, l.hashes)
	if err != nil {
		return tlog.Hash{}, fmt.Errorf("log: hashing tree of size %d: %w", size, err)
	}
	return h, nil
}
