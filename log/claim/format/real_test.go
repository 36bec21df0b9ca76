package format_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/ProtonMail/go-crypto/openpgp/packet"

	"github.com/attestlog/attestlog/log/claim"
	"github.com/attestlog/attestlog/log/claim/format"
	"github.com/attestlog/attestlog/log/claim/scheme"
)

// TestGuixSigs verifies the real SHA256SUMS of Bitcoin Core 28.0 with the
// detached signatures of three builders (RSA with a key that has expired
// since, ECDSA, EdDSA), maps it, and checks that tampering is refused.
func TestGuixSigs(t *testing.T) {
	sums := readFile(t, testdata("guix.sigs-28.0", "noncodesigned.SHA256SUMS"))
	builders := []struct{ name, fpr string }{
		{"glozow", "6B002C6EA3F91B1B0DF0C9BC8F617F1200A6D25C"},
		{"kvaciral", "C388F6961FB972A95678E327F62711DBDCA8AE56"},
		{"m3dwards", "E86AE73439625BBEE306AAE6B66D427F873CB1A3"},
	}
	keys := map[string]*scheme.OpenPGPKey{}
	for _, b := range builders {
		keys[b.name] = openPGPKey(t, testdata("guix.sigs-28.0", b.name+".gpg"))
	}
	for i, b := range builders {
		t.Run(b.name, func(t *testing.T) {
			k := keys[b.name]
			if k.KeyID() != b.fpr {
				t.Fatalf("key ID %s, want %s", k.KeyID(), b.fpr)
			}
			sig := readFile(t, testdata("guix.sigs-28.0", b.name+".noncodesigned.SHA256SUMS.asc"))
			doc := format.Document{Kind: format.SHA256Sums, Signed: sums, Signature: sig}
			c, err := format.Open(k, doc)
			if err != nil {
				t.Fatal(err)
			}
			if c.Scheme != scheme.OpenPGP || c.KeyID != b.fpr || len(c.Subjects) != 21 || !c.DigestOnly() || c.Identities() != nil {
				t.Fatalf("claim %+v: want 21 subjects, digest-only, by %s", c, b.fpr)
			}
			want := map[string]format.Subject{
				"bitcoin-28.0-x86_64-linux-gnu.tar.gz":          {SHA256: "7fe294b02b25b51acb8e8e0a0eb5af6bbafa7cd0c5b0e5fcbb61263104a82fbc", Platform: "linux/amd64"},
				"bitcoin-28.0-aarch64-linux-gnu.tar.gz":         {SHA256: "7fa582d99a25c354d23e371a5848bd9e6a79702870f9cbbf1292b86e647d0f4e", Platform: "linux/arm64"},
				"bitcoin-28.0-arm64-apple-darwin.tar.gz":        {SHA256: "c8108f30dfcc7ddffab33f5647d745414ef9d3298bfe67d243fe9b9cb4df4c12", Platform: "darwin/arm64"},
				"bitcoin-28.0-win64.zip":                        {SHA256: "85282f4ec1bcb0cfe8db0f195e8e0f6fb77cfbe89242a81fff2bc2e9292f7acf", Platform: "windows/amd64"},
				"bitcoin-28.0.tar.gz":                           {SHA256: "700ae2d1e204602eb07f2779a6e6669893bc96c0dca290593f80ff8e102ff37f", Platform: "any"},
				"bitcoin-28.0-arm-linux-gnueabihf-debug.tar.gz": {SHA256: "a7a7be3eb075ea6757455e4bc721a29c243884acddcdb503d6363458dbd3f2c3", Platform: "linux/arm/v7"},
			}
			for _, s := range c.Subjects {
				if s.Platform == "" {
					t.Errorf("%s: no platform", s.Name)
				}
				if w, ok := want[s.Name]; ok && (w.SHA256 != s.SHA256 || w.Platform != s.Platform) {
					t.Errorf("%s: %s %s, want %s %s", s.Name, s.SHA256, s.Platform, w.SHA256, w.Platform)
				}
			}
			// A submitter may add the release's commit; it stays supplied.
			doc.Supplied = format.Annotations{Source: "git+https://github.com/bitcoin/bitcoin.git", Commit: "2f4e75e2fc8e1e6c11ea6bd6b4f4caa3bd3be2d8"}
			c, err = format.Open(k, doc)
			if err != nil {
				t.Fatal(err)
			}
			if c.Supplied.Source != "git+https://github.com/bitcoin/bitcoin" || c.Source != "" || !c.DigestOnly() || c.Identities() != nil {
				t.Fatalf("supplied source and commit entered the claim: %+v", c)
			}

			// One changed digest, one changed byte of the signature, the
			// next builder's key: each refused, saying what failed.
			tampered := replaceOnce(t, sums, "7fe294b0", "7fe294b1")
			_, err = format.Open(k, format.Document{Kind: format.SHA256Sums, Signed: tampered, Signature: sig})
			wantVerify(t, "changed SHA256SUMS", err, "SHA256SUMS", b.fpr)
			_, err = format.Open(k, format.Document{Kind: format.SHA256Sums, Signed: sums, Signature: flip(sig, len(sig)-60)})
			wantError(t, "changed signature", err, "SHA256SUMS")
			other := keys[builders[(i+1)%len(builders)].name]
			_, err = format.Open(other, format.Document{Kind: format.SHA256Sums, Signed: sums, Signature: sig})
			wantVerify(t, "another builder's key", err, other.KeyID(), "not a signing key of this certificate")
		})
	}
}

// TestRealBuildinfo parses and maps two clearsigned buildinfo files that
// Debian published, and checks that their signatures name the issuers noted
// in testdata/formats/README.md.
func TestRealBuildinfo(t *testing.T) {
	for _, tc := range []struct {
		file, issuer, source string
		subjects             []string
		sourceVersion        string
	}{
		{
			file: "rust-sniffglue_0.14.0-2_amd64.buildinfo", issuer: "F033CE18C6901DBA966542A9B7F6F7EBFB3491B1",
			source:   "deb:rust-sniffglue@0.14.0-2",
			subjects: []string{"librust-sniffglue-dev_0.14.0-2_amd64.deb", "sniffglue-dbgsym_0.14.0-2_amd64.deb", "sniffglue_0.14.0-2_amd64.deb"},
		},
		{
			file: "courier_1.0.16-3+b1_amd64.buildinfo", issuer: "56F8220E6D224E2F3807C4E2393CB6ACFE6A01A3",
			source: "deb:courier@1.0.16-3+b1", sourceVersion: "1.0.16-3",
		},
	} {
		t.Run(tc.file, func(t *testing.T) {
			doc := readFile(t, testdata("debian", tc.file))
			text, sig, err := scheme.ParseClearsigned(doc)
			if err != nil {
				t.Fatal(err)
			}
			p, err := packet.Read(bytes.NewReader(sig))
			if err != nil {
				t.Fatal(err)
			}
			if fpr := hex.EncodeToString(p.(*packet.Signature).IssuerFingerprint); fpr != lower(tc.issuer) {
				t.Fatalf("issuer %s, want %s", fpr, tc.issuer)
			}
			d, err := format.ParseBuildinfo(text)
			if err != nil {
				t.Fatal(err)
			}
			if d.SourceVersion != tc.sourceVersion || d.BuildArch != "amd64" || len(d.BuildDepends) < 100 {
				t.Fatalf("parsed %+v", d)
			}
			paras, err := format.ParseDeb822(text)
			if err != nil || !bytes.Equal(format.FormatDeb822(paras), text) {
				t.Fatalf("deb822 round trip: %v", err)
			}
			c, err := format.MapBuildinfo(text)
			if err != nil {
				t.Fatal(err)
			}
			h := sha256.Sum256(d.RecipeForm())
			if c.Source != tc.source || c.Commit != "" || c.Recipe != hex.EncodeToString(h[:]) || c.DigestOnly() {
				t.Fatalf("claim %+v", c)
			}
			for _, s := range c.Subjects {
				if s.Platform != "linux/amd64" {
					t.Errorf("%s: platform %q", s.Name, s.Platform)
				}
			}
			if tc.subjects != nil {
				var names []string
				for _, s := range c.Subjects {
					names = append(names, s.Name)
				}
				if !slices.Equal(names, tc.subjects) {
					t.Fatalf("subjects %q, want %q", names, tc.subjects)
				}
			}
			if ids := c.Identities(); len(ids) != len(c.Subjects) || ids[0] != (claim.Identity{Source: tc.source, Platform: "linux/amd64", Artifact: c.Subjects[0].Name}) {
				t.Fatalf("identities %+v", ids)
			}
		})
	}
}

func lower(s string) string { return string(bytes.ToLower([]byte(s))) }

// TestRebuilderdLink parses and maps the rebuilderd attestation kept in
// testdata (whose signing key is not published; see the README there).
func TestRebuilderdLink(t *testing.T) {
	b := readFile(t, testdata("rebuilderd", "spytrap-adb_0.3.5-1_amd64.link"))
	l, err := format.ParseLink(b)
	if err != nil {
		t.Fatal(err)
	}
	wantSigned := `{"_type":"link","byproducts":{},"command":[],"environment":null,"materials":{"rust-spytrap-adb_0.3.5-1_amd64.buildinfo":{"sha256":"9df2f9a721f5016874c5f78ae88d3df77f9e49ea6070f935bfeeb438cd73a158","sha512":"d130dbdbd51480f5cb79c1e6ce09fa61a69766e56725543b9c19bee8248306b2c3c2a2c66b250992bf20b2f5af7cf03bf401255104714bc9d654126fb41bc59f"}},"name":"rebuild spytrap-adb_0.3.5-1_amd64.deb","products":{"spytrap-adb_0.3.5-1_amd64.deb":{"sha256":"58a7d451d5d59fda6284a05418b99e34fab32d07e63d0b164404eaaed1317edd","sha512":"f38806536701138cb1b2059565e5f73ec07288f9a3013ba986e33d510432e183e7bfe94af31bb8d480b85c84f4c145ed5c28c5949d618a4e94b2c7aecb309642"}}}`
	if got := string(l.SignedBytes()); got != wantSigned {
		t.Fatalf("canonical signed:\n%s\nwant\n%s", got, wantSigned)
	}
	if len(l.Signatures) != 1 || l.Signatures[0].KeyID != "c25d24c04760b6982de77736776edc6600d5f8e1e84d0bba2a7299959ce7d47f" || len(l.Signatures[0].Sig) != 64 {
		t.Fatalf("signatures %+v", l.Signatures)
	}
	c, err := format.MapLink(l)
	if err != nil {
		t.Fatal(err)
	}
	want := []format.Subject{{Name: "spytrap-adb_0.3.5-1_amd64.deb", SHA256: "58a7d451d5d59fda6284a05418b99e34fab32d07e63d0b164404eaaed1317edd", Platform: "linux/amd64"}}
	if !slices.Equal(c.Subjects, want) || c.Recipe != "9df2f9a721f5016874c5f78ae88d3df77f9e49ea6070f935bfeeb438cd73a158" || !c.DigestOnly() {
		t.Fatalf("claim %+v", c)
	}
}

// TestInTotoRunLink verifies a link that in-toto-run signed with Ed25519,
// checks the canonical JSON against securesystemslib's, and refuses
// tampered copies.
func TestInTotoRunLink(t *testing.T) {
	b := readFile(t, testdata("in-toto", "rebuild-hello_2.10-3_amd64.deb.3e501b56.link"))
	var pub struct {
		KeyVal struct {
			Public string `json:"public"`
		} `json:"keyval"`
	}
	if err := json.Unmarshal(readFile(t, testdata("in-toto", "rebuilder.pub")), &pub); err != nil {
		t.Fatal(err)
	}
	key, err := scheme.ParseEd25519PublicKey([]byte(pub.KeyVal.Public))
	if err != nil {
		t.Fatal(err)
	}
	l, err := format.ParseLink(b)
	if err != nil {
		t.Fatal(err)
	}
	if want := readFile(t, testdata("in-toto", "link-signed.canonical")); !bytes.Equal(l.SignedBytes(), want) {
		t.Fatalf("canonical signed:\n%s\nsecuresystemslib:\n%s", l.SignedBytes(), want)
	}
	c, err := format.Open(key, format.Document{Kind: format.Link, Signed: b})
	if err != nil {
		t.Fatal(err)
	}
	deb := readFile(t, testdata("in-toto", "hello_2.10-3_amd64.deb"))
	bi := readFile(t, testdata("in-toto", "hello_2.10-3_amd64.buildinfo"))
	if len(c.Subjects) != 1 || c.Subjects[0] != (format.Subject{Name: "hello_2.10-3_amd64.deb", SHA256: sum(deb), Platform: "linux/amd64"}) || c.Recipe != sum(bi) || c.Scheme != scheme.Ed25519 {
		t.Fatalf("claim %+v", c)
	}
	// Supplied fields stay apart; one the signature covers is refused.
	c, err = format.Open(key, format.Document{Kind: format.Link, Signed: b, Supplied: format.Annotations{Source: "git+https://salsa.debian.org/debian/hello.git", Commit: strings.Repeat("ab", 20)}})
	if err != nil || c.Source != "" || c.Supplied.Source != "git+https://salsa.debian.org/debian/hello" || !c.DigestOnly() || c.Identities() != nil {
		t.Fatalf("supplied source: %+v, %v", c, err)
	}
	_, err = format.Open(key, format.Document{Kind: format.Link, Signed: b, Supplied: format.Annotations{Recipe: strings.Repeat("0", 64)}})
	wantError(t, "supplied recipe over a signed one", err, "already names recipe")
	_, err = format.Open(key, format.Document{Kind: format.Link, Signed: b, Supplied: format.Annotations{Commit: "main"}})
	wantError(t, "supplied branch name", err, "supplied commit", "not a full commit hash")

	// The canonical form of the whole link parses back to the same link.
	if l2, err := format.ParseLink(l.Canonical()); err != nil || !bytes.Equal(l2.SignedBytes(), l.SignedBytes()) {
		t.Fatalf("canonical link does not parse back: %v", err)
	}

	_, err = format.Open(key, format.Document{Kind: format.Link, Signed: replaceOnce(t, b, sum(deb)[:8], "00000000")})
	wantVerify(t, "changed product digest", err, "link", "none of its 1 signatures verifies", key.KeyID())
	_, err = format.Open(key, format.Document{Kind: format.Link, Signed: replaceOnce(t, b, `"command": []`, `"command": ["true"]`)})
	wantVerify(t, "changed command", err, "link")
	_, err = format.Open(key, format.Document{Kind: format.Link, Signed: replaceOnce(t, b, `"sig": "2a`, `"sig": "2b`)})
	wantVerify(t, "changed signature", err, "link")
	_, err = format.Open(key, format.Document{Kind: format.Link, Signed: replaceOnce(t, b, `"_type": "link"`, `"_type": "link", "_type": "link"`)})
	wantMalformed(t, "duplicate key", err, `"_type" appears twice`)
	rebuilderd := readFile(t, testdata("rebuilderd", "spytrap-adb_0.3.5-1_amd64.link"))
	_, err = format.Open(key, format.Document{Kind: format.Link, Signed: rebuilderd})
	wantVerify(t, "another rebuilder's link", err, "link")
}

func sum(b []byte) string {
	h := sha256.Sum256(b)
	return hex.EncodeToString(h[:])
}

// TestCanonicalJSONVector checks the encoder against securesystemslib's
// output for an object with escapes, control characters, non-ASCII text
// and a large integer.
func TestCanonicalJSONVector(t *testing.T) {
	got, err := format.CanonicalJSON(readFile(t, testdata("canonicaljson", "canonical-input.json")))
	if err != nil {
		t.Fatal(err)
	}
	if want := readFile(t, testdata("canonicaljson", "canonical-output.bin")); !bytes.Equal(got, want) {
		t.Fatalf("CanonicalJSON:\n%q\nsecuresystemslib:\n%q", got, want)
	}
}

// ossRebuildBundle returns the two envelopes of the real OSS Rebuild bundle
// for npm chalk 5.6.0 kept in testdata/formats/oss-rebuild: the
// ArtifactEquivalence attestation, then the Rebuild@v0.1 one.
func ossRebuildBundle(t *testing.T) (equivalence, rebuild []byte, key *scheme.ECDSAP256Key) {
	t.Helper()
	lines := bytes.Split(bytes.TrimSuffix(readFile(t, testdata("oss-rebuild", "chalk-5.6.0.tgz.rebuild.intoto.jsonl")), []byte("\n")), []byte("\n"))
	if len(lines) != 2 {
		t.Fatalf("%d lines, want 2", len(lines))
	}
	key, err := scheme.ParseECDSAP256PublicKey(readFile(t, testdata("oss-rebuild", "oss-rebuild.pub")))
	if err != nil {
		t.Fatal(err)
	}
	return lines[0], lines[1], key
}

// TestOSSRebuildReal verifies the Rebuild@v0.1 envelope OSS Rebuild
// published for npm chalk 5.6.0 with OSS Rebuild's KMS key, maps it to the
// git source and commit it names, and refuses tampered copies and the
// bundle's ArtifactEquivalence attestation.
func TestOSSRebuildReal(t *testing.T) {
	equivalence, env, key := ossRebuildBundle(t)
	e, err := format.ParseEnvelope(env)
	if err != nil {
		t.Fatal(err)
	}
	if e.PayloadType != format.InTotoStatementV1PayloadType {
		t.Fatalf("payloadType %q: the kept envelope uses the statement URI", e.PayloadType)
	}
	c, err := format.Open(key, format.Document{Kind: format.DSSE, Signed: env})
	if err != nil {
		t.Fatal(err)
	}
	want := claim.Identity{Source: "git+https://github.com/chalk/chalk", Commit: "5c91505e184aff4609c0a7fb235770c2f71db4a3", Platform: "any", Artifact: "chalk-5.6.0.tgz"}
	if ids := c.Identities(); len(ids) != 1 || ids[0] != want || c.Scheme != scheme.ECDSAP256 || c.KeyID != key.KeyID() {
		t.Fatalf("claim %+v", c)
	}
	if len(c.Subjects) != 1 || c.Subjects[0].SHA256 != "6ecef29710252b6d46f639e45c6a1ba8b400f499dbc8eff645045d07ce08bf45" ||
		c.Recipe != sum([]byte(`{"npm_pack_build":{"repo":"https://github.com/chalk/chalk","ref":"5c91505e184aff4609c0a7fb235770c2f71db4a3","dir":".","npm_version":"10.9.2","version_override":""}}`)) {
		t.Fatalf("subjects %+v, recipe %s", c.Subjects, c.Recipe)
	}

	// The payload with one commit digit changed, the signature with one bit
	// flipped, another P-256 key: each refused, naming what failed.
	var m map[string]any
	if err := json.Unmarshal(env, &m); err != nil {
		t.Fatal(err)
	}
	m["payload"] = base64.StdEncoding.EncodeToString(bytes.Replace(e.Payload, []byte("5c91505e"), []byte("5c91505f"), 1))
	tampered, _ := json.Marshal(m)
	_, err = format.Open(key, format.Document{Kind: format.DSSE, Signed: tampered})
	wantVerify(t, "changed commit", err, "DSSE envelope", key.KeyID())
	m["payload"] = base64.StdEncoding.EncodeToString(e.Payload)
	sig := bytes.Clone(e.Signatures[0].Sig)
	sig[len(sig)-5] ^= 1
	m["signatures"] = []any{map[string]any{"keyid": e.Signatures[0].KeyID, "sig": base64.StdEncoding.EncodeToString(sig)}}
	tampered, _ = json.Marshal(m)
	_, err = format.Open(key, format.Document{Kind: format.DSSE, Signed: tampered})
	wantVerify(t, "changed signature", err, "DSSE envelope", key.KeyID())
	_, other := ecdsaKey(t)
	_, err = format.Open(other, format.Document{Kind: format.DSSE, Signed: env})
	wantVerify(t, "another key", err, other.KeyID())

	// The equivalence attestation of the same bundle is signed by the same
	// key but claims no build.
	_, err = format.Open(key, format.Document{Kind: format.DSSE, Signed: equivalence})
	wantMalformed(t, "ArtifactEquivalence", err, "only rebuild attestations")
	if !errors.Is(err, format.ErrNotABuild) {
		t.Fatalf("ArtifactEquivalence: %v does not wrap format.ErrNotABuild", err)
	}
}
