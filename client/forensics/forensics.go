// Package forensics gathers the evidence of a mismatch, builds whose claims
// name different digests, into a directory an investigator can keep and
// pass on: the mismatch, the checkpoint the claims are proven against, each
// claim's entry and inclusion proof, and the archived binaries, each
// checked against its digest; then it compares the two binaries (see
// package [github.com/attestlog/attestlog/client/bindiff]).
//
// It reads binaries through an [ArtifactSource]; package
// [github.com/attestlog/attestlog/client/grpcsource] implements one over
// the log's gRPC API, so that this package links no gRPC. Verifying the
// claims themselves is [client.VerifyClaim]'s job: [CheckClaims] checks
// that verified claims say what the mismatch says.
//
// Its functions are safe for concurrent use on different directories.
package forensics

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"

	"github.com/attestlog/attestlog/client"
	"github.com/attestlog/attestlog/client/report"
	"github.com/attestlog/attestlog/internal/atomicfile"
	"github.com/attestlog/attestlog/log/claim"
	"github.com/attestlog/attestlog/log/claim/record"
)

// A Ref names a mismatch: by its ID (the identity ID, 64 hex digits), or,
// if ID is empty, by the index of the claim that created it, which named
// mismatches before they were keyed by identity.
type Ref struct {
	ID    string
	Claim int64
}

// ParseRef parses a mismatch ID as "attestlog mismatches" prints it, or
// the decimal index of the claim that created the mismatch.
func ParseRef(s string) (Ref, error) {
	if _, err := claim.ParseIdentityID(s); err == nil {
		return Ref{ID: s}, nil
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n < 0 || strconv.FormatInt(n, 10) != s {
		return Ref{}, fmt.Errorf("mismatch ID %q is neither an ID from \"attestlog mismatches\" (64 hex digits) nor the index of the claim that created it", s)
	}
	return Ref{Claim: n}, nil
}

func (r Ref) String() string {
	if r.ID != "" {
		return r.ID
	}
	return fmt.Sprintf("created by claim %d", r.Claim)
}

// CheckClaims checks that m is the mismatch ref names, and that the
// verified claims vcs say what m says: each claim m lists is among vcs and
// names m's build identity with its digest.
func CheckClaims(ref Ref, m report.Mismatch, vcs []client.VerifiedClaim) error {
	if ref.ID != "" && m.ID != ref.ID || ref.ID == "" && m.Claim != ref.Claim {
		return fmt.Errorf("the log answered with mismatch %s, created by claim %d", m.ID, m.Claim)
	}
	if len(m.Digests) < 2 {
		return fmt.Errorf("%d digests: not a mismatch", len(m.Digests))
	}
	byIndex := map[int64]*record.Record{}
	for _, vc := range vcs {
		byIndex[vc.Index] = claimRecord(vc)
	}
	id := claim.Identity{Source: m.Source, Commit: m.Commit, Platform: m.Platform, Artifact: m.Artifact}
	for _, d := range m.Digests {
		if h, err := claim.NormaliseDigest(d.SHA256); err != nil || h != d.SHA256 {
			return fmt.Errorf("digest %q is not 64 lowercase hex digits", d.SHA256)
		}
		for _, i := range d.ClaimIndexes {
			r, ok := byIndex[i]
			if !ok || r == nil {
				return fmt.Errorf("claim %d is listed but not proven", i)
			}
			// The claim's signed identities (v1 or v2, git or deb:)
			// must include the build, with this digest.
			ids, subjects := r.Identities(), r.IdentitySubjects()
			k := slices.Index(ids, id)
			if k < 0 || r.Subjects[subjects[k]].SHA256 != d.SHA256 {
				return fmt.Errorf("claim %d does not claim %s for %s@%s %s %s", i, d.SHA256, m.Source, m.Commit, m.Platform, m.Artifact)
			}
		}
	}
	return nil
}

// claimRecord returns what a verified claim says: its record, or for one
// made from a v1 statement alone, the record of that statement.
func claimRecord(vc client.VerifiedClaim) *record.Record {
	if vc.Record != nil || vc.Claim == nil {
		return vc.Record
	}
	c := vc.Claim
	r := &record.Record{Version: 1, Kind: record.KindV1, Source: c.Source, Commit: c.Commit, Recipe: c.Recipe}
	for _, s := range c.Subjects {
		r.Subjects = append(r.Subjects, record.Subject{Name: s.Name, SHA256: s.SHA256, Platform: c.Platform})
	}
	return r
}

// Proof is a claim's inclusion proof as [Write] writes it, against the
// checkpoint beside it; []byte fields are standard base64.
type Proof struct {
	Index          int64    `json:"index"`
	TreeSize       int64    `json:"tree_size"`
	InclusionProof [][]byte `json:"inclusion_proof"`
}

// Write writes dir/mismatch.json, dir/checkpoint and each claim's entry
// and proof in dir/claims:
//
//	mismatch.json               the mismatch
//	checkpoint                  the checkpoint the proofs are against
//	claims/<index>.entry        each claim's entry as logged
//	claims/<index>.proof.json   its [Proof]
func Write(dir string, m report.Mismatch, checkpoint []byte, vcs []client.VerifiedClaim) error {
	if err := os.MkdirAll(filepath.Join(dir, "claims"), 0o755); err != nil {
		return err
	}
	mj, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return err
	}
	files := map[string][]byte{"mismatch.json": append(mj, '\n'), "checkpoint": checkpoint}
	for _, vc := range vcs {
		pj, err := json.MarshalIndent(Proof{Index: vc.Index, TreeSize: vc.TreeSize, InclusionProof: vc.Proof}, "", "  ")
		if err != nil {
			return err
		}
		files[filepath.Join("claims", fmt.Sprintf("%d.entry", vc.Index))] = vc.Entry
		files[filepath.Join("claims", fmt.Sprintf("%d.proof.json", vc.Index))] = append(pj, '\n')
	}
	for name, b := range files {
		if err := atomicfile.Write(filepath.Join(dir, name), b, 0o644, true); err != nil {
			return err
		}
	}
	return nil
}
