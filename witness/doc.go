// Package witness implements a transparency log witness: a server that
// cosigns a log's checkpoints once it has checked that each is consistent
// with the last one it cosigned for that log, so that a log cannot show
// different histories to different clients without being caught.
//
// It implements
//
//   - [c2sp.org/tlog-witness] v1.0.0, plus the current draft's stricter
//     checks: POST add-checkpoint, answered with the status codes listed at
//     [Witness.AddCheckpoint]; a fork at equal size gets 422 (v1.0.0 said 409),
//     a signature by a trusted key that fails to verify gets 403, and a
//     checkpoint of size 0 must have the empty tree's root;
//   - the draft's monitoring endpoint, GET <origin hash>/checkpoint;
//   - [c2sp.org/tlog-cosignature] v1.0.1 Ed25519 cosignatures (cosignature/v1,
//     signature type 0x04) over [c2sp.org/tlog-checkpoint] bodies, which are
//     [c2sp.org/signed-note] notes.
//
// The witness key is a signed-note Ed25519 private key (type 0x01, as
// golang.org/x/mod/sumdb/note generates); the witness's name is the key's
// name, and its cosignature verifier key (type 0x04) is derived from it, see
// [Witness.VerifierKey]. Cosignature timestamps never go backwards, even if
// the clock does: the witness stores the last timestamp it used in the same
// bbolt transaction as the state it cosigned, and signs with the later of that
// and the clock. A timestamp is never zero.
//
// Left out, deliberately: the optional sign-subtree call and ML-DSA-44
// cosignatures (the draft recommends them, but our clients and the formats
// library verify Ed25519 cosignatures today); the client the log uses to
// request cosignatures; and any authentication beyond the log's signature on
// the checkpoint, as the protocol intends.
//
// Beyond the protocol, the witness keeps evidence: a checkpoint validly
// signed by a trusted key that the signed bytes alone show to be a fork (a
// different root at the cosigned size, a wrong empty-tree root, or a
// consistency proof that leads to the checkpoint's root from a tree of the
// cosigned size whose root is not the cosigned one) is stored verbatim with
// the witness's own latest cosigned checkpoint of that log, counted, logged
// at error level, and served read-only at GET evidence and GET evidence/<id>.
// Anyone can send the log's public checkpoint, so the witness keeps nothing
// a stranger can make up:
//
//   - A consistency proof that does not verify and does not lead to the
//     checkpoint's root proves nothing about the log (anyone can write
//     one): it gets 422, the bad_proofs_total metric and a debug line, and
//     is not evidence. When the cosigned size is a power of two, the proof
//     leaves the old root out, so no proof from that size can show a fork:
//     such a fork is refused but not kept.
//   - Evidence is kept once per distinct checkpoint body (by its SHA-256);
//     a repeat is counted on the record (Evidence.Seen, LastTime) and in
//     evidence_repeats_total, without a new record or error line.
//   - A log has at most Config.MaxEvidence records (default 1000). Past
//     that, new evidence is dropped, counted in evidence_dropped_total and
//     warned about at most once an hour; the oldest records stay, since the
//     first fork shown is the one that matters.
//
// A 409 is not evidence either: a log that retries with a stale size is
// normal.
//
// Each log can have a budget of new cosignatures per day; requests that would
// cosign a new checkpoint past it get 429. Only those spend it: refusals
// (400, 403, 404, 409, 422) and replays never do, so a stranger replaying a
// log's public checkpoint cannot stop the log from being cosigned. A replay
// of the latest cosigned checkpoint, with old size and size both its size, is
// answered with the stored cosignature, or, once that is older than
// Config.RefreshInterval (default 60 s), with a fresh one: at most one write
// per log per interval, which spends no budget either.
//
// # Concurrency
//
// A [Witness] is safe for concurrent use, and is meant to be: requests are
// parsed and their signatures verified concurrently, then each one's
// compare-old-size and check-consistency step runs in a read-only bbolt
// transaction. A request that writes (a cosignature or evidence) then runs
// the whole step again, with the store, in a transaction shared with the
// other requests in flight (bbolt's DB.Batch), so that many requests share
// one fsync and refusals and replays cost none. A cosignature is returned only after
// that transaction has committed. Two requests for one log with the same old
// size cannot both succeed: the transactions are serialised, and the second
// sees the first's new size and gets 409.
//
// [c2sp.org/tlog-witness]: https://c2sp.org/tlog-witness
// [c2sp.org/tlog-cosignature]: https://c2sp.org/tlog-cosignature
// [c2sp.org/tlog-checkpoint]: https://c2sp.org/tlog-checkpoint
// [c2sp.org/signed-note]: https://c2sp.org/signed-note
package witness
