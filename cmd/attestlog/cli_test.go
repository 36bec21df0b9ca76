package main

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"

	"github.com/attestlog/attestlog/client"
	"github.com/attestlog/attestlog/client/forensics"
	"github.com/attestlog/attestlog/client/grpcsource"
	"github.com/attestlog/attestlog/client/report"
	"github.com/attestlog/attestlog/cmd/attestlog/internal/datadir"
	"github.com/attestlog/attestlog/cmd/attestlog/internal/usage"
	"github.com/attestlog/attestlog/log/claim"
	pb "github.com/attestlog/attestlog/proto/attestlog/v1"
	"github.com/transparency-dev/merkle/proof"
	"github.com/transparency-dev/merkle/rfc6962"
	"golang.org/x/mod/sumdb/note"
)

// clearClientEnv unsets the environment variables the client subcommands read.
func clearClientEnv(t *testing.T) {
	for _, name := range []string{"ATTESTLOG_BUILDER_KEY", "ATTESTLOG_LOG_GRPC", "ATTESTLOG_LOG_VKEY", "ATTESTLOG_LOG_TLS_CA"} {
		t.Setenv(name, "")
	}
}

// gitRepo makes a git repository with one commit and an origin remote, and
// returns its directory and commit.
func gitRepo(t *testing.T) (dir, commit string) {
	t.Helper()
	if _, err := exec.LookPath("git"); err != nil {
		t.Skip("git is not installed")
	}
	t.Setenv("GIT_CONFIG_GLOBAL", os.DevNull) // no signing or hooks from the user's config
	t.Setenv("GIT_CONFIG_NOSYSTEM", "1")
	dir = t.TempDir()
	runGit(t, dir, "-c", "init.defaultBranch=main", "init", "-q")
	writeFile(t, filepath.Join(dir, "go.sum"), []byte("example.org/dep v1.0.0 h1:abc=\n"))
	runGit(t, dir, "add", "go.sum")
	runGit(t, dir, "-c", "user.name=Test", "-c", "user.email=test@example.org", "commit", "-q", "-m", "initial")
	runGit(t, dir, "remote", "add", "origin", "https://example.org/hello.git")
	return dir, runGit(t, dir, "rev-parse", "HEAD")
}

func runGit(t *testing.T, dir string, args ...string) string {
	t.Helper()
	out, err := exec.Command("git", append([]string{"-C", dir}, args...)...).CombinedOutput()
	if err != nil {
		t.Fatalf("git %q: %v\n%s", args, err, out)
	}
	return strings.TrimSpace(string(out))
}

// runOK runs a subcommand that must succeed and returns its standard output.
func runOK(t *testing.T, args ...string) string {
	t.Helper()
	var stdout, stderr bytes.Buffer
	if err := run(t.Context(), args, &stdout, &stderr); err != nil {
		t.Fatalf("run %q: %v\nstdout:\n%s\nstderr:\n%s", args, err, stdout.String(), stderr.String())
	}
	return stdout.String()
}

func writeFile(t *testing.T, path string, b []byte) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

func readBytes(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func sha256Hex(b []byte) string { h := sha256.Sum256(b); return hex.EncodeToString(h[:]) }

// TestClientFlow runs a whole investigation: three builders agree on a
// binary, a fourth claims another, everything is submitted to a log served
// by serve, looked up, and the mismatch pulled as evidence.
func TestClientFlow(t *testing.T) {
	clearClientEnv(t)
	repo, commit := gitRepo(t)
	work := t.TempDir()
	at := func(p string) string { return filepath.Join(work, p) }

	good := bytes.Repeat([]byte("honest binary "), 50_000) // 700 kB: several upload chunks
	evil := bytes.Clone(good)
	evil[654_321] ^= 0xff
	writeFile(t, at("a/hello"), good)
	writeFile(t, at("b/hello"), evil)

	names := []string{"author.example/alice", "ci.example/ci", "rebuilder.example/bob", "rebuilder.example/eve"}
	for _, d := range []string{"keys", "claims"} {
		if err := os.Mkdir(at(d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	for i, name := range names {
		runOK(t, "keygen", "-o", at(fmt.Sprintf("keys/%d", i)), name)
	}
	// Three builders agree; alice's claim goes to standard output.
	writeFile(t, at("claims/0.json"), []byte(runOK(t, "attest", "--dir", repo, "--recipe", filepath.Join(repo, "go.sum"), "--key", at("keys/0.key"), at("a/hello"))))
	for i := 1; i < 3; i++ {
		runOK(t, "attest", "--dir", repo, "--recipe", filepath.Join(repo, "go.sum"), "--key", at(fmt.Sprintf("keys/%d.key", i)),
			"-o", at(fmt.Sprintf("claims/%d.json", i)), at("a/hello"))
	}
	otherRecipe := sha256Hex([]byte("another build script"))
	runOK(t, "attest", "--dir", repo, "--recipe", "sha256:"+otherRecipe, "--key", at("keys/3.key"), "-o", at("claims/3.json"), at("b/hello"))

	claims := make([]string, 4)
	for i := range claims {
		claims[i] = at(fmt.Sprintf("claims/%d.json", i))
		cl := parseClaimFile(t, claims[i])
		want := &claim.Claim{
			Subjects: []claim.Subject{{Name: "hello", SHA256: sha256Hex(good)}},
			Source:   "git+https://example.org/hello", SourceRef: "refs/heads/main", Commit: commit,
			Recipe:   sha256Hex(readBytes(t, filepath.Join(repo, "go.sum"))),
			Platform: runtime.GOOS + "/" + runtime.GOARCH, BuilderID: "https://attestlog.dev/builders/" + names[i],
		}
		if i == 3 {
			want.Subjects[0].SHA256, want.Recipe = sha256Hex(evil), otherRecipe
		}
		if fmt.Sprint(cl) != fmt.Sprint(want) {
			t.Errorf("claim %d = %+v, want %+v", i, cl, want)
		}
	}

	data := filepath.Join(t.TempDir(), "data")
	s := startServe(t, []string{"serve", "--data", data, "--http", "127.0.0.1:0", "--grpc", "127.0.0.1:0", "--origin", "example.test/cli"})
	logVKey := filepath.Join(data, datadir.LogVKey)
	v, err := note.NewVerifier(readFile(t, logVKey))
	if err != nil {
		t.Fatal(err)
	}
	logArgs := []string{"--log", s.grpcAddr, "--log-vkey", logVKey}

	submitArgs := append(append([]string{"submit"}, logArgs...), "--artifact", at("a/hello"), "--artifact", at("b/hello"))
	out := runOK(t, append(submitArgs, claims...)...)
	checkSubmitOutput(t, out, claims, "no", at("a/hello"), at("b/hello"), sha256Hex(good), sha256Hex(evil))
	for i, c := range claims {
		checkReceiptFile(t, c, int64(i), v)
	}
	// Submitting again changes nothing.
	out = runOK(t, append(submitArgs, claims...)...)
	checkSubmitOutput(t, out, claims, "yes", at("a/hello"), at("b/hello"), sha256Hex(good), sha256Hex(evil))

	lookupArgs := append([]string{"lookup"}, logArgs...)
	if got := lookupJSON(t, append(lookupArgs, "--json", at("a/hello"))...); len(got) != 3 || signerNames(got) != "author.example/alice,ci.example/ci,rebuilder.example/bob" {
		t.Errorf("lookup by file: %d claims signed by %s, want 3 by alice, ci and bob", len(got), signerNames(got))
	}
	if got := lookupJSON(t, append(lookupArgs, "--json", "--source", "https://example.org/hello", "--commit", commit)...); len(got) != 4 {
		t.Errorf("lookup by source: %d claims, want 4", len(got))
	}
	if got := lookupJSON(t, append(lookupArgs, "--json", "--source", "git@example.org:hello.git", "--commit", commit, "--platform", "plan9/mips")...); len(got) != 0 {
		t.Errorf("lookup for another platform: %d claims, want 0", len(got))
	}
	table := runOK(t, append(lookupArgs, "--digest", "sha256:"+sha256Hex(evil))...)
	if !strings.Contains(table, "rebuilder.example/eve") || !strings.Contains(table, report.Short(sha256Hex(evil))) || strings.Contains(table, "author.example/alice") {
		t.Errorf("lookup --digest table:\n%s", table)
	}

	var ms []report.Mismatch
	if err := json.Unmarshal([]byte(runOK(t, "mismatches", "--log", s.grpcAddr, "--json")), &ms); err != nil {
		t.Fatal(err)
	}
	if len(ms) != 1 || len(ms[0].Digests) != 2 || !ms[0].Digests[0].Archived || !ms[0].Digests[1].Archived ||
		ms[0].Digests[0].SHA256 != sha256Hex(good) || ms[0].Digests[1].SHA256 != sha256Hex(evil) || ms[0].Artifact != "hello" {
		t.Fatalf("mismatches = %+v, want one with both digests archived", ms)
	}
	if out := runOK(t, "mismatches", "--log", s.grpcAddr); !strings.Contains(out, fmt.Sprintf("mismatch %s: git+https://example.org/hello@%s", ms[0].ID, commit)) {
		t.Errorf("mismatches printed:\n%s", out)
	}

	t.Setenv("PATH", t.TempDir()) // no diffoscope: compare bytes
	dir := at("evidence")
	out = runOK(t, append(append([]string{"evidence", "pull"}, logArgs...), fmt.Sprint(ms[0].ID), "-o", dir, "--diff")...)
	if !strings.Contains(out, "first difference at byte offset 654321") {
		t.Errorf("evidence pull --diff printed:\n%s\nwant the first differing offset", out)
	}
	checkEvidenceDir(t, dir, ms[0], v, map[string][]byte{sha256Hex(good): good, sha256Hex(evil): evil})

	// A log key other than the log's own fails loudly.
	_, other := keyPair(t, "example.test/cli")
	err = run(t.Context(), []string{"lookup", "--log", s.grpcAddr, "--log-vkey", other, at("a/hello")}, io.Discard, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "verifying checkpoint signature") {
		t.Errorf("lookup with another log key = %v, want a checkpoint signature error", err)
	}
	err = run(t.Context(), []string{"evidence", "pull", "--log", s.grpcAddr, "--log-vkey", other, "3", "-o", at("other")}, io.Discard, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "verifying checkpoint signature") {
		t.Errorf("evidence pull with another log key = %v, want a checkpoint signature error", err)
	}
}

func parseClaimFile(t *testing.T, path string) *claim.Claim {
	t.Helper()
	e, err := claim.ParseEnvelope(bytes.TrimSpace(readBytes(t, path)))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.Verify(); err != nil {
		t.Fatal(err)
	}
	cl, err := claim.ParseStatement(e.Payload)
	if err != nil {
		t.Fatal(err)
	}
	return cl
}

func checkSubmitOutput(t *testing.T, out string, claims []string, dup, a, b, da, db string) {
	t.Helper()
	stored := map[string]string{"no": "no", "yes": "yes"}[dup]
	var want []string
	for i, c := range claims {
		want = append(want, fmt.Sprintf("logged %s at index %d (duplicate: %s); receipt saved to %s.receipt.json (\"attestlog receipt FILE\" checks it offline)", c, i, dup, c))
	}
	want = append(want, fmt.Sprintf("uploaded %s sha256 %s (already stored: %s)", a, da, stored),
		fmt.Sprintf("uploaded %s sha256 %s (already stored: %s)", b, db, stored))
	if got := strings.Split(strings.TrimSpace(out), "\n"); !slices.Equal(got, want) {
		t.Errorf("submit printed\n%s\nwant\n%s", out, strings.Join(want, "\n"))
	}
}

// checkReceiptFile verifies a saved receipt with nothing but the log's key.
func checkReceiptFile(t *testing.T, claimPath string, index int64, v note.Verifier) {
	t.Helper()
	var r client.Receipt
	if err := json.Unmarshal(readBytes(t, claimPath+".receipt.json"), &r); err != nil {
		t.Fatal(err)
	}
	cp, err := client.OpenCheckpoint([]byte(r.Checkpoint), v)
	if err != nil {
		t.Fatal(err)
	}
	e, _ := claim.ParseEnvelope(bytes.TrimSpace(readBytes(t, claimPath)))
	if r.Index != index || r.TreeSize != cp.Size || !bytes.Equal(r.Entry, e.Marshal()) {
		t.Errorf("receipt of %s: index %d, tree size %d (checkpoint %d), entry %q", claimPath, r.Index, r.TreeSize, cp.Size, r.Entry)
	}
	if err := proof.VerifyInclusion(rfc6962.DefaultHasher, uint64(r.Index), uint64(r.TreeSize), rfc6962.DefaultHasher.HashLeaf(r.Entry), r.InclusionProof, cp.Hash[:]); err != nil {
		t.Errorf("receipt of %s: %v", claimPath, err)
	}
}

func lookupJSON(t *testing.T, args ...string) []report.ClaimJSON {
	t.Helper()
	var got []report.ClaimJSON
	if err := json.Unmarshal([]byte(runOK(t, args...)), &got); err != nil {
		t.Fatal(err)
	}
	return got
}

func signerNames(cs []report.ClaimJSON) string {
	var names []string
	for _, c := range cs {
		for _, s := range c.Signers {
			names = append(names, s.Name)
		}
	}
	slices.Sort(names)
	return strings.Join(names, ",")
}

// checkEvidenceDir checks everything evidence pull wrote, using only the
// files and the log's key.
func checkEvidenceDir(t *testing.T, dir string, m report.Mismatch, v note.Verifier, bins map[string][]byte) {
	t.Helper()
	var got report.Mismatch
	if err := json.Unmarshal(readBytes(t, filepath.Join(dir, "mismatch.json")), &got); err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(got) != fmt.Sprint(m) {
		t.Errorf("mismatch.json = %+v, want %+v", got, m)
	}
	cp, err := client.OpenCheckpoint(readBytes(t, filepath.Join(dir, "checkpoint")), v)
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range m.Digests {
		for _, i := range d.ClaimIndexes {
			entry := readBytes(t, filepath.Join(dir, "claims", fmt.Sprintf("%d.entry", i)))
			var p forensics.Proof
			if err := json.Unmarshal(readBytes(t, filepath.Join(dir, "claims", fmt.Sprintf("%d.proof.json", i))), &p); err != nil {
				t.Fatal(err)
			}
			if err := client.VerifyInclusion(cp, p.Index, p.TreeSize, entry, p.InclusionProof); err != nil || p.Index != i {
				t.Errorf("claim %d: proof for index %d: %v", i, p.Index, err)
			}
		}
		if b := readBytes(t, filepath.Join(dir, "artifacts", d.SHA256, m.Artifact)); !bytes.Equal(b, bins[d.SHA256]) {
			t.Errorf("pulled artifact %s differs from the original", d.SHA256)
		}
	}
}

func TestCheckReceipt(t *testing.T) {
	clearClientEnv(t)
	repo, _ := gitRepo(t)
	work := t.TempDir()
	runOK(t, "keygen", "-o", filepath.Join(work, "k"), "example.test/builder")
	writeFile(t, filepath.Join(work, "bin"), []byte("binary"))
	claimPath := filepath.Join(work, "claim.json")
	runOK(t, "attest", "--dir", repo, "--recipe", "sha256:"+sha256Hex(nil), "--key", filepath.Join(work, "k.key"), "-o", claimPath, filepath.Join(work, "bin"))
	data := t.TempDir()
	s := startServe(t, []string{"serve", "--data", data, "--http", "127.0.0.1:0", "--grpc", "127.0.0.1:0", "--origin", "example.test/receipt"})
	runOK(t, "submit", "--log", s.grpcAddr, claimPath)
	var r client.Receipt
	if err := json.Unmarshal(readBytes(t, claimPath+".receipt.json"), &r); err != nil {
		t.Fatal(err)
	}
	v, err := note.NewVerifier(readFile(t, filepath.Join(data, datadir.LogVKey)))
	if err != nil {
		t.Fatal(err)
	}
	resp := func() *pb.AddClaimResponse {
		return &pb.AddClaimResponse{Checkpoint: []byte(r.Checkpoint), Claim: &pb.ProvenClaim{
			Index: uint64(r.Index), TreeSize: uint64(r.TreeSize), Entry: bytes.Clone(r.Entry), InclusionProof: [][]byte{}}}
	}
	if _, err := grpcsource.CheckReceipt(v, r.Entry, resp()); err != nil {
		t.Fatalf("checkReceipt of a good receipt: %v", err)
	}
	_, otherKey := keyPair(t, "example.test/receipt")
	other, _ := note.NewVerifier(otherKey)
	for _, tt := range []struct {
		name    string
		v       note.Verifier
		edit    func(*pb.AddClaimResponse)
		wantErr string
	}{
		{"other log key", other, func(*pb.AddClaimResponse) {}, "verifying checkpoint signature"},
		{"other entry", v, func(r *pb.AddClaimResponse) { r.Claim.Entry[len(r.Claim.Entry)-2] ^= 1 }, "not the submitted claim"},
		{"other index", v, func(r *pb.AddClaimResponse) { r.Claim.Index = 1 }, "outside the tree"},
		{"other tree size", v, func(r *pb.AddClaimResponse) { r.Claim.TreeSize = 2 }, "tree size 2"},
		{"bad proof", nil, func(r *pb.AddClaimResponse) { r.Claim.InclusionProof = [][]byte{make([]byte, 32)} }, "inclusion proof does not verify"},
		{"unsigned checkpoint", nil, func(r *pb.AddClaimResponse) { r.Checkpoint = []byte("not a note") }, "not a signed note"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			res := resp()
			tt.edit(res)
			_, err := grpcsource.CheckReceipt(tt.v, r.Entry, res)
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("checkReceipt = %v, want an error containing %q", err, tt.wantErr)
			}
		})
	}
}

func TestSubmitRefusesUnclaimedArtifact(t *testing.T) {
	clearClientEnv(t)
	repo, _ := gitRepo(t)
	work := t.TempDir()
	runOK(t, "keygen", "-o", filepath.Join(work, "k"), "example.test/builder")
	writeFile(t, filepath.Join(work, "bin"), []byte("binary"))
	writeFile(t, filepath.Join(work, "other"), []byte("other"))
	claimPath := filepath.Join(work, "claim.json")
	runOK(t, "attest", "--dir", repo, "--recipe", "sha256:"+sha256Hex(nil), "--key", filepath.Join(work, "k.key"), "-o", claimPath, filepath.Join(work, "bin"))
	// No log listens there: the check comes before anything is sent.
	err := run(t.Context(), []string{"submit", "--log", "127.0.0.1:1", "--artifact", filepath.Join(work, "other"), claimPath}, io.Discard, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "is not named by any submitted claim") {
		t.Errorf("submit = %v, want an unclaimed-artifact error", err)
	}
}

func TestAttestFromTag(t *testing.T) {
	clearClientEnv(t)
	repo, commit := gitRepo(t)
	runGit(t, repo, "tag", "v1.0")
	runGit(t, repo, "update-ref", "--no-deref", "HEAD", commit) // detach HEAD
	work := t.TempDir()
	runOK(t, "keygen", "-o", filepath.Join(work, "k"), "example.test/builder")
	writeFile(t, filepath.Join(work, "bin"), []byte("binary"))
	base := []string{"attest", "--dir", repo, "--recipe", "sha256:" + sha256Hex(nil), "--key", filepath.Join(work, "k.key")}
	for _, tt := range []struct {
		args    []string
		wantRef string
	}{
		{nil, "refs/tags/v1.0"},
		{[]string{"--ref", ""}, ""},
		{[]string{"--ref", "refs/heads/release"}, "refs/heads/release"},
		{[]string{"--commit", strings.ToUpper(commit)}, ""}, // the ref of HEAD says nothing about another commit
	} {
		out := filepath.Join(t.TempDir(), "claim.json")
		runOK(t, slices.Concat(base, tt.args, []string{"-o", out, filepath.Join(work, "bin")})...)
		if cl := parseClaimFile(t, out); cl.SourceRef != tt.wantRef || cl.Commit != commit {
			t.Errorf("attest %q: ref %q commit %s, want ref %q commit %s", tt.args, cl.SourceRef, cl.Commit, tt.wantRef, commit)
		}
	}
}

func TestAttestKeyPair(t *testing.T) {
	clearClientEnv(t)
	work := t.TempDir()
	runOK(t, "keygen", "-o", filepath.Join(work, "a"), "example.test/a")
	runOK(t, "keygen", "-o", filepath.Join(work, "b"), "example.test/b")
	writeFile(t, filepath.Join(work, "bin"), []byte("binary"))
	args := []string{"attest", "--source", "https://example.org/x", "--commit", strings.Repeat("ab", 20),
		"--recipe", "sha256:" + sha256Hex(nil), "--key", filepath.Join(work, "a.key"), "--vkey", filepath.Join(work, "b.vkey"), filepath.Join(work, "bin")}
	err := run(t.Context(), args, io.Discard, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "are not one key pair") {
		t.Errorf("attest with another key's vkey = %v, want a key pair error", err)
	}
	// With --source and --commit, attest needs no git checkout; the key comes from the environment.
	t.Setenv("ATTESTLOG_BUILDER_KEY", filepath.Join(work, "b.key"))
	out := runOK(t, append(args[:len(args)-5], filepath.Join(work, "bin"))...)
	e, err := claim.ParseEnvelope([]byte(out))
	if err != nil {
		t.Fatal(err)
	}
	if got := e.Signatures[0].VKey; got != readFile(t, filepath.Join(work, "b.vkey")) {
		t.Errorf("attest with ATTESTLOG_BUILDER_KEY signed with %s, want the key b", got)
	}
}

func TestClientUsage(t *testing.T) {
	clearClientEnv(t)
	hex64 := strings.Repeat("0", 64)
	for _, tt := range []struct {
		args    []string
		wantErr string // "" for success
	}{
		{args: []string{"attest", "-h"}},
		{args: []string{"submit", "-h"}},
		{args: []string{"lookup", "-h"}},
		{args: []string{"mismatches", "-h"}},
		{args: []string{"evidence", "-h"}},
		{args: []string{"evidence", "pull", "-h"}},
		{args: []string{"attest", "--recipe", "sha256:" + hex64, "--key", "k.key"}, wantErr: "no artifact FILE"},
		{args: []string{"attest", "--key", "k.key", "bin"}, wantErr: "--recipe is required"},
		{args: []string{"attest", "--recipe", "sha256:" + hex64, "bin"}, wantErr: "--key (or ATTESTLOG_BUILDER_KEY) is required"},
		{args: []string{"attest", "--recipe", "sha256:" + hex64, "--key", "k.key", "--commit", "abc123", "bin"}, wantErr: "--commit"},
		{args: []string{"attest", "--recipe", "sha256:" + hex64, "--key", "k.key", "bin", "--commit", "main"}, wantErr: "a branch, tag or short hash is not a build identity"},
		{args: []string{"attest", "--no-such-flag"}, wantErr: "flag provided but not defined"},
		{args: []string{"submit"}, wantErr: "no CLAIM"},
		{args: []string{"lookup"}, wantErr: "exactly one of"},
		{args: []string{"lookup", "bin", "--digest", hex64}, wantErr: "exactly one of"},
		{args: []string{"lookup", "a", "b"}, wantErr: "at most one FILE"},
		{args: []string{"lookup", "--digest", "abc"}, wantErr: "--digest"},
		{args: []string{"lookup", "--source", "https://example.org/x"}, wantErr: "--source and --commit go together"},
		{args: []string{"lookup", "--source", "http://example.org/x", "--commit", hex64}, wantErr: "--source"},
		{args: []string{"lookup", "--digest", hex64, "--platform", "linux/amd64"}, wantErr: "--platform needs --source"},
		{args: []string{"mismatches", "extra"}, wantErr: `unexpected argument "extra"`},
		{args: []string{"evidence"}, wantErr: "want \"evidence pull ID -o DIR\""},
		{args: []string{"evidence", "push", "1"}, wantErr: "want \"evidence pull ID -o DIR\""},
		{args: []string{"evidence", "pull", "-o", "d"}, wantErr: "want one mismatch ID"},
		{args: []string{"evidence", "pull", "x", "-o", "d"}, wantErr: `mismatch ID "x" is neither`},
		{args: []string{"evidence", "pull", "3"}, wantErr: "-o DIR is required"},
	} {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			err := run(t.Context(), tt.args, io.Discard, io.Discard)
			if tt.wantErr == "" {
				if err != nil {
					t.Fatalf("run(%q) = %v, want nil", tt.args, err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("run(%q) = %v, want error containing %q", tt.args, err, tt.wantErr)
			}
			if !errors.As(err, new(usage.Error)) {
				t.Errorf("run(%q) = %v, want a usage error", tt.args, err)
			}
		})
	}
}
