package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/attestlog/attestlog/client"
	"github.com/attestlog/attestlog/client/report"
	"github.com/attestlog/attestlog/cmd/attestlog/internal/usage"
	"github.com/attestlog/attestlog/log"
	"github.com/attestlog/attestlog/log/claim"
)

// TestServeStoreInUse starts a second serve on the data directory of a
// running serve process: the store is in use, not corrupt, and the failed
// start leaves the directory as it was.
func TestServeStoreInUse(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a process")
	}
	data := filepath.Join(t.TempDir(), "data")
	args := []string{"serve", "--data", data, "--http", "127.0.0.1:0", "--grpc", "127.0.0.1:0"}
	startProc(t, []string{"grpc listening on"}, args...)
	checkStartFails(t, args, data, "log: store "+filepath.Join(data, "log.db")+" is in use by another process (another attestlog serve?)")
}

// TestAttestRefusesDirtyTree attests HEAD of a checkout with a modified, a
// staged and an untracked file: attest refuses, naming each, but not an
// ignored file nor the artifact built in the checkout; --allow-dirty
// attests anyway, and a clean checkout needs no flag.
func TestAttestRefusesDirtyTree(t *testing.T) {
	clearClientEnv(t)
	repo, _ := gitRepo(t)
	work := t.TempDir()
	runOK(t, "keygen", "-o", filepath.Join(work, "k"), "builder.example/k")
	writeFile(t, filepath.Join(repo, ".gitignore"), []byte("*.log\n"))
	runGit(t, repo, "add", ".gitignore")
	runGit(t, repo, "-c", "user.name=Test", "-c", "user.email=test@example.org", "commit", "-q", "-m", "ignore logs")
	bin := filepath.Join(repo, "hello") // built in the checkout, untracked
	writeFile(t, bin, []byte("binary"))
	writeFile(t, filepath.Join(repo, "build.log"), []byte("ignored"))
	args := []string{"attest", "--dir", repo, "--recipe", "sha256:" + sha256Hex(nil), "--key", filepath.Join(work, "k.key"), "-o", filepath.Join(repo, "hello.claim.json"), bin}
	runOK(t, args...) // only ignored files and the outputs: clean

	writeFile(t, filepath.Join(repo, "go.sum"), []byte("changed\n"))
	writeFile(t, filepath.Join(repo, "staged.go"), []byte("package main\n"))
	runGit(t, repo, "add", "staged.go")
	writeFile(t, filepath.Join(repo, "notes", "todo.txt"), []byte("untracked"))
	err := runErr(t, args...)
	for _, want := range []string{"has changes not in commit", " M go.sum", "A  staged.go", "?? notes/todo.txt", "--allow-dirty"} {
		if !strings.Contains(err, want) {
			t.Errorf("attest of a dirty checkout = %q, want it to contain %q", err, want)
		}
	}
	for _, unwanted := range []string{"build.log", "?? hello"} {
		if strings.Contains(err, unwanted) {
			t.Errorf("attest of a dirty checkout = %q, want no %q (ignored, or the artifact)", err, unwanted)
		}
	}
	runOK(t, append([]string{"attest", "--allow-dirty"}, args[1:]...)...)
}

// TestVersion prints the version from the build information, as
// "attestlog version" and "attestlog --version" (its format:
// usage.TestFormatVersion).
func TestVersion(t *testing.T) {
	for _, arg := range []string{"version", "--version"} {
		out := runOK(t, arg)
		if !strings.HasPrefix(out, "attestlog ") || !strings.Contains(out, "go        go1.") {
			t.Errorf("attestlog %s printed %q, want the module version and the Go version", arg, out)
		}
	}
}

// TestUsagePage checks the usage page and every command's -h: the page
// lists every command with one line; "help CMD" and "CMD -h" print CMD's
// usage lines and its flags written as the README writes them.
func TestUsagePage(t *testing.T) {
	var stdout, stderr bytes.Buffer
	if err := run(t.Context(), nil, &stdout, &stderr); !errors.As(err, new(usage.Error)) {
		t.Fatalf("attestlog with no arguments = %v, want a usage error", err)
	}
	for _, name := range []string{"serve", "witness", "keygen", "attest", "submit", "receipt", "lookup", "mismatches", "evidence", "verify", "bundle", "monitor", "bench", "demo", "version", "help"} {
		if !regexp.MustCompile(`(?m)^  ` + name + ` +\S`).MatchString(stderr.String()) {
			t.Errorf("the usage page has no line for %s:\n%s", name, stderr.String())
		}
	}
	goStyle := regexp.MustCompile(`(?m)^  -[a-z][a-z-]+`) // Go's default: "  -data dir"
	for _, c := range usage.Commands {
		for _, args := range [][]string{{"help", c.Name}, {c.Name, "-h"}} {
			if c.Name == "version" || c.Name == "help" && args[0] == "help" && len(args) == 1 {
				continue
			}
			var out bytes.Buffer
			if c.Name == "help" {
				args = []string{"help", "help"}
			}
			if err := run(t.Context(), args, &out, &out); err != nil {
				t.Errorf("attestlog %q = %v", args, err)
			}
			if !strings.HasPrefix(out.String(), "usage: attestlog "+c.Name) {
				t.Errorf("attestlog %q printed %q, want it to start with \"usage: attestlog %s\"", args, out.String(), c.Name)
			}
			if m := goStyle.FindString(out.String()); m != "" {
				t.Errorf("attestlog %q writes flag %q in Go's style, want --flag:\n%s", args, m, out.String())
			}
		}
	}
	out := runOK(t, "help", "serve")
	for _, want := range []string{"--policy FILE", "--builders FILE", "--rate N", "--pprof ADDR", "(default 127.0.0.1:7381)"} {
		if !strings.Contains(out, want) {
			t.Errorf("attestlog help serve lacks %q:\n%s", want, out)
		}
	}
}

// TestReceiptCommand checks a receipt submit saved, offline, and refuses
// one checked against another log key, one whose proof was changed, and
// one saved beside another claim.
func TestReceiptCommand(t *testing.T) {
	clearClientEnv(t)
	repo, _ := gitRepo(t)
	work := t.TempDir()
	runOK(t, "keygen", "-o", filepath.Join(work, "k"), "example.test/builder")
	writeFile(t, filepath.Join(work, "bin"), []byte("binary"))
	claimPath := filepath.Join(work, "claim.json")
	runOK(t, "attest", "--dir", repo, "--recipe", "sha256:"+sha256Hex(nil), "--key", filepath.Join(work, "k.key"), "-o", claimPath, filepath.Join(work, "bin"))
	data := t.TempDir()
	s := startServe(t, []string{"serve", "--data", data, "--http", "127.0.0.1:0", "--grpc", "127.0.0.1:0", "--origin", "example.test/receipt"})
	out := runOK(t, "submit", "--log", s.grpcAddr, claimPath)
	rec := claimPath + ".receipt.json"
	if !strings.Contains(out, "receipt saved to "+rec) {
		t.Errorf("submit printed %q, want it to name the receipt file %s", out, rec)
	}
	out = runOK(t, "receipt", "--log-vkey", s.vkey, rec)
	if want := rec + ": verified: claim at index 0 of example.test/receipt, tree size 1 (signature verified); signed by example.test/builder: git+https://example.org/hello@"; !strings.HasPrefix(out, want) {
		t.Errorf("receipt printed %q, want it to start with %q", out, want)
	}
	_, otherKey := keyPair(t, "example.test/receipt")
	if err := runErr(t, "receipt", "--log-vkey", otherKey, rec); !strings.Contains(err, "does not verify") {
		t.Errorf("receipt with another log key = %q, want it not to verify", err)
	}
	if err := runErr(t, "receipt", rec); !strings.Contains(err, "--log-vkey (or ATTESTLOG_LOG_VKEY) is required") {
		t.Errorf("receipt without a key = %q", err)
	}
	b := readBytes(t, rec)
	var r client.Receipt
	if err := json.Unmarshal(b, &r); err != nil {
		t.Fatal(err)
	}
	r.Index = 1
	bad := filepath.Join(work, "bad.receipt.json")
	writeFile(t, bad, mustJSON(t, r))
	if err := runErr(t, "receipt", "--log-vkey", s.vkey, bad); !strings.Contains(err, "outside the tree") {
		t.Errorf("receipt with another index = %q", err)
	}
	other := filepath.Join(work, "other.json")
	runOK(t, "attest", "--dir", repo, "--recipe", "sha256:"+sha256Hex([]byte("x")), "--key", filepath.Join(work, "k.key"), "-o", other, filepath.Join(work, "bin"))
	writeFile(t, other+".receipt.json", b)
	if err := runErr(t, "receipt", "--log-vkey", s.vkey, other+".receipt.json"); !strings.Contains(err, "not a receipt for the claim") {
		t.Errorf("receipt beside another claim = %q", err)
	}
}

func mustJSON(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestSubmitBinaryInsteadOfClaim submits a binary as a claim: submit says
// it looks like one and suggests --artifact, before dialling anything.
func TestSubmitBinaryInsteadOfClaim(t *testing.T) {
	clearClientEnv(t)
	bin := filepath.Join(t.TempDir(), "hello")
	writeFile(t, bin, append([]byte("\x7fELF\x02\x01\x01\x00"), bytes.Repeat([]byte{0, 1, 2, 0xff}, 10_000_000)...))
	err := runErr(t, "submit", "--log", dialTrap(t), bin)
	if want := bin + " looks like a binary, not a claim (a JSON DSSE envelope that attest writes); did you mean --artifact " + bin + "?"; err != want {
		t.Errorf("submit of a binary = %q, want %q", err, want)
	}
	text := filepath.Join(t.TempDir(), "notes.json")
	writeFile(t, text, []byte(strings.Repeat("é", 300))) // 600 bytes: the 512th cuts a rune
	if err := runErr(t, "submit", "--log", dialTrap(t), text); strings.Contains(err, "looks like a binary") {
		t.Errorf("submit of UTF-8 text = %q, want a claim parse error, not a binary", err)
	}
}

// TestConnectionErrors points --log at nothing, at serve's HTTP port, at a
// URL and at a host without a port: each error says what is wrong and
// what to try instead of gRPC's dial text alone.
func TestConnectionErrors(t *testing.T) {
	clearClientEnv(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	nothing := ln.Addr().String()
	ln.Close()
	s := startServe(t, []string{"serve", "--data", t.TempDir(), "--http", "127.0.0.1:0", "--grpc", "127.0.0.1:0"})
	for _, tt := range []struct{ log, want string }{
		{nothing, "nothing is listening at " + nothing + ": is attestlog serve running there? --log is serve's gRPC address (--grpc, default 127.0.0.1:7381), not its HTTP one"},
		{s.httpAddr, s.httpAddr + " answers HTTP/1.1, not gRPC: it is an HTTP port, such as serve's --http (default 127.0.0.1:7380); give --log serve's gRPC address"},
		{"http://" + s.grpcAddr, "or HOST:PORT for plaintext (such as 127.0.0.1:7381, serve's --grpc): --log takes the log's gRPC address, not a URL of its HTTP API"},
		{"127.0.0.1", `--log "127.0.0.1": want HOST:PORT with a port number, such as 127.0.0.1:7381`},
		{s.grpcAddr + "/", "want HOST:PORT with a port number"},
	} {
		for _, cmd := range [][]string{{"mismatches"}, {"lookup", "--digest", strings.Repeat("ab", 32)}} {
			if err := runErr(t, append(cmd, "--log", tt.log)...); !strings.Contains(err, tt.want) {
				t.Errorf("%s --log %s = %q, want it to contain %q", cmd[0], tt.log, err, tt.want)
			}
		}
	}
	runOK(t, "mismatches", "--log", s.grpcAddr)
}

// TestVerifyNamesOtherDigests verifies both digests of a build for which ci,
// alice and bob claimed one digest and mallory, whom the policy does not
// trust, another: mallory's says what the trusted builders claimed instead
// of calling them silent, and the trusted one names the open mismatch.
func TestVerifyNamesOtherDigests(t *testing.T) {
	if testing.Short() {
		t.Skip("runs a log with witnesses")
	}
	clearClientEnv(t)
	tl := newTestLog(t)
	honest, evil := sha256Hex([]byte("honest")), sha256Hex([]byte("evil"))
	for _, s := range []string{"ci-a", "alice", "bob"} {
		tl.addClaim(t, "swap", "hello", honest, s)
	}
	tl.addClaim(t, "swap", "hello", evil, "mallory")
	tl.waitWitnessed(t)
	policy := tl.policy(t, "")
	id := claim.Identity{Source: "git+https://example.org/swap", Commit: commitOf("swap"), Platform: "linux/amd64", Artifact: "hello"}.ID()

	code, out := runCode(t, "verify", "--log", tl.grpcAddr, "--policy", policy, "--state", "", "--digest", evil)
	if code != client.ExitNoQuorum {
		t.Errorf("verify of mallory's digest: exit %d, want %d\n%s", code, client.ExitNoQuorum, out)
	}
	want := "claimed:     ci, alice and bob claimed sha256 " + honest + " for this build (git+https://example.org/swap@" + commitOf("swap") + " linux/amd64 hello; claims 0, 1, 2)"
	if !strings.Contains(out, want) {
		t.Errorf("verify of mallory's digest printed\n%s\nwant the line\n%s", out, want)
	}
	if regexp.MustCompile(`silent: +(ci|alice|bob) `).MatchString(out) || !strings.Contains(out, "silent:      carol") {
		t.Errorf("verify of mallory's digest calls a builder who claimed another digest silent, or carol not:\n%s", out)
	}

	code, out = runCode(t, "verify", "--log", tl.grpcAddr, "--policy", policy, "--state", "", "--digest", honest)
	if code != 0 {
		t.Errorf("verify of the honest digest: exit %d, want 0\n%s", code, out)
	}
	want = "mismatch:    open mismatch " + id + ": git+https://example.org/swap@" + commitOf("swap") + " linux/amd64 hello is also claimed as sha256 " + evil +
		" by a key not in the policy (claim 3); \"attestlog evidence pull " + id + "\" pulls it"
	if !strings.HasPrefix(out, "TRUSTED: ") || !strings.Contains(out, want) {
		t.Errorf("verify of the honest digest printed\n%s\nwant TRUSTED and the line\n%s", out, want)
	}
}

// A lineBuffer collects a command's output for a test that reads it while
// the command runs.
type lineBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lineBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

// summaries returns the lines that are not indented: a monitor's
// summary line of each pass it printed.
func (b *lineBuffer) summaries() []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	var out []string
	for _, l := range strings.Split(b.buf.String(), "\n") {
		if l != "" && !strings.HasPrefix(l, " ") {
			out = append(out, l)
		}
	}
	return out
}

// TestMonitorPrintsChanges runs two monitors of an idle log side by side,
// one with -v: the verbose one prints every pass, the other only its first
// and then nothing until new claims arrive.
func TestMonitorPrintsChanges(t *testing.T) {
	if testing.Short() {
		t.Skip("runs a log with witnesses")
	}
	clearClientEnv(t)
	tl, policy := monitorLog(t)
	ctx, cancel := context.WithCancel(t.Context())
	var quiet, verbose lineBuffer
	var wg sync.WaitGroup
	for _, m := range []struct {
		out  *lineBuffer
		args []string
	}{{&quiet, nil}, {&verbose, []string{"-v"}}} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			args := append([]string{"monitor", "--interval", "20ms", "--log", tl.grpcAddr, "--policy", policy, "--state", t.TempDir()}, m.args...)
			run(ctx, args, m.out, io.Discard)
		}()
	}
	defer wg.Wait()
	defer cancel()
	waitFor(t, "the verbose monitor prints 5 passes", func() bool { return len(verbose.summaries()) >= 5 })
	if got := quiet.summaries(); len(got) != 1 || !strings.Contains(got[0], "tree size 0 -> 5") {
		t.Fatalf("the monitor without -v printed %d lines while the log stood still, want 1:\n%s", len(got), strings.Join(got, "\n"))
	}
	tl.addClaim(t, "later", "tool", sha256Hex([]byte("later")), "alice")
	tl.waitWitnessed(t)
	waitFor(t, "the monitor prints the new claim", func() bool { return len(quiet.summaries()) >= 2 })
	got := quiet.summaries()
	if len(got) != 2 || !strings.Contains(got[1], "tree size 5 -> 6, 1 new entry, 1 new claim; the log answered consistently") {
		t.Errorf("the monitor printed\n%s\nwant the pass that read claim 5", strings.Join(got, "\n"))
	}
}

// TestOutputGrammar checks the counts people read: one mismatch, one
// claim, a recipe shared by several claims shown once, and an empty
// lookup that says so instead of printing a header over nothing.
func TestOutputGrammar(t *testing.T) {
	if testing.Short() {
		t.Skip("runs a log with witnesses")
	}
	clearClientEnv(t)
	tl := newTestLog(t)
	honest, evil := sha256Hex([]byte("honest")), sha256Hex([]byte("evil"))
	tl.addClaim(t, "g", "hello", honest, "alice")
	tl.addClaim(t, "g", "hello", honest, "bob")
	tl.addClaim(t, "g", "hello", evil, "carol")
	tl.waitWitnessed(t)
	recipe := report.Short(sha256Hex([]byte("recipe")))

	out := runOK(t, "mismatches", "--log", tl.grpcAddr)
	for _, want := range []string{"  sha256 " + honest + "  claims 0,1  recipe " + recipe + "  archived no\n",
		"  sha256 " + evil + "  claim 2  recipe " + recipe + "  archived no\n", "\n1 mismatch; the list is not signed"} {
		if !strings.Contains(out, want) {
			t.Errorf("mismatches printed\n%s\nwant %q", out, want)
		}
	}
	out = runOK(t, "lookup", "--log", tl.grpcAddr, "--log-vkey", tl.logVKey, "--digest", evil)
	if !strings.HasPrefix(out, "1 claim naming sha256 "+evil+", proofs verified against checkpoint") {
		t.Errorf("lookup of one claim printed\n%s", out)
	}
	none := sha256Hex([]byte("nobody built this"))
	out = runOK(t, "lookup", "--log", tl.grpcAddr, "--log-vkey", tl.logVKey, "--digest", none)
	if want := "no claim naming sha256 " + none + " in the log's checkpoint example.test/attestlog, tree size 3\n"; out != want {
		t.Errorf("empty lookup printed %q, want %q", out, want)
	}
	empty := newTestLog(t)
	if out := runOK(t, "mismatches", "--log", empty.grpcAddr); !strings.HasPrefix(out, "no mismatches: ") {
		t.Errorf("mismatches of a log without any printed %q", out)
	}
}

// TestServeLogs runs serve as a process with a builder allowlist and
// submits two claims that disagree: its log names the allowlist and the
// policy at start, the mismatch at WARN while it runs, and sums up the
// appends at INFO.
func TestServeLogs(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a process")
	}
	clearClientEnv(t)
	repo, _ := gitRepo(t)
	work := t.TempDir()
	at := func(p string) string { return filepath.Join(work, p) }
	var vkeys []string
	for i, bin := range []string{"good", "evil"} {
		vkeys = append(vkeys, strings.TrimSpace(runOK(t, "keygen", "-o", at(bin), fmt.Sprintf("builder.example/%d", i))))
		writeFile(t, at(bin+"/hello"), []byte(bin+" binary"))
		runOK(t, "attest", "--dir", repo, "--recipe", "sha256:"+sha256Hex(nil), "--key", at(bin+".key"), "-o", at(bin+".json"), at(bin+"/hello"))
	}
	writeFile(t, at("builders"), []byte(strings.Join(vkeys, "\n")+"\n"))
	p := startProc(t, []string{"grpc listening on"}, "serve", "--data", at("data"), "--http", "127.0.0.1:0", "--grpc", "127.0.0.1:0", "--builders", at("builders"))
	addr := p.get("grpc listening on")
	runOK(t, "submit", "--log", addr, at("good.json"))
	runOK(t, "submit", "--log", addr, at("evil.json"), at("good.json"))
	// The mismatch is logged while serve runs (it looks every second), not
	// only when it stops, and once.
	const warned = `level=WARN msg="mismatch: builders claim different digests`
	for deadline := time.Now().Add(20 * time.Second); !strings.Contains(p.stderr(), warned); time.Sleep(50 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("serve did not log the mismatch within 20 s while running:\n%s", p.stderr())
		}
	}
	p.stop()
	logs := p.stderr()
	id := claim.Identity{Source: "git+https://example.org/hello", Commit: runGit(t, repo, "rev-parse", "HEAD"), Platform: runtime.GOOS + "/" + runtime.GOARCH, Artifact: "hello"}.ID()
	// the runtime's soft limit that serve set, the proof path's tile cache
	// it sized from it (a sixteenth of the limit), and the GOGC it set
	limit := fmt.Sprint(serveMemoryLimit) + " tile_cache=" + fmt.Sprint(log.TileCacheFor(serveMemoryLimit/16)) + " gogc=200"
	if os.Getenv("GOMEMLIMIT") != "" || os.Getenv("GOGC") != "" {
		limit = ""
	}
	for _, want := range []string{
		`msg="serving log" `, `policy="none: every signed checkpoint is published" builders.file=` + at("builders") + ` builders.keys=2 rate=0 builder_rate=0 memory_limit=` + limit,
		`level=WARN msg="mismatch: builders claim different digests for one build" mismatch=` + id + ` claim=1 source=git+https://example.org/hello`,
		`level=INFO msg="appended claims" claims=2 duplicates=1 tree_size=2`,
	} {
		if !strings.Contains(logs, want) {
			t.Errorf("serve's log lacks %q:\n%s", want, logs)
		}
	}
	if n := strings.Count(logs, "level=WARN"); n != 1 {
		t.Errorf("serve logged %d WARN lines, want 1 (the mismatch):\n%s", n, logs)
	}
}

// TestServeUnwritableArchive starts serve on a data directory whose
// archive it may not write: made immutable with chattr +i, which stops
// root too (file modes do not). Serve refuses to start, naming the
// archive, and leaves no file of its check behind.
func TestServeUnwritableArchive(t *testing.T) {
	data := filepath.Join(t.TempDir(), "data")
	args := []string{"serve", "--data", data, "--http", "127.0.0.1:0", "--grpc", "127.0.0.1:0"}
	startServe(t, args).stop(t)
	objects := filepath.Join(data, "archive", "objects")
	if out, err := exec.Command("chattr", "+i", objects).CombinedOutput(); err != nil {
		t.Skipf("cannot make %s immutable (chattr +i: %v: %s), and file modes do not stop root", objects, err, out)
	}
	t.Cleanup(func() {
		if out, err := exec.Command("chattr", "-i", objects).CombinedOutput(); err != nil {
			t.Errorf("chattr -i %s: %v: %s", objects, err, out)
		}
	})
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second) // a serve that starts runs until then
	defer cancel()
	runErr := run(ctx, args, io.Discard, io.Discard)
	if runErr == nil {
		t.Fatal("serve started with an archive it cannot write, and ran until stopped")
	}
	err := runErr.Error()
	if want := "the archive " + filepath.Join(data, "archive") + " is not writable, so uploads of binaries would fail"; !strings.Contains(err, want) || !strings.Contains(err, "give the user running serve write permission on "+objects) {
		t.Errorf("serve with an immutable archive = %q, want it to contain %q", err, want)
	}
	for _, d := range []string{objects, filepath.Join(data, "archive", "tmp")} {
		if ents, err := os.ReadDir(d); err != nil || len(ents) != 0 {
			t.Errorf("after the failed start, %s holds %v (%v), want nothing", d, ents, err)
		}
	}
}
