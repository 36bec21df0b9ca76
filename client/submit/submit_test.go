package submit_test

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/crypto/blake2b"

	"github.com/attestlog/attestlog/client/submit"
	"github.com/attestlog/attestlog/log/claim/format"
	"github.com/attestlog/attestlog/log/claim/record"
	"github.com/attestlog/attestlog/log/claim/scheme"
)

// guix returns the path of a file of testdata/formats/guix.sigs-28.0: three
// Bitcoin Core builders' real signatures over one SHA256SUMS.
func guix(name string) string {
	return filepath.Join("..", "..", "testdata", "formats", "guix.sigs-28.0", name)
}

// Fingerprints of the guix.sigs builders (testdata/formats/README.md).
const (
	glozow   = "6B002C6EA3F91B1B0DF0C9BC8F617F1200A6D25C"
	m3dwards = "E86AE73439625BBEE306AAE6B66D427F873CB1A3"
)

func write(t *testing.T, dir, name string, b []byte) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, b, 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func wantError(t *testing.T, what string, err error, words ...string) {
	t.Helper()
	if err == nil {
		t.Fatalf("%s: no error, want one", what)
	}
	for _, w := range words {
		if !strings.Contains(err.Error(), w) {
			t.Fatalf("%s: error %q does not mention %q", what, err, w)
		}
	}
}

// TestPrepareGuixSigs submits the real guix.sigs documents with a keyring of
// every builder: the key that signed is picked, the entry decodes to its
// claim, and a keyring without the signer is refused naming the issuer.
func TestPrepareGuixSigs(t *testing.T) {
	dir := t.TempDir()
	var ring []byte
	for _, b := range []string{"glozow", "kvaciral", "m3dwards"} {
		k, err := os.ReadFile(guix(b + ".gpg"))
		if err != nil {
			t.Fatal(err)
		}
		ring = append(ring, k...)
	}
	keyring := write(t, dir, "builder-keys.gpg", ring)
	for _, tc := range []struct{ builder, fpr string }{{"glozow", glozow}, {"m3dwards", m3dwards}} {
		es, err := submit.Prepare(submit.Request{Kind: format.SHA256Sums, Signed: guix("noncodesigned.SHA256SUMS"),
			Signature: guix(tc.builder + ".noncodesigned.SHA256SUMS.asc"), Keys: []string{"openpgp:@" + keyring},
			Supplied: format.Annotations{Source: "git+https://github.com/bitcoin/bitcoin"}})
		if err != nil {
			t.Fatalf("%s: %v", tc.builder, err)
		}
		if len(es) != 1 || es[0].Claim.KeyID != tc.fpr || es[0].NeedsUpload != "" || len(es[0].Claim.Subjects) != 21 {
			t.Fatalf("%s: entries %+v", tc.builder, es)
		}
		r, err := record.Decode(es[0].Entry)
		if err != nil {
			t.Fatalf("%s: Decode: %v", tc.builder, err)
		}
		if r.Kind != string(format.SHA256Sums) || len(r.Signers) != 1 || r.Signers[0].KeyID != tc.fpr || r.Source != "" ||
			r.Supplied.Source != "git+https://github.com/bitcoin/bitcoin" {
			t.Fatalf("%s: decoded %+v", tc.builder, r)
		}
	}
	// The same document and key twice give one entry.
	es, err := submit.Prepare(submit.Request{Kind: format.SHA256Sums, Signed: guix("noncodesigned.SHA256SUMS"),
		Signature: guix("glozow.noncodesigned.SHA256SUMS.asc"), Keys: []string{"openpgp:@" + keyring, "openpgp:@" + guix("glozow.gpg")}})
	if err != nil || len(es) != 1 {
		t.Fatalf("a key named twice: %d entries, %v", len(es), err)
	}
	_, err = submit.Prepare(submit.Request{Kind: format.SHA256Sums, Signed: guix("noncodesigned.SHA256SUMS"),
		Signature: guix("glozow.noncodesigned.SHA256SUMS.asc"), Keys: []string{"openpgp:@" + guix("kvaciral.gpg")}})
	wantError(t, "another builder's key", err, "--key openpgp:@", "does not verify", "issuer")
	sums, _ := os.ReadFile(guix("noncodesigned.SHA256SUMS"))
	tampered := write(t, dir, "SHA256SUMS", bytes.Replace(sums, []byte("bitcoin-28.0-x86_64-linux-gnu.tar.gz"), []byte("bitcoin-28.0-x86_64-linux-gnu.tar.gx"), 1))
	_, err = submit.Prepare(submit.Request{Kind: format.SHA256Sums, Signed: tampered,
		Signature: guix("glozow.noncodesigned.SHA256SUMS.asc"), Keys: []string{"openpgp:@" + keyring}})
	wantError(t, "a changed SHA256SUMS", err, "none of its 3 keys verifies")
	// A malformed document is no key's fault: the error names the file.
	malformed := write(t, dir, "bad.SHA256SUMS", append(bytes.Clone(sums), "not a sha256sum line\n"...))
	_, err = submit.Prepare(submit.Request{Kind: format.SHA256Sums, Signed: malformed,
		Signature: guix("glozow.noncodesigned.SHA256SUMS.asc"), Keys: []string{"openpgp:@" + keyring}})
	wantError(t, "a malformed SHA256SUMS", err, malformed, "malformed")
	if strings.Contains(err.Error(), "does not verify") || strings.Contains(err.Error(), "none of its") {
		t.Fatalf("a malformed SHA256SUMS blames the key: %v", err)
	}
	// A key of another scheme: the error names the document and the key.
	ed := write(t, dir, "ed.hex", []byte(strings.Repeat("ab", 32)))
	_, err = submit.Prepare(submit.Request{Kind: format.SHA256Sums, Signed: guix("noncodesigned.SHA256SUMS"),
		Signature: guix("glozow.noncodesigned.SHA256SUMS.asc"), Keys: []string{"ed25519:@" + ed}})
	wantError(t, "an Ed25519 key for an OpenPGP signature", err, "with --key ed25519:@")
}

// minisignKey makes a minisign key pair, as minisign -G does.
func minisignKey(t *testing.T) (ed25519.PrivateKey, [8]byte, string) {
	t.Helper()
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	num := [8]byte{8, 7, 6, 5, 4, 3, 2, 1}
	text := base64.StdEncoding.EncodeToString(append(append([]byte("Ed"), num[:]...), pub...))
	return priv, num, text
}

// minisignSign signs file as minisign -S does (prehashed, "ED").
func minisignSign(priv ed25519.PrivateKey, num [8]byte, file []byte, comment string) []byte {
	h := blake2b.Sum512(file)
	sig := ed25519.Sign(priv, h[:])
	global := ed25519.Sign(priv, append(bytes.Clone(sig), comment...))
	return []byte("untrusted comment: signature from minisign secret key\n" +
		base64.StdEncoding.EncodeToString(append(append([]byte("ED"), num[:]...), sig...)) + "\n" +
		"trusted comment: " + comment + "\n" + base64.StdEncoding.EncodeToString(global) + "\n")
}

// TestPrepareMinisign covers the two ways a minisign signature binds a
// file's sha256: signed in the trusted comment (the entry stands alone, the
// file is only checked), or through the file, which the log must hold first.
func TestPrepareMinisign(t *testing.T) {
	dir := t.TempDir()
	priv, num, pub := minisignKey(t)
	const name = "zig-x86_64-linux-0.14.1.tar.xz"
	file := []byte("a zig tarball\n")
	sum := sha256.Sum256(file)
	digest := hex.EncodeToString(sum[:])
	path := write(t, dir, name, file)
	pubFile := write(t, dir, "zsf.pub", []byte("untrusted comment: minisign public key 0102030405060708\n"+pub+"\n"))
	for _, key := range []string{"minisign:" + pub, "minisign:@" + pubFile} {
		withSum := write(t, dir, "with.minisig", minisignSign(priv, num, file, "timestamp:1\tfile:"+name+"\tsha256:"+digest))
		for _, artifact := range []string{"", path} {
			es, err := submit.Prepare(submit.Request{Kind: format.Minisign, Signature: withSum, File: artifact, Keys: []string{key}})
			if err != nil || len(es) != 1 || es[0].NeedsUpload != "" || es[0].Claim.Subjects[0].SHA256 != digest {
				t.Fatalf("sha256: in the comment, key %s, artifact %q: %+v, %v", key, artifact, es, err)
			}
		}
		other := write(t, dir, "other", []byte("another file\n"))
		_, err := submit.Prepare(submit.Request{Kind: format.Minisign, Signature: withSum, File: other, Keys: []string{key}})
		wantError(t, "another artifact", err, "--artifact", "names sha256 "+digest)

		hashed := write(t, dir, "hashed.minisig", minisignSign(priv, num, file, "timestamp:1\tfile:"+name+"\thashed"))
		es, err := submit.Prepare(submit.Request{Kind: format.Minisign, Signature: hashed, File: path, Keys: []string{key}})
		if err != nil || len(es) != 1 || es[0].NeedsUpload != digest {
			t.Fatalf("no sha256: in the comment: %+v, %v", es, err)
		}
		r, err := record.Decode(es[0].Entry)
		if err != nil || !r.FileSignatureUnchecked || r.Subjects[0].SHA256 != digest {
			t.Fatalf("no sha256: in the comment: decoded %+v, %v", r, err)
		}
		_, err = submit.Prepare(submit.Request{Kind: format.Minisign, Signature: hashed, Keys: []string{key}})
		wantError(t, "no sha256: and no file", err, "no sha256:", "--artifact FILE")
		_, err = submit.Prepare(submit.Request{Kind: format.Minisign, Signature: hashed, File: other, Keys: []string{key}})
		wantError(t, "no sha256: and another file", err, "signature over the file")
	}
}

// TestPrepareDSSEJSONL reads a JSONL file of two envelopes, as OSS Rebuild
// publishes rebuild.intoto.jsonl, and makes one entry per envelope.
func TestPrepareDSSEJSONL(t *testing.T) {
	dir := t.TempDir()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	der, _ := x509.MarshalPKIXPublicKey(&k.PublicKey)
	pubFile := write(t, dir, "oss-rebuild.pub", pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}))
	var jsonl []byte
	for _, artifact := range []string{"a-1.0.tgz", "b-2.0.tgz"} {
		payload := []byte(`{"_type":"https://in-toto.io/Statement/v1","predicateType":"https://slsa.dev/provenance/v1","subject":[{"name":"rebuild/` + artifact + `","digest":{"sha256":"` + strings.Repeat("ab", 32) + `"}}],"predicate":{"buildDefinition":{"buildType":"https://docs.oss-rebuild.dev/builds/Rebuild@v0.1","externalParameters":{"artifact":"` + artifact + `"},"resolvedDependencies":[{"name":"git+https://github.com/a/b","digest":{"sha1":"0123456789abcdef0123456789abcdef01234567"}}]},"runDetails":{"byproducts":[{"name":"build.json","content":"e30="}]}}}`)
		h := sha256.Sum256(scheme.PAE(format.InTotoPayloadType, payload))
		sig, err := ecdsa.SignASN1(rand.Reader, k, h[:])
		if err != nil {
			t.Fatal(err)
		}
		env, _ := json.Marshal(map[string]any{"payloadType": format.InTotoPayloadType, "payload": base64.StdEncoding.EncodeToString(payload),
			"signatures": []any{map[string]any{"keyid": "kms", "sig": base64.StdEncoding.EncodeToString(sig)}}})
		jsonl = append(append(jsonl, env...), '\n')
	}
	path := write(t, dir, "rebuild.intoto.jsonl", jsonl)
	es, err := submit.Prepare(submit.Request{Kind: format.DSSE, Signed: path, Keys: []string{"ecdsa-p256:@" + pubFile}})
	if err != nil || len(es) != 2 || es[1].Document != path+" line 2" || es[1].Claim.Subjects[0].Name != "b-2.0.tgz" || es[0].Claim.Source != "git+https://github.com/a/b" {
		t.Fatalf("JSONL of two envelopes: %+v, %v", es, err)
	}
	for _, e := range es {
		if _, err := record.Decode(e.Entry); err != nil {
			t.Fatal(err)
		}
	}
	// A line no named key verifies is refused, not skipped.
	k2, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	lines := bytes.SplitN(jsonl, []byte("\n"), 2)
	var env map[string]any
	if err := json.Unmarshal(lines[0], &env); err != nil {
		t.Fatal(err)
	}
	payload, _ := base64.StdEncoding.DecodeString(env["payload"].(string))
	h := sha256.Sum256(scheme.PAE(format.InTotoPayloadType, payload))
	sig2, _ := ecdsa.SignASN1(rand.Reader, k2, h[:])
	env["signatures"] = []any{map[string]any{"keyid": "other", "sig": base64.StdEncoding.EncodeToString(sig2)}}
	other, _ := json.Marshal(env)
	mixed := write(t, dir, "mixed.jsonl", append(append(other, '\n'), lines[1]...))
	_, err = submit.Prepare(submit.Request{Kind: format.DSSE, Signed: mixed, Keys: []string{"ecdsa-p256:@" + pubFile}})
	wantError(t, "a line another key signed", err, mixed+" line 1", "no --key verifies it")
	// A supplied source beside the one the envelope signs is refused.
	_, err = submit.Prepare(submit.Request{Kind: format.DSSE, Signed: path, Keys: []string{"ecdsa-p256:@" + pubFile}, Supplied: format.Annotations{Source: "git+https://example.org/x"}})
	wantError(t, "a supplied source the envelope signs", err, "supplied source", "already names")
	// One envelope alone.
	one := write(t, dir, "one.json", bytes.SplitN(jsonl, []byte("\n"), 2)[0])
	if es, err := submit.Prepare(submit.Request{Kind: format.DSSE, Signed: one, Keys: []string{"ecdsa-p256:@" + pubFile}}); err != nil || len(es) != 1 {
		t.Fatalf("one envelope: %+v, %v", es, err)
	}
	bad := write(t, dir, "bad.jsonl", append(bytes.Clone(jsonl), "{\"payloadType\":1}\n"...))
	_, err = submit.Prepare(submit.Request{Kind: format.DSSE, Signed: bad, Keys: []string{"ecdsa-p256:@" + pubFile}})
	wantError(t, "a bad line", err, "--signed", "line 3")
}

// TestPrepareErrors checks that each misuse names the flag to fix.
func TestPrepareErrors(t *testing.T) {
	dir := t.TempDir()
	sums := guix("noncodesigned.SHA256SUMS")
	asc := guix("glozow.noncodesigned.SHA256SUMS.asc")
	key := "openpgp:@" + guix("glozow.gpg")
	for _, tc := range []struct {
		what  string
		r     submit.Request
		words []string
	}{
		{"no key", submit.Request{Kind: format.SHA256Sums, Signed: sums, Signature: asc}, []string{"--key", "SCHEME:@FILE"}},
		{"unknown kind", submit.Request{Kind: "sums", Signed: sums, Signature: asc, Keys: []string{key}}, []string{"--format", "sha256sums"}},
		{"no signature", submit.Request{Kind: format.SHA256Sums, Signed: sums, Keys: []string{key}}, []string{"--signature"}},
		{"missing file", submit.Request{Kind: format.SHA256Sums, Signed: filepath.Join(dir, "nope"), Signature: asc, Keys: []string{key}}, []string{"--signed", "nope"}},
		{"link with a signature", submit.Request{Kind: format.Link, Signed: sums, Signature: asc, Keys: []string{key}}, []string{"--format link", "no --signature"}},
		{"minisign with --signed", submit.Request{Kind: format.Minisign, Signed: sums, Signature: asc, Keys: []string{key}}, []string{"--format minisign", "no --signed"}},
		{"file with sha256sums", submit.Request{Kind: format.SHA256Sums, Signed: sums, Signature: asc, File: sums, Keys: []string{key}}, []string{"--artifact"}},
		{"key without scheme", submit.Request{Kind: format.SHA256Sums, Signed: sums, Signature: asc, Keys: []string{"@key.asc"}}, []string{"--key", "SCHEME:KEY"}},
		{"unknown scheme", submit.Request{Kind: format.SHA256Sums, Signed: sums, Signature: asc, Keys: []string{"pgp:@key.asc"}}, []string{"--key", "unknown scheme", "openpgp"}},
		{"bad inline key", submit.Request{Kind: format.SHA256Sums, Signed: sums, Signature: asc, Keys: []string{"ed25519:xyz"}}, []string{"--key", "ed25519:@FILE"}},
		{"missing key file", submit.Request{Kind: format.SHA256Sums, Signed: sums, Signature: asc, Keys: []string{"openpgp:@" + filepath.Join(dir, "nokey")}}, []string{"--key", "nokey"}},
		{"key file of another scheme", submit.Request{Kind: format.SHA256Sums, Signed: sums, Signature: asc, Keys: []string{"ssh:@" + guix("glozow.gpg")}}, []string{"key file", "SSH"}},
	} {
		_, err := submit.Prepare(tc.r)
		wantError(t, tc.what, err, tc.words...)
	}
}

func TestParseAnnotations(t *testing.T) {
	commit := strings.Repeat("ab", 20)
	a, err := submit.ParseAnnotations([]string{"source=https://github.com/bitcoin/bitcoin.git commit=" + strings.ToUpper(commit), "recipe=" + strings.Repeat("0", 64)})
	if err != nil || a.Source != "git+https://github.com/bitcoin/bitcoin" || a.Commit != commit || a.Recipe == "" {
		t.Fatalf("ParseAnnotations: %+v, %v", a, err)
	}
	for _, tc := range []struct {
		in    []string
		words []string
	}{
		{[]string{"source=https://a.example/x", "source=https://a.example/y"}, []string{"source given twice"}},
		{[]string{"platform=linux/amd64"}, []string{"--annotate", "platform", "source=URI"}},
		{[]string{"commit"}, []string{"--annotate", "commit=HASH"}},
		{[]string{"source=file:///tmp/x"}, []string{"--annotate source"}},
	} {
		_, err := submit.ParseAnnotations(tc.in)
		wantError(t, strings.Join(tc.in, " "), err, tc.words...)
	}
}

// TestParseKeyForms reads one key in each form a --key or policy line gives it.
func TestParseKeyForms(t *testing.T) {
	dir := t.TempDir()
	pub, _, _ := ed25519.GenerateKey(rand.Reader)
	hexKey := hex.EncodeToString(pub)
	for _, spec := range []string{"ed25519:" + hexKey, "ed25519:@" + write(t, dir, "k.hex", []byte(hexKey+"\n"))} {
		vs, err := submit.ParseKey(spec, "")
		if err != nil || len(vs) != 1 || vs[0].Scheme() != scheme.Ed25519 || vs[0].String() != hexKey {
			t.Fatalf("ParseKey(%q) = %v, %v", spec, vs, err)
		}
	}
	// @FILE is relative to the directory given (a policy file's).
	write(t, dir, "rel.hex", []byte(hexKey))
	if vs, err := submit.ParseKey("ed25519:@rel.hex", dir); err != nil || len(vs) != 1 {
		t.Fatalf("relative @FILE: %v, %v", vs, err)
	}
	vs, err := submit.ParseKey("openpgp:@"+guix("glozow.gpg"), "")
	if err != nil || len(vs) != 1 || vs[0].KeyID() != glozow {
		t.Fatalf("OpenPGP key file: %v, %v", vs, err)
	}
	// The canonical text of a key parses back to it.
	again, err := submit.ParseKey("openpgp:"+vs[0].String(), "")
	if err != nil || again[0].KeyID() != glozow {
		t.Fatalf("canonical OpenPGP text: %v", err)
	}
}

// TestPrepareLink submits the in-toto link of testdata/formats/in-toto, made
// by the in-toto reference tool, with its PEM key file; a changed product
// digest is refused.
func TestPrepareLink(t *testing.T) {
	dir := filepath.Join("..", "..", "testdata", "formats", "in-toto")
	link := filepath.Join(dir, "rebuild-hello_2.10-3_amd64.deb.3e501b56.link")
	key := "ed25519:@" + filepath.Join(dir, "rebuilder.pub")
	es, err := submit.Prepare(submit.Request{Kind: format.Link, Signed: link, Keys: []string{key}})
	if err != nil || len(es) != 1 || es[0].Claim.Subjects[0].Name != "hello_2.10-3_amd64.deb" || es[0].Claim.Subjects[0].Platform != "linux/amd64" {
		t.Fatalf("the in-toto link: %+v, %v", es, err)
	}
	deb, err := os.ReadFile(filepath.Join(dir, "hello_2.10-3_amd64.deb"))
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(deb)
	b, err := os.ReadFile(link)
	if err != nil {
		t.Fatal(err)
	}
	tampered := write(t, t.TempDir(), "x.link", bytes.Replace(b, []byte(hex.EncodeToString(sum[:])), []byte(strings.Repeat("0", 64)), 1))
	_, err = submit.Prepare(submit.Request{Kind: format.Link, Signed: tampered, Keys: []string{key}})
	wantError(t, "a changed product digest", err, "--key "+key, "does not verify")
}

// TestPrepareOSSRebuildBundle submits the rebuild.intoto.jsonl OSS Rebuild
// published for npm chalk 5.6.0 (testdata/formats/oss-rebuild) with OSS
// Rebuild's key, as a user fetches it: the ArtifactEquivalence line claims
// no build and is passed over, the Rebuild line makes the one entry.
func TestPrepareOSSRebuildBundle(t *testing.T) {
	dir := filepath.Join("..", "..", "testdata", "formats", "oss-rebuild")
	bundle := filepath.Join(dir, "chalk-5.6.0.tgz.rebuild.intoto.jsonl")
	key := "ecdsa-p256:@" + filepath.Join(dir, "oss-rebuild.pub")
	es, err := submit.Prepare(submit.Request{Kind: format.DSSE, Signed: bundle, Keys: []string{key}})
	if err != nil {
		t.Fatal(err)
	}
	if len(es) != 1 || es[0].Document != bundle+" line 2" || es[0].Claim.Source != "git+https://github.com/chalk/chalk" || es[0].Claim.Subjects[0].Name != "chalk-5.6.0.tgz" {
		t.Fatalf("entries %+v", es)
	}
	if _, err := record.Decode(es[0].Entry); err != nil {
		t.Fatal(err)
	}
	// The equivalence attestation alone claims nothing: an error, not an
	// empty submission.
	b, err := os.ReadFile(bundle)
	if err != nil {
		t.Fatal(err)
	}
	first := write(t, t.TempDir(), "equivalence.jsonl", bytes.SplitAfter(b, []byte("\n"))[0])
	_, err = submit.Prepare(submit.Request{Kind: format.DSSE, Signed: first, Keys: []string{key}})
	wantError(t, "only an equivalence attestation", err, first, "only rebuild attestations")
}
