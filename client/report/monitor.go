package report

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/attestlog/attestlog/client"
	"github.com/attestlog/attestlog/log/claim/record"
)

// maxClaimLines bounds the claims one human-readable report lists.
const maxClaimLines = 50

// PrintMonitorReport prints one pass of attestlog monitor: with asJSON the
// report as indented JSON, else a summary line, at most maxClaimLines lines
// of new claims, and one line per finding.
func PrintMonitorReport(w io.Writer, r *client.MonitorReport, asJSON bool) error {
	if asJSON {
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(r)
	}
	checked := fmt.Sprintf("%s and %s authenticated, %s looked up", Count(r.Tiles, "tile", "tiles"),
		Count(r.Bundles, "entry bundle", "entry bundles"), Count(r.Digests, "digest", "digests"))
	logState := "the log answered consistently (" + checked + ")"
	if n := len(r.Findings); n > 0 {
		logState = fmt.Sprintf("the log MISBEHAVED: %s below (%s)", Count(n, "FINDING", "FINDINGS"), checked)
	}
	builds := "builds agree: no mismatch"
	if r.Mismatches > 0 {
		builds = "builds disagree: " + Count(r.Mismatches, "mismatch", "mismatches") + " (\"attestlog mismatches\" lists them)"
	}
	if !r.Saved {
		builds += " (the state did not advance)"
	}
	fmt.Fprintf(w, "%s %s: tree size %d -> %d, %s, %s; %s; %s\n",
		time.Now().UTC().Format(time.RFC3339), TermSafe(r.Origin), r.OldSize, r.Size, Count64(r.Entries, "new entry", "new entries"),
		Count(len(r.Claims), "new claim", "new claims"), logState, builds)
	for i, c := range r.Claims {
		if i == maxClaimLines {
			fmt.Fprintf(w, "  ... and %d more claims (--json lists all)\n", len(r.Claims)-i)
			break
		}
		if err := printMonitorClaim(w, c); err != nil {
			return err
		}
	}
	for _, f := range r.Findings {
		var at []string
		if f.Index != nil {
			at = append(at, fmt.Sprintf("entry %d", *f.Index))
		}
		if f.SHA256 != "" {
			at = append(at, "sha256 "+f.SHA256)
		}
		if f.Mismatch != "" {
			at = append(at, "mismatch "+TermSafe(f.Mismatch))
		}
		where := ""
		if len(at) > 0 {
			where = " (" + strings.Join(at, ", ") + ")"
		}
		fmt.Fprintf(w, "  FINDING %s%s: %s\n", f.Kind, TermSafe(where), TermSafe(f.Detail))
	}
	if r.Evidence != "" {
		fmt.Fprintf(w, "  evidence: %s\n", TermSafe(r.Evidence))
	}
	return nil
}

// printMonitorClaim prints one line per artifact of a new claim: its kind
// and scheme, what it says, and its signers' key IDs, with supplied fields
// marked [SuppliedMark]. A claim without its entry bytes is printed from
// its fields.
func printMonitorClaim(w io.Writer, c client.MonitorClaim) error {
	if len(c.Entry) == 0 {
		var keys []string
		for _, s := range c.Signers {
			keys = append(keys, strings.SplitN(s, "+", 2)[0])
		}
		for _, s := range c.Subjects {
			fmt.Fprintf(w, "  claim %d: %s@%s %s %s sha256 %s, by %s\n", c.Index, TermSafe(c.Source), TermSafe(c.Commit), TermSafe(c.Platform),
				TermSafe(s.Name), TermSafe(s.SHA256), TermSafeJoin(keys, ", "))
		}
		return nil
	}
	r, err := record.Decode(c.Entry)
	if err != nil {
		return fmt.Errorf("claim at index %d: %w", c.Index, err)
	}
	printRecordLines(w, c.Index, r, "")
	return nil
}

// PrintClaimLines prints, for each claim, one line per artifact (with a
// digest, only the artifacts with that digest, and without repeating it):
// the claim's index, kind and scheme, what it says, with supplied fields
// marked [SuppliedMark], and its signers' key IDs, all escaped.
func PrintClaimLines(w io.Writer, claims []client.ProvenClaim, digest string) error {
	for _, c := range claims {
		r, err := record.Decode(c.Entry)
		if err != nil {
			return fmt.Errorf("claim at index %d: %w", c.Index, err)
		}
		printRecordLines(w, c.Index, r, digest)
	}
	return nil
}

// printRecordLines prints one line per artifact of the claim r at index;
// with a digest, only those with that digest, which the line then leaves
// out.
func printRecordLines(w io.Writer, index int64, r *record.Record, digest string) {
	for _, s := range r.Subjects {
		if digest != "" && s.SHA256 != digest {
			continue
		}
		platform := s.Platform
		if platform == "" {
			platform = "-"
		}
		if digest != "" {
			src := SourceText(r)
			if src == "-" {
				src = "none (a claim without a source)"
			}
			recipe := ""
			if r.Recipe == "" && r.Supplied.Recipe != "" {
				recipe = ", recipe " + RecipeText(r)
			}
			fmt.Fprintf(w, "  claim %d: %s by %s: %s %s, source %s%s\n", index, KindText(r), SignersText(r), TermSafe(s.Name), TermSafe(platform), src, recipe)
			continue
		}
		fmt.Fprintf(w, "  claim %d (%s): %s %s %s sha256 %s, by %s\n", index, KindText(r), SourceText(r), TermSafe(platform),
			TermSafe(s.Name), TermSafe(s.SHA256), SignersText(r))
	}
}
