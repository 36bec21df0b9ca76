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
// database was restored under it) overwrites nothing. Commits run
// with synchronous_commit on, so a Commit that returned nil survives a crash
// of the database server, provided the server itself runs with fsync on
// (Open logs a warning when it does not).
//
// # Several frontends
//
// A Store is a [log.SharedStore]: any number of `attestlog serve`
// processes (frontends), each holding a copy of the log key, may run on
// one database and produce one tree. Each frontend sequences its own
// batches; [Store.LockWriter] serialises them with a session-level
// advisory lock, under which the frontend adopts what the others committed
// (its index range is then the stored tree size onwards, contiguous),
// deduplicates against every frontend's entries, indexes, signs and
// commits. The lock passes on when its holder's connection dies (a killed
// frontend, whose last commit may still be in flight), so it is not the
// guard: the compare-and-swap of Commit is. A frontend whose batch no
// longer extends the stored tree (its lock was lost, or a dead holder's
// commit landed after it took the lock) gets [log.ErrStaleBatch]; it
// discards the checkpoint it signed, which nobody saw, adopts the stored
// tree and assigns the batch again on it, and stops only if the stored
// tree does not extend its own. Its acknowledged entries are all
// committed. Two frontends signing the same tree produce the same note
// (Ed25519 is deterministic), and a different tree of one size never
// commits. The witnessed checkpoint is stored by a swap that never moves
// it to a smaller tree ([log.ErrStaleWitnessed]). A database that fails over to a promoted
// streaming replica (list both hosts in the URL, with
// target_session_attrs=read-write) fails the batches in flight, which are
// not acknowledged, and the frontends carry on once the replica accepts
// writes. Of the frontends' index committers, the one holding a second
// advisory lock, which [Store.TryLockIndex] takes without waiting, commits
// the verifiable index; the others skip that round.
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
