package log

import (
	"errors"

	"golang.org/x/mod/sumdb/tlog"
)

// ErrNotFound is returned by a [Store] for a tile or entry it does not hold.
var ErrNotFound = errors.New("log: not found")

// ErrStaleBatch is returned by [Store.Commit] for a batch that does not
// extend the stored tree: its Start is not the stored tree size, or its
// PrevRoot not the stored root. The writer's view of the tree is stale
// (another writer committed, or the store was restored from an older copy);
// [Log.Run] stops on it rather than overwrite what the store holds.
var ErrStaleBatch = errors.New("log: batch does not extend the stored tree")

// A TileID names a hash tile by level and index. The entries of the tree are
// stored one by one, not as tiles.
type TileID struct {
	Level int
	N     int64
}

// A Batch is everything one sequencing step adds to a [Store], written in one
// atomic, durable transaction.
type Batch struct {
	// Start is the index of Entries[0]; it equals the tree size of the
	// checkpoint before this batch.
	Start int64
	// PrevRoot is the root hash of the tree of size Start that the batch
	// extends, and Root that of the tree of size Start+len(Entries), which
	// Checkpoint signs. A Store keeps Root beside the tree size and compares
	// (Start, PrevRoot) with them in Commit: a compare-and-swap.
	PrevRoot, Root tlog.Hash
	// Entries are the new entries, in index order.
	Entries [][]byte
	// Hashes are the leaf hashes of Entries, for the deduplication index.
	Hashes []tlog.Hash
	// Tiles are the hash tiles the batch created or widened, each as it now
	// stands (full, or partial for the new tree size). A stored tile is only
	// ever replaced by a wider one with the same prefix.
	Tiles map[TileID][]byte
	// Checkpoint is the signed checkpoint note for tree size Start+len(Entries).
	Checkpoint []byte
	// Index holds the records an [Indexer] derived from Entries.
	Index []IndexWrite
}

// An IndexWrite puts one record into an index space or, with Delete,
// removes the record of Key (if there is one; Value is then ignored).
// Index spaces are derived data (see [Indexer]) kept beside the tree so
// that they change in the same transaction as the entries they describe.
// Of several writes of one key in a batch the last one counts.
type IndexWrite struct {
	Space      string
	Key, Value []byte
	Delete     bool
}

// An IndexRead names one record of an index space for [Store.IndexGetMany]:
// the record whose key is Key or, if Prefix is set, the first record (in key
// order) whose key starts with Key.
type IndexRead struct {
	Space  string
	Key    []byte
	Prefix bool
}

// A Store is the log's persistent state: entries, hash tiles, the latest
// signed checkpoint and the deduplication index. It is deliberately narrow so
// that another backend (for example PostgreSQL plus an object store) can
// replace the embedded bbolt one without touching the sequencer.
//
// Implementations MUST be safe for one writer calling Commit concurrently
// with any number of readers, and every read MUST observe a state that some
// Commit left (never part of one).
type Store interface {
	// Checkpoint returns the latest committed checkpoint note, or nil if
	// nothing was ever committed. The caller owns the returned slice.
	Checkpoint() ([]byte, error)
	// Tiles returns the stored data of each tile, from one consistent view;
	// a tile the store lacks is nil. The caller owns the returned slices.
	Tiles(ids []TileID) ([][]byte, error)
	// Entries returns the entries at indexes [start, start+n). It returns an
	// error wrapping ErrNotFound if any of them is missing. The caller owns
	// the returned slices.
	Entries(start int64, n int) ([][]byte, error)
	// Lookup returns, for each leaf hash, the index of the entry with that
	// hash, or -1 if there is none.
	Lookup(hashes []tlog.Hash) ([]int64, error)
	// IndexGet returns the value of key in an index space, or nil if there
	// is none. The caller owns the returned slice.
	IndexGet(space string, key []byte) ([]byte, error)
	// IndexScan calls fn with each record of an index space whose key starts
	// with prefix, in key order, from one consistent view, until fn returns
	// false. Key and value are valid only during the call.
	IndexScan(space string, prefix []byte, fn func(key, value []byte) bool) error
	// IndexGetMany returns, for each read, the value of the record it names
	// (see [IndexRead]), or nil if there is none, all from one consistent
	// view and, for a store behind a network, in one round trip. The caller
	// owns the returned slices.
	IndexGetMany(reads []IndexRead) ([][]byte, error)
	// Witnessed returns the note stored by the last SetWitnessed, or nil.
	Witnessed() ([]byte, error)
	// SetWitnessed durably stores the latest witnessed checkpoint note. A
	// [SharedStore] refuses a note of a smaller tree than the stored one
	// with [ErrStaleWitnessed].
	SetWitnessed(note []byte) error
	// Commit stores b atomically and durably: when it returns nil, all of b
	// survives a crash; when it returns an error, none of b is stored.
	// Implementations MUST refuse, with an error wrapping [ErrStaleBatch],
	// a batch whose Start is not the stored tree size, or whose PrevRoot is
	// not the stored root (a store that never stored a root, being new or of
	// an older layout, compares the size only). An empty index key is an error.
	Commit(b *Batch) error
	// Close releases the store. It must not be called concurrently with other methods.
	Close() error
}
