package vindex

import (
	"fmt"
)

// A Replay recomputes a log's map from its entries, read in index order,
// so that a reader of the whole log (a monitor, the whole-log check) can
// compare the root of each index commitment with the map over the entries
// below the commitment's size. It keeps the map in a [MemStore] up to the
// size of the last root asked for, and the additions of the entries after
// it, which an honest log's commitment interval bounds. It is not safe for
// concurrent use. The zero value is a Replay of an empty log.
type Replay struct {
	m       MemStore
	size    int64      // entries added: the next one is at size
	applied int64      // the map in m is over the entries [0, applied)
	pending []Addition // additions of the entries [applied, size), in index order
}

// Add runs the map function ([EntryKeys]) on the entry at index r.Size()
// and keeps its additions; ok is false for an entry that is neither a
// claim nor an index commitment, which has no keys.
func (r *Replay) Add(entry []byte) (ok bool) {
	keys, ok := EntryKeys(entry)
	for _, k := range keys {
		r.pending = append(r.pending, Addition{Key: k, Index: r.size})
	}
	r.size++
	return ok
}

// Size returns the number of entries added.
func (r *Replay) Size() int64 { return r.size }

// Applied returns the size of the last root computed: RootAt accepts no
// smaller one.
func (r *Replay) Applied() int64 { return r.applied }

// RootAt returns the root of the map over the entries [0, n). n must be
// between [Replay.Applied] and [Replay.Size]: the map only moves forward,
// as the commitments of an honest log do.
func (r *Replay) RootAt(n int64) (Hash, error) {
	if n < r.applied || n > r.size {
		return EmptyHash, fmt.Errorf("vindex: replay holds the map of the entries below %d and the additions up to %d; it cannot give the map below %d", r.applied, r.size, n)
	}
	i := 0
	for i < len(r.pending) && r.pending[i].Index < n {
		i++
	}
	root, err := Update(&r.m, r.pending[:i])
	if err != nil {
		return EmptyHash, err
	}
	r.pending = append(r.pending[:0], r.pending[i:]...)
	r.applied = n
	return root, nil
}

// Nodes returns the number of nodes of the map so far, for reports of its
// memory.
func (r *Replay) Nodes() int {
	inner, leaves := r.m.Len()
	return inner + leaves
}
