package grpcsource

import (
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
	return client.VerifyClaim(cp, index, treeSize, pc.GetEntry(), ProofOf(pc))
}

// ProofOf returns the inclusion proof of pc, empty rather than nil so
// that JSON shows a list.
func ProofOf(pc *pb.ProvenClaim) [][]byte {
	if p := pc.GetInclusionProof(); p != nil {
		return p
	}
	return [][]byte{}
}
