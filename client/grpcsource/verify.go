package grpcsource

import (
	"context"
	"fmt"

	"github.com/attestlog/attestlog/client"
	pb "github.com/attestlog/attestlog/proto/attestlog/v1"
	"github.com/attestlog/attestlog/tiles"
)

// VerifyProvenClaims checks every claim of a log's answer (a lookup, a
// mismatch) against cp, the checkpoint the answer came with: each entry is
// a canonical claim entry, every signature verifies and the inclusion
// proof leads to cp's root hash. It stops at the first failure. It does
// not check cp's signature: open cp with [client.OpenCheckpoint] for that.
func VerifyProvenClaims(cp tiles.Checkpoint, pcs []*pb.ProvenClaim) ([]client.VerifiedClaim, error) {
	out := make([]client.VerifiedClaim, len(pcs))
	for i, pc := range pcs {
		vc, err := verifyProvenClaim(cp, pc)
		if err != nil {
			return nil, fmt.Errorf("claim at index %d: %w", pc.GetIndex(), err)
		}
		out[i] = vc
	}
	return out, nil
}

func verifyProvenClaim(cp tiles.Checkpoint, pc *pb.ProvenClaim) (client.VerifiedClaim, error) {
	index, err := toInt64("index", pc.GetIndex())
	if err != nil {
		return client.VerifiedClaim{}, err
	}
	treeSize, err := toInt64("tree size", pc.GetTreeSize())
	if err != nil {
		return client.VerifiedClaim{}, err
	}
	return client.VerifyClaim(cp, index, treeSize, pc.GetEntry(), proofOf(pc))
}

// proofOf returns the inclusion proof of pc, empty rather than nil so
// that JSON shows a list.
func proofOf(pc *pb.ProvenClaim) [][]byte {
	if p := pc.GetInclusionProof(); p != nil {
		return p
	}
	return [][]byte{}
}

// An Answer is a log's answer of claims proven against the checkpoint it
// came with: a lookup's, or a mismatch's.
type Answer interface {
	GetCheckpoint() []byte
	GetClaims() []*pb.ProvenClaim
}

// LookupLatest asks the log for the claims q names, proven against its
// latest checkpoint, which witnesses may not have cosigned yet (Source's
// lookups prove against the witnessed one). Verify the answer with
// [client.ReadCheckpoint], [VerifyProvenClaims] and [client.ClaimQuery.Check].
func (s *Source) LookupLatest(ctx context.Context, q client.ClaimQuery) (Answer, error) {
	if q.Digest != "" {
		r, err := s.c.LookupByDigest(ctx, &pb.LookupByDigestRequest{Sha256: q.Digest})
		if err != nil {
			return nil, fmt.Errorf("looking up sha256 %s: %w", q.Digest, err)
		}
		return r, nil
	}
	if q.Name != "" {
		r, err := s.c.LookupByName(ctx, &pb.LookupByNameRequest{Name: q.Name})
		if err != nil {
			return nil, fmt.Errorf("looking up file name %s: %w", q.Name, err)
		}
		return r, nil
	}
	r, err := s.c.LookupBySource(ctx, &pb.LookupBySourceRequest{SourceUri: q.Source, Commit: q.Commit, Platform: q.Platform})
	if err != nil {
		return nil, fmt.Errorf("looking up %s: %w", q, err)
	}
	return r, nil
}
