package record_test

import (
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/attestlog/attestlog/log/claim"
	"github.com/attestlog/attestlog/log/claim/format"
	"github.com/attestlog/attestlog/log/claim/record"
	"github.com/attestlog/attestlog/log/claim/record/recordtest"
	"github.com/attestlog/attestlog/log/claim/scheme"
)

// testdata returns the path of a file under the repository's testdata/formats.
func testdata(parts ...string) string {
	return filepath.Join(append([]string{"..", "..", "..", "testdata", "formats"}, parts...)...)
}

func readFile(t testing.TB, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// wantError checks that err is not nil, wraps target (if not nil) and
// contains every one of words.
func wantError(t *testing.T, what string, err, target error, words ...string) {
	t.Helper()
	if err == nil {
		t.Fatalf("%s: no error, want one mentioning %q", what, words)
	}
	if target != nil && !errors.Is(err, target) {
		t.Fatalf("%s: error %q does not wrap %q", what, err, target)
	}
	for _, w := range words {
		if !strings.Contains(err.Error(), w) {
			t.Fatalf("%s: error %q does not mention %q", what, err, w)
		}
	}
}

func decode(t *testing.T, entry []byte) *record.Record {
	t.Helper()
	r, err := record.Decode(entry)
	if err != nil {
		t.Fatalf("Decode: %v\n%s", err, entry)
	}
	return r
}

const (
	digestA = "6439e5605c9f82072fbebf09f5730196a1a496921d3da4e93bbaf21dfbdf9f9e"
	commit  = "0123456789abcdef0123456789abcdef01234567"
)

// TestV1KeysUnchanged checks that the generic map function gives a v1
// entry exactly the keys log/claim's Keys always gave it, so that existing
// logs' indexes and index commitments stay valid.
func TestV1KeysUnchanged(t *testing.T) {
	alice, bob := recordtest.NoteKey(t, 1, "alice.example.org"), recordtest.NoteKey(t, 2, "bob.example.org")
	claims := []*claim.Claim{
		{Subjects: []claim.Subject{{Name: "hello", SHA256: digestA}}, Source: "git+https://example.org/hello", SourceRef: "refs/tags/v1.0",
			Commit: commit, Recipe: digestA, Platform: "linux/amd64", BuilderID: "https://ci.example.org"},
		{Subjects: []claim.Subject{{Name: "a", SHA256: digestA}, {Name: "b", SHA256: strings.Repeat("1", 64)}, {Name: "c", SHA256: digestA}},
			Source: "git+https://example.org/x", Commit: strings.Repeat("ab", 32), Recipe: digestA, Platform: "any", BuilderID: "https://b"},
	}
	for i, c := range claims {
		for _, keys := range [][]claim.Key{{alice}, {alice, bob}} {
			entry := recordtest.V1Entry(t, c, keys...)
			e, err := claim.ParseEntry(entry)
			if err != nil {
				t.Fatal(err)
			}
			st, err := claim.ParseStatement(e.Payload)
			if err != nil {
				t.Fatal(err)
			}
			r := decode(t, entry)
			if got, want := r.Keys(), claim.Keys(e, st); !reflect.DeepEqual(got, want) {
				t.Errorf("claim %d, %d keys: Keys()\n%+v\nwant (claim.Keys)\n%+v", i, len(keys), got, want)
			}
			if got, want := r.Identities(), st.Identities(); !slices.Equal(got, want) {
				t.Errorf("claim %d: Identities %+v, want %+v", i, got, want)
			}
			if r.Version != 1 || r.Kind != record.KindV1 || r.V1 == nil || r.DigestOnly() || r.SourceRef != c.SourceRef || r.BuilderID != c.BuilderID || len(r.Signers) != len(keys) {
				t.Errorf("claim %d: record %+v", i, r)
			}
			for j, s := range r.Signers {
				if s.Scheme != scheme.Note || s.Builder() != e.Signatures[j].VKey || s.Key != "note "+e.Signatures[j].VKey {
					t.Errorf("signer %d: %+v", j, s)
				}
			}
		}
	}
	// A v1 entry with a bad signature is refused as before.
	entry := recordtest.V1Entry(t, claims[0], alice)
	i := bytes.Index(entry, []byte("\n\n"))
	_, err := record.Decode(slices.Concat(entry[:i+2], bytes.Replace(entry[i+2:], []byte("hello"), []byte("hellp"), 1)))
	wantError(t, "v1 changed payload", err, claim.ErrBadSignature, "alice.example.org")
}

// TestGuixSigs logs the real SHA256SUMS of Bitcoin Core 28.0 once per
// builder (RSA, ECDSA on secp256k1, EdDSA), decodes each entry alone, and
// refuses tampered entries, naming what failed.
func TestGuixSigs(t *testing.T) {
	sums := readFile(t, testdata("guix.sigs-28.0", "noncodesigned.SHA256SUMS"))
	var keys []*scheme.OpenPGPKey
	names := []string{"glozow", "kvaciral", "m3dwards"}
	for _, n := range names {
		ks, err := scheme.ReadOpenPGPKeyring(readFile(t, testdata("guix.sigs-28.0", n+".gpg")))
		if err != nil {
			t.Fatal(err)
		}
		keys = append(keys, ks[0])
	}
	supplied := format.Annotations{Source: "git+https://github.com/bitcoin/bitcoin.git", Commit: "2f4e75e2fc8e1e6c11ea6bd6b4f4caa3bd3be2d8"}
	for i, n := range names {
		t.Run(n, func(t *testing.T) {
			k := keys[i]
			asc := readFile(t, testdata("guix.sigs-28.0", n+".noncodesigned.SHA256SUMS.asc"))
			d := format.Document{Kind: format.SHA256Sums, Signed: sums, Signature: asc, Supplied: supplied}
			entry, err := record.Encode(k, d)
			if err != nil {
				t.Fatal(err)
			}
			// The armored and the binary signature give one entry.
			bin, err := scheme.ParseOpenPGPSignature(asc)
			if err != nil {
				t.Fatal(err)
			}
			d.Signature = bin
			if again, err := record.Encode(k, d); err != nil || !bytes.Equal(again, entry) {
				t.Fatalf("binary signature: another entry (%v)", err)
			}
			wantHeader := "attestlog.dev/claim/v2\nformat sha256sums\nkey " + scheme.Format(k) + "\nsig " + base64.StdEncoding.EncodeToString(bin) +
				"\nannotation commit 2f4e75e2fc8e1e6c11ea6bd6b4f4caa3bd3be2d8\nannotation source git+https://github.com/bitcoin/bitcoin\n\n"
			if !bytes.Equal(entry, append([]byte(wantHeader), sums...)) {
				t.Fatalf("entry:\n%.600s", entry)
			}
			r := decode(t, entry)
			if r.Version != 2 || r.Kind != "sha256sums" || len(r.Signers) != 1 || r.Signers[0].KeyID != k.KeyID() || len(r.Subjects) != 21 ||
				r.Source != "" || r.Supplied.Commit != supplied.Commit || !r.DigestOnly() || r.Identities() != nil || r.FileSignatureUnchecked {
				t.Fatalf("record %s: %+v", recordtest.Describe(r), r)
			}
			ks := r.Keys()
			if len(ks.Names) != 21 || ks.Names[0] != r.Subjects[0].Name || ks.Builds != nil || ks.Identities != nil ||
				!slices.Equal(ks.Builders, []string{"openpgp:" + k.KeyID()}) || len(ks.Digests) != 21 {
				t.Fatalf("keys %+v", ks)
			}

			// Tampered entries: each refused, naming what failed.
			_, err = record.Decode(recordtest.Tamper(t, entry, "7fe294b0", "7fe294b1"))
			wantError(t, "changed digest", err, claim.ErrBadSignature, "sha256sums", "SHA256SUMS", k.KeyID())
			other := keys[(i+1)%len(keys)]
			_, err = record.Decode(recordtest.Tamper(t, entry, scheme.Format(k), scheme.Format(other)))
			wantError(t, "another builder's key", err, claim.ErrBadSignature, other.KeyID())
			sigB64 := base64.StdEncoding.EncodeToString(bin)
			flipped := bytes.Clone(bin)
			flipped[len(flipped)-3] ^= 1
			_, err = record.Decode(recordtest.Tamper(t, entry, sigB64, base64.StdEncoding.EncodeToString(flipped)))
			wantError(t, "changed signature", err, nil, "sha256sums", "SHA256SUMS")
			armored := base64.StdEncoding.EncodeToString(asc)
			_, err = record.Decode(recordtest.Tamper(t, entry, sigB64, armored))
			wantError(t, "armored signature in the entry", err, claim.ErrMalformedEntry, "canonical form")
			_, err = record.Decode(recordtest.Tamper(t, entry, "annotation source git+https://github.com/bitcoin/bitcoin", "annotation source git+https://github.com/bitcoin/bitcoin.git"))
			wantError(t, "unnormalised annotation", err, claim.ErrMalformedEntry, "normalised")
		})
	}
}

// TestToolsSHA256SumsSSH signs a SHA256SUMS with ssh-keygen -Y sign.
func TestToolsSHA256SumsSSH(t *testing.T) {
	needTool(t, "ssh-keygen", "openssh-client")
	dir := t.TempDir()
	sums := recordtest.Sums(release)
	if err := os.WriteFile(filepath.Join(dir, "SHA256SUMS"), sums, 0o600); err != nil {
		t.Fatal(err)
	}
	runTool(t, dir, "ssh-keygen", "-q", "-N", "", "-t", "ed25519", "-C", "ci@example.org", "-f", "ci")
	runTool(t, dir, "ssh-keygen", "-Y", "sign", "-n", scheme.SSHNamespace, "-f", "ci", "SHA256SUMS")
	key, err := scheme.ParseSSHAuthorizedKey(readFile(t, filepath.Join(dir, "ci.pub")))
	if err != nil {
		t.Fatal(err)
	}
	sig := readFile(t, filepath.Join(dir, "SHA256SUMS.sig"))
	entry, err := record.Encode(key, format.Document{Kind: format.SHA256Sums, Signed: sums, Signature: sig})
	if err != nil {
		t.Fatal(err)
	}
	r := decode(t, entry)
	if r.Signers[0].Builder() != "ssh:"+key.KeyID() || len(r.Subjects) != len(release) || !r.DigestOnly() {
		t.Fatalf("record %+v", r)
	}
	_, err = record.Decode(recordtest.Tamper(t, entry, recordtest.SHA256(release["hello-1.0.tar.gz"]), recordtest.SHA256([]byte("evil\n"))))
	wantError(t, "changed digest", err, scheme.ErrVerify, "SSH key", key.KeyID())
}

// A small release, as guix.sigs and Zig publish them.
var release = map[string][]byte{
	"hello-1.0-x86_64-linux-gnu.tar.gz": []byte("hello for linux/amd64\n"),
	"hello-1.0-arm64-apple-darwin.zip":  []byte("hello for darwin/arm64\n"),
	"hello-1.0.tar.gz":                  []byte("hello source\n"),
}

// TestToolsBuildinfo clearsigns a Debian buildinfo with gpg, as debsign
// does, and logs it as made: a deb: source identity per .deb.
func TestToolsBuildinfo(t *testing.T) {
	home := newGPGHome(t)
	gpg(t, home, "--quick-gen-key", "buildd@example.org", "ed25519", "sign", "never")
	text := readFile(t, testdata("debian", "rust-sniffglue_0.14.0-2_amd64.buildinfo"))
	plain, _, err := scheme.ParseClearsigned(text)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(home, "x.buildinfo"), plain, 0o600); err != nil {
		t.Fatal(err)
	}
	gpg(t, home, "--clearsign", "--output", "x.buildinfo.asc", "x.buildinfo")
	doc := readFile(t, filepath.Join(home, "x.buildinfo.asc"))
	keys, err := scheme.ReadOpenPGPKeyring(gpg(t, home, "--export", "buildd@example.org"))
	if err != nil {
		t.Fatal(err)
	}
	k := keys[0]
	entry, err := record.Encode(k, format.Document{Kind: format.Buildinfo, Signed: doc})
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(entry, []byte("\nsig ")) || !bytes.HasSuffix(entry, doc) {
		t.Fatalf("a clearsigned buildinfo entry has a sig line or not the document verbatim:\n%.400s", entry)
	}
	r := decode(t, entry)
	ids := r.Identities()
	if r.Source != "deb:rust-sniffglue@0.14.0-2" || r.DigestOnly() || len(ids) != 3 || r.Recipe == "" {
		t.Fatalf("record %+v", r)
	}
	ks := r.Keys()
	if len(ks.Builds) != 1 || ks.Builds[0] != (claim.Build{Source: r.Source, Platform: "linux/amd64"}) || ks.Names != nil {
		t.Fatalf("keys %+v", ks)
	}
	_, err = record.Decode(recordtest.Tamper(t, entry, "Version: 0.14.0-2", "Version: 0.14.0-3"))
	wantError(t, "changed version", err, claim.ErrBadSignature, "buildinfo", k.KeyID())
	// A supplied commit for a deb: source is refused: the version fixes it.
	_, err = record.Encode(k, format.Document{Kind: format.Buildinfo, Signed: doc, Supplied: format.Annotations{Commit: commit}})
	wantError(t, "supplied commit", err, claim.ErrMalformedEntry, "already fixes the source")

	// Detached over the plain file: the entry has a sig line.
	gpg(t, home, "--detach-sign", "--output", "x.buildinfo.sig", "x.buildinfo")
	entry, err = record.Encode(k, format.Document{Kind: format.Buildinfo, Signed: plain, Signature: readFile(t, filepath.Join(home, "x.buildinfo.sig"))})
	if err != nil {
		t.Fatal(err)
	}
	if r := decode(t, entry); r.Source != "deb:rust-sniffglue@0.14.0-2" {
		t.Fatalf("detached: record %+v", r)
	}
}

// TestToolsMinisign signs release files with minisign: with sha256: in the
// trusted comment the entry re-verifies alone; without, it carries a
// file-sha256 line, Decode says the file signature is unchecked, and
// CheckFile checks it over the file.
func TestToolsMinisign(t *testing.T) {
	needTool(t, "minisign", "minisign")
	dir := t.TempDir()
	const name = "hello-1.0-x86_64-linux-gnu.tar.gz"
	file := release[name]
	if err := os.WriteFile(filepath.Join(dir, name), file, 0o600); err != nil {
		t.Fatal(err)
	}
	runTool(t, dir, "minisign", "-G", "-W", "-p", "zsf.pub", "-s", "zsf.key")
	key, err := scheme.ParseMinisignPublicKeyFile(readFile(t, filepath.Join(dir, "zsf.pub")))
	if err != nil {
		t.Fatal(err)
	}
	sign := func(comment string) []byte {
		runTool(t, dir, "minisign", "-S", "-s", "zsf.key", "-m", name, "-t", comment, "-x", "out.minisig")
		return readFile(t, filepath.Join(dir, "out.minisig"))
	}
	full := sign("timestamp:1718150245\tfile:" + name + "\tsource:git+https://example.org/hello\tcommit:" + commit + "\tsha256:" + recordtest.SHA256(file))
	for _, withFile := range []bool{false, true} {
		d := format.Document{Kind: format.Minisign, Signature: full}
		if withFile {
			d.File = file
		}
		entry, err := record.Encode(key, d)
		if err != nil {
			t.Fatal(err)
		}
		if bytes.Contains(entry, []byte("file-sha256")) || !bytes.HasSuffix(entry, full) {
			t.Fatalf("entry:\n%s", entry)
		}
		r := decode(t, entry)
		want := claim.Identity{Source: "git+https://example.org/hello", Commit: commit, Platform: "linux/amd64", Artifact: name}
		if ids := r.Identities(); len(ids) != 1 || ids[0] != want || r.FileSignatureUnchecked {
			t.Fatalf("record %+v", r)
		}
		if err := record.CheckFile(r, bytes.NewReader(file)); err != nil {
			t.Fatal(err)
		}
	}

	// minisign's default comment: digest-only; the file is needed.
	def := sign("timestamp:1718150245\tfile:" + name + "\thashed")
	_, err = record.Encode(key, format.Document{Kind: format.Minisign, Signature: def})
	wantError(t, "no sha256 and no file", err, claim.ErrMalformedEntry, "upload the file")
	entry, err := record.Encode(key, format.Document{Kind: format.Minisign, Signature: def, File: file})
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(entry, []byte("\nfile-sha256 "+recordtest.SHA256(file)+"\n")) {
		t.Fatalf("entry:\n%s", entry)
	}
	r := decode(t, entry)
	if !r.FileSignatureUnchecked || !r.DigestOnly() || r.Subjects[0].SHA256 != recordtest.SHA256(file) || !slices.Equal(r.Keys().Names, []string{name}) {
		t.Fatalf("record %+v", r)
	}
	if err := record.CheckFile(r, bytes.NewReader(file)); err != nil {
		t.Fatal(err)
	}
	err = record.CheckFile(r, strings.NewReader("evil\n"))
	wantError(t, "another file", err, claim.ErrBadSignature, "not one the claim names")
	// A submitter who writes another file's digest: Decode cannot tell,
	// CheckFile over that file can (and the log, holding it, refuses).
	evil := []byte("evil\n")
	lie := decode(t, recordtest.Tamper(t, entry, recordtest.SHA256(file), recordtest.SHA256(evil)))
	err = record.CheckFile(lie, bytes.NewReader(evil))
	wantError(t, "file-sha256 of another file", err, scheme.ErrVerify, "signature over the file")
	// The global signature still binds the comment.
	_, err = record.Decode(recordtest.Tamper(t, entry, "\thashed", "\thashed\tplatform:any"))
	wantError(t, "changed trusted comment", err, claim.ErrBadSignature, "global signature")
	// file-sha256 with a comment that names the sha256 is not canonical.
	e2, _ := record.Encode(key, format.Document{Kind: format.Minisign, Signature: full})
	_, err = record.Decode(recordtest.Tamper(t, e2, "\n\n", "\nfile-sha256 "+recordtest.SHA256(file)+"\n\n"))
	wantError(t, "redundant file-sha256", err, claim.ErrMalformedEntry, "no file-sha256 line")
}

// TestInTotoLink logs the link in-toto-run made (testdata/formats/in-toto).
func TestInTotoLink(t *testing.T) {
	b := readFile(t, testdata("in-toto", "rebuild-hello_2.10-3_amd64.deb.3e501b56.link"))
	pub := readFile(t, testdata("in-toto", "rebuilder.pub"))
	i := bytes.Index(pub, []byte(`"public": "`))
	if i < 0 {
		t.Fatal("no public key in rebuilder.pub")
	}
	hexKey, _, _ := strings.Cut(string(pub[i+len(`"public": "`):]), `"`)
	key, err := scheme.ParseEd25519PublicKey([]byte(hexKey))
	if err != nil {
		t.Fatal(err)
	}
	entry, err := record.Encode(key, format.Document{Kind: format.Link, Signed: b})
	if err != nil {
		t.Fatal(err)
	}
	r := decode(t, entry)
	deb := readFile(t, testdata("in-toto", "hello_2.10-3_amd64.deb"))
	if r.Kind != "link" || len(r.Subjects) != 1 || r.Subjects[0].SHA256 != recordtest.SHA256(deb) || !r.DigestOnly() ||
		r.Signers[0].Builder() != "ed25519:"+key.KeyID() || !slices.Equal(r.Keys().Names, []string{"hello_2.10-3_amd64.deb"}) {
		t.Fatalf("record %+v", r)
	}
	_, err = record.Decode(recordtest.Tamper(t, entry, recordtest.SHA256(deb)[:8], "00000000"))
	wantError(t, "changed product", err, claim.ErrBadSignature, "link", key.KeyID())
	_, err = record.Decode(recordtest.Tamper(t, entry, "\n\n", "\nsig AAAA\n\n"))
	wantError(t, "sig line on a link", err, claim.ErrMalformedEntry, "carries its signature")
}

// TestOSSRebuild logs a DSSE envelope of OSS Rebuild's shape signed with
// ECDSA P-256: a git source identity.
func TestOSSRebuild(t *testing.T) {
	k := recordtest.NewECDSA(t, 3)
	const artifact = "absl_py-2.0.0-py3-none-any.whl"
	file := []byte("wheel\n")
	env := k.OSSRebuild(t, artifact, file, "git+https://github.com/abseil/abseil-py", "37dad4d356ca9e13f1c533ad6309631b397a2b6b")
	entry := recordtest.Encode(t, k.Verifier, format.Document{Kind: format.DSSE, Signed: env})
	r := decode(t, entry)
	want := claim.Identity{Source: "git+https://github.com/abseil/abseil-py", Commit: "37dad4d356ca9e13f1c533ad6309631b397a2b6b", Platform: "any", Artifact: artifact}
	if ids := r.Identities(); len(ids) != 1 || ids[0] != want || r.Signers[0].Builder() != "ecdsa-p256:"+k.Verifier.KeyID() {
		t.Fatalf("record %+v", r)
	}
	other := recordtest.NewECDSA(t, 4)
	_, err := record.Decode(recordtest.Tamper(t, entry, scheme.Format(k.Verifier), scheme.Format(other.Verifier)))
	wantError(t, "another key", err, claim.ErrBadSignature, "DSSE envelope", other.Verifier.KeyID())
}

// TestGoSigned decodes the entries recordtest makes in Go (used by other
// packages' tests) and checks their mapping.
func TestGoSigned(t *testing.T) {
	ed := recordtest.NewEd25519(t, 5)
	entry := ed.SumsEntry(t, recordtest.Sums(release), format.Annotations{})
	if r := decode(t, entry); len(r.Subjects) != 3 || r.Signers[0].Scheme != scheme.Ed25519 {
		t.Fatalf("sums: %+v", r)
	}
	link := ed.Link(t, "rebuild", map[string][]byte{"x.buildinfo": []byte("bi")}, map[string][]byte{"hello_1.0_amd64.deb": []byte("deb")})
	if r := decode(t, recordtest.Encode(t, ed.Verifier, format.Document{Kind: format.Link, Signed: link})); r.Subjects[0].Platform != "linux/amd64" {
		t.Fatalf("link: %+v", r)
	}
	m := recordtest.NewMinisign(t, 6)
	for _, withSHA := range []bool{true, false} {
		r := decode(t, m.Entry(t, "zig-x86_64-linux-0.14.1.tar.xz", []byte("zig"), withSHA, "source:git+https://github.com/ziglang/zig\tcommit:"+commit))
		if r.FileSignatureUnchecked == withSHA || len(r.Identities()) != 1 {
			t.Fatalf("minisign (sha256 %v): %+v", withSHA, r)
		}
	}
}

// TestEntrySyntax refuses malformed v2 entries, naming what is wrong.
func TestEntrySyntax(t *testing.T) {
	ed := recordtest.NewEd25519(t, 5)
	entry := string(ed.SumsEntry(t, recordtest.Sums(release), format.Annotations{Commit: commit, Source: "git+https://example.org/hello"}))
	header, body, _ := strings.Cut(entry, "\n\n")
	lines := strings.Split(header, "\n")
	join := func(ls ...string) []byte { return []byte(strings.Join(ls, "\n") + "\n\n" + body) }
	for _, tc := range []struct {
		what  string
		entry []byte
		words []string
	}{
		{"no empty line", []byte(header), []string{"no empty line"}},
		{"unknown version", []byte("attestlog.dev/claim/v3\n" + entry[len("attestlog.dev/claim/v2\n"):]), []string{"first line"}},
		{"no format line", join(lines[0], lines[2], lines[3]), []string{"format <kind>"}},
		{"unknown format", join(lines[0], "format tarball", lines[2], lines[3]), []string{"unknown format"}},
		{"no key line", join(lines[0], lines[1], lines[3]), []string{"key <scheme> <key>"}},
		{"bad key", join(lines[0], lines[1], "key ed25519 00", lines[3]), []string{"key"}},
		{"unknown scheme", join(lines[0], lines[1], "key pgp 00", lines[3]), []string{"unknown scheme"}},
		{"sig not canonical base64", join(lines[0], lines[1], lines[2], lines[3]+"=", lines[4], lines[5]), []string{"canonical standard base64"}},
		{"annotations out of order", join(lines[0], lines[1], lines[2], lines[3], lines[5], lines[4]), []string{"canonical form"}},
		{"annotation twice", join(lines[0], lines[1], lines[2], lines[3], lines[4], lines[4]), []string{"twice"}},
		{"unknown annotation", join(lines[0], lines[1], lines[2], lines[3], "annotation platform any"), []string{"annotation"}},
		{"unknown line", join(lines[0], lines[1], lines[2], lines[3], "comment hi"), []string{"unexpected header line"}},
		{"file-sha256 on sums", join(lines[0], lines[1], lines[2], lines[3], "file-sha256 "+digestA), []string{"minisign entries only"}},
		{"file-sha256 uppercase", join(lines[0], lines[1], lines[2], lines[3], "file-sha256 "+strings.ToUpper(digestA)), []string{"lowercase hex"}},
		{"no sig on sums", join(lines[0], lines[1], lines[2]), []string{"no detached signature"}},
		{"too large", append([]byte(entry), make([]byte, claim.MaxEntrySize)...), []string{"65535"}},
	} {
		_, err := record.Decode(tc.entry)
		var target error = claim.ErrMalformedEntry
		if tc.what == "too large" {
			target = claim.ErrEntryTooLarge
		}
		if err == nil || !errors.Is(err, target) {
			t.Errorf("%s: Decode error %v, want one wrapping %v", tc.what, err, target)
			continue
		}
		for _, w := range tc.words {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%s: error %q does not mention %q", tc.what, err, w)
			}
		}
	}
	if _, err := record.Decode([]byte(entry)); err != nil {
		t.Fatalf("the untampered entry: %v", err)
	}
}

// TestOSSRebuildReal logs the Rebuild@v0.1 envelope OSS Rebuild published
// for npm chalk 5.6.0 (testdata/formats/oss-rebuild), signed by its KMS
// key, decodes the entry alone, and refuses tampered entries.
func TestOSSRebuildReal(t *testing.T) {
	lines := bytes.Split(bytes.TrimSuffix(readFile(t, testdata("oss-rebuild", "chalk-5.6.0.tgz.rebuild.intoto.jsonl")), []byte("\n")), []byte("\n"))
	key, err := scheme.ParseECDSAP256PublicKey(readFile(t, testdata("oss-rebuild", "oss-rebuild.pub")))
	if err != nil {
		t.Fatal(err)
	}
	env := lines[1]
	entry, err := record.Encode(key, format.Document{Kind: format.DSSE, Signed: env})
	if err != nil {
		t.Fatal(err)
	}
	if want := "attestlog.dev/claim/v2\nformat dsse\nkey " + scheme.Format(key) + "\n\n"; !bytes.Equal(entry, append([]byte(want), env...)) {
		t.Fatalf("entry:\n%.400s", entry)
	}
	r := decode(t, entry)
	want := claim.Identity{Source: "git+https://github.com/chalk/chalk", Commit: "5c91505e184aff4609c0a7fb235770c2f71db4a3", Platform: "any", Artifact: "chalk-5.6.0.tgz"}
	if ids := r.Identities(); r.Version != 2 || r.Kind != "dsse" || len(ids) != 1 || ids[0] != want ||
		len(r.Signers) != 1 || r.Signers[0].Builder() != "ecdsa-p256:"+key.KeyID() || r.DigestOnly() {
		t.Fatalf("record %s: %+v", recordtest.Describe(r), r)
	}
	if ks := r.Keys(); len(ks.Digests) != 1 || ks.Digests[0] != "6ecef29710252b6d46f639e45c6a1ba8b400f499dbc8eff645045d07ce08bf45" || len(ks.Identities) != 1 {
		t.Fatalf("keys %+v", ks)
	}

	// A changed signature, another key in the key line: refused.
	e, err := format.ParseEnvelope(env)
	if err != nil {
		t.Fatal(err)
	}
	sig := base64.StdEncoding.EncodeToString(e.Signatures[0].Sig)
	flipped := bytes.Clone(e.Signatures[0].Sig)
	flipped[len(flipped)-4] ^= 1
	_, err = record.Decode(recordtest.Tamper(t, entry, sig, base64.StdEncoding.EncodeToString(flipped)))
	wantError(t, "changed signature", err, claim.ErrBadSignature, "DSSE envelope", key.KeyID())
	other := recordtest.NewECDSA(t, 4)
	_, err = record.Decode(recordtest.Tamper(t, entry, scheme.Format(key), scheme.Format(other.Verifier)))
	wantError(t, "another key", err, claim.ErrBadSignature, "DSSE envelope", other.Verifier.KeyID())

	// The bundle's ArtifactEquivalence attestation makes no entry.
	_, err = record.Encode(key, format.Document{Kind: format.DSSE, Signed: lines[0]})
	wantError(t, "ArtifactEquivalence", err, format.ErrNotABuild, "only rebuild attestations")
}

// TestDecodeOpenPGPCache decodes the guix.sigs entries again and again,
// concurrently, as a monitor or the log does: Decode keeps their parsed
// certificates, every decode still verifies the entry's signature (a
// changed one is refused after the certificate was kept), and a key text
// that is not the kept one byte for byte is parsed, and refused, as before.
func TestDecodeOpenPGPCache(t *testing.T) {
	sums := readFile(t, testdata("guix.sigs-28.0", "noncodesigned.SHA256SUMS"))
	var entries [][]byte
	var fprs []string
	for _, n := range []string{"glozow", "kvaciral", "m3dwards"} {
		ks, err := scheme.ReadOpenPGPKeyring(readFile(t, testdata("guix.sigs-28.0", n+".gpg")))
		if err != nil {
			t.Fatal(err)
		}
		asc := readFile(t, testdata("guix.sigs-28.0", n+".noncodesigned.SHA256SUMS.asc"))
		entries = append(entries, recordtest.Encode(t, ks[0], format.Document{Kind: format.SHA256Sums, Signed: sums, Signature: asc}))
		fprs = append(fprs, ks[0].KeyID())
	}
	first := make([]*record.Record, len(entries))
	for i, e := range entries {
		first[i] = decode(t, e)
	}
	if record.CachedCerts() < len(entries) {
		t.Fatalf("%d certificates kept after decoding %d entries", record.CachedCerts(), len(entries))
	}
	errs := make(chan error, 8)
	for g := range 8 {
		go func() {
			for k := range 6 {
				i := (g + k) % len(entries)
				r, err := record.Decode(entries[i])
				if err == nil && (r.Signers[0] != first[i].Signers[0] || len(r.Subjects) != len(first[i].Subjects) || r.Signers[0].KeyID != fprs[i]) {
					err = fmt.Errorf("entry %d decoded to signer %s, want %s", i, r.Signers[0].KeyID, fprs[i])
				}
				if err != nil {
					errs <- err
					return
				}
			}
			errs <- nil
		}()
	}
	for range 8 {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}

	// A kept certificate verifies nothing by itself.
	_, err := record.Decode(recordtest.Tamper(t, entries[2], "7fe294b0", "7fe294b1"))
	wantError(t, "changed digest, certificate kept", err, claim.ErrBadSignature, "SHA256SUMS", fprs[2])
	_, err = record.Decode(recordtest.Tamper(t, entries[0], "key openpgp "+fprs[0], "key openpgp "+fprs[1]))
	wantError(t, "another fingerprint before a kept certificate", err, claim.ErrMalformedEntry, "fingerprint")
	header, _, _ := bytes.Cut(entries[2], []byte("\n\n"))
	keyLine := string(bytes.Split(header, []byte("\n"))[2])
	_, err = record.Decode(recordtest.Tamper(t, entries[2], keyLine, keyLine+"AAAA"))
	wantError(t, "longer certificate text", err, claim.ErrMalformedEntry, "key")
}
