package report

import (
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/attestlog/attestlog/log/claim/record"
)

// PrintMismatchHeader prints the line that names a mismatch.
func PrintMismatchHeader(w io.Writer, m Mismatch) {
	fmt.Fprintf(w, "mismatch %s: %s %s %s (created by claim %d)\n", TermSafe(m.ID), TermSafe(sourceAt(m.Source, m.Commit)), TermSafe(m.Platform), TermSafe(m.Artifact), m.Claim)
}

// PrintMismatch prints a mismatch: the line that names it, then one line
// per digest with its claims, recipes and whether the log archived it.
func PrintMismatch(w io.Writer, m Mismatch) {
	PrintMismatchClaims(w, m, nil)
}

// PrintMismatchClaims is [PrintMismatch] followed, under each digest, by one
// line per claim that claims has (verified claims, by index): its kind and
// scheme and its signers' key IDs.
func PrintMismatchClaims(w io.Writer, m Mismatch, claims map[int64]*record.Record) {
	PrintMismatchHeader(w, m)
	for _, d := range m.Digests {
		idx := make([]string, len(d.ClaimIndexes))
		for i, n := range d.ClaimIndexes {
			idx[i] = fmt.Sprint(n)
		}
		var recipes []string // one per claim: each recipe once
		for _, r := range d.Recipes {
			if !slices.Contains(recipes, Short(r)) {
				recipes = append(recipes, Short(r))
			}
		}
		fmt.Fprintf(w, "  sha256 %s  %s %s  %s %s  archived %s\n",
			TermSafe(d.SHA256), Plural(len(idx), "claim", "claims"), strings.Join(idx, ","),
			Plural(len(recipes), "recipe", "recipes"), TermSafeJoin(recipes, ","), YesNo(d.Archived))
		for _, n := range d.ClaimIndexes {
			if r := claims[n]; r != nil {
				supplied := ""
				if t := SuppliedText(r); t != "" {
					supplied = "; " + t
				}
				fmt.Fprintf(w, "    claim %d: %s by %s%s\n", n, KindText(r), SignersText(r), supplied)
			}
		}
	}
}

// Mismatch is a mismatch as attestlog shows it, and its JSON form, printed by mismatches
// --json and written by evidence pull as mismatch.json. ID is the identity
// ID, which names the mismatch; Claim the index of the claim that created
// it and Subject the position of the build's artifact in that claim.
type Mismatch struct {
	ID       string           `json:"id"`
	Claim    int64            `json:"claim"`
	Subject  int              `json:"subject"`
	Source   string           `json:"source"`
	Commit   string           `json:"commit"`
	Platform string           `json:"platform"`
	Artifact string           `json:"artifact"`
	Digests  []MismatchDigest `json:"digests"`
}

// A MismatchDigest is one digest of a mismatch's build: the claims that
// name it, their recipes, and whether the log archived the binary.
type MismatchDigest struct {
	SHA256       string   `json:"sha256"`
	ClaimIndexes []int64  `json:"claim_indexes"`
	Recipes      []string `json:"recipes"`
	Archived     bool     `json:"archived"`
}
