package format

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"regexp"
	"strings"

	"github.com/attestlog/attestlog/log/claim"
)

// A TrustedComment is a minisign trusted comment in attestlog's schema (see
// the package doc): minisign's own tab-separated key:value fields extended
// with source, commit, recipe, platform and sha256.
type TrustedComment struct {
	Fields []CommentField // in comment order
}

// A CommentField is one field of a trusted comment. The bare word "hashed"
// that minisign appends is a field with Key "hashed" and Bare set.
type CommentField struct {
	Key, Value string
	Bare       bool
}

// commentKeys are the keys of the schema; order does not matter.
var commentKeys = []string{"timestamp", "file", "hashed", "source", "commit", "recipe", "platform", "sha256"}

var (
	timestampRE = regexp.MustCompile(`^(0|[1-9][0-9]{0,18})$`)
	platformRE  = regexp.MustCompile(`^(any|[a-z0-9]+/[a-z0-9_]+(/[a-z0-9_.]+)?)$`)
)

// ParseTrustedComment parses a trusted comment in the schema of the package
// doc. It refuses unknown keys, a key twice, empty values, and values
// that are not in the form their key requires; FormatTrustedComment of the
// result returns s.
func ParseTrustedComment(s string) (*TrustedComment, error) {
	if s == "" {
		return nil, malformed("trusted comment", "empty")
	}
	tc := &TrustedComment{}
	seen := map[string]bool{}
	for i, part := range strings.Split(s, "\t") {
		what := fmt.Sprintf("trusted comment field %d", i+1)
		key, value, ok := strings.Cut(part, ":")
		f := CommentField{Key: key, Value: value}
		if !ok {
			if part != "hashed" {
				return nil, malformed(what, "%q is not key:value (keys: %s)", truncate(part), strings.Join(commentKeys, ", "))
			}
			f = CommentField{Key: "hashed", Bare: true}
		} else if key == "hashed" {
			return nil, malformed(what, "hashed takes no value")
		}
		known := false
		for _, k := range commentKeys {
			known = known || k == key
		}
		if !known {
			return nil, malformed(what, "unknown key %q (keys: %s)", truncate(key), strings.Join(commentKeys, ", "))
		}
		if seen[key] {
			return nil, malformed(what, "key %s appears twice", key)
		}
		seen[key] = true
		if err := checkCommentValue(key, value); !f.Bare && err != nil {
			return nil, malformed(what, "%s: %v", key, err)
		}
		tc.Fields = append(tc.Fields, f)
	}
	return tc, nil
}

// checkCommentValue checks value in the one spelling the schema allows for
// key: already normalised, so that the comment is canonical.
func checkCommentValue(key, value string) error {
	if value == "" {
		return fmt.Errorf("empty value")
	}
	var (
		norm string
		err  error
	)
	switch key {
	case "timestamp":
		if !timestampRE.MatchString(value) {
			return fmt.Errorf("%q is not a decimal Unix time", truncate(value))
		}
		return nil
	case "file":
		return checkName(value)
	case "source":
		var ref string
		norm, ref, err = claim.NormaliseSource(value)
		if err == nil && ref != "" {
			return fmt.Errorf("%q: an @ref is not part of a build identity; name the commit", truncate(value))
		}
	case "commit":
		norm, err = claim.NormaliseCommit(value)
	case "recipe", "sha256":
		if len(value) != 64 || !isLowerHex(value) {
			return fmt.Errorf("%q is not 64 lowercase hex digits", truncate(value))
		}
		return nil
	case "platform":
		if !platformRE.MatchString(value) {
			return fmt.Errorf("%q is not os/arch[/variant] or any", truncate(value))
		}
		return nil
	}
	if err != nil {
		return err
	}
	if norm != value {
		return fmt.Errorf("%q is not in normal form %q", truncate(value), truncate(norm))
	}
	return nil
}

// FormatTrustedComment returns the text of tc.
func FormatTrustedComment(tc *TrustedComment) string {
	parts := make([]string, len(tc.Fields))
	for i, f := range tc.Fields {
		if f.Bare {
			parts[i] = f.Key
		} else {
			parts[i] = f.Key + ":" + f.Value
		}
	}
	return strings.Join(parts, "\t")
}

// Get returns the value of key and whether tc has it.
func (tc *TrustedComment) Get(key string) (string, bool) {
	for _, f := range tc.Fields {
		if f.Key == key {
			return f.Value, true
		}
	}
	return "", false
}

// MapMinisign maps a verified minisign trusted comment to a claim with one
// subject, the file: the name from file:, the sha256 from sha256: or, when
// the comment has none, fileSHA256, which the caller computed from the
// file it verified the signature over (hex; empty if it has no file). When
// both are present they must agree. source: and commit: come together or
// not at all; platform: overrides the file name's ([ReleasePlatform]).
// The caller sets Scheme and KeyID.
func MapMinisign(trustedComment string, fileSHA256 string) (*Claim, error) {
	tc, err := ParseTrustedComment(trustedComment)
	if err != nil {
		return nil, err
	}
	if fileSHA256 != "" && (len(fileSHA256) != 64 || !isLowerHex(fileSHA256)) {
		return nil, fmt.Errorf("format: minisign: file digest %q is not 64 lowercase hex digits", truncate(fileSHA256))
	}
	name, ok := tc.Get("file")
	if !ok {
		return nil, malformed("trusted comment", "no file: field: a claim must name its file")
	}
	digest, signed := tc.Get("sha256")
	switch {
	case signed && fileSHA256 != "" && digest != fileSHA256:
		return nil, fmt.Errorf("format: minisign: the trusted comment names sha256 %s but the file's is %s", digest, fileSHA256)
	case !signed && fileSHA256 == "":
		return nil, malformed("trusted comment", "no sha256: field, and no file to compute it from: upload the file or sign its sha256")
	case !signed:
		digest = fileSHA256
	}
	platform := ReleasePlatform(name)
	if p, ok := tc.Get("platform"); ok {
		platform = p
	}
	c := &Claim{Kind: Minisign, Subjects: []Subject{{Name: name, SHA256: digest, Platform: platform}}}
	source, hasSource := tc.Get("source")
	commit, hasCommit := tc.Get("commit")
	if hasSource != hasCommit {
		return nil, malformed("trusted comment", "source: and commit: must come together: a source without its commit is no identity")
	}
	c.Source, c.Commit = source, commit
	c.Recipe, _ = tc.Get("recipe")
	return c, nil
}

// fileDigest returns the lowercase hex sha256 of b.
func fileDigest(b []byte) string {
	h := sha256.Sum256(b)
	return hex.EncodeToString(h[:])
}
