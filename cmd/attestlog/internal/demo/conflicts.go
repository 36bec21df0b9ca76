package demo

import (
	"context"
	"errors"
	"fmt"

	"github.com/attestlog/attestlog/client"
	"github.com/attestlog/attestlog/log/claim"
	"github.com/attestlog/attestlog/tiles"
	"golang.org/x/mod/sumdb/tlog"
)

// A conflict is a trusted builder's claim giving another digest for a
// build that a claim naming the verified digest describes.
type conflict struct {
	builder string
	index   int64
	sha256  string
}

// findConflicts finds the trusted builders who disagree with a digest that
// only untrusted keys claim. [client.Verify] follows only the builds that
// trusted builders give the digest, so that an untrusted claim cannot tie
// a digest to a build to fail it; here the digest has failed already, and
// the question is who says otherwise. Every claim is proven against the
// checkpoint Verify verified (signature, witness quorum, remembered state).
func findConflicts(ctx context.Context, p *client.Policy, src client.Source, v *client.Verdict) ([]conflict, error) {
	if v.Checkpoint == nil {
		return nil, errors.New("no verified checkpoint")
	}
	cp := tiles.Checkpoint{Origin: v.Checkpoint.Origin, Size: v.Checkpoint.Size, Hash: v.Checkpoint.Hash}
	builds, err := buildsOf(ctx, src, cp, v.Digest)
	if err != nil {
		return nil, err
	}
	var out []conflict
	for _, id := range builds {
		c, err := buildConflicts(ctx, p, src, cp, id, v.Digest)
		if err != nil {
			return nil, err
		}
		out = append(out, c...)
	}
	return out, nil
}

// buildsOf returns the build identities that claims in cp's tree give
// digest.
func buildsOf(ctx context.Context, src client.Source, cp tiles.Checkpoint, digest string) ([]claim.Identity, error) {
	lk, err := src.ClaimsByDigest(ctx, digest, cp.Size)
	if err != nil {
		return nil, err
	}
	var builds []claim.Identity
	for _, pc := range lk.Claims {
		c, _, err := checkClaim(cp, pc)
		if err != nil {
			return nil, err
		}
		for _, s := range c.Subjects {
			if s.SHA256 == digest {
				builds = appendOnce(builds, claim.Identity{Source: c.Source, Commit: c.Commit, Platform: c.Platform, Artifact: s.Name})
			}
		}
	}
	return builds, nil
}

// buildConflicts returns the claims in cp's tree by builders p trusts that
// give build id a digest other than digest.
func buildConflicts(ctx context.Context, p *client.Policy, src client.Source, cp tiles.Checkpoint, id claim.Identity, digest string) ([]conflict, error) {
	lk, err := src.ClaimsBySource(ctx, id.Source, id.Commit, id.Platform, cp.Size)
	if err != nil {
		return nil, err
	}
	var out []conflict
	for _, pc := range lk.Claims {
		c, e, err := checkClaim(cp, pc)
		if err != nil {
			return nil, err
		}
		for _, s := range c.Subjects {
			if s.Name != id.Artifact || s.SHA256 == digest {
				continue
			}
			for _, sig := range e.Signatures {
				if name, _, ok := p.Builder(sig.VKey); ok {
					out = append(out, conflict{builder: name, index: pc.Index, sha256: s.SHA256})
				}
			}
		}
	}
	return out, nil
}

// checkClaim verifies a claim's inclusion in cp's tree, its entry
// encoding, its signatures and its statement.
func checkClaim(cp tiles.Checkpoint, pc client.ProvenClaim) (*claim.Claim, *claim.Entry, error) {
	if pc.Index < 0 || pc.Index >= cp.Size {
		return nil, nil, fmt.Errorf("claim %d: index %d is outside the tree of size %d", pc.Index, pc.Index, cp.Size)
	}
	if err := tlog.CheckRecord(pc.Proof, cp.Size, cp.Hash, pc.Index, tlog.RecordHash(pc.Entry)); err != nil {
		return nil, nil, fmt.Errorf("claim %d: inclusion proof does not verify against the checkpoint: %w", pc.Index, err)
	}
	e, err := claim.ParseEntry(pc.Entry)
	if err == nil {
		_, err = e.Verify()
	}
	var c *claim.Claim
	if err == nil {
		c, err = claim.ParseStatement(e.Payload)
	}
	if err != nil {
		return nil, nil, fmt.Errorf("claim %d: %w", pc.Index, err)
	}
	return c, e, nil
}
