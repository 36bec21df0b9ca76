// Package migrate copies a log from its embedded bbolt store, and the
// binaries of its local archive, into the scaled-out deployment of issue
// 13: a [log.Store] in PostgreSQL (log/pgstore), and optionally the tiles
// bucket and the Object Lock archive bucket of log/objstore. It is what
// `attestlog migrate` runs. It implements no external spec.
//
// # What is copied
//
// Every entry with its deduplication record, every hash tile, every record
// of every index space (the claim indexes, the mismatches and the
// verifiable index's nodes and slots), the witnessed checkpoint, and last
// the signed checkpoint itself, byte for byte: the copy is the same log,
// signed by the same key, and a witness cannot tell the difference. The
// archive's binaries go to the archive bucket; the tiles bucket gets the
// tlog-tiles resources of the tree and its checkpoint, as a serving log's
// publisher would have uploaded them.
//
// # Safety
//
// The source is opened read-only ([log.OpenBoltReadOnly]), so that it
// cannot be changed and no serve can hold it meanwhile. The target must be
// empty: a store holding a checkpoint (or anything else) is refused with
// [ErrNotEmpty] before anything is written, as is a tiles bucket whose
// checkpoint is not of this tree. pgstore itself refuses a database of
// another log.
//
// # Batches, resumption and what a half copy looks like
//
// The copy is a sequence of [log.Store.Commit] batches: entries (with the
// hash tiles that they complete) first, then index records, each batch in
// one transaction. Until the end, the checkpoint each batch stores is not a
// signed note but a progress marker (see marker.go): it names the source's
// tree and how far the copy got. So a copy that was interrupted (killed,
// or a database that went away) is resumed from the marker by running the
// migration again, and a serve started on a half copy refuses it, since
// its checkpoint is not a signed note. A re-run against a finished copy
// changes nothing and repeats the checks. If the source changed in
// between (a serve appended to it), the marker no longer matches it and
// the copy is refused: drop the target's tables and start again.
//
// The final batch stores the source's signed checkpoint, after the
// witnessed checkpoint; only then is the copy a log.
//
// # Proof
//
// The migration ends by opening the copy as a [log.Log], which checks
// that its tiles hash to its checkpoint, and running [client.CheckLog]
// over it (every tile authenticated, every entry re-hashed, the root
// recomputed), then comparing every index space of source and copy
// (record count and a SHA-256 over all records) and the deduplication
// index of every entry. With a tiles bucket, CheckLog runs again over the
// bucket's anonymous HTTP, as a client would read it, and each binary is
// checked to be in the archive bucket with its size (the upload itself
// verified its SHA-256 before making it visible).
//
// # Concurrency
//
// [Run] is one linear pipeline; archive uploads run Config.Uploads at a
// time. Nothing else may write to the target while it runs.
package migrate
