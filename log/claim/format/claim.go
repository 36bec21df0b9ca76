package format

import (
	"errors"
	"fmt"
	"path"
	"strings"
	"unicode/utf8"

	"github.com/attestlog/attestlog/log/claim"
	"github.com/attestlog/attestlog/log/claim/scheme"
)

// A Kind names the form of a signed document: the "format" header line of
// an attestlog.dev/claim/v2 entry.
type Kind string

// The document kinds this package reads.
const (
	SHA256Sums Kind = "sha256sums" // coreutils sha256sum output (guix.sigs SHA256SUMS)
	Buildinfo  Kind = "buildinfo"  // Debian .buildinfo (deb822)
	Minisign   Kind = "minisign"   // a minisign signature file and its trusted comment
	Link       Kind = "link"       // in-toto link v0.9 metadata (rebuilderd)
	DSSE       Kind = "dsse"       // DSSE envelope with an in-toto Statement v1 (OSS Rebuild)
)

// Kinds lists every kind, in the order the package doc describes them.
var Kinds = []Kind{SHA256Sums, Buildinfo, Minisign, Link, DSSE}

// ParseKind returns the Kind named s, or an error listing the kinds.
func ParseKind(s string) (Kind, error) {
	for _, k := range Kinds {
		if string(k) == s {
			return k, nil
		}
	}
	names := make([]string, len(Kinds))
	for i, k := range Kinds {
		names[i] = string(k)
	}
	return "", fmt.Errorf("format: unknown format %q: want one of %s", truncate(s), strings.Join(names, ", "))
}

// ErrMalformed is wrapped by every error that means a document is not in
// the form its kind requires; the message names the line or field.
var ErrMalformed = errors.New("format: malformed document")

// A Claim is what a signed document says about a build, mapped by the rules
// of the package doc. Every field except Supplied is covered by the
// signature (directly, or derived from signed bytes by a documented rule);
// a field the signature does not cover is empty. Supplied holds what the
// submitter added, which never enters an identity.
type Claim struct {
	Kind   Kind
	Scheme scheme.Scheme // the signature's scheme
	KeyID  string        // the signer's key ID ([scheme.Verifier.KeyID])

	// Source is "git+https://host/path" (normalised as log/claim does) or
	// "deb:<source>@<version>" for a Debian source package; empty when the
	// signature names no source.
	Source string
	// Commit is the full git commit of a git Source; empty for a deb:
	// source, which its version fixes.
	Commit string
	// SourceDigest is the sha256 of the Debian .dsc, when the buildinfo
	// lists it.
	SourceDigest string
	// Recipe is the sha256 of what fixes the build, as each kind defines it.
	Recipe   string
	Subjects []Subject
	Supplied Annotations
}

// A Subject is one artifact a document names.
type Subject struct {
	Name   string // file basename
	SHA256 string // 64 lowercase hex digits
	// Platform is "os/arch[/variant]" or "any", derived by the package
	// doc's tables from signed bytes; empty when unknown, and then the
	// subject forms no identity.
	Platform string
}

// Annotations are claim fields a submitter supplies beside a signed
// document, for example the git commit of a release tag that a SHA256SUMS
// file does not name. They are shown, marked as supplied, and never
// counted as the signer's word.
type Annotations struct {
	Source string // normalised source URI
	Commit string // full commit hash
	Recipe string // sha256
}

// IsZero reports whether a holds nothing.
func (a Annotations) IsZero() bool { return a == Annotations{} }

// Field names a claim field, for saying which ones a signature covers.
type Field string

// The claim fields.
const (
	FieldSource       Field = "source"
	FieldCommit       Field = "commit"
	FieldSourceDigest Field = "source_digest"
	FieldRecipe       Field = "recipe"
	FieldPlatform     Field = "platform"
	FieldSubjects     Field = "subjects"
)

// Signed returns the fields c's signature covers, in the order of the
// constants above. Subjects are always signed; platform is signed when at
// least one subject has a known one.
func (c *Claim) Signed() []Field {
	var fs []Field
	for _, f := range []struct {
		f  Field
		on bool
	}{
		{FieldSource, c.Source != ""},
		{FieldCommit, c.Commit != ""},
		{FieldSourceDigest, c.SourceDigest != ""},
		{FieldRecipe, c.Recipe != ""},
		{FieldPlatform, c.hasPlatform()},
		{FieldSubjects, len(c.Subjects) > 0},
	} {
		if f.on {
			fs = append(fs, f.f)
		}
	}
	return fs
}

func (c *Claim) hasPlatform() bool {
	for _, s := range c.Subjects {
		if s.Platform != "" {
			return true
		}
	}
	return false
}

// DigestOnly reports whether c forms no build identity: its signature names
// no source (or a git source without a commit). Such a claim vouches for
// digests under file names only.
func (c *Claim) DigestOnly() bool {
	switch {
	case strings.HasPrefix(c.Source, "deb:"):
		return false
	case c.Source != "" && c.Commit != "":
		return false
	}
	return true
}

// Identities returns the build identity of each subject that has one, in
// subject order: none for a digest-only claim, and none for a subject of
// unknown platform. Only signed fields enter an identity. A deb: source
// has an empty Commit: the Debian archive never reuses a version.
func (c *Claim) Identities() []claim.Identity {
	if c.DigestOnly() {
		return nil
	}
	var ids []claim.Identity
	for _, s := range c.Subjects {
		if s.Platform == "" {
			continue
		}
		ids = append(ids, claim.Identity{Source: c.Source, Commit: c.Commit, Platform: s.Platform, Artifact: s.Name})
	}
	return ids
}

// setSupplied records the submitter's annotations, refusing any that the
// signature already covers: a field is either the signer's or the
// submitter's, never both.
func (c *Claim) setSupplied(a Annotations) error {
	switch {
	case a.Source != "" && c.Source != "":
		return fmt.Errorf("format: supplied source %q: the signed document already names source %q", a.Source, c.Source)
	case a.Commit != "" && (c.Commit != "" || strings.HasPrefix(c.Source, "deb:")):
		return fmt.Errorf("format: supplied commit %q: the signed document already fixes the source", a.Commit)
	case a.Recipe != "" && c.Recipe != "":
		return fmt.Errorf("format: supplied recipe %q: the signed document already names recipe %q", a.Recipe, c.Recipe)
	}
	var err error
	if a.Source != "" {
		if a.Source, _, err = claim.NormaliseSource(a.Source); err != nil {
			return fmt.Errorf("format: supplied source: %w", err)
		}
	}
	if a.Commit != "" {
		if a.Commit, err = claim.NormaliseCommit(a.Commit); err != nil {
			return fmt.Errorf("format: supplied commit: %w", err)
		}
	}
	if a.Recipe != "" {
		if a.Recipe, err = claim.NormaliseDigest(a.Recipe); err != nil {
			return fmt.Errorf("format: supplied recipe: %w", err)
		}
	}
	c.Supplied = a
	return nil
}

// checkName checks that a subject name is a file basename people can read.
func checkName(name string) error {
	if !utf8.ValidString(name) {
		return fmt.Errorf("file name %q is not valid UTF-8", name)
	}
	if err := claim.CheckText(name); err != nil {
		return fmt.Errorf("file name %q: %v", name, err)
	}
	if name == "" || name == "." || name == ".." || path.Base(name) != name || strings.Contains(name, `\`) {
		return fmt.Errorf("file name %q is not a file basename", name)
	}
	return nil
}

// malformed returns an error wrapping ErrMalformed.
func malformed(what, format string, args ...any) error {
	return fmt.Errorf("%w: %s: %s", ErrMalformed, what, fmt.Sprintf(format, args...))
}

// truncate shortens s for an error message.
func truncate(s string) string {
	const max = 80
	if len(s) <= max {
		return s
	}
	return s[:max] + "..."
}

// Supply records the submitter's annotations a on c as [Open] does: it
// normalises them and refuses a field the signature already covers. It is
// for callers that verify a document in parts, as log/claim/record does
// for a minisign entry whose file is not at hand.
func (c *Claim) Supply(a Annotations) error { return c.setSupplied(a) }
