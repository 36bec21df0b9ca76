// Package pgstore keeps a log's state, the [log.Store], in PostgreSQL
// (version 12 or later; tested on 15): entries, hash tiles, the
// deduplication index, the index spaces of the log's [log.Indexer], the
// latest checkpoint and the latest witnessed checkpoint. It is the
// sequencing and index half of the scaled-out deployment (issue 13); the
// read path (tiles and entry bundles in an object store) comes separately.
//
// # Semantics
//
// A [Store] behaves as [log.BoltStore] does, and the same conformance suite
// (log/storetest) runs against both. Each read is one SQL statement, so it
// sees one committed state. [Store.Commit] writes a batch in one
// transaction whose first statement is a compare-and-swap on the stored
// (tree size, root hash): a batch whose Start or PrevRoot is not what the
// database holds changes nothing and fails with [log.ErrStaleBatch], so a
// writer whose view is stale (another frontend committed first, or the
// database was restored under it) stops instead of overwriting. Commits run
// with synchronous_commit on, so a Commit that returned nil survives a crash
// of the database server, provided the server itself runs with fsync on
// (Open logs a warning when it does not).
//
// # Schema
//
// [Open] creates the tables on first use, in the first schema of the
// connection's search_path, under an advisory lock so that frontends
// starting together create them once. Several logs can share a database in
// separate schemas: add search_path=<schema> to the URL. The layout is
// versioned (see schema.go); a database of a newer version is refused, as
// is a database holding another log (another origin or verifier key),
// before anything is written.
//
// A Store is safe for concurrent use. Its methods take no context (the
// [log.Store] interface has none): each is bounded by [Config.Timeout].
package pgstore
