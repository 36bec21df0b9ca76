package report

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/attestlog/attestlog/client"
	"github.com/attestlog/attestlog/log/claim/record"
	"github.com/attestlog/attestlog/log/claim/scheme"
	"github.com/attestlog/attestlog/tiles"
)

// PrintClaimsTable prints one row per artifact of the claims; with a digest
// (a lookup by digest) only the artifacts with that digest. Each row says
// the claim's kind and scheme, its signers' key IDs, and fields a submitter
// supplied marked [SuppliedMark].
func PrintClaimsTable(w io.Writer, vcs []client.VerifiedClaim, digest string) error {
	rows := make([]claimRow, len(vcs))
	for i, vc := range vcs {
		r, err := recordOf(vc)
		if err != nil {
			return err
		}
		rows[i] = claimRow{vc.Index, r}
	}
	return printClaimRows(w, rows, digest)
}

// A claimRow is a claim to print: its index and what it says.
type claimRow struct {
	index int64
	r     *record.Record
}

func printClaimRows(w io.Writer, rows []claimRow, digest string) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "INDEX\tKIND\tSIGNERS\tSOURCE@COMMIT\tPLATFORM\tARTIFACT\tSHA256\tRECIPE")
	for _, row := range rows {
		r := row.r
		for _, s := range r.Subjects {
			if digest != "" && s.SHA256 != digest {
				continue
			}
			platform := s.Platform
			if platform == "" {
				platform = "-"
			}
			fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", row.index, KindText(r), SignersText(r),
				SourceText(r), TermSafe(platform), TermSafe(s.Name), TermSafe(Short(s.SHA256)), RecipeText(r))
		}
	}
	return tw.Flush()
}

// recordOf returns what a verified claim says: its record, or, for a
// VerifiedClaim made without one, its entry decoded.
func recordOf(vc client.VerifiedClaim) (*record.Record, error) {
	if vc.Record != nil {
		return vc.Record, nil
	}
	r, err := record.Decode(vc.Entry)
	if err != nil {
		return nil, fmt.Errorf("claim at index %d: %w", vc.Index, err)
	}
	return r, nil
}

// ClaimJSON is the --json form of a verified claim. []byte fields are
// standard base64; the checkpoint is the signed note the proof is against.
// Source, Commit, Recipe and the subjects are what the signature covers;
// Supplied holds what a submitter added beside it. Platform is the
// claim's one platform, "" when its subjects have several.
type ClaimJSON struct {
	Index          int64         `json:"index"`
	TreeSize       int64         `json:"tree_size"`
	Kind           string        `json:"kind"`
	Signers        []SignerJSON  `json:"signers"`
	Source         string        `json:"source"`
	SourceRef      string        `json:"source_ref,omitempty"`
	Commit         string        `json:"commit"`
	SourceDigest   string        `json:"source_digest,omitempty"`
	Platform       string        `json:"platform"`
	Recipe         string        `json:"recipe"`
	BuilderID      string        `json:"builder_id"`
	Subjects       []SubjectJSON `json:"subjects"`
	Supplied       *SuppliedJSON `json:"supplied,omitempty"`
	Entry          []byte        `json:"entry"`
	InclusionProof [][]byte      `json:"inclusion_proof"`
	Checkpoint     string        `json:"checkpoint"`
}

// SignerJSON is a signer of a [ClaimJSON]: its scheme, key ID and key text
// ("SCHEME KEY", as a policy line holds it); for a signed-note key also
// the key name and verifier key.
type SignerJSON struct {
	Name   string `json:"name"`
	VKey   string `json:"vkey"`
	Scheme string `json:"scheme"`
	KeyID  string `json:"key_id"`
	Key    string `json:"key"`
}

// SubjectJSON is an artifact of a [ClaimJSON].
type SubjectJSON struct {
	Name     string `json:"name"`
	SHA256   string `json:"sha256"`
	Platform string `json:"platform"`
}

// SuppliedJSON holds the fields a submitter supplied beside a signed
// document: unsigned, never counted.
type SuppliedJSON struct {
	Source string `json:"source,omitempty"`
	Commit string `json:"commit,omitempty"`
	Recipe string `json:"recipe,omitempty"`
}

// PrintClaimsJSON writes the claims to w as an indented JSON array of
// [ClaimJSON], each with checkpoint, the note the proofs are against.
func PrintClaimsJSON(w io.Writer, vcs []client.VerifiedClaim, checkpoint []byte) error {
	out := make([]ClaimJSON, len(vcs))
	for i, vc := range vcs {
		r, err := recordOf(vc)
		if err != nil {
			return err
		}
		out[i] = claimJSON(vc, r, checkpoint)
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(out)
}

func claimJSON(vc client.VerifiedClaim, r *record.Record, checkpoint []byte) ClaimJSON {
	j := ClaimJSON{Index: vc.Index, TreeSize: vc.TreeSize, Kind: r.Kind, Source: r.Source, SourceRef: r.SourceRef,
		Commit: r.Commit, SourceDigest: r.SourceDigest, Recipe: r.Recipe, BuilderID: r.BuilderID,
		Entry: vc.Entry, InclusionProof: vc.Proof, Checkpoint: string(checkpoint),
		Signers: []SignerJSON{}, Subjects: []SubjectJSON{}}
	for _, s := range r.Signers {
		sj := SignerJSON{Scheme: string(s.Scheme), KeyID: s.KeyID, Key: s.Key}
		if s.Scheme == scheme.Note {
			sj.VKey = strings.TrimPrefix(s.Key, string(scheme.Note)+" ")
			sj.Name, _, _ = strings.Cut(s.KeyID, "+")
		}
		j.Signers = append(j.Signers, sj)
	}
	for k, s := range r.Subjects {
		j.Subjects = append(j.Subjects, SubjectJSON{Name: s.Name, SHA256: s.SHA256, Platform: s.Platform})
		if k == 0 {
			j.Platform = s.Platform
		} else if s.Platform != j.Platform {
			j.Platform = ""
		}
	}
	if !r.Supplied.IsZero() {
		j.Supplied = &SuppliedJSON{Source: r.Supplied.Source, Commit: r.Supplied.Commit, Recipe: r.Supplied.Recipe}
	}
	return j
}

// PrintReceipt prints one line about a receipt file at path that
// [client.VerifyReceiptFile] verified: the claim's index, the checkpoint
// cp, its signers and what it says; for a v2 claim also its kind, with
// supplied fields marked [SuppliedMark].
func PrintReceipt(w io.Writer, path string, vc client.VerifiedClaim, cp tiles.Checkpoint) error {
	r, err := recordOf(vc)
	if err != nil {
		return err
	}
	var subjects []string
	for _, s := range r.Subjects {
		subjects = append(subjects, s.Name+" sha256 "+s.SHA256)
	}
	head := fmt.Sprintf("%s: verified: claim at index %d of %s, tree size %d (signature verified)", TermSafe(path), vc.Index, TermSafe(cp.Origin), cp.Size)
	if r.Version == 1 {
		platform := ""
		if len(r.Subjects) > 0 {
			platform = r.Subjects[0].Platform
		}
		fmt.Fprintf(w, "%s; signed by %s: %s@%s %s %s\n", head, TermSafeJoin(vc.Signers, ", "),
			TermSafe(r.Source), TermSafe(r.Commit), TermSafe(platform), TermSafeJoin(subjects, ", "))
		return nil
	}
	for i, s := range r.Subjects {
		subjects[i] = s.Name + " " + s.Platform + " sha256 " + s.SHA256
	}
	fmt.Fprintf(w, "%s; %s signed by %s: source %s: %s\n", head, KindText(r), SignersText(r), SourceText(r), TermSafeJoin(subjects, ", "))
	return nil
}

// CheckpointStatus describes a checkpoint and how far it was verified
// (client.ReadCheckpoint's verified), for output.
func CheckpointStatus(cp tiles.Checkpoint, verified bool) string {
	s := fmt.Sprintf("checkpoint %s, tree size %d", cp.Origin, cp.Size)
	if !verified {
		s += " (signature NOT verified: no --log-vkey)"
	}
	return s
}
