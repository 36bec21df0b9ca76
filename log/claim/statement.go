package claim

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"path"
	"strings"
	"unicode/utf8"
)

const (
	// StatementType is the in-toto Statement v1 _type.
	StatementType = "https://in-toto.io/Statement/v1"
	// ProvenanceType is the SLSA Provenance v1 predicateType.
	ProvenanceType = "https://slsa.dev/provenance/v1"
)

// ErrInvalidClaim is wrapped by every error of [ParseStatement]; the message
// names the offending field.
var ErrInvalidClaim = errors.New("claim: invalid claim")

// A Claim is the normalised content of a build claim's Statement.
type Claim struct {
	Subjects  []Subject
	Source    string // normalised source URI, without its @ref, e.g. "git+https://example.org/hello"
	SourceRef string // the @ref annotation of the source URI, if any, e.g. "refs/tags/v1.0"
	Commit    string // full commit hash, 40 or 64 lowercase hex digits
	Recipe    string // sha256 of what fixes the build, 64 lowercase hex digits
	Platform  string // "os/arch[/variant]" or "any"
	BuilderID string // runDetails.builder.id: informative; keys are the trust anchor
}

// A Subject is one artifact of a build.
type Subject struct {
	Name   string // file basename
	SHA256 string // 64 lowercase hex digits
}

// An Identity is what a build is: two claims with one identity and different
// artifact digests are a mismatch.
type Identity struct {
	Source, Commit, Platform, Artifact string
}

// Identities returns the build identity of each subject of c, in order.
func (c *Claim) Identities() []Identity {
	ids := make([]Identity, len(c.Subjects))
	for i, s := range c.Subjects {
		ids[i] = Identity{Source: c.Source, Commit: c.Commit, Platform: c.Platform, Artifact: s.Name}
	}
	return ids
}

// The JSON shapes of the profile; unknown fields are allowed in the
// predicate (SLSA has many optional ones) but not in the Statement itself.
type statement struct {
	Type          string          `json:"_type"`
	Subject       []subjectJSON   `json:"subject"`
	PredicateType string          `json:"predicateType"`
	Predicate     json.RawMessage `json:"predicate"`
}

type subjectJSON struct {
	Name   string            `json:"name"`
	Digest map[string]string `json:"digest"`
}

type provenance struct {
	BuildDefinition buildDefinition `json:"buildDefinition"`
	RunDetails      runDetails      `json:"runDetails"`
}

type buildDefinition struct {
	BuildType            string               `json:"buildType"`
	ExternalParameters   externalParameters   `json:"externalParameters"`
	ResolvedDependencies []resolvedDependency `json:"resolvedDependencies"`
}

type externalParameters struct {
	Recipe   *recipeJSON `json:"recipe"`
	Platform string      `json:"platform"`
}

type recipeJSON struct {
	Digest map[string]string `json:"digest"`
}

type resolvedDependency struct {
	URI    string            `json:"uri"`
	Digest map[string]string `json:"digest"`
}

type runDetails struct {
	Builder struct {
		ID string `json:"id"`
	} `json:"builder"`
}

// isLowerHex reports whether s is n lowercase hex digits.
func isLowerHex(s string, n int) bool {
	if len(s) != n {
		return false
	}
	for i := range len(s) {
		if c := s[i]; !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return false
		}
	}
	return true
}

// isPlatform reports whether p matches
// ^(any|[a-z0-9]+/[a-z0-9_]+(/[a-z0-9_.]+)?)$ (checked without the regexp,
// which cost as much as the rest of the claim's checks).
func isPlatform(p string) bool {
	if p == "any" {
		return true
	}
	os, rest, ok := strings.Cut(p, "/")
	if !ok || !platformPart(os, "") {
		return false
	}
	arch, variant, hasVariant := strings.Cut(rest, "/")
	return platformPart(arch, "_") && (!hasVariant || platformPart(variant, "_."))
}

// platformPart reports whether s is not empty and holds only a-z, 0-9 and
// the bytes of extra.
func platformPart(s, extra string) bool {
	for i := range len(s) {
		if c := s[i]; !('a' <= c && c <= 'z' || '0' <= c && c <= '9' || strings.IndexByte(extra, c) >= 0) {
			return false
		}
	}
	return s != ""
}

// ParseStatement parses and normalises the in-toto Statement of a claim (the
// DSSE payload), following the profile in the package doc.
func ParseStatement(payload []byte) (*Claim, error) { return parseStatement(payload, true) }

// parseStatement is ParseStatement, trying scanStatement first if scan is
// set; without it, it is the encoding/json path alone, which tests compare
// against.
func parseStatement(payload []byte, scan bool) (*Claim, error) {
	var (
		st      statement
		p       provenance
		scanned bool
	)
	if scan {
		st, p, scanned = scanStatement(payload)
	}
	if !scanned {
		if err := checkJSON(payload); err != nil {
			return invalid("payload", "%v", err)
		}
		d := json.NewDecoder(bytes.NewReader(payload))
		d.DisallowUnknownFields()
		if err := d.Decode(&st); err != nil {
			return invalid("payload", "not an in-toto Statement: %v", err)
		}
	}
	if st.Type != StatementType {
		return invalid("_type", "%q, want %q", st.Type, StatementType)
	}
	if st.PredicateType != ProvenanceType {
		return invalid("predicateType", "%q, want %q", st.PredicateType, ProvenanceType)
	}
	c := &Claim{}
	if len(st.Subject) == 0 {
		return invalid("subject", "no artifacts")
	}
	seen := make(map[string]bool, len(st.Subject))
	for i, s := range st.Subject {
		sub, err := parseSubject(s)
		if err != nil {
			return invalid(fmt.Sprintf("subject[%d]", i), "%v", err)
		}
		if seen[sub.Name] {
			return invalid(fmt.Sprintf("subject[%d].name", i), "%q appears twice", sub.Name)
		}
		seen[sub.Name] = true
		c.Subjects = append(c.Subjects, sub)
	}
	if !scanned {
		if err := json.Unmarshal(st.Predicate, &p); err != nil || len(st.Predicate) == 0 {
			return invalid("predicate", "not a SLSA Provenance v1 predicate: %v", err)
		}
	}
	bd := p.BuildDefinition
	if n := len(bd.ResolvedDependencies); n != 1 {
		return invalid("predicate.buildDefinition.resolvedDependencies", "%d entries, want exactly 1: the source", n)
	}
	dep := bd.ResolvedDependencies[0]
	var err error
	if c.Source, c.SourceRef, err = NormaliseSource(dep.URI); err != nil {
		return invalid("predicate.buildDefinition.resolvedDependencies[0].uri", "%v", err)
	}
	if c.Commit, err = NormaliseCommit(dep.Digest["gitCommit"]); err != nil {
		return invalid("predicate.buildDefinition.resolvedDependencies[0].digest.gitCommit", "%v", err)
	}
	if bd.ExternalParameters.Recipe == nil {
		return invalid("predicate.buildDefinition.externalParameters.recipe", "missing")
	}
	if c.Recipe, err = normaliseSHA256(bd.ExternalParameters.Recipe.Digest["sha256"]); err != nil {
		return invalid("predicate.buildDefinition.externalParameters.recipe.digest.sha256", "%v", err)
	}
	if c.Platform = strings.ToLower(bd.ExternalParameters.Platform); !isPlatform(c.Platform) {
		return invalid("predicate.buildDefinition.externalParameters.platform", "%q is not os/arch[/variant] or any", bd.ExternalParameters.Platform)
	}
	if c.BuilderID = p.RunDetails.Builder.ID; c.BuilderID == "" {
		return invalid("predicate.runDetails.builder.id", "missing")
	} else if err := checkText(c.BuilderID); err != nil {
		return invalid("predicate.runDetails.builder.id", "%q: %v", c.BuilderID, err)
	}
	return c, nil
}

// invalid is ParseStatement's error about a field of the statement.
func invalid(field, format string, args ...any) (*Claim, error) {
	return nil, fmt.Errorf("%w: %s: %s", ErrInvalidClaim, field, fmt.Sprintf(format, args...))
}

func parseSubject(s subjectJSON) (Subject, error) {
	if err := checkText(s.Name); err != nil {
		return Subject{}, fmt.Errorf("name %q: %v", s.Name, err)
	}
	if s.Name == "" || s.Name == "." || s.Name == ".." || path.Base(s.Name) != s.Name {
		return Subject{}, fmt.Errorf("name %q is not a file basename", s.Name)
	}
	// The first weak algorithm in key order, so that the error does not
	// depend on the map's order.
	weak := ""
	for alg := range s.Digest {
		if a := strings.ToLower(alg); (a == "sha1" || a == "md5") && (weak == "" || alg < weak) {
			weak = alg
		}
	}
	if weak != "" {
		return Subject{}, fmt.Errorf("digest.%s: %s is too weak for an artifact digest; give sha256", weak, strings.ToLower(weak))
	}
	d, ok := s.Digest["sha256"]
	if !ok {
		return Subject{}, errors.New("digest.sha256 missing")
	}
	h, err := normaliseSHA256(d)
	if err != nil {
		return Subject{}, fmt.Errorf("digest.sha256: %v", err)
	}
	return Subject{Name: s.Name, SHA256: h}, nil
}

// normaliseSHA256 lowercases a hex SHA-256 digest and drops a "sha256:" prefix.
func normaliseSHA256(d string) (string, error) {
	h := strings.ToLower(strings.TrimPrefix(strings.TrimPrefix(d, "sha256:"), "SHA256:"))
	if !isLowerHex(h, 64) {
		return "", fmt.Errorf("%q is not 64 hex digits", d)
	}
	return h, nil
}

// NormaliseDigest normalises an artifact's sha256 as claims index it: 64
// lowercase hex digits, an optional "sha256:" prefix dropped.
func NormaliseDigest(d string) (string, error) { return normaliseSHA256(d) }

// NormaliseCommit lowercases a full git commit hash, 40 (SHA-1) or 64
// (SHA-256) hex digits. Abbreviated hashes, branch and tag names are refused.
func NormaliseCommit(c string) (string, error) {
	h := strings.ToLower(c)
	if !isLowerHex(h, 40) && !isLowerHex(h, 64) {
		if c == "" {
			return "", errors.New("missing")
		}
		return "", fmt.Errorf("%q is not a full commit hash (40 or 64 hex digits); a branch, tag or short hash is not a build identity", c)
	}
	return h, nil
}

// NormaliseSource normalises a source URI "git+https://host/path[@ref]": the
// scheme and host are lowercased, every trailing "/" and ".git" dropped, and
// the @ref suffix returned apart; a normalised source normalises to itself. User info, queries and fragments are refused.
func NormaliseSource(uri string) (source, ref string, err error) {
	if err := checkText(uri); err != nil {
		return "", "", fmt.Errorf("%q: %v", uri, err)
	}
	u, err := url.Parse(uri)
	switch {
	case err != nil:
		return "", "", fmt.Errorf("%q is not a URI: %v", uri, err)
	case strings.ToLower(u.Scheme) != "git+https":
		return "", "", fmt.Errorf("%q: scheme is not git+https", uri)
	case u.User != nil:
		return "", "", fmt.Errorf("%q: user info (credentials) in a source URI", uri)
	case u.Host == "" || u.Opaque != "":
		return "", "", fmt.Errorf("%q: no host", uri)
	case u.RawQuery != "" || u.Fragment != "" || strings.ContainsAny(uri, "?#"):
		return "", "", fmt.Errorf("%q: query or fragment in a source URI", uri)
	}
	p := u.Path
	if strings.ContainsAny(p, "?#") {
		return "", "", fmt.Errorf("%q: percent-escapes that decode to ? or # in a source URI", uri)
	}
	if i := strings.LastIndex(p, "@"); i >= 0 {
		p, ref = p[:i], p[i+1:]
		if ref == "" || strings.Contains(p, "@") {
			return "", "", fmt.Errorf("%q: an @ref must be one suffix and not empty", uri)
		}
	}
	// Every trailing "/" and ".git", so that a normalised source
	// normalises to itself ("x.git.git" gives "x", not "x.git").
	for {
		q := strings.TrimSuffix(strings.TrimSuffix(p, "/"), ".git")
		if q == p {
			break
		}
		p = q
	}
	if p == "" || p != path.Clean(p) {
		return "", "", fmt.Errorf("%q: no repository path", uri)
	}
	source = "git+https://" + strings.ToLower(u.Host) + p
	// Percent-escapes in the host and path decode to any byte: check what
	// they decoded to as well.
	for _, s := range []string{source, ref} {
		if !utf8.ValidString(s) {
			return "", "", fmt.Errorf("%q: percent-escapes that are not UTF-8", uri)
		}
		if err := checkText(s); err != nil {
			return "", "", fmt.Errorf("%q decodes to %q: %v", uri, s, err)
		}
	}
	return source, ref, nil
}

// scanStatement decodes a statement and its predicate as ParseStatement's
// encoding/json path does, in one pass, or reports that it leaves payload
// to that path (see scan.go). The statement's Predicate stays nil; one
// without a predicate is left to that path, which refuses it.
func scanStatement(payload []byte) (st statement, p provenance, ok bool) {
	s := &jsonScanner{b: payload}
	hasPredicate := false
	ok = s.object(func(key []byte) bool {
		var ok bool
		switch string(key) {
		case "_type":
			st.Type, ok = s.stringValue()
		case "predicateType":
			st.PredicateType, ok = s.stringValue()
		case "subject":
			st.Subject = []subjectJSON{}
			ok = s.array(func() bool {
				var sub subjectJSON
				ok := s.object(func(key []byte) bool {
					var ok bool
					switch string(key) {
					case "name":
						sub.Name, ok = s.stringValue()
					case "digest":
						sub.Digest, ok = s.stringMap()
					}
					return ok
				})
				st.Subject = append(st.Subject, sub)
				return ok
			})
		case "predicate":
			hasPredicate, ok = true, s.provenance(&p)
		}
		return ok
	})
	return st, p, ok && hasPredicate && s.end()
}

// provenance reads a predicate as encoding/json decodes it into p: fields
// it does not know are skipped, which checkJSON still checks.
func (s *jsonScanner) provenance(p *provenance) bool {
	return s.object(func(key []byte) bool {
		switch string(key) {
		case "buildDefinition":
			return s.buildDefinition(&p.BuildDefinition)
		case "runDetails":
			return s.object(func(key []byte) bool {
				if string(key) != "builder" {
					return s.otherField(key, "builder")
				}
				return s.object(func(key []byte) bool {
					if string(key) != "id" {
						return s.otherField(key, "id")
					}
					var ok bool
					p.RunDetails.Builder.ID, ok = s.stringValue()
					return ok
				})
			})
		}
		return s.otherField(key, "buildDefinition", "runDetails")
	})
}

func (s *jsonScanner) buildDefinition(bd *buildDefinition) bool {
	return s.object(func(key []byte) bool {
		var ok bool
		switch string(key) {
		case "buildType":
			bd.BuildType, ok = s.stringValue()
		case "externalParameters":
			ok = s.externalParameters(&bd.ExternalParameters)
		case "resolvedDependencies":
			bd.ResolvedDependencies = []resolvedDependency{}
			ok = s.array(func() bool {
				var dep resolvedDependency
				ok := s.object(func(key []byte) bool {
					var ok bool
					switch string(key) {
					case "uri":
						dep.URI, ok = s.stringValue()
					case "digest":
						dep.Digest, ok = s.stringMap()
					default:
						ok = s.otherField(key, "uri", "digest")
					}
					return ok
				})
				bd.ResolvedDependencies = append(bd.ResolvedDependencies, dep)
				return ok
			})
		default:
			ok = s.otherField(key, "buildType", "externalParameters", "resolvedDependencies")
		}
		return ok
	})
}

func (s *jsonScanner) externalParameters(ep *externalParameters) bool {
	return s.object(func(key []byte) bool {
		var ok bool
		switch string(key) {
		case "recipe":
			ep.Recipe = &recipeJSON{}
			ok = s.object(func(key []byte) bool {
				if string(key) != "digest" {
					return s.otherField(key, "digest")
				}
				var ok bool
				ep.Recipe.Digest, ok = s.stringMap()
				return ok
			})
		case "platform":
			ep.Platform, ok = s.stringValue()
		default:
			ok = s.otherField(key, "recipe", "platform")
		}
		return ok
	})
}
