package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/attestlog/attestlog/cmd/attestlog/internal/loadgen"
	"github.com/attestlog/attestlog/log/objstore/s3test"
	pb "github.com/attestlog/attestlog/proto/attestlog/v1"
	"github.com/attestlog/attestlog/tiles"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
)

// envRunMain makes the test binary run attestlog's main instead of the
// tests, so that tests can start real attestlog processes cheaply.
const envRunMain = "ATTESTLOG_TEST_RUN_MAIN"

func TestMain(m *testing.M) {
	if os.Getenv(envRunMain) == "1" {
		main()
		os.Exit(0)
	}
	// Tests count tree sizes and claim indexes, so serve commits the
	// verifiable index only when a test asks for it (--index-age, or
	// --index-entries): not every 5 s, which a slow run would cross. This
	// reaches the processes the tests start too.
	if os.Getenv("ATTESTLOG_INDEX_AGE") == "" {
		os.Setenv("ATTESTLOG_INDEX_AGE", "1000h")
	}
	os.Exit(s3test.Main(m)) // m.Run, then stops the Ceph that s3test may have started
}

// A proc is an attestlog process started by a test.
type proc struct {
	cmd   *exec.Cmd
	mu    sync.Mutex
	lines map[string]string // "http listening on" etc. -> the rest of the line
	done  chan struct{}
	errs  strings.Builder // its standard error, guarded by mu
}

// stderr returns what the process wrote to its standard error so far.
func (p *proc) stderr() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.errs.String()
}

// procStderr collects a proc's standard error under its mutex.
type procStderr struct{ p *proc }

func (w procStderr) Write(b []byte) (int, error) {
	w.p.mu.Lock()
	defer w.p.mu.Unlock()
	return w.p.errs.Write(b)
}

// startProc runs "attestlog args..." as a new process (this test binary,
// running main) and waits until it printed every prefix in want, e.g.
// "http listening on".
func startProc(t *testing.T, want []string, args ...string) *proc {
	t.Helper()
	return startProgram(t, os.Args[0], []string{envRunMain + "=1"}, want, args...)
}

// startProgram runs program with args and extra environment as a new
// process and waits until it printed every prefix in want.
func startProgram(t *testing.T, program string, env, want []string, args ...string) *proc {
	t.Helper()
	cmd := exec.Command(program, args...)
	cmd.Env = append(os.Environ(), env...)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	p := &proc{cmd: cmd, lines: map[string]string{}, done: make(chan struct{})}
	cmd.Stderr = procStderr{p}
	if testing.Verbose() {
		cmd.Stderr = io.MultiWriter(os.Stderr, procStderr{p})
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	ready := make(chan struct{})
	go func() {
		defer close(p.done)
		sc := bufio.NewScanner(out)
		signalled := false
		for sc.Scan() {
			p.mu.Lock()
			for _, w := range want {
				if v, ok := strings.CutPrefix(sc.Text(), w+" "); ok {
					p.lines[w] = strings.TrimPrefix(v, ": ")
				}
			}
			all := len(p.lines) == len(want)
			p.mu.Unlock()
			if all && !signalled {
				signalled = true
				close(ready)
			}
		}
		cmd.Wait()
	}()
	t.Cleanup(func() { p.stop() })
	select {
	case <-ready:
	case <-p.done:
		t.Fatalf("attestlog %v exited before printing %v", args, want)
	case <-time.After(30 * time.Second):
		t.Fatalf("attestlog %v did not print %v", args, want)
	}
	return p
}

func (p *proc) get(prefix string) string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.lines[prefix]
}

// stop sends SIGTERM and waits for the process to exit.
func (p *proc) stop() {
	p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(20 * time.Second):
		p.cmd.Process.Kill()
		<-p.done
	}
}

// publishedCheckpoint fetches a log's /checkpoint and verifies it against policy.
func publishedCheckpoint(t *testing.T, httpAddr string, policy *tiles.Policy) *tiles.VerifiedCheckpoint {
	t.Helper()
	resp, err := http.Get("http://" + httpAddr + "/checkpoint")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 {
		return nil
	}
	vc, err := policy.VerifyCheckpoint(b)
	if err != nil {
		t.Fatalf("the published checkpoint does not meet the policy: %v\n%s", err, b)
	}
	return vc
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(30 * time.Second); !cond(); time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting until %s", what)
		}
	}
}

// A witnessedLog is a log key in a data directory and witness processes
// that trust it, with a witness policy file naming them.
type witnessedLog struct {
	dir, logData, logVKey string
	logsFile, policyFile  string
	policy                *tiles.Policy
	names                 []string // the witnesses' names in the policy
	witnesses             []*proc  // by policy order; see start
}

// newWitnessedLog makes a log key under a new temporary directory and
// starts one witness process per name (key name NAME.example, state in
// dir/NAME), with a policy that needs quorum of them.
func newWitnessedLog(t *testing.T, quorum int, names ...string) *witnessedLog {
	t.Helper()
	dir := t.TempDir()
	wl := &witnessedLog{dir: dir, logData: filepath.Join(dir, "log"), logsFile: filepath.Join(dir, "logs"),
		policyFile: filepath.Join(dir, "policy"), names: names, witnesses: make([]*proc, len(names))}
	os.MkdirAll(wl.logData, 0o700)
	var stdout strings.Builder
	if err := run(context.Background(), []string{"keygen", "-o", filepath.Join(wl.logData, "log"), "localhost/attestlog"}, &stdout, io.Discard); err != nil {
		t.Fatal(err)
	}
	wl.logVKey = strings.TrimSpace(stdout.String())
	writeFile(t, wl.logsFile, []byte("log "+wl.logVKey+"\n"))
	policyText := "log " + wl.logVKey + "\n"
	for i, name := range names {
		w := wl.start(t, i, "127.0.0.1:0")
		policyText += fmt.Sprintf("witness %s %s http://%s/\n", name, w.get("witness vkey:"), w.get("http listening on"))
	}
	if len(names) == 1 && quorum == 1 {
		policyText += "quorum " + names[0] + "\n"
	} else {
		policyText += fmt.Sprintf("group q %d %s\nquorum q\n", quorum, strings.Join(names, " "))
	}
	writeFile(t, wl.policyFile, []byte(policyText))
	var err error
	if wl.policy, err = tiles.ParsePolicy([]byte(policyText)); err != nil {
		t.Fatal(err)
	}
	return wl
}

// start starts (or restarts) witness i listening on addr, and returns it.
func (wl *witnessedLog) start(t *testing.T, i int, addr string) *proc {
	t.Helper()
	wl.witnesses[i] = startProc(t, []string{"witness vkey:", "http listening on"}, "witness", "--data", filepath.Join(wl.dir, wl.names[i]),
		"--http", addr, "--name", wl.names[i]+".example", "--logs", wl.logsFile)
	return wl.witnesses[i]
}

// TestProcessesWitnessQuorum runs one log and three witnesses as separate
// processes on loopback, with a quorum of 2 of 3.
func TestProcessesWitnessQuorum(t *testing.T) {
	if testing.Short() {
		t.Skip("starts processes")
	}
	wl := newWitnessedLog(t, 2, "w0", "w1", "w2")
	logData, policyFile, policy := wl.logData, wl.policyFile, wl.policy
	// No index commitment in this test's time (--index-age 1h), so that the
	// tree sizes are the claims appended.
	lp := startProc(t, []string{"http listening on", "grpc listening on"}, "serve", "--data", logData,
		"--http", "127.0.0.1:0", "--grpc", "127.0.0.1:0", "--policy", policyFile, "--index-age", "1h")
	conn, err := grpc.NewClient(lp.get("grpc listening on"), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	client := pb.NewLogServiceClient(conn)
	envs, err := loadgen.SignedClaims(3, 40)
	if err != nil {
		t.Fatal(err)
	}
	appended := 0
	add := func(n int) {
		for ; n > 0; n-- {
			if _, err := client.AddClaim(context.Background(), &pb.AddClaimRequest{Envelope: envs[appended]}); err != nil {
				t.Fatalf("AddClaim: %v", err)
			}
			appended++
		}
	}
	httpAddr := lp.get("http listening on")
	published := func(size int64) func() bool {
		return func() bool { vc := publishedCheckpoint(t, httpAddr, policy); return vc != nil && vc.Size == size }
	}

	add(10)
	waitFor(t, "size 10 is published with a quorum", published(10))

	wl.witnesses[2].stop()
	add(10)
	waitFor(t, "size 20 is published with one witness stopped", published(20))

	w1 := wl.witnesses[1].get("http listening on")
	wl.witnesses[1].stop()
	add(10)                     // appends succeed without witnesses
	time.Sleep(3 * time.Second) // several witnessing rounds, which must not publish
	if vc := publishedCheckpoint(t, httpAddr, policy); vc.Size != 20 {
		t.Fatalf("published size %d with two of three witnesses stopped, want 20", vc.Size)
	}

	wl.start(t, 1, w1) // the same witness, state and address
	waitFor(t, "size 30 is published once a second witness is back", published(30))
	if vc := publishedCheckpoint(t, httpAddr, policy); len(vc.Cosigners) < 2 {
		t.Fatalf("published with %d cosignatures", len(vc.Cosigners))
	}
}
