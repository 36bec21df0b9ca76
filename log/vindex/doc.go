// Package vindex implements attestlog's verifiable index: a Merkle-committed
// map from search keys to the list of the indexes of the log entries under
// each key, with proofs of presence, which carry the full list, and proofs of
// absence. A lookup answered with a verified proof is complete: the log
// cannot leave out a dissenting claim without the proof failing or without
// having committed to a provably wrong map.
//
// The idea is the "verifiable index" of transparency.dev
// (google/trillian-examples, experimental/vindex): a deterministic map
// function over the log's entries, a Merkle-committed map from search keys
// to entry indexes, a commitment per log size, and monitors who recompute
// it. The tree is a sparse Merkle tree with shortcut leaves, a structure
// also used by Key Transparency (draft-ietf-keytrans-protocol); the hashes,
// encodings and rules below are attestlog's own.
//
// The package is pure: no I/O, no goroutines. Its functions are safe for
// concurrent use; a [Store] is used by one goroutine at a time, as its doc
// says. It imports only log/claim, so a client's verifier pulls in no bbolt
// or gRPC.
//
// # The map function
//
// [ClaimKeys] is the map function: for a claim entry it returns the search
// keys the entry belongs under, derived from [claim.Keys] (the one
// definition the served index and a monitor also use): each artifact digest,
// the source commit on any platform, the source commit on the claim's
// platform, each build identity and each builder key. A search key is
// SHA-256 over a domain-separated key string:
//
//	"attestlog/vindex/key/v1" 0x00 || uvarint(len(kind)) || kind || for each field: uvarint(len(field)) || field
//
// with kind "digest" (field: 64 lowercase hex digits), "source" (source URI,
// commit), "build" (source URI, commit, platform), "identity" (source URI,
// commit, platform, artifact name) or "builder" (vkey), fields normalised as
// package claim holds them. Entries that are not claims (index commitments,
// below) have no keys.
//
// # The tree
//
// A map is a binary tree of depth 256 over the bits of the keys, most
// significant bit of byte 0 first, in which a subtree that holds one key is
// a leaf and an empty subtree holds nothing. Its root is defined by
//
//	root(S, d) = EmptyHash (32 zero bytes)                   if S is empty
//	           = leaf hash of the one key of S               if |S| = 1
//	           = SHA-256("attestlog/vindex/node/v1" 0x00 ||
//	                     root(S0, d+1) || root(S1, d+1))     otherwise
//
// where S is a set of keys sharing their first d bits and S0, S1 split it by
// bit d. The root depends only on the map's contents, not on the order or
// batches in which they were added. Every hash starts with a text tag, so no
// vindex hash is the preimage of the log's RFC 6962 hashes (prefixes 0x00
// and 0x01) or of another kind of vindex hash. A map of n random keys has
// leaves at depth about log2(n) + 1, so its proofs hold about that many
// hashes.
//
// # The value of a key, and why it is a hash chain
//
// The value under a key is the increasing list of the indexes of the entries
// under it. The leaf commits to it through its length, its last index and
// the head of a hash chain over it ([ListHead]):
//
//	head(empty) = EmptyHash
//	head(L || i) = SHA-256("attestlog/vindex/chain/v1" 0x00 || head(L) || i as 8 bytes big-endian)
//	leaf hash    = SHA-256("attestlog/vindex/leaf/v1" 0x00 || key || count (8) || last (8) || head)
//
// Lists only grow, since the log is append-only, and some grow long: a
// builder key is under every claim its builder signs. Hashing the whole list
// into the leaf (as the transparency.dev prototype does) makes each append
// cost as much as the list is long; a Merkle tree over the list costs
// log(length) per append and buys proofs of single members, which a lookup
// does not need, since it must return the whole list to be complete. The
// chain costs one hash per append whatever the length, and a verifier who
// receives the whole list recomputes it in one pass. It also allows, later,
// verifiable pages of a long list from its end backwards: the head before a
// page plus the page's indexes lead to the committed head. The last index
// lets the sequencer refuse a replayed batch (an index not after the last).
//
// # Proofs
//
// A [Proof] follows the key's path from the root: the sibling hash at each
// depth, then what the path ends at: the key's leaf, whose list the proof
// carries in full (presence); an empty subtree; or another key's leaf, which
// must share the path (absence). [Proof.AppendBinary] documents the compact
// encoding, and [ParseProof] accepts exactly one spelling of each proof.
// [Proof.Verify] recomputes the root. The path of a key from a given root is
// unique, since each node's hash fixes its children, so a root admits at
// most one answer per key: every client shown the same root gets the same
// list, whatever the log wants. Verify also refuses what no correctly built
// map holds (a path ending beside an empty sibling, an absence leaf off the
// key's path, a list out of order); [ParseProof] bounds nothing but what
// the bytes hold, so callers cap the size of a proof they read.
//
// # Storage and updates
//
// A [Store] holds a map's nodes by [Position] (depth and key prefix): inner
// nodes with their children's hashes, and leaves. [Update] applies a batch of
// [Addition]s, walking the paths of the batch once, so it reads and writes
// O(batch × depth) nodes, shares the upper levels between the keys of a
// batch, and costs one hash per addition for the lists. [Prove] reads one
// node per level. [MemStore] keeps nodes in memory, for tests and for a
// monitor's recomputation.
//
// A database backend (bbolt, PostgreSQL) keeps the map in strata: a
// [Strata] is a Store that holds the nodes of 8 levels below a position of
// depth 0, 8, 16 and so on in one record (as a hash tile does for a
// Merkle tree), so that a key's update or proof touches depth/8 records,
// and reads records through a [StratumReader] that the backend implements
// with one transaction or query per call. [Update] reads its batch's paths
// one level at a time through [Store.GetMany], so an update of a map
// about 24 levels deep makes about four reads, whatever the batch's size,
// and a proof three or four. Roots and proofs do not depend on the Store.
// An update's changed strata come as records ([Strata.Dirty]) or, for a
// stratum of at least 1 KiB that the store holds already, as patches of
// the stored nodes that changed ([Strata.DirtyPatches], [ComposeStratum]):
// an update of a large map changes a few of the 128 bottom nodes of each
// upper stratum. How the
// log keeps the strata of several commitments (a base and deltas) is
// package log's (indexmap.go).
//
// # The commitment, and why a log cannot show two clients two maps
//
// The map's root is bound to what witnesses cosign by putting it in the log
// itself. At a bounded interval (every K entries or T seconds, whichever
// comes first, when there are new entries) the log appends an
// index-commitment entry: a small entry of its own type, not a claim, that
// names a size N and the root of the map over the entries [0, N). Its N is
// at most its own index, and grows from one commitment to the next. The
// simplest sequencer updates the map in the transaction that appends the
// commitment and names its own index as N; one that keeps the map's hashing
// off its critical path lets an indexer catch up to some N and appends the
// commitment a little later. Then:
//
//   - A commitment is an entry of the witnessed tree. To show two clients
//     two roots in the commitment at index c, a log would have to show them
//     two different entries at c, that is two trees that are not consistent,
//     which witnesses refuse to cosign. This is as strong as the log's
//     non-equivocation itself. A checkpoint extension line would be weaker:
//     a witness checks the consistency of trees, not extension lines, and
//     cosigns two checkpoints of one size and root with different lines.
//   - The map over [0, N) is a function of the entries, so two commitments
//     that name one N with two roots are, both being in the witnessed log,
//     evidence on their own that the log lied.
//   - A client verifies a lookup at a witnessed checkpoint of size S with:
//     a commitment entry at some c < S, naming N, with its inclusion proof;
//     the map proof for the key against its root, which gives every
//     matching entry in [0, N); and the tail, the entries [N, S), which it
//     reads from the tiles (authenticated by the checkpoint) and runs
//     through [ClaimKeys] itself. The interval bounds the tail, and the
//     client refuses a commitment whose tail is longer than its policy
//     allows. Completeness then holds for [0, S) with no trust in the log,
//     provided the committed root is right.
//   - Whether the root is right is what a monitor checks, once for everyone:
//     it recomputes the map from the entries and compares roots at every
//     commitment. A wrong root is portable evidence signed by the log and its
//     witnesses: the commitment entry with its inclusion proof in a
//     witnessed checkpoint, plus either the log's own verified proof for a
//     key that contradicts an entry (an entry below N under the key that
//     the list omits, or a listed index whose entry is not under the key or
//     not below N), checkable in milliseconds, or N alone, checkable by
//     recomputing the map from the log's tiles. Hiding a claim from a lookup
//     therefore needs a provably wrong commitment in the witnessed log.
//
// What the map costs the sequencer is mostly SHA-256 and node reads and
// writes: about (depth - log2(batch)) nodes per addition, with five or six
// additions per claim. Committing every K entries amortises the upper
// levels over a whole interval; an indexer beside the sequencer (the second
// form above) takes the rest off the append path. BENCHMARKS.md has the
// figures.
//
// # How the rest of attestlog uses this package (next slice)
//
//   - Sequencer (package log): at the interval, an indexer beside the
//     sequencer applies the additions of the entries since the last
//     commitment with [Update] on a [Strata] over the log's store, and
//     appends the commitment entry, whose batch writes the changed strata
//     as one delta (so that the commitment before stays served; see
//     package log's indexmap.go). Recovery needs nothing more: additions
//     are recomputed from the entries after the last commitment.
//   - Proto: lookup responses (by digest and by source today, by identity
//     and by builder key once served: the map already holds those keys)
//     carry the commitment entry's index, bytes and inclusion proof, and
//     the encoded proof for the lookup's key.
//   - Client: checks the checkpoint (signatures, witness quorum,
//     consistency), the commitment's inclusion, [VerifyProof], and the tail
//     from tiles; the claims returned must be exactly the verified list plus
//     the tail's matches, and a missing one is named by its index.
//   - Bundles: the offline tlog-proof bundle carries the same commitment,
//     proof and tail entries, so verify --bundle checks completeness.
//   - Monitor and CheckLog: recompute the map with a [Replay] while reading
//     the entries and compare with each commitment's root.
//
// Left out: hiding keys from the log's readers (a VRF, as Key Transparency
// does, would need per-key proofs of the VRF); pages of long lists; removing
// keys, which an append-only log never needs.
package vindex
