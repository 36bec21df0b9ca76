package log

import "golang.org/x/mod/sumdb/tlog"

// An Indexer derives index records from new entries. The sequencer calls it
// once per batch, after assigning indexes and before committing, and writes
// the records it returns in the same transaction as the entries, so an
// index never lags or leads the tree. Index spaces hold derived data only:
// everything in them must be recomputable from the entries.
type Indexer interface {
	// Index returns the index records for entries, the first of which has
	// index first. It reads records of earlier batches through s; records
	// of entries earlier in the same batch it must account for itself. An
	// error fails the whole batch, so Index must accept every entry that
	// validation let into the queue.
	Index(s Store, first int64, entries []NewEntry) ([]IndexWrite, error)
}

// A NewEntry is an entry the sequencer is about to commit, with what the
// appender already parsed of it (see [Log.AppendParsed]), so that the single
// writer need not parse it again. Parsed may be nil; then the Indexer parses
// Bytes itself. Hash is the entry's RFC 6962 leaf hash, which the
// sequencer computed; the zero Hash means it was not given.
type NewEntry struct {
	Bytes  []byte
	Parsed any
	Hash   tlog.Hash
}

// leafHash returns e's RFC 6962 leaf hash: Hash, or if that was not given,
// the hash of Bytes.
func (e NewEntry) leafHash() tlog.Hash {
	if e.Hash != (tlog.Hash{}) {
		return e.Hash
	}
	return tlog.RecordHash(e.Bytes)
}
