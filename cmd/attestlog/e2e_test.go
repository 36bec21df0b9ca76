package main

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

// TestEndToEndProcesses builds the attestlog binary and walks the demo's
// story with a log, three witnesses and every command as separate
// processes that talk only over the network, asserting each step.
func TestEndToEndProcesses(t *testing.T) {
	if testing.Short() {
		t.Skip("builds binaries and starts processes")
	}
	dir := t.TempDir()
	bin := filepath.Join(dir, "attestlog")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	// al runs one command to completion and returns its stdout and exit code.
	al := func(args ...string) (string, int) {
		t.Helper()
		cmd := exec.Command(bin, args...)
		cmd.Dir = dir
		cmd.Env = append(os.Environ(), "ATTESTLOG_STATE="+filepath.Join(dir, "state"))
		var out, errb bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &errb
		err := cmd.Run()
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			return out.String() + errb.String(), ee.ExitCode()
		} else if err != nil {
			t.Fatalf("attestlog %v: %v", args, err)
		}
		return out.String(), 0
	}
	must := func(args ...string) string {
		t.Helper()
		out, code := al(args...)
		if code != 0 {
			t.Fatalf("attestlog %v: exit %d\n%s", args, code, out)
		}
		return out
	}
	start := func(want []string, args ...string) *proc {
		t.Helper()
		return startProgram(t, bin, nil, want, args...)
	}

	// A log key, three witnesses, a policy, and the log.
	logData := filepath.Join(dir, "log")
	os.MkdirAll(logData, 0o700)
	logVKey := strings.TrimSpace(must("keygen", "-o", filepath.Join(logData, "log"), "localhost/attestlog"))
	os.WriteFile(filepath.Join(dir, "witness-logs"), []byte("log "+logVKey+"\n"), 0o644)
	policy := "log " + logVKey + "\n"
	var witnesses []*proc
	for i := 1; i <= 3; i++ {
		w := start([]string{"witness vkey:", "http listening on"}, "witness", "--logs", filepath.Join(dir, "witness-logs"),
			"--data", filepath.Join(dir, fmt.Sprintf("w%d", i)), "--name", fmt.Sprintf("w%d.example", i), "--http", "127.0.0.1:0", "--log-level", "error")
		witnesses = append(witnesses, w)
		policy += fmt.Sprintf("witness w%d %s http://%s/\n", i, w.get("witness vkey:"), w.get("http listening on"))
	}
	policy += "group q 2 w1 w2 w3\nquorum q\n"
	os.WriteFile(filepath.Join(dir, "log-policy"), []byte(policy), 0o644)
	// No index commitment in this test's time (--index-age 1h): the story
	// counts tree sizes and claim indexes.
	serveArgs := []string{"serve", "--data", logData, "--http", "127.0.0.1:0", "--grpc", "127.0.0.1:0", "--policy", filepath.Join(dir, "log-policy"), "--log-level", "error", "--index-age", "1h"}
	logProc := start([]string{"http listening on", "grpc listening on"}, serveArgs...)
	grpcAddr, httpAddr := logProc.get("grpc listening on"), logProc.get("http listening on")

	// Builders: three honest rebuilds of one program, and a compromised one.
	src := filepath.Join(dir, "src")
	os.MkdirAll(src, 0o755)
	os.WriteFile(filepath.Join(src, "go.mod"), []byte("module example.org/hello\n\ngo 1.26\n"), 0o644)
	os.WriteFile(filepath.Join(src, "main.go"), []byte("package main\n\nfunc main() { println(\"hello\") }\n"), 0o644)
	build := func(name, mainGo string) string {
		d := filepath.Join(dir, "build-"+name)
		os.MkdirAll(d, 0o755)
		for _, f := range []string{"go.mod", "main.go"} {
			b, _ := os.ReadFile(filepath.Join(src, f))
			if f == "main.go" && mainGo != "" {
				b = []byte(mainGo)
			}
			os.WriteFile(filepath.Join(d, f), b, 0o644)
		}
		cmd := exec.Command("go", "build", "-trimpath", "-ldflags=-buildid=", "-o", "hello", ".")
		cmd.Dir = d
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOFLAGS=-mod=mod", "GOPROXY=off")
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("building hello for %s: %v\n%s", name, err, out)
		}
		return filepath.Join(d, "hello")
	}
	honest := map[string]string{}
	for _, name := range []string{"author", "ci", "rebuilder"} {
		honest[name] = build(name, "")
	}
	evil := build("mirror", "package main\n\nfunc main() { println(\"hello\"); println(\"backdoor\") }\n")
	if fileSHA(t, honest["author"]) != fileSHA(t, honest["ci"]) || fileSHA(t, honest["ci"]) != fileSHA(t, honest["rebuilder"]) {
		t.Fatal("the honest builds differ: not reproducible")
	}
	if fileSHA(t, evil) == fileSHA(t, honest["author"]) {
		t.Fatal("the compromised build equals the honest one")
	}
	commit := strings.Repeat("a1", 20)
	recipe := filepath.Join(src, "go.mod")
	submit := func(name, binary string) {
		t.Helper()
		must("keygen", "-o", filepath.Join(dir, name), "builder.example/"+name)
		claimFile := filepath.Join(dir, name+".claim.json")
		must("attest", "--key", filepath.Join(dir, name+".key"), "--recipe", recipe, "--source", "git+https://example.org/hello",
			"--commit", commit, "--platform", runtime.GOOS+"/"+runtime.GOARCH, "-o", claimFile, binary)
		must("submit", "--log", grpcAddr, "--log-vkey", logVKey, "--artifact", binary, claimFile)
	}
	for _, name := range []string{"author", "ci", "rebuilder"} {
		submit(name, honest[name])
	}
	// The operator quietly keeps a copy of the log from before the mirror's
	// claim, once the honest claims are witnessed (witnessing is
	// asynchronous; a copy taken earlier would hold only the empty tree's
	// witnessed checkpoint, a prefix of anything, and prove nothing).
	waitPublished(t, httpAddr, 3)
	logProc.stop()
	backup := filepath.Join(dir, "log-backup")
	copyDir(t, logData, backup)
	logProc = start([]string{"http listening on", "grpc listening on"}, replaceArg(replaceArg(serveArgs, "--http", httpAddr), "--grpc", grpcAddr)...)
	submit("mirror", evil)

	// The log flagged the mismatch.
	var ms []json.RawMessage
	if err := json.Unmarshal([]byte(must("mismatches", "--log", grpcAddr, "--json")), &ms); err != nil || len(ms) != 1 {
		t.Fatalf("mismatches: %v, %d", err, len(ms))
	}

	// A client that trusts author, ci and rebuilder, 2 of 3.
	clientPolicy := fmt.Sprintf("log %s http://%s/\n", logVKey, httpAddr)
	for i, w := range witnesses {
		clientPolicy += fmt.Sprintf("witness w%d %s\n", i+1, w.get("witness vkey:"))
	}
	clientPolicy += "group q 2 w1 w2 w3\nquorum q\n"
	for _, name := range []string{"author", "ci", "rebuilder"} {
		vk, _ := os.ReadFile(filepath.Join(dir, name+".vkey"))
		clientPolicy += "builder " + name + " " + strings.TrimSpace(string(vk)) + "\n"
	}
	clientPolicy += "builders release 2 author ci rebuilder\nagree release\n"
	pf := filepath.Join(dir, "client-policy")
	os.WriteFile(pf, []byte(clientPolicy), 0o644)
	waitPublished(t, httpAddr, 4)
	if out, code := al("verify", "--policy", pf, "--log", grpcAddr, honest["ci"]); code != 0 || !strings.Contains(out, "TRUSTED") {
		t.Fatalf("verify honest: exit %d\n%s", code, out)
	}
	if out, code := al("verify", "--policy", pf, "--log", grpcAddr, evil); code == 0 || code&2 == 0 {
		t.Fatalf("verify compromised: exit %d, want the quorum bit\n%s", code, out)
	}

	// The investigator pulls both binaries; an offline bundle verifies with no network.
	must("evidence", "pull", "--log", grpcAddr, "--log-vkey", logVKey, "3", "-o", filepath.Join(dir, "evidence"))
	for _, b := range []string{honest["author"], evil} {
		if _, err := os.Stat(filepath.Join(dir, "evidence", "artifacts", fileSHA(t, b), "hello")); err != nil {
			t.Fatalf("evidence pull did not fetch %s: %v", b, err)
		}
	}
	must("bundle", "--policy", pf, "--log", grpcAddr, honest["author"], "-o", filepath.Join(dir, "hello.bundle"))
	if out, code := al("verify", "--policy", pf, "--bundle", filepath.Join(dir, "hello.bundle"), "--log", "127.0.0.1:1", "--state", "", honest["author"]); code != 0 {
		t.Fatalf("offline verify: exit %d\n%s", code, out)
	}

	// Rollback: restore the copy. The restarted log asks its witnesses
	// first; they have cosigned size 4 and show it, so it stops itself.
	logProc.stop()
	os.RemoveAll(logData)
	copyDir(t, backup, logData)
	logProc = start([]string{"http listening on", "grpc listening on"}, replaceArg(replaceArg(serveArgs, "--http", httpAddr), "--grpc", grpcAddr)...)
	must("keygen", "-o", filepath.Join(dir, "latecomer"), "builder.example/latecomer")
	lateClaim := filepath.Join(dir, "latecomer.claim.json")
	must("attest", "--key", filepath.Join(dir, "latecomer.key"), "--recipe", recipe, "--source", "git+https://example.org/hello",
		"--commit", commit, "--platform", runtime.GOOS+"/"+runtime.GOARCH, "-o", lateClaim, honest["author"])
	if out, code := al("submit", "--log", grpcAddr, "--log-vkey", logVKey, lateClaim); code == 0 ||
		!strings.Contains(out, "store rolled back") || !strings.Contains(out, "tree size 4, this log holds tree size 3") {
		t.Fatalf("submit to the restored log: exit %d, want a refusal naming the sizes 4 and 3\n%s", code, out)
	}
	if code, body := httpStatusBody(t, "http://"+httpAddr+"/healthz"); code != http.StatusServiceUnavailable || !strings.Contains(body, "rolled back") {
		t.Fatalf("the restored log's /healthz: %d %q, want 503", code, body)
	}
	if out, code := al("verify", "--policy", pf, "--log", grpcAddr, honest["author"]); code == 0 || !strings.Contains(out, "store rolled back") {
		t.Fatalf("verify against the restored log: exit %d, want a failure saying the store is rolled back\n%s", code, out)
	}
	evidenceCount := func(w *proc) int {
		_, b := httpStatusBody(t, "http://"+w.get("http listening on")+"/evidence")
		var list []json.RawMessage
		json.Unmarshal([]byte(b), &list)
		return len(list)
	}
	for i, w := range witnesses {
		if n := evidenceCount(w); n != 0 {
			t.Fatalf("witness w%d stored %d evidence records: the restored log sent it a fork", i+1, n)
		}
	}

	// The operator forces it: without its witness policy the log asks no
	// one, and appends a fork. No witness cosigns it, and a client that
	// needs no witness at all still catches it with its remembered state.
	logProc.stop()
	noPolicy := replaceArg(replaceArg(replaceArg(serveArgs, "--http", httpAddr), "--grpc", grpcAddr), "--policy", "")
	logProc = start([]string{"http listening on", "grpc listening on"}, noPolicy...)
	must("submit", "--log", grpcAddr, "--log-vkey", logVKey, lateClaim)
	if out, code := al("verify", "--policy", pf, "--log", grpcAddr, honest["author"]); code&8 == 0 {
		t.Fatalf("verify against the forced fork: exit %d, want bit 8 (no witness quorum)\n%s", code, out)
	}
	logOnly := filepath.Join(dir, "log-only-policy")
	os.WriteFile(logOnly, []byte(strings.Replace(clientPolicy, "quorum q\n", "quorum none\n", 1)), 0o644)
	out, code := al("verify", "--policy", logOnly, "--log", grpcAddr, honest["author"])
	if code&8 == 0 || !strings.Contains(out, "evidence") {
		t.Fatalf("verify of the fork with a log-only policy: exit %d, want bit 8 and an evidence file\n%s", code, out)
	}
	t.Logf("the restored log stopped itself; its forced fork was caught by the client's remembered state (exit %d)", code)
}

// waitPublished waits until the log at httpAddr publishes a checkpoint of the given size.
func waitPublished(t *testing.T, httpAddr string, size int) {
	t.Helper()
	waitFor(t, fmt.Sprintf("a checkpoint of size %d is published", size), func() bool {
		resp, err := http.Get("http://" + httpAddr + "/checkpoint")
		if err != nil {
			return false
		}
		defer resp.Body.Close()
		var b bytes.Buffer
		b.ReadFrom(resp.Body)
		return strings.Contains(b.String(), fmt.Sprintf("\n%d\n", size))
	})
}

func fileSHA(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	h := sha256.Sum256(b)
	return hex.EncodeToString(h[:])
}

func copyDir(t *testing.T, from, to string) {
	t.Helper()
	err := filepath.Walk(from, func(p string, info os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(from, p)
		dst := filepath.Join(to, rel)
		if info.IsDir() {
			return os.MkdirAll(dst, 0o700)
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(dst, b, info.Mode().Perm()|0o200)
	})
	if err != nil {
		t.Fatal(err)
	}
}
