package client

import (
	"context"
	"sync"

	"golang.org/x/mod/sumdb/tlog"
)

// A Source is where [Verify] gets a log's material: a log's API (package
// client/grpcsource), an offline [Bundle] ([BundleSource]), or a fake in a
// test. Verify trusts a Source for nothing: it checks every signature and
// proof it returns, including the index proof that makes each lookup's
// answer complete ([IndexProof]), and reports what fails. What it still
// trusts is that the log's index commitments are right, which a monitor
// that recomputes the index from the entries checks once for everyone.
//
// Implementations MUST be safe for concurrent use. Methods return errors
// only when they cannot answer (network, missing data); material that is
// wrong is for Verify to find.
type Source interface {
	// Checkpoint returns the log's latest checkpoint that witnesses
	// cosigned, as a signed note verbatim, with the log's signature and the
	// cosignatures. An implementation MUST NOT return a checkpoint it
	// knows to lack cosignatures: if it has none, it fails.
	Checkpoint(ctx context.Context) ([]byte, error)

	// ClaimsByDigest returns every entry among the first treeSize entries
	// of the log that is a claim naming an artifact with this sha256 (64
	// lowercase hex digits), in increasing index order, each with an
	// inclusion proof against treeSize. It MAY list in Unwitnessed the
	// indexes of matching entries at or past treeSize.
	ClaimsByDigest(ctx context.Context, sha256 string, treeSize int64) (Lookup, error)

	// ClaimsBySource returns every entry among the first treeSize entries
	// that is a claim about the normalised source URI at the full commit
	// hash, for platform, in increasing index order, each with an inclusion
	// proof against treeSize.
	ClaimsBySource(ctx context.Context, source, commit, platform string, treeSize int64) (Lookup, error)

	// ClaimsByName returns every entry among the first treeSize entries
	// that is a digest-only claim (one whose signature names no source:
	// log/claim/record's DigestOnly) naming a file with this name, in
	// increasing index order, each with an inclusion proof against treeSize.
	ClaimsByName(ctx context.Context, name string, treeSize int64) (Lookup, error)

	// ConsistencyProof returns the RFC 6962 consistency proof that the tree
	// of size oldSize is a prefix of the tree of size newSize, with
	// 0 < oldSize < newSize.
	ConsistencyProof(ctx context.Context, oldSize, newSize int64) ([]tlog.Hash, error)
}

// A Lookup is a Source's answer to a claim lookup.
type Lookup struct {
	Claims []ProvenClaim
	// Unwitnessed are indexes of matching entries that the log holds but
	// that no witnessed checkpoint covers yet: they cannot be proven, and do
	// not vote. Informative only.
	Unwitnessed []int64
	// Index proves Claims complete for the tree size asked for; nil if the
	// source has no such proof, which Verify reports.
	Index *IndexProof
}

// An IndexProof proves that a lookup's answer holds every entry of a tree
// of size S under the lookup's key (package log/vindex): the log's latest
// index commitment below S, committing to the map over the entries
// [0, N); the map's proof for the key, which lists the matching entries
// below N; and the tail, the entries [N, S), which the verifier runs
// through the map function itself.
type IndexProof struct {
	// Commitment is the index-commitment entry with its inclusion proof
	// against S; nil if the log made no commitment below S (then N is 0,
	// and the whole tree is the tail).
	Commitment *ProvenClaim
	// MapProof is the map's proof for the key (log/vindex encoding).
	MapProof []byte
	// Left are the hashes of the perfect subtrees that make up the tree
	// of the entries [0, N), largest first; with the tail's leaf hashes
	// they give the root of the tree of size S.
	Left []tlog.Hash
	// Tail are the entries [N, S) as logged.
	Tail [][]byte
}

// A ProvenClaim is a log entry with its inclusion proof against a tree size
// the caller knows.
type ProvenClaim struct {
	Index int64
	Entry []byte      // the entry bytes as logged
	Proof []tlog.Hash // RFC 6962 inclusion proof, leaf sibling first
}

// A RecordingSource is a [Source] that keeps the claims its latest lookup
// by digest answered, so that a caller of [Verify] can show each one's
// kind, scheme and signers beside the verdict. Verify checks them; what it
// refused the verdict's problems name. Read ByDigest once Verify has
// returned.
type RecordingSource struct {
	Source
	ByDigest []ProvenClaim
	mu       sync.Mutex // guards ByDigest while lookups run
}

// ClaimsByDigest implements [Source], keeping the claims of the answer.
func (s *RecordingSource) ClaimsByDigest(ctx context.Context, sha256 string, treeSize int64) (Lookup, error) {
	l, err := s.Source.ClaimsByDigest(ctx, sha256, treeSize)
	if err == nil {
		s.mu.Lock()
		s.ByDigest = l.Claims
		s.mu.Unlock()
	}
	return l, err
}
