package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/attestlog/attestlog/client/report"
	"github.com/attestlog/attestlog/cmd/attestlog/internal/loadgen"
	"github.com/attestlog/attestlog/log/claim"
	pb "github.com/attestlog/attestlog/proto/attestlog/v1"
	"golang.org/x/mod/sumdb/note"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"
)

// bigClaims returns n distinct valid claims, each a DSSE envelope of about
// size bytes: the statement carries padding in its predicate, which the
// profile allows, so that the entry stays under 64 KiB.
func bigClaims(t *testing.T, n, size int) [][]byte {
	t.Helper()
	skey, vkey, err := note.GenerateKey(rand.Reader, "bounds.attestlog.dev/builder")
	if err != nil {
		t.Fatal(err)
	}
	signer, err := note.NewSigner(skey)
	if err != nil {
		t.Fatal(err)
	}
	key := claim.Key{Signer: signer, VKey: vkey}
	// base64 makes the envelope 4/3 of the payload.
	pad := strings.Repeat("p", size*3/4-1200)
	out := make([][]byte, n)
	var nonce [16]byte
	rand.Read(nonce[:])
	for i := range out {
		h := sha256.Sum256(fmt.Appendf(nil, "%x %d", nonce, i))
		st, err := claim.NewStatement(&claim.Claim{
			Subjects: []claim.Subject{{Name: "big", SHA256: hex.EncodeToString(h[:])}},
			Source:   "git+https://bounds.attestlog.dev/project", Commit: hex.EncodeToString(h[:20]),
			Recipe: hex.EncodeToString(h[:]), Platform: "linux/amd64", BuilderID: "https://bounds.attestlog.dev",
		})
		if err != nil {
			t.Fatal(err)
		}
		var m map[string]any
		if err := json.Unmarshal(st, &m); err != nil {
			t.Fatal(err)
		}
		m["predicate"].(map[string]any)["buildDefinition"].(map[string]any)["internalParameters"] = map[string]any{"padding": pad}
		if st, err = json.Marshal(m); err != nil {
			t.Fatal(err)
		}
		e, err := claim.SignStatement(st, key)
		if err != nil {
			t.Fatal(err)
		}
		out[i] = e.Envelope()
	}
	return out
}

// vmRSS returns the resident set size of process pid, from /proc.
func vmRSS(pid int) (int64, error) { return procStatus(pid, "VmRSS") }

// procStatus returns a size field ("VmRSS", "RssAnon") of /proc/<pid>/status, in bytes.
func procStatus(pid int, field string) (int64, error) {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), field+":"); ok {
			kb, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			return kb << 10, err
		}
	}
	return 0, fmt.Errorf("no %s in /proc/%d/status", field, pid)
}

// retryDelay returns the RetryInfo delay of a status, or 0 if it has none.
func retryDelay(st *status.Status) time.Duration {
	for _, d := range st.Details() {
		if ri, ok := d.(*errdetails.RetryInfo); ok {
			return ri.GetRetryDelay().AsDuration()
		}
	}
	return 0
}

// TestServeMemoryBoundedUnderBurst sends 2,048 concurrent AddClaim calls of
// about 78 KB each to a real serve process, over 16 connections so that the
// per-connection stream limit does not queue them on the client, and samples
// the server's VmRSS during and after the burst. The server must stay under
// 256 MiB by refusing what it cannot hold with ResourceExhausted and a
// RetryInfo, and answer everything else.
func TestServeMemoryBoundedUnderBurst(t *testing.T) {
	const calls, size, conns, limit = 2048, 78_000, 16, 256 << 20
	envs := bigClaims(t, calls, size)
	serveArgs := []string{"serve", "--data", filepath.Join(t.TempDir(), "data"), "--http", "127.0.0.1:0", "--grpc", "127.0.0.1:0", "--log-level", "warn"}
	want := []string{"http listening on", "grpc listening on"}
	var p *proc
	if raceEnabled {
		// The race detector multiplies memory use: measure a server built
		// without it (as TestEndToEndProcesses builds one).
		bin := filepath.Join(t.TempDir(), "attestlog")
		if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
			t.Fatalf("go build: %v\n%s", err, out)
		}
		p = startProgram(t, bin, nil, want, serveArgs...)
	} else {
		p = startProc(t, want, serveArgs...)
	}
	pid := p.cmd.Process.Pid

	var peak, peakAnon atomic.Int64
	stopSampling := make(chan struct{})
	sampled := make(chan struct{})
	go func() {
		defer close(sampled)
		for {
			if rss, err := vmRSS(pid); err == nil && rss > peak.Load() {
				peak.Store(rss)
			}
			if rss, err := procStatus(pid, "RssAnon"); err == nil && rss > peakAnon.Load() {
				peakAnon.Store(rss)
			}
			select {
			case <-stopSampling:
				return
			case <-time.After(5 * time.Millisecond):
			}
		}
	}()
	defer func() { close(stopSampling); <-sampled }()

	clients := make([]pb.LogServiceClient, conns)
	for i := range clients {
		conn, err := grpc.NewClient(p.get("grpc listening on"), grpc.WithTransportCredentials(insecure.NewCredentials()))
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		clients[i] = pb.NewLogServiceClient(conn)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	var (
		wg                  sync.WaitGroup
		mu                  sync.Mutex
		ok, exhausted       int
		minRetry, zeroRetry = time.Duration(0), 0
		other               []error
	)
	start := make(chan struct{})
	for i, env := range envs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			_, err := clients[i%conns].AddClaim(ctx, &pb.AddClaimRequest{Envelope: env})
			mu.Lock()
			defer mu.Unlock()
			st := status.Convert(err)
			switch {
			case err == nil:
				ok++
			case st.Code() == codes.ResourceExhausted:
				exhausted++
				if d := retryDelay(st); d <= 0 {
					zeroRetry++
				} else if minRetry == 0 || d < minRetry {
					minRetry = d
				}
			default:
				other = append(other, err)
			}
		}()
	}
	close(start)
	wg.Wait()
	during := peak.Load()
	time.Sleep(2 * time.Second) // after the burst: memory must not grow further
	after, err := vmRSS(pid)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%d calls: %d appended, %d refused with ResourceExhausted (smallest RetryInfo %v); peak VmRSS %d MiB (anonymous %d MiB), %d MiB 2 s after",
		calls, ok, exhausted, minRetry, peak.Load()>>20, peakAnon.Load()>>20, after>>20)
	if len(other) > 0 {
		t.Errorf("%d calls failed otherwise, e.g. %v", len(other), other[0])
	}
	if peak.Load() >= limit {
		t.Errorf("peak VmRSS %d MiB (%d MiB during the burst), want under %d MiB", peak.Load()>>20, during>>20, limit>>20)
	}
	if exhausted == 0 {
		t.Errorf("no call was refused with ResourceExhausted: the server took all %d claims (%d MB) at once", calls, calls*size/1_000_000)
	}
	if zeroRetry > 0 {
		t.Errorf("%d ResourceExhausted refusals carried no RetryInfo or a zero delay", zeroRetry)
	}
	if ok == 0 {
		t.Errorf("no claim was appended")
	}
}

func TestServeBoundsFlags(t *testing.T) {
	t.Setenv("ATTESTLOG_UPLOAD_IDLE_TIMEOUT", "5s")
	c, err := parseServeFlags([]string{"--max-claim-bytes", "1000", "--max-upload-bytes", "2000"}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if c.MaxClaimBytes != 1000 || c.UploadIdleTimeout != 5*time.Second || c.MaxUploadBytes != 2000 {
		t.Errorf("bounds %d, %v, %d, want 1000, 5s, 2000", c.MaxClaimBytes, c.UploadIdleTimeout, c.MaxUploadBytes)
	}
}

// writeClaims writes n distinct signed claims to files and returns their paths.
func writeClaims(t *testing.T, n int) []string {
	t.Helper()
	envs, err := loadgen.SignedClaims(1, n)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	paths := make([]string, n)
	for i, env := range envs {
		paths[i] = filepath.Join(dir, fmt.Sprintf("c%d.claim.json", i))
		writeFile(t, paths[i], env)
	}
	return paths
}

// TestSubmitRetriesWhenBusy submits three claims to a log that takes one
// per second: the log refuses the second and third with ResourceExhausted
// and a RetryInfo of 1s, and submit must wait, say so, and log all three.
func TestSubmitRetriesWhenBusy(t *testing.T) {
	clearClientEnv(t)
	s := startServe(t, []string{"serve", "--data", t.TempDir(), "--http", "127.0.0.1:0", "--grpc", "127.0.0.1:0", "--rate", "1"})
	paths := writeClaims(t, 3)
	var stdout, stderr bytes.Buffer
	err := run(t.Context(), append([]string{"submit", "--log", s.grpcAddr}, paths...), &stdout, &stderr)
	if err != nil {
		t.Fatalf("submit: %v\nstderr:\n%s", err, stderr.String())
	}
	if n := strings.Count(stdout.String(), "logged "); n != 3 {
		t.Errorf("submit logged %d claims, want 3:\n%s", n, stdout.String())
	}
	if !strings.Contains(stderr.String(), "the log is busy with") || !strings.Contains(stderr.String(), "retrying in 1.") {
		t.Errorf("submit did not say it was retrying after the log's 1s RetryInfo:\n%s", stderr.String())
	}
}

// TestSubmitRetryBounded checks that submit gives up, without waiting, when
// the log's RetryInfo is beyond --retry-time, and at once with --retries 1.
func TestSubmitRetryBounded(t *testing.T) {
	clearClientEnv(t)
	s := startServe(t, []string{"serve", "--data", t.TempDir(), "--http", "127.0.0.1:0", "--grpc", "127.0.0.1:0", "--rate", "0.01"})
	paths := writeClaims(t, 3)
	runOK(t, "submit", "--log", s.grpcAddr, paths[0])
	for _, tt := range []struct {
		flags   []string
		wantErr string
	}{
		{[]string{"--retry-time", "5s"}, "more would pass --retry-time 5s"},
		{[]string{"--retries", "1"}, "gave up after 1 attempts"},
	} {
		start := time.Now()
		var stderr bytes.Buffer
		err := run(t.Context(), append(append([]string{"submit", "--log", s.grpcAddr}, tt.flags...), paths[1]), io.Discard, &stderr)
		if status.Code(err) != codes.ResourceExhausted {
			t.Errorf("submit %v = %v, want the log's ResourceExhausted", tt.flags, err)
		}
		if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
			t.Errorf("submit %v = %v, want an error containing %q", tt.flags, err, tt.wantErr)
		}
		if d := time.Since(start); d > 30*time.Second || strings.Contains(stderr.String(), "retrying") {
			t.Errorf("submit %v waited %v, stderr %q; want it to give up at once", tt.flags, d, stderr.String())
		}
	}
}

// TestEvidencePullPastBadArtifact damages the archived copy of one side of
// a mismatch on the log's disk: evidence pull must still pull the other
// side, report the damaged one and fail at the end; uploading the right
// bytes again through submit must repair the archive, after which the pull
// succeeds.
func TestEvidencePullPastBadArtifact(t *testing.T) {
	clearClientEnv(t)
	data := filepath.Join(t.TempDir(), "data")
	s := startServe(t, []string{"serve", "--data", data, "--http", "127.0.0.1:0", "--grpc", "127.0.0.1:0"})
	work := t.TempDir()
	good := bytes.Repeat([]byte("honest binary "), 30_000)
	evil := append(bytes.Clone(good), "backdoor"...)
	bins := map[string][]byte{sha256Hex(good): good, sha256Hex(evil): evil}
	claimFile := map[string]string{}
	for i, bin := range [][]byte{good, evil} {
		skey, vkey := keyPair(t, fmt.Sprintf("builder%d.example/b", i))
		signer, err := note.NewSigner(skey)
		if err != nil {
			t.Fatal(err)
		}
		st, err := claim.NewStatement(&claim.Claim{
			Subjects: []claim.Subject{{Name: "hello", SHA256: sha256Hex(bin)}},
			Source:   "git+https://example.org/hello", Commit: "0123456789abcdef0123456789abcdef01234567",
			Recipe: sha256Hex([]byte("recipe")), Platform: "linux/amd64", BuilderID: "https://example.org/builder",
		})
		if err != nil {
			t.Fatal(err)
		}
		e, err := claim.SignStatement(st, claim.Key{Signer: signer, VKey: vkey})
		if err != nil {
			t.Fatal(err)
		}
		dir := filepath.Join(work, fmt.Sprint(i))
		writeFile(t, filepath.Join(dir, "hello"), bin)
		writeFile(t, filepath.Join(dir, "claim.json"), e.Envelope())
		claimFile[sha256Hex(bin)] = filepath.Join(dir, "claim.json")
		runOK(t, "submit", "--log", s.grpcAddr, "--artifact", filepath.Join(dir, "hello"), filepath.Join(dir, "claim.json"))
	}
	var ms []report.Mismatch
	if err := json.Unmarshal([]byte(runOK(t, "mismatches", "--log", s.grpcAddr, "--json")), &ms); err != nil || len(ms) != 1 || len(ms[0].Digests) != 2 {
		t.Fatalf("mismatches = %+v, %v; want one with two digests", ms, err)
	}
	// Damage the side that is pulled first, so that the other comes after it.
	bad, other := ms[0].Digests[0].SHA256, ms[0].Digests[1].SHA256
	obj := filepath.Join(data, "archive", "objects", bad[:2], bad[2:4], bad)
	chmod(t, obj, 0o644)
	damaged := bytes.Clone(bins[bad])
	damaged[1000] ^= 0xff
	writeFile(t, obj, damaged)

	pull := func(out string) (string, string, error) {
		var stdout, stderr bytes.Buffer
		err := run(t.Context(), []string{"evidence", "pull", "--log", s.grpcAddr, fmt.Sprint(ms[0].ID), "-o", out}, &stdout, &stderr)
		return stdout.String(), stderr.String(), err
	}
	out := filepath.Join(work, "evidence")
	stdout, stderr, err := pull(out)
	if err == nil || !strings.Contains(err.Error(), "1 of 2 artifacts could not be pulled: sha256 "+bad) {
		t.Errorf("evidence pull with a damaged artifact = %v, want an error naming it", err)
	}
	if !strings.Contains(stderr, "could not pull sha256 "+bad) || !strings.Contains(stderr, "damaged") {
		t.Errorf("evidence pull did not report the damaged artifact on stderr:\n%s", stderr)
	}
	if got, err := os.ReadFile(filepath.Join(out, "artifacts", other, "hello")); err != nil || !bytes.Equal(got, bins[other]) {
		t.Errorf("the intact artifact after the damaged one was not pulled (%v); stdout:\n%s", err, stdout)
	}
	if _, err := os.Stat(filepath.Join(out, "artifacts", bad, "hello")); err == nil {
		t.Errorf("evidence pull kept a file for the damaged artifact")
	}

	// The right bytes again repair the archive: not "already stored".
	dir := filepath.Dir(claimFile[bad])
	if got := runOK(t, "submit", "--log", s.grpcAddr, "--artifact", filepath.Join(dir, "hello"), claimFile[bad]); !strings.Contains(got, "(already stored: no)") {
		t.Errorf("re-uploading the right bytes printed:\n%s\nwant already stored: no", got)
	}
	if _, stderr, err := pull(filepath.Join(work, "evidence2")); err != nil {
		t.Errorf("evidence pull after the repair: %v\n%s", err, stderr)
	}
}
