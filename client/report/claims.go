package report

import (
	"encoding/json"
	"fmt"
	"io"
	"text/tabwriter"

	"github.com/attestlog/attestlog/client"
	"github.com/attestlog/attestlog/tiles"
)

// PrintClaimsTable prints one row per artifact of the claims; with a digest
// (a lookup by digest) only the artifacts with that digest.
func PrintClaimsTable(w io.Writer, vcs []client.VerifiedClaim, digest string) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "INDEX\tSIGNERS\tSOURCE@COMMIT\tPLATFORM\tARTIFACT\tSHA256\tRECIPE")
	for _, vc := range vcs {
		cl := vc.Claim
		for _, s := range cl.Subjects {
			if digest != "" && s.SHA256 != digest {
				continue
			}
			fmt.Fprintf(tw, "%d\t%s\t%s@%s\t%s\t%s\t%s\t%s\n", vc.Index, TermSafeJoin(vc.Signers, ","),
				TermSafe(cl.Source), TermSafe(Short(cl.Commit)), TermSafe(cl.Platform), TermSafe(s.Name), TermSafe(Short(s.SHA256)), TermSafe(Short(cl.Recipe)))
		}
	}
	return tw.Flush()
}

// ClaimJSON is the --json form of a verified claim. []byte fields are
// standard base64; the checkpoint is the signed note the proof is against.
type ClaimJSON struct {
	Index          int64         `json:"index"`
	TreeSize       int64         `json:"tree_size"`
	Signers        []SignerJSON  `json:"signers"`
	Source         string        `json:"source"`
	SourceRef      string        `json:"source_ref,omitempty"`
	Commit         string        `json:"commit"`
	Platform       string        `json:"platform"`
	Recipe         string        `json:"recipe"`
	BuilderID      string        `json:"builder_id"`
	Subjects       []SubjectJSON `json:"subjects"`
	Entry          []byte        `json:"entry"`
	InclusionProof [][]byte      `json:"inclusion_proof"`
	Checkpoint     string        `json:"checkpoint"`
}

// SignerJSON is a signature of a [ClaimJSON]: the key name and verifier key.
type SignerJSON struct {
	Name string `json:"name"`
	VKey string `json:"vkey"`
}

// SubjectJSON is an artifact of a [ClaimJSON].
type SubjectJSON struct {
	Name   string `json:"name"`
	SHA256 string `json:"sha256"`
}

// PrintClaimsJSON writes the claims to w as an indented JSON array of
// [ClaimJSON], each with checkpoint, the note the proofs are against.
func PrintClaimsJSON(w io.Writer, vcs []client.VerifiedClaim, checkpoint []byte) error {
	out := make([]ClaimJSON, len(vcs))
	for i, vc := range vcs {
		cl := vc.Claim
		j := ClaimJSON{Index: vc.Index, TreeSize: vc.TreeSize, Source: cl.Source, SourceRef: cl.SourceRef,
			Commit: cl.Commit, Platform: cl.Platform, Recipe: cl.Recipe, BuilderID: cl.BuilderID,
			Entry: vc.Entry, InclusionProof: vc.Proof, Checkpoint: string(checkpoint),
			Signers: []SignerJSON{}, Subjects: []SubjectJSON{}}
		for k, s := range vc.Parsed.Signatures {
			j.Signers = append(j.Signers, SignerJSON{Name: vc.Signers[k], VKey: s.VKey})
		}
		for _, s := range cl.Subjects {
			j.Subjects = append(j.Subjects, SubjectJSON{Name: s.Name, SHA256: s.SHA256})
		}
		out[i] = j
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(out)
}

// PrintReceipt prints one line about a receipt file at path that
// [client.VerifyReceiptFile] verified: the claim's index, the checkpoint
// cp, the signers and what the claim says.
func PrintReceipt(w io.Writer, path string, vc client.VerifiedClaim, cp tiles.Checkpoint) {
	var subjects []string
	for _, s := range vc.Claim.Subjects {
		subjects = append(subjects, s.Name+" sha256 "+s.SHA256)
	}
	fmt.Fprintf(w, "%s: verified: claim at index %d of %s, tree size %d (signature verified); signed by %s: %s@%s %s %s\n",
		TermSafe(path), vc.Index, TermSafe(cp.Origin), cp.Size, TermSafeJoin(vc.Signers, ", "),
		TermSafe(vc.Claim.Source), TermSafe(vc.Claim.Commit), TermSafe(vc.Claim.Platform), TermSafeJoin(subjects, ", "))
}
