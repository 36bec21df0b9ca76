package format

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"

	"github.com/attestlog/attestlog/log/claim"
)

// OSS Rebuild's statement vocabulary (https://docs.oss-rebuild.dev).
// OSS Rebuild has written both payload types: its published bundles carry
// the statement's type URI (npm chalk 5.6.0's, kept in
// testdata/formats/oss-rebuild, does), its signer now writes the media
// type, and its own verifier accepts either; so does [MapOSSRebuild].
const (
	InTotoPayloadType            = "application/vnd.in-toto+json"
	InTotoStatementV1PayloadType = claim.StatementType
	OSSRebuildBuildType          = "https://docs.oss-rebuild.dev/builds/Rebuild@v0.1"
	ossRebuildSubject            = "rebuild/"
	ossRebuildRecipeFile         = "build.json"
)

// ErrNotABuild is wrapped (with [ErrMalformed]) by the error for a
// well-formed in-toto statement that is not a Rebuild attestation, such as
// the ArtifactEquivalence attestation OSS Rebuild publishes next to each
// Rebuild one in rebuild.intoto.jsonl: a reader of a whole bundle may skip
// such lines.
var ErrNotABuild = errors.New("only rebuild attestations claim a build")

// An Envelope is a DSSE envelope (https://github.com/secure-systems-lab/dsse):
//
//	{"payloadType": "<type>", "payload": "<base64>",
//	 "signatures": [{"keyid": "<text>", "sig": "<base64>"}, ...]}
//
// Each signature is over PAE(payloadType, payload) ([scheme.PAE]).
type Envelope struct {
	PayloadType string
	Payload     []byte
	Signatures  []EnvelopeSignature
}

// An EnvelopeSignature is one signature of an envelope; KeyID is
// informative (OSS Rebuild writes its KMS key's URI there).
type EnvelopeSignature struct {
	KeyID string
	Sig   []byte
}

// ParseEnvelope parses one DSSE envelope. It refuses JSON that the
// package's reader refuses, unknown fields, base64 other than canonical
// standard base64, an empty payload, and no signature or more than 16.
// The keyid of a signature may be absent or empty.
func ParseEnvelope(b []byte) (*Envelope, error) {
	v, err := decodeJSON(b)
	if err != nil {
		return nil, malformed("DSSE envelope", "%v", err)
	}
	e, err := parseEnvelope(v)
	if err != nil {
		return nil, malformed("DSSE envelope", "%v", err)
	}
	return e, nil
}

func parseEnvelope(v any) (*Envelope, error) {
	m, err := jsonObject(v, "envelope")
	if err != nil {
		return nil, err
	}
	if err := onlyKeys(m, "envelope", "payloadType", "payload", "signatures"); err != nil {
		return nil, err
	}
	if err := needKeys(m, "envelope", "payloadType", "payload", "signatures"); err != nil {
		return nil, err
	}
	e := &Envelope{}
	if e.PayloadType, err = jsonString(m["payloadType"], "payloadType"); err != nil {
		return nil, err
	}
	if e.Payload, err = base64Field(m["payload"], "payload"); err != nil {
		return nil, err
	}
	sigs, err := jsonArray(m["signatures"], "signatures")
	if err != nil {
		return nil, err
	}
	if len(sigs) == 0 || len(sigs) > maxSignatures {
		return nil, fmt.Errorf("signatures: %d, want 1 to %d", len(sigs), maxSignatures)
	}
	for i, s := range sigs {
		what := fmt.Sprintf("signatures[%d]", i)
		sm, err := jsonObject(s, what)
		if err != nil {
			return nil, err
		}
		if err := onlyKeys(sm, what, "keyid", "sig"); err != nil {
			return nil, err
		}
		if err := needKeys(sm, what, "sig"); err != nil {
			return nil, err
		}
		var es EnvelopeSignature
		if k, ok := sm["keyid"]; ok {
			if es.KeyID, err = jsonString(k, what+".keyid"); err != nil {
				return nil, err
			}
		}
		if es.Sig, err = base64Field(sm["sig"], what+".sig"); err != nil {
			return nil, err
		}
		e.Signatures = append(e.Signatures, es)
	}
	return e, nil
}

func base64Field(v any, field string) ([]byte, error) {
	s, err := jsonString(v, field)
	if err != nil {
		return nil, err
	}
	b, err := base64.StdEncoding.DecodeString(s)
	if err != nil || len(b) == 0 || base64.StdEncoding.EncodeToString(b) != s {
		return nil, fmt.Errorf("%s: not canonical standard base64 of a non-empty value", field)
	}
	return b, nil
}

// MapOSSRebuild maps the in-toto Statement v1 of an OSS Rebuild "Rebuild"
// attestation to a claim:
//
//   - the one subject "rebuild/<artifact>" with its sha256 is the artifact
//     <artifact>, which must be externalParameters.artifact; platform any
//     (npm, PyPI and crates.io artifacts are not built per platform);
//   - the one resolvedDependencies entry whose name starts "git+" gives the
//     source (normalised as log/claim does) and its digest.sha1 the commit;
//   - the recipe is the sha256 of the decoded content of the runDetails
//     byproduct "build.json" (the build strategy), none if it is absent.
//
// The payload type is [InTotoPayloadType] or [InTotoStatementV1PayloadType].
// Statements of another buildType (ArtifactEquivalence, which OSS Rebuild
// publishes in the same bundle) are refused with an error wrapping both
// [ErrMalformed] and [ErrNotABuild]: they claim no build. The caller sets
// Scheme and KeyID.
func MapOSSRebuild(payloadType string, payload []byte) (*Claim, error) {
	if payloadType != InTotoPayloadType && payloadType != InTotoStatementV1PayloadType {
		return nil, malformed("DSSE envelope", "payloadType %q, want %q or %q", truncate(payloadType), InTotoPayloadType, InTotoStatementV1PayloadType)
	}
	v, err := decodeJSON(payload)
	if err != nil {
		return nil, malformed("statement", "%v", err)
	}
	c, err := mapOSSRebuild(v)
	if errors.Is(err, ErrNotABuild) {
		return nil, fmt.Errorf("%w: statement: %w", ErrMalformed, err)
	}
	if err != nil {
		return nil, malformed("statement", "%v", err)
	}
	return c, nil
}

func mapOSSRebuild(v any) (*Claim, error) {
	st, err := jsonObject(v, "statement")
	if err != nil {
		return nil, err
	}
	if t, _ := st["_type"].(string); t != claim.StatementType {
		return nil, fmt.Errorf("_type: %q, want %q", truncate(t), claim.StatementType)
	}
	if t, _ := st["predicateType"].(string); t != claim.ProvenanceType {
		return nil, fmt.Errorf("predicateType: %q, want %q", truncate(t), claim.ProvenanceType)
	}
	pred, err := jsonObject(st["predicate"], "predicate")
	if err != nil {
		return nil, err
	}
	bd, err := jsonObject(pred["buildDefinition"], "predicate.buildDefinition")
	if err != nil {
		return nil, err
	}
	if t, _ := bd["buildType"].(string); t != OSSRebuildBuildType {
		return nil, fmt.Errorf("predicate.buildDefinition.buildType: %q, want %q: %w", truncate(t), OSSRebuildBuildType, ErrNotABuild)
	}
	ext, err := jsonObject(bd["externalParameters"], "predicate.buildDefinition.externalParameters")
	if err != nil {
		return nil, err
	}
	artifact, err := jsonString(ext["artifact"], "predicate.buildDefinition.externalParameters.artifact")
	if err != nil {
		return nil, err
	}
	c := &Claim{Kind: DSSE}
	sub, err := ossSubject(st["subject"], artifact)
	if err != nil {
		return nil, err
	}
	c.Subjects = []Subject{sub}
	if c.Source, c.Commit, err = ossSource(bd["resolvedDependencies"]); err != nil {
		return nil, err
	}
	if c.Recipe, err = ossRecipe(pred["runDetails"]); err != nil {
		return nil, err
	}
	return c, nil
}

func ossSubject(v any, artifact string) (Subject, error) {
	subs, err := jsonArray(v, "subject")
	if err != nil {
		return Subject{}, err
	}
	if len(subs) != 1 {
		return Subject{}, fmt.Errorf("subject: %d entries, want 1: the rebuilt artifact", len(subs))
	}
	s, err := jsonObject(subs[0], "subject[0]")
	if err != nil {
		return Subject{}, err
	}
	name, err := jsonString(s["name"], "subject[0].name")
	if err != nil {
		return Subject{}, err
	}
	base, ok := strings.CutPrefix(name, ossRebuildSubject)
	if !ok || base != artifact {
		return Subject{}, fmt.Errorf("subject[0].name: %q, want %q", truncate(name), ossRebuildSubject+truncate(artifact))
	}
	if err := checkName(base); err != nil {
		return Subject{}, fmt.Errorf("subject[0].name: %v", err)
	}
	d, err := jsonObject(s["digest"], "subject[0].digest")
	if err != nil {
		return Subject{}, err
	}
	h, err := jsonString(d["sha256"], "subject[0].digest.sha256")
	if err != nil {
		return Subject{}, err
	}
	if len(h) != 64 || !isLowerHex(h) {
		return Subject{}, fmt.Errorf("subject[0].digest.sha256: %q is not 64 lowercase hex digits", truncate(h))
	}
	return Subject{Name: base, SHA256: h, Platform: "any"}, nil
}

func ossSource(v any) (source, commit string, err error) {
	deps, err := jsonArray(v, "predicate.buildDefinition.resolvedDependencies")
	if err != nil {
		return "", "", err
	}
	found := 0
	for i, d := range deps {
		what := fmt.Sprintf("predicate.buildDefinition.resolvedDependencies[%d]", i)
		m, err := jsonObject(d, what)
		if err != nil {
			return "", "", err
		}
		name, _ := m["name"].(string)
		if !strings.HasPrefix(name, "git+") {
			continue
		}
		if found++; found > 1 {
			return "", "", fmt.Errorf("%s: a second git source %q", what, truncate(name))
		}
		if source, _, err = claim.NormaliseSource(name); err != nil {
			return "", "", fmt.Errorf("%s.name: %w", what, err)
		}
		dm, err := jsonObject(m["digest"], what+".digest")
		if err != nil {
			return "", "", err
		}
		sha1, _ := dm["sha1"].(string)
		if commit, err = claim.NormaliseCommit(sha1); err != nil {
			return "", "", fmt.Errorf("%s.digest.sha1: %w", what, err)
		}
		if commit != sha1 {
			return "", "", fmt.Errorf("%s.digest.sha1: %q is not lowercase", what, truncate(sha1))
		}
	}
	if found == 0 {
		return "", "", fmt.Errorf("predicate.buildDefinition.resolvedDependencies: no git source (a name starting \"git+\")")
	}
	return source, commit, nil
}

func ossRecipe(v any) (string, error) {
	rd, err := jsonObject(v, "predicate.runDetails")
	if err != nil {
		return "", err
	}
	bp, ok := rd["byproducts"]
	if !ok {
		return "", nil
	}
	items, err := jsonArray(bp, "predicate.runDetails.byproducts")
	if err != nil {
		return "", err
	}
	recipe := ""
	for i, it := range items {
		what := fmt.Sprintf("predicate.runDetails.byproducts[%d]", i)
		m, err := jsonObject(it, what)
		if err != nil {
			return "", err
		}
		if name, _ := m["name"].(string); name != ossRebuildRecipeFile {
			continue
		}
		if recipe != "" {
			return "", fmt.Errorf("%s: a second %s", what, ossRebuildRecipeFile)
		}
		content, err := base64Field(m["content"], what+".content")
		if err != nil {
			return "", err
		}
		h := sha256.Sum256(content)
		recipe = hex.EncodeToString(h[:])
	}
	return recipe, nil
}
