package report

import (
	"strings"

	"github.com/attestlog/attestlog/log/claim/record"
	"github.com/attestlog/attestlog/log/claim/scheme"
)

// SuppliedMark follows every field a submitter supplied beside a signed
// document: shown, never counted as the signer's word.
const SuppliedMark = "(supplied, unsigned)"

// SignerText names a signer of a claim for people: "<scheme> <key ID>",
// for example "openpgp 6B002C6EA3F91B1B0DF0C9BC8F617F1200A6D25C" or
// "note builder.example/alice+1a2b3c4d". It is not escaped.
func SignerText(s record.Signer) string {
	return string(s.Scheme) + " " + s.KeyID
}

// SignersText names every signer of r, comma-separated, escaped.
func SignersText(r *record.Record) string {
	names := make([]string, len(r.Signers))
	for i, s := range r.Signers {
		names[i] = SignerText(s)
	}
	return TermSafeJoin(names, ", ")
}

// SourceText says what source r names, escaped: "SOURCE@COMMIT" when
// signed (a Debian "deb:<source>@<version>" alone), the supplied source and
// commit followed by [SuppliedMark], or "-" for neither.
func SourceText(r *record.Record) string {
	switch {
	case r.Source != "" && r.Commit == "":
		return TermSafe(r.Source)
	case r.Source != "":
		return TermSafe(r.Source + "@" + Short(r.Commit))
	case r.Supplied.Source != "" || r.Supplied.Commit != "":
		s, c := r.Supplied.Source, Short(r.Supplied.Commit)
		if s == "" {
			s = "?"
		}
		if c == "" {
			return TermSafe(s) + " " + SuppliedMark
		}
		return TermSafe(s+"@"+c) + " " + SuppliedMark
	}
	return "-"
}

// RecipeText says what recipe r names, escaped and shortened: signed, or
// supplied and marked so, or "-".
func RecipeText(r *record.Record) string {
	switch {
	case r.Recipe != "":
		return TermSafe(Short(r.Recipe))
	case r.Supplied.Recipe != "":
		return TermSafe(Short(r.Supplied.Recipe)) + " " + SuppliedMark
	}
	return "-"
}

// SuppliedText lists the fields a submitter supplied beside r's signed
// document, escaped and marked [SuppliedMark]: "" if none, else for
// example "source git+https://... commit 0123... (supplied, unsigned)".
func SuppliedText(r *record.Record) string {
	var parts []string
	for _, f := range []struct{ name, v string }{{"source", r.Supplied.Source}, {"commit", r.Supplied.Commit}, {"recipe", r.Supplied.Recipe}} {
		if f.v != "" {
			parts = append(parts, f.name+" "+f.v)
		}
	}
	if len(parts) == 0 {
		return ""
	}
	return TermSafe(strings.Join(parts, " ")) + " " + SuppliedMark
}

// KindText says what kind of document r is and how it is signed, escaped:
// "sha256sums/openpgp", "dsse-slsa/note".
func KindText(r *record.Record) string {
	var schemes []string
	for _, s := range r.Signers {
		if !contains(schemes, string(s.Scheme)) {
			schemes = append(schemes, string(s.Scheme))
		}
	}
	if len(schemes) == 0 {
		schemes = []string{string(scheme.Note)}
	}
	return TermSafe(r.Kind + "/" + strings.Join(schemes, "+"))
}

func contains(xs []string, x string) bool {
	for _, y := range xs {
		if y == x {
			return true
		}
	}
	return false
}
