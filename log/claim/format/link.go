package format

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"slices"
)

// maxSignatures bounds the signatures of a link or an envelope.
const maxSignatures = 16

// A LinkDoc is in-toto link metadata v0.9 (ITE-1 layout of in-toto 0.9,
// as in-toto-run and rebuilderd write it):
//
//	{"signatures": [{"keyid": "<hex>", "sig": "<hex>"}, ...],
//	 "signed": {"_type": "link", "name": "...",
//	            "materials": {"<path>": {"<alg>": "<hex>"}},
//	            "products":  {"<path>": {"<alg>": "<hex>"}},
//	            "byproducts": {...}, "command": ["..."], "environment": {...} or null}}
//
// Each signature is over the canonical JSON of "signed" ([LinkDoc.SignedBytes]).
type LinkDoc struct {
	Name       string
	Materials  map[string]map[string]string // path -> algorithm -> lowercase hex
	Products   map[string]map[string]string
	Signatures []LinkSignature
	signed     any    // the decoded "signed" object
	doc        any    // the decoded document
	canonical  []byte // canonical JSON of signed
}

// A LinkSignature is one signature of a link: the signer's in-toto key ID
// (informative: attestlog keys are named by policy) and the signature
// bytes, hex-decoded.
type LinkSignature struct {
	KeyID string
	Sig   []byte
}

// ParseLink parses in-toto link metadata, as the type doc shows it. It
// refuses JSON that the package's reader refuses (duplicate keys, floats,
// invalid UTF-8), unknown fields at the top, in "signed" and in
// signatures, a "_type" other than "link", digests that are not lowercase
// hex (64 digits for sha256, 128 for sha512), hex signatures that are not
// lowercase, and no signature or more than 16.
func ParseLink(b []byte) (*LinkDoc, error) {
	v, err := decodeJSON(b)
	if err != nil {
		return nil, malformed("link", "%v", err)
	}
	l := &LinkDoc{doc: v}
	if err := l.parse(v); err != nil {
		return nil, malformed("link", "%v", err)
	}
	l.canonical = canonical(l.signed)
	return l, nil
}

func (l *LinkDoc) parse(v any) error {
	top, err := jsonObject(v, "document")
	if err != nil {
		return err
	}
	if err := onlyKeys(top, "document", "signatures", "signed"); err != nil {
		return err
	}
	if err := needKeys(top, "document", "signatures", "signed"); err != nil {
		return err
	}
	signed, err := jsonObject(top["signed"], "signed")
	if err != nil {
		return err
	}
	l.signed = signed
	fields := []string{"_type", "name", "materials", "products", "byproducts", "command", "environment"}
	if err := onlyKeys(signed, "signed", fields...); err != nil {
		return err
	}
	if err := needKeys(signed, "signed", fields...); err != nil {
		return err
	}
	if t, err := jsonString(signed["_type"], "signed._type"); err != nil {
		return err
	} else if t != "link" {
		return fmt.Errorf("signed._type: %q, want \"link\"", truncate(t))
	}
	if l.Name, err = jsonString(signed["name"], "signed.name"); err != nil {
		return err
	}
	if l.Materials, err = parseArtifacts(signed["materials"], "signed.materials"); err != nil {
		return err
	}
	if l.Products, err = parseArtifacts(signed["products"], "signed.products"); err != nil {
		return err
	}
	if _, err := jsonObject(signed["byproducts"], "signed.byproducts"); err != nil {
		return err
	}
	cmd, err := jsonArray(signed["command"], "signed.command")
	if err != nil {
		return err
	}
	for i, c := range cmd {
		if _, err := jsonString(c, fmt.Sprintf("signed.command[%d]", i)); err != nil {
			return err
		}
	}
	if env := signed["environment"]; env != nil {
		if _, err := jsonObject(env, "signed.environment"); err != nil {
			return fmt.Errorf("%v (or null)", err)
		}
	}
	sigs, err := jsonArray(top["signatures"], "signatures")
	if err != nil {
		return err
	}
	if len(sigs) == 0 || len(sigs) > maxSignatures {
		return fmt.Errorf("signatures: %d, want 1 to %d", len(sigs), maxSignatures)
	}
	for i, s := range sigs {
		what := fmt.Sprintf("signatures[%d]", i)
		m, err := jsonObject(s, what)
		if err != nil {
			return err
		}
		if err := onlyKeys(m, what, "keyid", "sig"); err != nil {
			return err
		}
		if err := needKeys(m, what, "keyid", "sig"); err != nil {
			return err
		}
		keyID, err := jsonString(m["keyid"], what+".keyid")
		if err != nil {
			return err
		}
		h, err := jsonString(m["sig"], what+".sig")
		if err != nil {
			return err
		}
		sig, err := hex.DecodeString(h)
		if err != nil || len(sig) == 0 || hex.EncodeToString(sig) != h {
			return fmt.Errorf("%s.sig: not lowercase hex", what)
		}
		l.Signatures = append(l.Signatures, LinkSignature{KeyID: keyID, Sig: sig})
	}
	return nil
}

// parseArtifacts reads a materials or products object.
func parseArtifacts(v any, field string) (map[string]map[string]string, error) {
	m, err := jsonObject(v, field)
	if err != nil {
		return nil, err
	}
	out := make(map[string]map[string]string, len(m))
	for p, d := range m {
		what := fmt.Sprintf("%s[%q]", field, truncate(p))
		dm, err := jsonObject(d, what)
		if err != nil {
			return nil, err
		}
		digests := make(map[string]string, len(dm))
		for alg, h := range dm {
			s, err := jsonString(h, what+"."+alg)
			if err != nil {
				return nil, err
			}
			want := map[string]int{"sha256": 64, "sha512": 128}[alg]
			if s == "" || !isLowerHex(s) || len(s)%2 != 0 || (want != 0 && len(s) != want) {
				return nil, fmt.Errorf("%s.%s: %q is not a lowercase hex digest", what, truncate(alg), truncate(s))
			}
			digests[alg] = s
		}
		out[p] = digests
	}
	return out, nil
}

// SignedBytes returns the canonical JSON of the link's "signed" object, the
// bytes its signatures are over.
func (l *LinkDoc) SignedBytes() []byte { return slices.Clone(l.canonical) }

// Canonical returns the canonical JSON of the whole link document: one
// spelling for every way of writing the same link.
func (l *LinkDoc) Canonical() []byte { return canonical(l.doc) }

// MapLink maps a link to a claim: one subject per product, which must be a
// file basename with a sha256, with the platform of its file name
// ([PackagePlatform]); the recipe is the sha256 of the one material when
// there is exactly one (rebuilderd's: the .buildinfo it rebuilt), else the
// sha256 of the canonical JSON of the materials object, and none when there
// are no materials. A link names no source, so the claim is digest-only.
// The caller sets Scheme and KeyID.
func MapLink(l *LinkDoc) (*Claim, error) {
	c := &Claim{Kind: Link}
	names := make([]string, 0, len(l.Products))
	for p := range l.Products {
		names = append(names, p)
	}
	slices.Sort(names)
	for _, p := range names {
		if err := checkName(p); err != nil {
			return nil, malformed("link", "signed.products: %v", err)
		}
		h, ok := l.Products[p]["sha256"]
		if !ok {
			return nil, malformed("link", "signed.products[%q]: no sha256 digest", truncate(p))
		}
		c.Subjects = append(c.Subjects, Subject{Name: p, SHA256: h, Platform: PackagePlatform(p)})
	}
	if len(c.Subjects) == 0 {
		return nil, malformed("link", "signed.products: empty: a link without products claims no artifact")
	}
	switch len(l.Materials) {
	case 0:
	case 1:
		for p, d := range l.Materials {
			h, ok := d["sha256"]
			if !ok {
				return nil, malformed("link", "signed.materials[%q]: no sha256 digest", truncate(p))
			}
			c.Recipe = h
		}
	default:
		h := sha256.Sum256(canonical(l.signed.(map[string]any)["materials"]))
		c.Recipe = hex.EncodeToString(h[:])
	}
	return c, nil
}
