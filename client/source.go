package client

import (
	"context"

	"golang.org/x/mod/sumdb/tlog"
)

// A Source is where [Verify] gets a log's material: a log's API (package
// client/grpcsource), an offline [Bundle] ([BundleSource]), or a fake in a
// test. Verify trusts a Source for nothing but completeness: it checks every
// signature and proof it returns, and reports what fails. It cannot tell
// whether a lookup left out a matching claim; only a monitor that reads every
// entry ([CheckLog]) can.
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
}

// A ProvenClaim is a log entry with its inclusion proof against a tree size
// the caller knows.
type ProvenClaim struct {
	Index int64
	Entry []byte      // the entry bytes as logged
	Proof []tlog.Hash // RFC 6962 inclusion proof, leaf sibling first
}
