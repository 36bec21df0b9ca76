package format_test

import (
	"bytes"
	"github.com/attestlog/attestlog/internal/tooltest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/attestlog/attestlog/log/claim"
	"github.com/attestlog/attestlog/log/claim/format"
	"github.com/attestlog/attestlog/log/claim/scheme"
)

// A small release, as guix.sigs and Zig publish them.
var release = map[string][]byte{
	"hello-1.0-x86_64-linux-gnu.tar.gz": []byte("hello for linux/amd64\n"),
	"hello-1.0-arm64-apple-darwin.zip":  []byte("hello for darwin/arm64\n"),
	"hello-1.0.tar.gz":                  []byte("hello source\n"),
}

// writeRelease writes the release files into dir, with sha256sum's
// SHA256SUMS, and returns it.
func writeRelease(t *testing.T, dir string) []byte {
	t.Helper()
	needTool(t, "sha256sum", "coreutils")
	var names []string
	for name, b := range release {
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o600); err != nil {
			t.Fatal(err)
		}
		names = append(names, name)
	}
	sums := runTool(t, dir, nil, "sha256sum", names...)
	if err := os.WriteFile(filepath.Join(dir, "SHA256SUMS"), sums, 0o600); err != nil {
		t.Fatal(err)
	}
	return sums
}

// gpg runs gpg in batch mode in a throwaway home ([tooltest.GPG]).
func gpg(t *testing.T, home string, args ...string) []byte {
	t.Helper()
	return tooltest.GPG(t, home, args...)
}

func newGPGHome(t *testing.T) string { t.Helper(); return tooltest.NewGPGHome(t) }

// TestToolsSHA256Sums signs a sha256sum manifest with gpg (detached,
// armored) and ssh-keygen -Y sign, opens each, and refuses tampering.
func TestToolsSHA256Sums(t *testing.T) {
	t.Run("gpg", func(t *testing.T) {
		home := newGPGHome(t)
		sums := writeRelease(t, home)
		gpg(t, home, "--quick-gen-key", "builder@example.org", "ed25519", "sign", "never")
		gpg(t, home, "--armor", "--detach-sign", "--output", "SHA256SUMS.asc", "SHA256SUMS")
		keys, err := scheme.ReadOpenPGPKeyring(gpg(t, home, "--export", "builder@example.org"))
		if err != nil {
			t.Fatal(err)
		}
		checkSums(t, keys[0], sums, readFile(t, filepath.Join(home, "SHA256SUMS.asc")))
	})
	t.Run("ssh", func(t *testing.T) {
		needTool(t, "ssh-keygen", "openssh-client")
		dir := t.TempDir()
		sums := writeRelease(t, dir)
		runTool(t, dir, nil, "ssh-keygen", "-q", "-N", "", "-t", "ed25519", "-C", "ci@example.org", "-f", "ci")
		runTool(t, dir, nil, "ssh-keygen", "-Y", "sign", "-n", scheme.SSHNamespace, "-f", "ci", "SHA256SUMS")
		key, err := scheme.ParseSSHAuthorizedKey(readFile(t, filepath.Join(dir, "ci.pub")))
		if err != nil {
			t.Fatal(err)
		}
		checkSums(t, key, sums, readFile(t, filepath.Join(dir, "SHA256SUMS.sig")))
	})
}

func checkSums(t *testing.T, key scheme.Verifier, sums, sig []byte) {
	t.Helper()
	c, err := format.Open(key, format.Document{Kind: format.SHA256Sums, Signed: sums, Signature: sig})
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Subjects) != len(release) || c.KeyID != key.KeyID() || !c.DigestOnly() {
		t.Fatalf("claim %+v", c)
	}
	platforms := map[string]string{"hello-1.0-x86_64-linux-gnu.tar.gz": "linux/amd64", "hello-1.0-arm64-apple-darwin.zip": "darwin/arm64", "hello-1.0.tar.gz": "any"}
	for _, s := range c.Subjects {
		if s.Platform != platforms[s.Name] || s.SHA256 != sum(release[s.Name]) {
			t.Errorf("subject %+v", s)
		}
	}
	evil := sum([]byte("evil\n"))
	_, err = format.Open(key, format.Document{Kind: format.SHA256Sums, Signed: replaceOnce(t, sums, sum(release["hello-1.0.tar.gz"]), evil), Signature: sig})
	wantVerify(t, "another digest", err, "SHA256SUMS", key.KeyID())
	_, err = format.Open(key, format.Document{Kind: format.SHA256Sums, Signed: sums})
	wantError(t, "no signature", err, "no detached signature")
}

// TestToolsBuildinfo clearsigns a buildinfo with gpg, as debsign does,
// opens it, and refuses tampered copies.
func TestToolsBuildinfo(t *testing.T) {
	home := newGPGHome(t)
	gpg(t, home, "--quick-gen-key", "buildd@example.org", "rsa3072", "sign", "never")
	text := readFile(t, testdata("debian", "rust-sniffglue_0.14.0-2_amd64.buildinfo"))
	plain, _, err := scheme.ParseClearsigned(text)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(home, "x.buildinfo"), plain, 0o600); err != nil {
		t.Fatal(err)
	}
	gpg(t, home, "--clearsign", "--digest-algo", "SHA512", "--output", "x.buildinfo.asc", "x.buildinfo")
	doc := readFile(t, filepath.Join(home, "x.buildinfo.asc"))
	keys, err := scheme.ReadOpenPGPKeyring(gpg(t, home, "--export", "buildd@example.org"))
	if err != nil {
		t.Fatal(err)
	}
	key := keys[0]
	c, err := format.Open(key, format.Document{Kind: format.Buildinfo, Signed: doc})
	if err != nil {
		t.Fatal(err)
	}
	ids := c.Identities()
	if c.Source != "deb:rust-sniffglue@0.14.0-2" || len(ids) != 3 || ids[2] != (claim.Identity{Source: "deb:rust-sniffglue@0.14.0-2", Platform: "linux/amd64", Artifact: "sniffglue_0.14.0-2_amd64.deb"}) {
		t.Fatalf("claim %+v, identities %+v", c, ids)
	}
	// Detached over the plain file works too.
	gpg(t, home, "--detach-sign", "--output", "x.buildinfo.sig", "x.buildinfo")
	if _, err := format.Open(key, format.Document{Kind: format.Buildinfo, Signed: plain, Signature: readFile(t, filepath.Join(home, "x.buildinfo.sig"))}); err != nil {
		t.Fatal(err)
	}

	for _, tc := range []struct{ what, old, new string }{
		{"changed .deb digest", " 448c781a", " 448c781b"},
		{"changed build dependency", " rustc (= 1.56.0+dfsg1-2)", " rustc (= 1.56.0+dfsg1-3)"},
		{"changed environment", `LC_ALL="C.UTF-8"`, `LC_ALL="C"`},
		{"changed version", "Version: 0.14.0-2", "Version: 0.14.0-3"},
	} {
		_, err := format.Open(key, format.Document{Kind: format.Buildinfo, Signed: replaceOnce(t, doc, tc.old, tc.new)})
		wantVerify(t, tc.what, err, "buildinfo", key.KeyID())
	}
	// Changes that break the form are refused before the signature.
	_, err = format.Open(key, format.Document{Kind: format.Buildinfo, Signed: replaceOnce(t, doc, "Version: 0.14.0-2", "Version: 0.14.0-2\nVersion: 0.14.0-3")})
	wantMalformed(t, "duplicate field", err, "Version appears twice")
	_, err = format.Open(key, format.Document{Kind: format.Buildinfo, Signed: doc, Signature: []byte("x")})
	wantError(t, "a detached signature with a clearsigned one", err, "carries its signature")
}

// minisign runs minisign in dir.
func minisign(t *testing.T, dir string, args ...string) {
	t.Helper()
	runTool(t, dir, nil, "minisign", args...)
}

// TestToolsMinisign signs release files with minisign and trusted comments
// in attestlog's schema, opens them with and without the file, and refuses
// tampering.
func TestToolsMinisign(t *testing.T) {
	needTool(t, "minisign", "minisign")
	dir := t.TempDir()
	writeRelease(t, dir)
	minisign(t, dir, "-G", "-W", "-p", "zsf.pub", "-s", "zsf.key")
	key, err := scheme.ParseMinisignPublicKeyFile(readFile(t, filepath.Join(dir, "zsf.pub")))
	if err != nil {
		t.Fatal(err)
	}
	const (
		name   = "hello-1.0-x86_64-linux-gnu.tar.gz"
		commit = "0123456789abcdef0123456789abcdef01234567"
	)
	file := release[name]
	sign := func(comment string) []byte {
		t.Helper()
		minisign(t, dir, "-S", "-s", "zsf.key", "-m", name, "-t", comment, "-x", "out.minisig")
		return readFile(t, filepath.Join(dir, "out.minisig"))
	}
	full := "timestamp:1718150245\tfile:" + name + "\tsource:git+https://example.org/hello\tcommit:" + commit + "\tsha256:" + sum(file)
	sig := sign(full)

	for _, withFile := range []bool{true, false} {
		d := format.Document{Kind: format.Minisign, Signature: sig}
		if withFile {
			d.File = file
		}
		c, err := format.Open(key, d)
		if err != nil {
			t.Fatalf("with file %v: %v", withFile, err)
		}
		want := []claim.Identity{{Source: "git+https://example.org/hello", Commit: commit, Platform: "linux/amd64", Artifact: name}}
		if ids := c.Identities(); len(ids) != 1 || ids[0] != want[0] || c.Subjects[0].SHA256 != sum(file) {
			t.Fatalf("with file %v: claim %+v", withFile, c)
		}
	}

	// minisign's default comment: digest-only, and the file is needed.
	def := sign("timestamp:1718150245\tfile:" + name + "\thashed")
	c, err := format.Open(key, format.Document{Kind: format.Minisign, Signature: def, File: file})
	if err != nil {
		t.Fatal(err)
	}
	if !c.DigestOnly() || c.Identities() != nil || c.Subjects[0].SHA256 != sum(file) {
		t.Fatalf("default comment: claim %+v", c)
	}
	_, err = format.Open(key, format.Document{Kind: format.Minisign, Signature: def})
	wantMalformed(t, "no sha256 and no file", err, "upload the file or sign its sha256")

	// Tampering.
	_, err = format.Open(key, format.Document{Kind: format.Minisign, Signature: sig, File: []byte("evil\n")})
	wantVerify(t, "another file", err, "signature over the file")
	lines := strings.Split(string(sig), "\n")
	lines[2] = strings.Replace(lines[2], commit, strings.Repeat("f", 40), 1)
	forged := []byte(strings.Join(lines, "\n"))
	_, err = format.Open(key, format.Document{Kind: format.Minisign, Signature: forged})
	wantVerify(t, "changed commit in the trusted comment", err, "global signature over the trusted comment")
	lying := sign("timestamp:1\tfile:" + name + "\tsha256:" + sum([]byte("other\n")))
	_, err = format.Open(key, format.Document{Kind: format.Minisign, Signature: lying, File: file})
	wantError(t, "trusted comment names another sha256", err, "names sha256", "but the file's is")
	_, err = format.Open(key, format.Document{Kind: format.Minisign, Signature: sign("release 1.0")})
	wantMalformed(t, "free-text comment", err, "not key:value")
	_, err = format.Open(key, format.Document{Kind: format.Minisign, Signature: sign("file:" + name + "\tsource:git+https://example.org/hello"), File: file})
	wantMalformed(t, "source without commit", err, "must come together")
	other, err := scheme.ParseMinisignKey("RWQf6LRCGA9i53mlYecO4IzT51TGPpvWucNSCh1CBM0QTaLn73Y7GFO3")
	if err != nil {
		t.Fatal(err)
	}
	_, err = format.Open(other, format.Document{Kind: format.Minisign, Signature: sig})
	wantVerify(t, "another key", err, "signature is by key")
	if !bytes.Contains(sig, []byte("trusted comment: "+full)) {
		t.Fatalf("minisign wrote another comment:\n%s", sig)
	}
}
