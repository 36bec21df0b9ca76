package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/attestlog/attestlog/cmd/attestlog/internal/usage"
	"github.com/attestlog/attestlog/log/claim/scheme"
)

// The release of TestFormatsEndToEnd, named as Bitcoin Core names its files.
const (
	relLinux  = "bitcoin-28.0-x86_64-linux-gnu.tar.gz"
	relArm    = "bitcoin-28.0-aarch64-linux-gnu.tar.gz"
	relSource = "bitcoin-28.0.tar.gz"
)

// TestFormatsEndToEnd runs the README's community guides against a real
// serve process, with documents the signers' own tools make at test time: a
// guix.sigs-style release whose builders sign SHA256SUMS with gpg (RSA and
// EdDSA keys), one of them also with ssh-keygen, a minisign signer and an
// SSH-only signer about the same artifact, and a clearsigned Debian
// buildinfo. verify -k counts each identity once (bob's OpenPGP and SSH
// keys vote once), a trusted builder whose SHA256SUMS names another digest
// for the same file makes verify exit 4, and lookup finds the buildinfo by
// its deb: source.
func TestFormatsEndToEnd(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a serve process and runs gpg, minisign and ssh-keygen")
	}
	for _, tool := range []struct{ name, pkg string }{{"gpg", "gpg"}, {"minisign", "minisign"}, {"ssh-keygen", "openssh-client"}} {
		if _, err := exec.LookPath(tool.name); err != nil {
			t.Skipf("%s not found in PATH: install it (apt-get install %s) to run this test", tool.name, tool.pkg)
		}
	}
	clearClientEnv(t)
	t.Setenv("ATTESTLOG_POLICY_FILE", "")
	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	t.Chdir(dir) // the guides' command lines use relative paths
	t.Setenv("ATTESTLOG_STATE", filepath.Join(dir, "state"))

	p := startProc(t, []string{"log vkey:", "http listening on", "grpc listening on"}, "serve", "--data", filepath.Join(dir, "log"),
		"--http", "127.0.0.1:0", "--grpc", "127.0.0.1:0", "--log-level", "error")
	t.Setenv("ATTESTLOG_LOG_GRPC", p.get("grpc listening on"))
	t.Setenv("ATTESTLOG_LOG_VKEY", p.get("log vkey:"))
	httpAddr := p.get("http listening on")

	// al runs one attestlog command line, as a shell would, and returns its
	// output (stdout and stderr) and exit code.
	al := func(line string) (string, int) {
		t.Helper()
		var out bytes.Buffer
		err := run(context.Background(), splitLine(t, line), &out, &out)
		var ee exitError
		switch {
		case err == nil:
			return out.String(), 0
		case errors.As(err, &ee) && ee.err == nil:
			return out.String(), ee.code
		case errors.As(err, &ee):
			return out.String() + ee.err.Error(), ee.code
		}
		return out.String() + err.Error(), 1
	}
	must := func(line string) string {
		t.Helper()
		out, code := al(line)
		if code != 0 {
			t.Fatalf("attestlog %s: exit %d\n%s", line, code, out)
		}
		return out
	}

	// The release and each builder's SHA256SUMS, as guix.sigs lays them out.
	release := map[string][]byte{relLinux: []byte("bitcoind for linux/amd64\n"), relArm: []byte("bitcoind for linux/arm64\n"), relSource: []byte("source\n")}
	for name, b := range release {
		writeFile(t, name, b)
	}
	sums := sha256Sums(release)
	evil := map[string][]byte{relLinux: []byte("bitcoind with a backdoor\n"), relArm: release[relArm], relSource: release[relSource]}

	gh := newGPG(t)
	builders := []struct {
		name, algo string
		sums       []byte
	}{
		{"alice", "rsa3072", sums},
		{"bob", "ed25519", sums},
		{"carol", "ed25519", sums},
		{"mallory", "ed25519", sha256Sums(evil)},
	}
	for _, b := range builders {
		gh.run("--quick-gen-key", b.name+"@example.org", b.algo, "sign", "never")
		writeFile(t, "guix.sigs/builder-keys/"+b.name+".gpg", gh.run("--armor", "--export", b.name+"@example.org"))
		d := "guix.sigs/28.0/" + b.name
		writeFile(t, d+"/noncodesigned.SHA256SUMS", b.sums)
		gh.run("--local-user", b.name+"@example.org", "--armor", "--detach-sign", "--output", filepath.Join(dir, d, "noncodesigned.SHA256SUMS.asc"), filepath.Join(dir, d, "noncodesigned.SHA256SUMS"))
	}
	// The Bitcoin guide's loop, for every builder; alice's carries the
	// tag's commit as a supplied annotation.
	commit := strings.Repeat("c0ffee", 6) + "0123"
	for _, b := range builders {
		line := fmt.Sprintf("submit --format sha256sums --signed guix.sigs/28.0/%[1]s/noncodesigned.SHA256SUMS --signature guix.sigs/28.0/%[1]s/noncodesigned.SHA256SUMS.asc --key openpgp:@guix.sigs/builder-keys/%[1]s.gpg", b.name)
		if b.name == "alice" {
			line += " --annotate source=https://github.com/bitcoin/bitcoin --annotate commit=" + commit
		}
		out := must(line)
		if !strings.Contains(out, "logged ") || !strings.Contains(out, "receipt saved to guix.sigs/28.0/"+b.name+"/noncodesigned.SHA256SUMS.asc.receipt-") {
			t.Fatalf("submit for %s printed:\n%s", b.name, out)
		}
	}
	// The receipt submit saved verifies offline, and says what it holds.
	if out := must("receipt guix.sigs/28.0/alice/noncodesigned.SHA256SUMS.asc.receipt-0.json"); !strings.Contains(out, "verified: claim at index 0") ||
		!strings.Contains(out, "sha256sums/openpgp signed by openpgp ") || !strings.Contains(out, "(supplied, unsigned)") {
		t.Fatalf("receipt of alice's claim:\n%s", out)
	}
	// The same document again gives the same entry: a duplicate.
	if out := must("submit --format sha256sums --signed guix.sigs/28.0/bob/noncodesigned.SHA256SUMS --signature guix.sigs/28.0/bob/noncodesigned.SHA256SUMS.asc --key openpgp:@guix.sigs/builder-keys/bob.gpg"); !strings.Contains(out, "(duplicate: yes)") {
		t.Fatalf("resubmitting bob's SHA256SUMS:\n%s", out)
	}
	// One keyring of every builder: submit picks the key that signed.
	var keyring []byte
	for _, b := range builders {
		keyring = append(keyring, readFile(t, "guix.sigs/builder-keys/"+b.name+".gpg")...)
	}
	writeFile(t, "builder-keys.gpg", keyring)
	if out := must("submit --format sha256sums --signed guix.sigs/28.0/carol/noncodesigned.SHA256SUMS --signature guix.sigs/28.0/carol/noncodesigned.SHA256SUMS.asc --key openpgp:@builder-keys.gpg"); !strings.Contains(out, "(duplicate: yes)") {
		t.Fatalf("carol's SHA256SUMS with the whole keyring:\n%s", out)
	}
	// --artifact uploads a file the document names, after the entry; one it
	// does not name is refused before anything is sent.
	if out := must("submit --format sha256sums --signed guix.sigs/28.0/carol/noncodesigned.SHA256SUMS --signature guix.sigs/28.0/carol/noncodesigned.SHA256SUMS.asc --key openpgp:@builder-keys.gpg --artifact " + relSource); !strings.Contains(out, "uploaded "+relSource) {
		t.Fatalf("submit --artifact %s:\n%s", relSource, out)
	}
	writeFile(t, "unnamed.bin", []byte("nobody names this\n"))
	if out, code := al("submit --format sha256sums --signed guix.sigs/28.0/carol/noncodesigned.SHA256SUMS --signature guix.sigs/28.0/carol/noncodesigned.SHA256SUMS.asc --key openpgp:@builder-keys.gpg --artifact unnamed.bin"); code == 0 || !strings.Contains(out, "not named by any submitted claim") {
		t.Fatalf("submit --artifact of a file the document does not name: exit %d\n%s", code, out)
	}
	// A key that did not sign is refused before anything is sent.
	if out, code := al("submit --format sha256sums --signed guix.sigs/28.0/carol/noncodesigned.SHA256SUMS --signature guix.sigs/28.0/carol/noncodesigned.SHA256SUMS.asc --key openpgp:@guix.sigs/builder-keys/alice.gpg"); code == 0 || !strings.Contains(out, "--key") {
		t.Fatalf("carol's signature with alice's key: exit %d\n%s", code, out)
	}

	// SSH: bob signs the same SHA256SUMS with his SSH key too (a second key
	// of another scheme for one identity), and ci with its own.
	for _, name := range []string{"bob", "ci"} {
		runTool(t, "ssh-keygen", "-q", "-N", "", "-t", "ed25519", "-C", name+"@example.org", "-f", name+"_ssh")
		writeFile(t, name+"/SHA256SUMS", sums)
		runTool(t, "ssh-keygen", "-Y", "sign", "-n", scheme.SSHNamespace, "-f", name+"_ssh", name+"/SHA256SUMS")
		must(fmt.Sprintf("submit --format sha256sums --signed %[1]s/SHA256SUMS --signature %[1]s/SHA256SUMS.sig --key ssh:@%[1]s_ssh.pub", name))
	}

	// minisign: zed signs the Linux tarball with the Zig guide's trusted
	// comment, sha256: included, so the entry stands alone.
	runTool(t, "minisign", "-G", "-W", "-p", "zed.pub", "-s", "zed.key")
	tc := fmt.Sprintf("timestamp:1718150245\tfile:%s\tsha256:%s", relLinux, sha256Hex(release[relLinux]))
	runTool(t, "minisign", "-S", "-s", "zed.key", "-m", relLinux, "-t", tc, "-x", relLinux+".minisig")
	must("submit --format minisign --signature " + relLinux + ".minisig --artifact " + relLinux + " --key minisign:@zed.pub")
	// minisign's default comment names no sha256: the log needs the file,
	// which submit uploads before the entry.
	runTool(t, "minisign", "-S", "-s", "zed.key", "-m", relArm, "-x", relArm+".minisig")
	if out, code := al("submit --format minisign --signature " + relArm + ".minisig --key minisign:@zed.pub"); code == 0 || !strings.Contains(out, "--artifact") {
		t.Fatalf("a minisign signature without sha256: and without its file: exit %d\n%s", code, out)
	}
	if out := must("submit --format minisign --signature " + relArm + ".minisig --artifact " + relArm + " --key minisign:@zed.pub"); !strings.Contains(out, "uploaded "+relArm) {
		t.Fatalf("minisign without sha256: did not upload the file:\n%s", out)
	}

	// Debian: a buildd clearsigns a .buildinfo, as debsign does.
	gh.run("--quick-gen-key", "buildd@example.org", "ed25519", "sign", "never")
	writeFile(t, "buildd.gpg", gh.run("--armor", "--export", "buildd@example.org"))
	plain, _, err := scheme.ParseClearsigned([]byte(readFile(t, filepath.Join(root, "testdata", "formats", "debian", "rust-sniffglue_0.14.0-2_amd64.buildinfo"))))
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, "rust-sniffglue_0.14.0-2_amd64.buildinfo.plain", plain)
	gh.run("--local-user", "buildd@example.org", "--clearsign", "--output", filepath.Join(dir, "rust-sniffglue_0.14.0-2_amd64.buildinfo"), filepath.Join(dir, "rust-sniffglue_0.14.0-2_amd64.buildinfo.plain"))
	must("submit --format buildinfo --signed rust-sniffglue_0.14.0-2_amd64.buildinfo --key openpgp:@buildd.gpg")
	waitPublished(t, httpAddr, 9) // 4 OpenPGP + 2 SSH + 2 minisign + 1 buildinfo; the duplicates added nothing
	out := must("lookup --source deb:rust-sniffglue@0.14.0-2")
	for _, want := range []string{"1 claim", "buildinfo", "openpgp", "sniffglue_0.14.0-2_amd64.deb"} {
		if !strings.Contains(out, want) {
			t.Errorf("lookup --source deb:rust-sniffglue@0.14.0-2 does not say %q:\n%s", want, out)
		}
	}

	// lookup of the Linux tarball: every claim naming its digest, with
	// kind, scheme and signer; alice's annotation marked as supplied.
	out = must("lookup " + relLinux)
	t.Logf("lookup %s:\n%s", relLinux, out)
	for _, want := range []string{"sha256sums", "openpgp", "ssh", "minisign", "(supplied, unsigned)", "git+https://github.com/bitcoin/bitcoin"} {
		if !strings.Contains(out, want) {
			t.Errorf("lookup %s does not say %q:\n%s", relLinux, want, out)
		}
	}
	var js []map[string]any
	if err := json.Unmarshal([]byte(must("lookup --json "+relLinux)), &js); err != nil || len(js) != 6 {
		t.Fatalf("lookup --json %s: %v, %d claims, want 6 (alice, bob x2, carol, ci, zed)", relLinux, err, len(js))
	}

	// lookup --name: every claim without a source naming the file, whatever
	// its digest (mallory's too).
	if err := json.Unmarshal([]byte(must("lookup --json --name "+relLinux)), &js); err != nil || len(js) != 7 {
		t.Fatalf("lookup --json --name %s: %v, %d claims, want 7", relLinux, err, len(js))
	}
	// Claims without a source never make a mismatch record, whatever their
	// digests: that conflict is the client's rule, under its policy.
	if out := must("mismatches"); !strings.HasPrefix(out, "no mismatches") {
		t.Fatalf("mismatches:\n%s", out)
	}

	// The installer's policy, as the Bitcoin guide writes it, with bob's
	// SSH key beside his OpenPGP key, ci and zed.
	policy := fmt.Sprintf("log %s http://%s/\nquorum none\n", p.get("log vkey:"), httpAddr)
	for _, b := range []string{"alice", "bob", "carol"} {
		policy += fmt.Sprintf("builder %s openpgp @guix.sigs/builder-keys/%s.gpg\n", b, b)
	}
	policy += "builder bob ssh @bob_ssh.pub\nbuilder ci ssh @ci_ssh.pub\nbuilder zed minisign @zed.pub\n"
	policy += "builders guix 2 alice bob carol\nagree guix\n"
	writeFile(t, "policy", []byte(policy))
	// Five identities agree (bob once, with two keys); mallory, not
	// trusted, is ignored.
	out = must("verify --policy policy -k 5 " + relLinux)
	if !strings.HasPrefix(out, "TRUSTED") || strings.Count(out, "agreed:") != 5 || !regexp.MustCompile(`agreed: +bob \(keys openpgp:[0-9A-F]{40}, ssh:SHA256:[^;]+; claims \d+, \d+\)`).MatchString(out) {
		t.Fatalf("verify -k 5:\n%s", out)
	}
	// The source tarball: five keys signed it (alice, bob's two, carol,
	// ci) but four identities, so -k 5 is not met.
	if out, code := al("verify --policy policy -k 5 " + relSource); code != 2 || strings.Count(out, "agreed:") != 4 {
		t.Fatalf("verify -k 5 %s, four identities with five keys: exit %d, want 2 (quorum not met)\n%s", relSource, code, out)
	}
	if out, code := al("verify --policy policy -k 4 " + relSource); code != 0 {
		t.Fatalf("verify -k 4 %s: exit %d\n%s", relSource, code, out)
	}
	// The arm64 tarball: the three guix builders, ci, bob's SSH key, and
	// zed's signature over the uploaded file.
	if out, code := al("verify --policy policy -k 5 " + relArm); code != 0 {
		t.Fatalf("verify -k 5 %s: exit %d\n%s", relArm, code, out)
	}

	// Offline: a bundle lists the claims it holds, and verifies with no log.
	out = must("bundle --policy policy " + relLinux + " -o release.bundle")
	if !strings.Contains(out, "claims naming it:") || !strings.Contains(out, ": minisign/minisign by minisign ") {
		t.Errorf("bundle does not list the claims with kind, scheme and signer:\n%s", out)
	}
	if out, code := al("verify --bundle release.bundle --policy policy -k 5 " + relLinux); code != 0 {
		t.Fatalf("verify --bundle: exit %d\n%s", code, out)
	}
	// A monitor re-verifies every entry of every kind and checks the log's
	// indexes against them; it lists each claim with kind and signer.
	out = must("monitor --once --policy policy --http http://" + httpAddr + " --max-age 0")
	t.Logf("monitor:\n%s", out)
	for _, want := range []string{"the log answered consistently", "(sha256sums/openpgp): git+https://github.com/bitcoin/bitcoin@c0ffeec0ffee (supplied, unsigned)",
		"(buildinfo/openpgp): deb:rust-sniffglue@0.14.0-2 linux/amd64 sniffglue_0.14.0-2_amd64.deb", "(minisign/minisign)", "(sha256sums/ssh)", "by ssh SHA256:"} {
		if !strings.Contains(out, want) {
			t.Errorf("monitor does not say %q:\n%s", want, out)
		}
	}

	// A second Debian signer whose buildinfo gives the .deb another digest:
	// a deb: build identity, so the log records a mismatch, which lists each
	// claim's kind and signer; a policy trusting both buildds sees a
	// conflict.
	const deb = "448c781a9e594227bc9f0d6c65b8beba2b3add68d3583020de188d4cfa365b40"
	other := strings.Repeat("5", 64)
	gh.run("--quick-gen-key", "buildd2@example.org", "rsa3072", "sign", "never")
	writeFile(t, "buildd2.gpg", gh.run("--armor", "--export", "buildd2@example.org"))
	writeFile(t, "other.buildinfo.plain", bytes.Replace(plain, []byte(deb), []byte(other), 1))
	gh.run("--local-user", "buildd2@example.org", "--detach-sign", "--armor", "--output", filepath.Join(dir, "other.buildinfo.plain.asc"), filepath.Join(dir, "other.buildinfo.plain"))
	must("submit --format buildinfo --signed other.buildinfo.plain --signature other.buildinfo.plain.asc --key openpgp:@buildd2.gpg")
	waitPublished(t, httpAddr, 10)
	out = must("mismatches")
	t.Logf("mismatches:\n%s", out)
	if !strings.Contains(out, ": deb:rust-sniffglue@0.14.0-2 linux/amd64 sniffglue_0.14.0-2_amd64.deb (created by claim 9)") || !regexp.MustCompile(`claim 8: buildinfo/openpgp by openpgp [0-9A-F]{40}\n`).MatchString(out) ||
		!regexp.MustCompile(`claim 9: buildinfo/openpgp by openpgp [0-9A-F]{40}\n`).MatchString(out) {
		t.Errorf("mismatches does not list the buildinfo claims with kind, scheme and signer:\n%s", out)
	}
	// monitor --exec runs once per new claim, told its kind.
	writeFile(t, "hook.sh", []byte("#!/bin/sh\necho \"$ATTESTLOG_INDEX $ATTESTLOG_KIND $ATTESTLOG_SIGNERS\" >> hook.out\n"))
	if err := os.Chmod("hook.sh", 0o755); err != nil {
		t.Fatal(err)
	}
	must("monitor --once --policy policy --http http://" + httpAddr + " --max-age 0 --exec ./hook.sh")
	if got := readFile(t, "hook.out"); !regexp.MustCompile(`^9 buildinfo openpgp:[0-9A-F]{40}\n?$`).MatchString(got) {
		t.Errorf("monitor --exec for the new buildinfo claim wrote %q", got)
	}
	// evidence pull fetches the mismatch with its verified claims.
	id := regexp.MustCompile(`mismatch ([0-9a-f]{64}):`).FindStringSubmatch(out)
	if id == nil {
		t.Fatalf("no mismatch ID in:\n%s", out)
	}
	must("evidence pull " + id[1] + " -o evidence")
	if _, err := os.Stat(filepath.Join("evidence", "claims", "9.entry")); err != nil {
		t.Fatalf("evidence pull wrote no claim 9: %v", err)
	}
	debPolicy := fmt.Sprintf("log %s http://%s/\nquorum none\nbuilder buildd openpgp @buildd.gpg\nbuilder buildd2 openpgp @buildd2.gpg\nagree buildd\n", p.get("log vkey:"), httpAddr)
	writeFile(t, "deb.policy", []byte(debPolicy))
	if out, code := al("verify --policy deb.policy --digest " + deb); code != 4 || !strings.Contains(out, "disagreed:   buildd2") || !strings.Contains(out, "says deb:rust-sniffglue@0.14.0-2 linux/amd64 sniffglue_0.14.0-2_amd64.deb is sha256 "+other) {
		t.Fatalf("verify of the .deb with both buildds trusted: exit %d, want 4\n%s", code, out)
	}

	// Trust mallory too: his SHA256SUMS names another digest for the
	// Linux tarball's name, a conflict.
	writeFile(t, "policy", []byte(policy+"builder mallory openpgp @guix.sigs/builder-keys/mallory.gpg\n"))
	out, code := al("verify --policy policy -k 5 " + relLinux)
	t.Logf("verify with mallory trusted:\n%s", out)
	if !strings.Contains(out, "claims naming it:\n  claim 0: sha256sums/openpgp by openpgp ") || !strings.Contains(out, ": sha256sums/ssh by ssh SHA256:") ||
		!strings.Contains(out, "source git+https://github.com/bitcoin/bitcoin@c0ffeec0ffee (supplied, unsigned)") || !strings.Contains(out, ": minisign/minisign by minisign ") {
		t.Errorf("verify does not list the claims naming the digest with kind, scheme, signer and supplied fields:\n%s", out)
	}
	if code != 4 || !strings.Contains(out, "disagreed:   mallory (key openpgp:") || !strings.Contains(out, "says file "+relLinux+" is sha256 "+sha256Hex(evil[relLinux])) {
		t.Fatalf("verify with mallory trusted: exit %d, want 4 (conflict)\n%s", code, out)
	}
	// The source tarball, on which mallory agrees (zed did not sign it),
	// stays trusted.
	if out, code := al("verify --policy policy -k 5 " + relSource); code != 0 {
		t.Fatalf("verify -k 5 %s with mallory trusted: exit %d\n%s", relSource, code, out)
	}
}

// splitLine splits a command line at spaces, as a shell would for these
// lines (no quoting), and fails on a quote.
func splitLine(t *testing.T, line string) []string {
	t.Helper()
	if strings.ContainsAny(line, `"'\`) {
		t.Fatalf("command line %q needs a shell", line)
	}
	return strings.Fields(line)
}

// sha256Sums writes files' digests as sha256sum does, sorted by name.
func sha256Sums(files map[string][]byte) []byte {
	names := make([]string, 0, len(files))
	for n := range files {
		names = append(names, n)
	}
	slices.Sort(names)
	var b bytes.Buffer
	for _, n := range names {
		fmt.Fprintf(&b, "%s  %s\n", sha256Hex(files[n]), n)
	}
	return b.Bytes()
}

// runTool runs a signing tool in the current directory, failing t with its
// standard error if it fails, and returns its standard output.
func runTool(t *testing.T, name string, args ...string) []byte {
	t.Helper()
	cmd := exec.Command(name, args...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr, cmd.Stdin = &stdout, &stderr, strings.NewReader("")
	if err := cmd.Run(); err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, stderr.String())
	}
	return stdout.Bytes()
}

// A gpgHome is a throwaway gpg home directory.
type gpgHome struct {
	t    *testing.T
	home string
}

func newGPG(t *testing.T) *gpgHome {
	t.Helper()
	home, err := os.MkdirTemp("", "gpg") // short: the agent's socket path has a length limit
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		exec.Command("gpgconf", "--homedir", home, "--kill", "gpg-agent").Run()
		os.RemoveAll(home)
	})
	return &gpgHome{t, home}
}

// run runs gpg in batch mode in the home, and returns its standard output.
func (g *gpgHome) run(args ...string) []byte {
	g.t.Helper()
	base := []string{"--homedir", g.home, "--batch", "--no-tty", "--pinentry-mode", "loopback", "--passphrase", ""}
	return runTool(g.t, "gpg", append(base, args...)...)
}

// TestSubmitFormatFlags checks that submit's command line keeps CLAIM files
// and --format documents apart, naming the flag to fix.
func TestSubmitFormatFlags(t *testing.T) {
	clearClientEnv(t)
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--signed", "SHA256SUMS", "x.claim.json"}, "--signed goes with --format"},
		{[]string{"--key", "openpgp:@k.asc", "x.claim.json"}, "--key goes with --format"},
		{[]string{"--annotate", "commit=" + strings.Repeat("a", 40), "x.claim.json"}, "--annotate goes with --format"},
		{[]string{"--format", "sha256sums", "--signed", "SHA256SUMS", "x.claim.json"}, "not CLAIM files"},
		{[]string{}, "--format KIND"},
	} {
		_, err := parseSubmitFlags(tc.args, io.Discard)
		var ue usage.Error
		if !errors.As(err, &ue) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("submit %v: %v, want a usage error saying %q", tc.args, err, tc.want)
		}
	}
	c, err := parseSubmitFlags([]string{"--format", "minisign", "--signature", "f.minisig", "--artifact", "f", "--key", "minisign:@a.pub", "--key", "minisign:@b.pub",
		"--annotate", "source=https://example.org/x commit=" + strings.Repeat("a", 40)}, io.Discard)
	if err != nil || c.format != "minisign" || c.signature != "f.minisig" || len(c.keys) != 2 || len(c.annotate) != 1 || len(c.artifacts) != 1 {
		t.Fatalf("a minisign command line: %+v, %v", c, err)
	}
	// Errors from reading the document name the flag, before anything is dialled.
	dir := t.TempDir()
	var out bytes.Buffer
	err = run(context.Background(), []string{"submit", "--log", "127.0.0.1:1", "--format", "sha256sums", "--signed", filepath.Join(dir, "SHA256SUMS"),
		"--signature", filepath.Join(dir, "SHA256SUMS.asc"), "--key", "openpgp:@" + filepath.Join(dir, "k.asc")}, &out, &out)
	if err == nil || !strings.Contains(err.Error(), "--signed") {
		t.Fatalf("submit of a missing file: %v", err)
	}
	err = run(context.Background(), []string{"submit", "--log", "127.0.0.1:1", "--format", "sums", "--signed", "x", "--key", "openpgp:@k"}, &out, &out)
	if err == nil || !strings.Contains(err.Error(), "--format") || !strings.Contains(err.Error(), "sha256sums, buildinfo, minisign, link, dsse") {
		t.Fatalf("submit --format sums: %v", err)
	}
}
