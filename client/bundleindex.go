package client

import (
	"bytes"
	"cmp"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/attestlog/attestlog/log/claim"
	"github.com/attestlog/attestlog/log/vindex"
)

// addBuildProof adds the map proof of the lookup of build bd, whose index
// proof is ip, to b's index. Every lookup of a bundle must be proven
// against one commitment and tail.
func (b *Bundle) addBuildProof(bd build, ip *IndexProof) error {
	if b.Index == nil || ip == nil {
		b.Index = nil // one lookup without a proof: the bundle proves nothing complete
		return nil
	}
	bi := b.Index
	if !sameProvenClaim(bi.Commitment, ip.Commitment) || !slices.Equal(bi.Left, ip.Left) || !slices.EqualFunc(bi.Tail, ip.Tail, bytes.Equal) {
		return errors.New("the log proved the lookups of one bundle against different index commitments or tails; try again")
	}
	bi.Builds = append(bi.Builds, BuildProof{Source: bd.source, Commit: bd.commit, Platform: bd.platform, Proof: ip.MapProof})
	return nil
}

// addNameProof adds the map proof of the lookup of a file name, as
// addBuildProof does for a build.
func (b *Bundle) addNameProof(name string, ip *IndexProof) error {
	if b.Index == nil || ip == nil {
		b.Index = nil
		return nil
	}
	bi := b.Index
	if !sameProvenClaim(bi.Commitment, ip.Commitment) || !slices.Equal(bi.Left, ip.Left) || !slices.EqualFunc(bi.Tail, ip.Tail, bytes.Equal) {
		return errors.New("the log proved the lookups of one bundle against different index commitments or tails; try again")
	}
	bi.Names = append(bi.Names, NameProof{Name: name, Proof: ip.MapProof})
	return nil
}

// nameProof returns the index proof of the bundle's lookup of a file
// name, or nil if it holds none.
func (b *Bundle) nameProof(name string) *IndexProof {
	if b.Index == nil {
		return nil
	}
	i, ok := slices.BinarySearchFunc(b.Index.Names, name, func(np NameProof, n string) int { return strings.Compare(np.Name, n) })
	if !ok {
		return nil
	}
	return b.Index.proof(b.Index.Names[i].Proof)
}

func sameProvenClaim(a, b *ProvenClaim) bool {
	if a == nil || b == nil {
		return a == b
	}
	return a.Index == b.Index && bytes.Equal(a.Entry, b.Entry) && slices.Equal(a.Proof, b.Proof)
}

// checkIndex validates the form of b's index section for a checkpoint of
// the given size.
func (bi *BundleIndex) check(size int64) error {
	n := int64(0)
	if c := bi.Commitment; c != nil {
		cm, err := vindex.ParseCommitment(c.Entry)
		switch {
		case err != nil:
			return fmt.Errorf("index.commitment: %v", err)
		case c.Index < 0 || c.Index >= size || cm.Size > c.Index:
			return fmt.Errorf("index.commitment: at %d, of size %d, in a tree of size %d", c.Index, cm.Size, size)
		case len(c.Proof) > maxProofHashes:
			return fmt.Errorf("index.commitment: inclusion proof of %d hashes", len(c.Proof))
		}
		n = cm.Size
	}
	switch {
	case len(bi.Left) > maxProofHashes:
		return fmt.Errorf("index.left: %d hashes", len(bi.Left))
	case int64(len(bi.Tail)) != size-n:
		return fmt.Errorf("index.tail: %d entries, want the %d from %d to the tree size %d", len(bi.Tail), size-n, n, size)
	case len(bi.Digest) > maxMapProof:
		return fmt.Errorf("index.digest_proof: %d bytes", len(bi.Digest))
	}
	for i, e := range bi.Tail {
		if len(e) == 0 || len(e) > claim.MaxEntrySize {
			return fmt.Errorf("index.tail[%d]: entry of %d bytes", i, len(e))
		}
	}
	for i, np := range bi.Names {
		switch {
		case len(np.Proof) > maxMapProof:
			return fmt.Errorf("index.name_proofs[%d]: %d bytes", i, len(np.Proof))
		case i > 0 && np.Name <= bi.Names[i-1].Name:
			return fmt.Errorf("index.name_proofs[%d]: out of order or twice", i)
		}
	}
	for i, bp := range bi.Builds {
		switch {
		case len(bp.Proof) > maxMapProof:
			return fmt.Errorf("index.build_proofs[%d]: %d bytes", i, len(bp.Proof))
		case i > 0 && compareBuilds(build{bp.Source, bp.Commit, bp.Platform}, build{bi.Builds[i-1].Source, bi.Builds[i-1].Commit, bi.Builds[i-1].Platform}) <= 0:
			return fmt.Errorf("index.build_proofs[%d]: out of order or twice", i)
		}
	}
	return nil
}

func (b *Bundle) indexJSON() *bundleIndexJSON {
	bi := b.Index
	if bi == nil {
		return nil
	}
	j := &bundleIndexJSON{Left: nonNil(bi.Left), Tail: bi.Tail, DigestProof: bi.Digest, BuildProofs: []buildJSON{}}
	if j.Tail == nil {
		j.Tail = [][]byte{}
	}
	if bi.Commitment != nil {
		j.Commitment = &b.claimsJSON([]ProvenClaim{*bi.Commitment})[0]
	}
	for _, bp := range bi.Builds {
		j.BuildProofs = append(j.BuildProofs, buildJSON{Source: bp.Source, Commit: bp.Commit, Platform: bp.Platform, Proof: bp.Proof})
	}
	for _, np := range bi.Names {
		j.NameProofs = append(j.NameProofs, nameJSON{Name: np.Name, Proof: np.Proof})
	}
	return j
}

func parseBundleIndex(j *bundleIndexJSON, checkpoint []byte) (*BundleIndex, error) {
	if j == nil {
		return nil, nil
	}
	bi := &BundleIndex{Left: j.Left, Tail: j.Tail, Digest: j.DigestProof}
	if j.Commitment != nil {
		cs, err := parseBundleClaims("index.commitment", []bundleClaim{*j.Commitment}, checkpoint)
		if err != nil {
			return nil, err
		}
		bi.Commitment = &cs[0]
	}
	for _, bp := range j.BuildProofs {
		bi.Builds = append(bi.Builds, BuildProof{Source: bp.Source, Commit: bp.Commit, Platform: bp.Platform, Proof: bp.Proof})
	}
	for _, np := range j.NameProofs {
		bi.Names = append(bi.Names, NameProof{Name: np.Name, Proof: np.Proof})
	}
	return bi, nil
}

// indexProof returns the index proof of the bundle's lookup of a build, or
// nil if it holds none.
func (b *Bundle) buildProof(source, commit, platform string) *IndexProof {
	if b.Index == nil {
		return nil
	}
	i, ok := slices.BinarySearchFunc(b.Index.Builds, build{source, commit, platform}, func(bp BuildProof, bd build) int {
		return cmp.Or(strings.Compare(bp.Source, bd.source), strings.Compare(bp.Commit, bd.commit), strings.Compare(bp.Platform, bd.platform))
	})
	if !ok {
		return nil
	}
	return b.Index.proof(b.Index.Builds[i].Proof)
}
