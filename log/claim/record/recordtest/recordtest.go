// Package recordtest makes signed documents and v2 claim entries of every
// kind in Go, with deterministic keys, for other packages' tests: a log
// test can submit a minisign or an OSS Rebuild claim without the tools
// installed. The signatures are real (each scheme's own algorithm), so the
// entries verify with log/claim/record exactly as the tools' do; tests
// that need documents made by the tools themselves make them with the
// tools (see log/claim/format's tests).
//
// It is imported only from _test.go files.
package recordtest

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	cryptorand "crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"

	"golang.org/x/crypto/blake2b"
	"golang.org/x/mod/sumdb/note"

	"github.com/attestlog/attestlog/log/claim"
	"github.com/attestlog/attestlog/log/claim/format"
	"github.com/attestlog/attestlog/log/claim/record"
	"github.com/attestlog/attestlog/log/claim/scheme"
)

// TB is the part of testing.TB this package uses.
type TB interface {
	Helper()
	Fatal(args ...any)
	Fatalf(format string, args ...any)
}

// SHA256 returns the lowercase hex sha256 of b.
func SHA256(b []byte) string {
	h := sha256.Sum256(b)
	return hex.EncodeToString(h[:])
}

// Sums returns a SHA256SUMS file, as sha256sum writes it, for files (name
// to content), in name order.
func Sums(files map[string][]byte) []byte {
	names := make([]string, 0, len(files))
	for n := range files {
		names = append(names, n)
	}
	slices.Sort(names)
	var b strings.Builder
	for _, n := range names {
		b.WriteString(SHA256(files[n]) + "  " + n + "\n")
	}
	return []byte(b.String())
}

// SumsWithDigest returns a SHA256SUMS file with one line naming digest for
// name, for a builder that got (or claims) another artifact.
func SumsWithDigest(name, digest string) []byte {
	return []byte(digest + "  " + name + "\n")
}

// An Ed25519 is a raw Ed25519 key (scheme ed25519): it signs detached
// SHA256SUMS files and in-toto links.
type Ed25519 struct {
	Priv     ed25519.PrivateKey
	Verifier *scheme.Ed25519Key
}

// NewEd25519 returns the Ed25519 key made from seed byte n.
func NewEd25519(t TB, n byte) *Ed25519 {
	t.Helper()
	priv := ed25519.NewKeyFromSeed(seed(n))
	v, err := scheme.ParseEd25519Key(hex.EncodeToString(priv.Public().(ed25519.PublicKey)))
	if err != nil {
		t.Fatal(err)
	}
	return &Ed25519{Priv: priv, Verifier: v}
}

func seed(n byte) []byte {
	s := make([]byte, ed25519.SeedSize)
	for i := range s {
		s[i] = n
	}
	return s
}

// SumsEntry signs sums (detached, raw Ed25519) and returns its v2 entry,
// with the supplied annotations.
func (k *Ed25519) SumsEntry(t TB, sums []byte, supplied format.Annotations) []byte {
	t.Helper()
	return Encode(t, k.Verifier, format.Document{Kind: format.SHA256Sums, Signed: sums, Signature: ed25519.Sign(k.Priv, sums), Supplied: supplied})
}

// Link returns an in-toto link v0.9 naming products and materials (file
// name to content), signed by k over the canonical JSON of "signed".
func (k *Ed25519) Link(t TB, name string, materials, products map[string][]byte) []byte {
	t.Helper()
	artifacts := func(m map[string][]byte) map[string]any {
		out := map[string]any{}
		for n, b := range m {
			out[n] = map[string]any{"sha256": SHA256(b)}
		}
		return out
	}
	signed := map[string]any{
		"_type": "link", "name": name, "materials": artifacts(materials), "products": artifacts(products),
		"byproducts": map[string]any{}, "command": []any{}, "environment": nil,
	}
	js, err := json.Marshal(signed)
	if err != nil {
		t.Fatal(err)
	}
	canon, err := format.CanonicalJSON(js)
	if err != nil {
		t.Fatal(err)
	}
	sig := ed25519.Sign(k.Priv, canon)
	doc, err := json.Marshal(map[string]any{
		"signatures": []any{map[string]any{"keyid": k.Verifier.KeyID(), "sig": hex.EncodeToString(sig)}},
		"signed":     signed,
	})
	if err != nil {
		t.Fatal(err)
	}
	return doc
}

// A Minisign is a minisign key; signing is written here since
// log/claim/scheme only verifies.
type Minisign struct {
	Priv     ed25519.PrivateKey
	KeyNum   [8]byte
	Verifier *scheme.MinisignKey
}

// NewMinisign returns the minisign key made from seed byte n.
func NewMinisign(t TB, n byte) *Minisign {
	t.Helper()
	m := &Minisign{Priv: ed25519.NewKeyFromSeed(seed(n))}
	for i := range m.KeyNum {
		m.KeyNum[i] = n + byte(i)
	}
	pub := append(append([]byte("Ed"), m.KeyNum[:]...), m.Priv.Public().(ed25519.PublicKey)...)
	v, err := scheme.ParseMinisignKey(base64.StdEncoding.EncodeToString(pub))
	if err != nil {
		t.Fatal(err)
	}
	m.Verifier = v
	return m
}

// Sign returns a minisign signature file over file (prehashed, algorithm
// "ED", minisign's default) with the trusted comment, as minisign -S -t
// writes it.
func (m *Minisign) Sign(file []byte, trustedComment string) []byte {
	h := blake2b.Sum512(file)
	sig := ed25519.Sign(m.Priv, h[:])
	global := ed25519.Sign(m.Priv, append(slices.Clone(sig), trustedComment...))
	line := append(append([]byte("ED"), m.KeyNum[:]...), sig...)
	return []byte("untrusted comment: signature from minisign secret key\n" +
		base64.StdEncoding.EncodeToString(line) + "\n" +
		"trusted comment: " + trustedComment + "\n" +
		base64.StdEncoding.EncodeToString(global) + "\n")
}

// Entry signs file, named name, with a trusted comment in attestlog's
// schema (extra holds more tab-separated fields, e.g. "source:...\tcommit:..."),
// and returns its v2 entry. withSHA256 puts the file's sha256 in the
// comment, so that the entry re-verifies alone; without it the entry
// carries a file-sha256 line and the log needs the file.
func (m *Minisign) Entry(t TB, name string, file []byte, withSHA256 bool, extra string) []byte {
	t.Helper()
	tc := "timestamp:1718150245\tfile:" + name + "\thashed"
	if extra != "" {
		tc += "\t" + extra
	}
	if withSHA256 {
		tc += "\tsha256:" + SHA256(file)
	}
	return Encode(t, m.Verifier, format.Document{Kind: format.Minisign, Signature: m.Sign(file, tc), File: file})
}

// An ECDSA is an ECDSA P-256 key, as OSS Rebuild signs DSSE envelopes with.
type ECDSA struct {
	Priv     *ecdsa.PrivateKey
	Verifier *scheme.ECDSAP256Key
}

// NewECDSA returns a P-256 key derived deterministically from n.
func NewECDSA(t TB, n byte) *ECDSA {
	t.Helper()
	// ecdsa.GenerateKey ignores a deterministic reader; derive the scalar.
	r := rand.New(rand.NewChaCha8([32]byte(seed(n))))
	d := make([]byte, 32)
	for i := range d {
		d[i] = byte(r.Uint32())
	}
	d[0] &= 0x7f
	priv, err := ecdsa.ParseRawPrivateKey(elliptic.P256(), d)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.MarshalPKIXPublicKey(&priv.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	v, err := scheme.ParseECDSAP256Key(base64.StdEncoding.EncodeToString(der))
	if err != nil {
		t.Fatal(err)
	}
	return &ECDSA{Priv: priv, Verifier: v}
}

// OSSRebuild returns a DSSE envelope with an OSS Rebuild Rebuild@v0.1
// statement (docs/content/builds/Rebuild@v0.1.md in github.com/google/oss-rebuild)
// about artifact with content file, built from source at commit (sha1),
// signed by k. ECDSA signatures are randomised: two calls give two
// envelopes, hence two entries.
func (k *ECDSA) OSSRebuild(t TB, artifact string, file []byte, source, commit string) []byte {
	t.Helper()
	st := map[string]any{
		"_type":         claim.StatementType,
		"predicateType": claim.ProvenanceType,
		"subject": []any{map[string]any{
			"name": "rebuild/" + artifact, "digest": map[string]any{"sha256": SHA256(file)},
		}},
		"predicate": map[string]any{
			"buildDefinition": map[string]any{
				"buildType":          format.OSSRebuildBuildType,
				"externalParameters": map[string]any{"artifact": artifact, "ecosystem": "pypi", "package": "p", "version": "1.0.0"},
				"internalParameters": map[string]any{},
				"resolvedDependencies": []any{
					map[string]any{"name": source, "digest": map[string]any{"sha1": commit}},
				},
			},
			"runDetails": map[string]any{
				"builder": map[string]any{"id": "https://docs.oss-rebuild.dev/hosts/Google"},
				"byproducts": []any{
					map[string]any{"name": "build.json", "content": base64.StdEncoding.EncodeToString([]byte(`{"strategy":"pip"}`))},
				},
			},
		},
	}
	payload, err := json.Marshal(st)
	if err != nil {
		t.Fatal(err)
	}
	const payloadType = "application/vnd.in-toto+json"
	h := sha256.Sum256(scheme.PAE(payloadType, payload))
	sig, err := ecdsa.SignASN1(cryptorand.Reader, k.Priv, h[:])
	if err != nil {
		t.Fatal(err)
	}
	env, err := json.Marshal(map[string]any{
		"payloadType": payloadType,
		"payload":     base64.StdEncoding.EncodeToString(payload),
		"signatures":  []any{map[string]any{"keyid": "test", "sig": base64.StdEncoding.EncodeToString(sig)}},
	})
	if err != nil {
		t.Fatal(err)
	}
	return env
}

// Encode returns the v2 entry of d signed by v, failing t if record.Encode
// refuses it.
func Encode(t TB, v scheme.Verifier, d format.Document) []byte {
	t.Helper()
	b, err := record.Encode(v, d)
	if err != nil {
		t.Fatalf("record.Encode(%s %s): %v", v.Scheme(), d.Kind, err)
	}
	return b
}

// Tamper returns entry with the first old replaced by new, failing t if
// old is not in it.
func Tamper(t TB, entry []byte, old, new string) []byte {
	t.Helper()
	if !strings.Contains(string(entry), old) {
		t.Fatalf("%q not in the entry", old)
	}
	return []byte(strings.Replace(string(entry), old, new, 1))
}

// Describe returns a one-line summary of a decoded record, for test logs.
func Describe(r *record.Record) string {
	return fmt.Sprintf("%s v%d by %s:%s, %d subjects, source %q", r.Kind, r.Version, r.Signers[0].Scheme, r.Signers[0].KeyID, len(r.Subjects), r.Source)
}

// NoteKey returns the signed-note Ed25519 key named name made from seed
// byte n, as attestlog's own tools sign v1 entries with.
func NoteKey(t TB, n byte, name string) claim.Key {
	t.Helper()
	skey, vkey, err := note.GenerateKey(bytes.NewReader(seed(n)), name)
	if err != nil {
		t.Fatal(err)
	}
	s, err := note.NewSigner(skey)
	if err != nil {
		t.Fatal(err)
	}
	return claim.Key{Signer: s, VKey: vkey}
}

// V1Entry returns the v1 entry of c signed by keys.
func V1Entry(t TB, c *claim.Claim, keys ...claim.Key) []byte {
	t.Helper()
	st, err := claim.NewStatement(c)
	if err != nil {
		t.Fatal(err)
	}
	e, err := claim.SignStatement(st, keys...)
	if err != nil {
		t.Fatal(err)
	}
	return e.Marshal()
}
