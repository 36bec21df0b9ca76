package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/attestlog/attestlog/client"
	"github.com/attestlog/attestlog/cmd/attestlog/internal/daemon"
	"github.com/attestlog/attestlog/cmd/attestlog/internal/datadir"
	"github.com/attestlog/attestlog/cmd/attestlog/internal/usage"
	"github.com/attestlog/attestlog/log"
	"github.com/attestlog/attestlog/log/archive"
	"golang.org/x/mod/sumdb/note"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	reflectionpb "google.golang.org/grpc/reflection/grpc_reflection_v1"
)

// testTimeout bounds every wait for a server to come up or go down.
const testTimeout = 20 * time.Second

func TestUsage(t *testing.T) {
	for _, tt := range []struct {
		args    []string
		wantErr string // "" for success
		usage   bool   // a usage.Error
	}{
		{args: nil, wantErr: "no subcommand", usage: true},
		{args: []string{"frobnicate"}, wantErr: `unknown subcommand "frobnicate"; want ` + usage.Subcommands, usage: true},
		{args: []string{"help"}},
		{args: []string{"-h"}},
		{args: []string{"serve", "-h"}},
		{args: []string{"keygen", "-h"}},
		{args: []string{"serve", "--no-such-flag"}, wantErr: "serve: flag provided but not defined", usage: true},
		{args: []string{"serve", "extra"}, wantErr: `unexpected argument "extra"`, usage: true},
		{args: []string{"serve", "--log-level", "loud"}, wantErr: "--log-level", usage: true},
		{args: []string{"keygen"}, wantErr: "want one key NAME", usage: true},
		{args: []string{"keygen", "a", "b"}, wantErr: "want one key NAME", usage: true},
	} {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			err := run(t.Context(), tt.args, &stdout, &stderr)
			if tt.wantErr == "" {
				if err != nil {
					t.Fatalf("run(%q) = %v, want nil", tt.args, err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("run(%q) = %v, want error containing %q", tt.args, err, tt.wantErr)
			}
			if got := errors.As(err, new(usage.Error)); got != tt.usage {
				t.Errorf("run(%q) error is a usage.Error: %v, want %v", tt.args, got, tt.usage)
			}
		})
	}
}

func TestServeFlagsFromEnv(t *testing.T) {
	t.Setenv("ATTESTLOG_DATA", "/env/data")
	t.Setenv("ATTESTLOG_HTTP", ":1")
	t.Setenv("ATTESTLOG_GRPC", ":2")
	t.Setenv("ATTESTLOG_ORIGIN", "env.example/log")
	t.Setenv("ATTESTLOG_LOG_LEVEL", "debug")
	t.Setenv("ATTESTLOG_BUILDERS", "/env/builders")
	t.Setenv("ATTESTLOG_RATE", "100")
	t.Setenv("ATTESTLOG_BUILDER_RATE", "5")
	t.Setenv("ATTESTLOG_MAX_ARTIFACT_SIZE", "1000")
	t.Setenv("ATTESTLOG_INDEX_AGE", "1m")
	t.Setenv("ATTESTLOG_MEMORY_LIMIT", "300000000")
	c, err := parseServeFlags([]string{"--http", ":3", "-origin=flag.example/log", "--builder-rate", "7"}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	want := serveConfig{Config: daemon.Config{Data: "/env/data", HTTPAddr: ":3", GRPCAddr: ":2", Origin: "flag.example/log",
		Builders: "/env/builders", Rate: 100, BuilderRate: 7, MaxArtifactSize: 1000,
		MaxClaimBytes: log.DefaultMaxClaimBytes, UploadIdleTimeout: log.DefaultUploadIdleTimeout, MaxUploadBytes: log.DefaultMaxUploadBytes,
		IndexEntries: log.DefaultCommitEntries, IndexMaxTail: log.DefaultCommitMaxTail, IndexAge: time.Minute, BatchLinger: log.DefaultBatchLinger, MemoryLimit: 300_000_000}, level: slog.LevelDebug}
	if c != want {
		t.Errorf("parseServeFlags = %+v, want %+v", c, want)
	}
}

func TestServeFlagDefaults(t *testing.T) {
	for _, name := range []string{"ATTESTLOG_DATA", "ATTESTLOG_HTTP", "ATTESTLOG_GRPC", "ATTESTLOG_ORIGIN", "ATTESTLOG_LOG_LEVEL",
		"ATTESTLOG_BUILDERS", "ATTESTLOG_RATE", "ATTESTLOG_BUILDER_RATE", "ATTESTLOG_MAX_ARTIFACT_SIZE", "ATTESTLOG_INDEX_AGE", "ATTESTLOG_BATCH_LINGER",
		"ATTESTLOG_MEMORY_LIMIT", "GOMEMLIMIT"} {
		t.Setenv(name, "")
	}
	c, err := parseServeFlags(nil, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	want := serveConfig{Config: daemon.Config{Data: "./attestlog-data", HTTPAddr: "127.0.0.1:7380", GRPCAddr: "127.0.0.1:7381", Origin: "localhost/attestlog", MaxArtifactSize: archive.DefaultMaxSize,
		MaxClaimBytes: log.DefaultMaxClaimBytes, UploadIdleTimeout: log.DefaultUploadIdleTimeout, MaxUploadBytes: log.DefaultMaxUploadBytes,
		IndexEntries: log.DefaultCommitEntries, IndexMaxTail: log.DefaultCommitMaxTail, IndexAge: log.DefaultCommitAge, BatchLinger: log.DefaultBatchLinger, MemoryLimit: serveMemoryLimit}}
	if c != want {
		t.Errorf("parseServeFlags = %+v, want %+v", c, want)
	}
	// GOMEMLIMIT sets the runtime's limit, which serve then keeps.
	t.Setenv("GOMEMLIMIT", "1GiB")
	if c, err := parseServeFlags(nil, io.Discard); err != nil || c.MemoryLimit != 0 {
		t.Errorf("with GOMEMLIMIT set, --memory-limit defaults to %d (%v), want 0", c.MemoryLimit, err)
	}
	if _, err := parseServeFlags([]string{"--memory-limit", "-1"}, io.Discard); err == nil || !strings.Contains(err.Error(), "--memory-limit -1") {
		t.Errorf("parseServeFlags(--memory-limit -1) = %v, want an error naming the flag", err)
	}
}

func TestKeygen(t *testing.T) {
	dir := t.TempDir()
	prefix := filepath.Join(dir, "mykey")
	var stdout bytes.Buffer
	if err := run(t.Context(), []string{"keygen", "-o", prefix, "example.test/log"}, &stdout, io.Discard); err != nil {
		t.Fatal(err)
	}
	skey, vkey := readFile(t, prefix+".key"), readFile(t, prefix+".vkey")
	if got := strings.TrimSpace(stdout.String()); got != vkey {
		t.Errorf("keygen printed %q, want the vkey %q", got, vkey)
	}
	checkMode(t, prefix+".key", 0o600)
	checkMode(t, prefix+".vkey", 0o644)
	checkKeyPair(t, skey, vkey, "example.test/log")

	err := run(t.Context(), []string{"keygen", "-o", prefix, "example.test/log"}, io.Discard, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "already exists") {
		t.Errorf("second keygen = %v, want an already-exists error", err)
	}
	if got := readFile(t, prefix+".key"); got != skey {
		t.Errorf("second keygen changed %s", prefix+".key")
	}
	if ents, _ := os.ReadDir(dir); len(ents) != 2 {
		t.Errorf("keygen left %d files in its directory, want 2", len(ents))
	}
}

func TestKeygenDefaultPrefix(t *testing.T) {
	t.Chdir(t.TempDir())
	if err := run(t.Context(), []string{"keygen", "example.test/a/b"}, io.Discard, io.Discard); err != nil {
		t.Fatal(err)
	}
	checkKeyPair(t, readFile(t, "example.test_a_b.key"), readFile(t, "example.test_a_b.vkey"), "example.test/a/b")
}

func TestServe(t *testing.T) {
	data := filepath.Join(t.TempDir(), "data") // serve creates it
	args := []string{"serve", "--data", data, "--http", "127.0.0.1:0", "--grpc", "127.0.0.1:0", "--origin", "example.test/serve"}

	s := startServe(t, args)
	vkey := readFile(t, filepath.Join(data, datadir.LogVKey))
	if s.vkey != vkey {
		t.Errorf("serve printed vkey %q, %s holds %q", s.vkey, datadir.LogVKey, vkey)
	}
	checkMode(t, filepath.Join(data, datadir.LogKey), 0o600)
	checkMode(t, filepath.Join(data, datadir.LogVKey), 0o644)
	checkMode(t, data, 0o700|os.ModeDir)
	checkKeyPair(t, readFile(t, filepath.Join(data, datadir.LogKey)), vkey, "example.test/serve")
	v, err := note.NewVerifier(vkey)
	if err != nil {
		t.Fatal(err)
	}

	cpNote := httpGet(t, "http://"+s.httpAddr+"/checkpoint", http.StatusOK, "text/plain; charset=utf-8")
	cp, err := client.OpenCheckpoint(cpNote, v)
	if err != nil {
		t.Fatalf("OpenCheckpoint: %v\n%s", err, cpNote)
	}
	if cp.Origin != "example.test/serve" || cp.Size != 0 {
		t.Errorf("checkpoint = %+v, want origin example.test/serve and size 0", cp)
	}
	httpGet(t, "http://"+s.httpAddr+"/tile/0/000", http.StatusNotFound, "")
	metrics := httpGet(t, "http://"+s.httpAddr+"/metrics", http.StatusOK, "")
	for _, m := range []string{"attestlog_log_tree_size 0", "attestlog_log_queue_depth", "attestlog_log_index_tail_entries 0", "go_goroutines", "process_"} {
		if !bytes.Contains(metrics, []byte(m)) {
			t.Errorf("/metrics lacks %q", m)
		}
	}
	checkGRPC(t, s.grpcAddr)
	s.stop(t)

	// A restart reuses the key and the log.
	s = startServe(t, args)
	if s.vkey != vkey {
		t.Errorf("restarted serve printed vkey %q, want %q", s.vkey, vkey)
	}
	if got := httpGet(t, "http://"+s.httpAddr+"/checkpoint", http.StatusOK, ""); !bytes.Equal(got, cpNote) {
		t.Errorf("restarted serve has checkpoint\n%s\nwant\n%s", got, cpNote)
	}
	s.stop(t)

	// After entries were added, serve serves them, all consistent with the
	// checkpoint, and reports NOT_SERVING when it shuts down. (The index
	// committer, which would commit the 300 entries at once, is idle.)
	want := appendEntries(t, data, "example.test/serve", 300)
	s = startServe(t, append(args, "--index-entries", "1000000", "--index-age", "1h"))
	if got := httpGet(t, "http://"+s.httpAddr+"/checkpoint", http.StatusOK, ""); !bytes.Equal(got, want) {
		t.Errorf("serve has checkpoint\n%s\nwant\n%s", got, want)
	}
	r, err := client.CheckLog(t.Context(), client.HTTPFetcher{Base: "http://" + s.httpAddr}, v)
	if err != nil {
		t.Errorf("CheckLog: %v", err)
	} else if r.Checkpoint.Size != 300 || r.Bundles != 2 {
		t.Errorf("CheckLog = %+v, want size 300 in 2 bundles", r)
	}
	if m := httpGet(t, "http://"+s.httpAddr+"/metrics", http.StatusOK, ""); !bytes.Contains(m, []byte("attestlog_log_tree_size 300\n")) {
		t.Errorf("/metrics lacks attestlog_log_tree_size 300")
	}
	watchShutdown(t, s)

	// Refusals, all before listening.
	for _, tt := range []struct {
		name    string
		args    []string
		setup   func(t *testing.T)
		wantErr string
	}{
		{"other origin", replaceArg(args, "--origin", "example.test/other"), nil,
			`is a key named "example.test/serve", but the origin is "example.test/other"`},
		{"key readable by others", args, func(t *testing.T) { chmod(t, filepath.Join(data, datadir.LogKey), 0o644) },
			"readable by group or others"},
		{"key readable by group", args, func(t *testing.T) { chmod(t, filepath.Join(data, datadir.LogKey), 0o640) },
			"readable by group or others"},
		{"key missing for an existing log", args, func(t *testing.T) { rename(t, filepath.Join(data, datadir.LogKey), filepath.Join(data, "moved")) },
			"refusing to sign it with a new key"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if tt.setup != nil {
				tt.setup(t)
			}
			err := run(t.Context(), tt.args, io.Discard, io.Discard)
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("serve = %v, want error containing %q", err, tt.wantErr)
			}
		})
	}
}

func TestServeMismatchedVkeyFile(t *testing.T) {
	data := t.TempDir()
	_, other := keyPair(t, "example.test/serve")
	if err := os.WriteFile(filepath.Join(data, datadir.LogVKey), []byte(other+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	args := []string{"serve", "--data", data, "--http", "127.0.0.1:0", "--grpc", "127.0.0.1:0", "--origin", "example.test/serve"}
	err := run(t.Context(), args, io.Discard, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "does not hold the verifier key") {
		t.Errorf("serve = %v, want a vkey mismatch error", err)
	}
}

func TestServeListenError(t *testing.T) {
	args := []string{"serve", "--data", t.TempDir(), "--http", "127.0.0.1:0", "--grpc", "127.0.0.1:-1"}
	if err := run(t.Context(), args, io.Discard, io.Discard); err == nil || !strings.HasPrefix(err.Error(), "grpc: ") {
		t.Errorf("serve = %v, want a grpc listen error", err)
	}
}

// A server is a serve subcommand running in the background.
type server struct {
	vkey, httpAddr, grpcAddr string
	pprofAddr                string // with --pprof
	cancel                   context.CancelFunc
	finished                 chan struct{} // closed when run has returned
	err                      error         // run's result, set before finished is closed
}

// startServe runs args in the background and waits until it has printed
// its verifier key and listen addresses.
func startServe(t *testing.T, args []string) *server {
	t.Helper()
	ctx, cancel := context.WithCancel(t.Context())
	pr, pw := io.Pipe()
	s := &server{cancel: cancel, finished: make(chan struct{})}
	go func() {
		s.err = run(ctx, args, pw, testWriter{t})
		pw.Close()
		close(s.finished)
	}()
	t.Cleanup(func() { // serve logs to t, so it must end with the test
		cancel()
		<-s.finished
	})

	lines := make(chan string)
	go func() {
		defer close(lines)
		sc := bufio.NewScanner(pr)
		for sc.Scan() {
			lines <- sc.Text()
		}
	}()
	deadline := time.After(testTimeout)
	for s.vkey == "" || s.httpAddr == "" || s.grpcAddr == "" {
		select {
		case line, ok := <-lines:
			if !ok {
				<-s.finished
				t.Fatalf("serve exited before printing its addresses: %v", s.err)
			}
			if v, ok := strings.CutPrefix(line, "log vkey: "); ok {
				s.vkey = v
			} else if v, ok := strings.CutPrefix(line, "http listening on "); ok {
				s.httpAddr = v
			} else if v, ok := strings.CutPrefix(line, "grpc listening on "); ok {
				s.grpcAddr = v
			} else if v, ok := strings.CutPrefix(line, "pprof listening on "); ok {
				s.pprofAddr = v
			} else {
				t.Errorf("serve printed unexpected line %q", line)
			}
		case <-deadline:
			t.Fatalf("serve printed no addresses within %v", testTimeout)
		}
	}
	go func() { // serve prints nothing more, but must never block on stdout
		for range lines {
		}
	}()
	return s
}

// stop cancels serve's context and checks that it returns nil promptly.
func (s *server) stop(t *testing.T) {
	t.Helper()
	s.cancel()
	select {
	case <-s.finished:
		if s.err != nil {
			t.Fatalf("serve returned %v after cancel, want nil", s.err)
		}
	case <-time.After(testTimeout):
		t.Fatalf("serve did not return within %v of cancel", testTimeout)
	}
}

// appendEntries adds n entries to the stopped log in data, as a future
// submission API would, and returns the resulting checkpoint note.
func appendEntries(t *testing.T, data, origin string, n int) []byte {
	t.Helper()
	signer, err := note.NewSigner(readFile(t, filepath.Join(data, datadir.LogKey)))
	if err != nil {
		t.Fatal(err)
	}
	store, err := log.OpenBolt(filepath.Join(data, datadir.LogDB))
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	l, err := log.New(log.Config{Origin: origin, Signer: signer, Store: store})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- l.Run(ctx) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("log.Run: %v", err)
		}
	}()
	waits := make([]func(context.Context) (int64, error), n)
	for i := range waits {
		waits[i] = l.Add(fmt.Appendf(nil, "entry %d", i))
	}
	for i, w := range waits {
		if _, err := w(ctx); err != nil {
			t.Fatalf("adding entry %d: %v", i, err)
		}
	}
	return l.Checkpoint().Note
}

// watchShutdown watches serve's gRPC health, stops serve, and checks that
// the status goes from SERVING to NOT_SERVING.
func watchShutdown(t *testing.T, s *server) {
	t.Helper()
	conn, err := grpc.NewClient(s.grpcAddr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	ctx, cancel := context.WithTimeout(t.Context(), testTimeout)
	defer cancel()
	watch, err := healthpb.NewHealthClient(conn).Watch(ctx, &healthpb.HealthCheckRequest{})
	if err != nil {
		t.Fatal(err)
	}
	for i, want := range []healthpb.HealthCheckResponse_ServingStatus{healthpb.HealthCheckResponse_SERVING, healthpb.HealthCheckResponse_NOT_SERVING} {
		if i == 1 {
			s.cancel()
		}
		resp, err := watch.Recv()
		if err != nil {
			t.Fatalf("health Watch: %v", err)
		}
		if resp.GetStatus() != want {
			t.Errorf("health Watch status %d = %v, want %v", i, resp.GetStatus(), want)
		}
	}
	cancel() // a graceful stop waits for open streams
	s.stop(t)
}

func checkGRPC(t *testing.T, addr string) {
	t.Helper()
	conn, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	ctx, cancel := context.WithTimeout(t.Context(), testTimeout)
	defer cancel()
	resp, err := healthpb.NewHealthClient(conn).Check(ctx, &healthpb.HealthCheckRequest{})
	if err != nil {
		t.Fatalf("health Check: %v", err)
	}
	if resp.GetStatus() != healthpb.HealthCheckResponse_SERVING {
		t.Errorf("health status = %v, want SERVING", resp.GetStatus())
	}

	stream, err := reflectionpb.NewServerReflectionClient(conn).ServerReflectionInfo(ctx)
	if err != nil {
		t.Fatal(err)
	}
	req := &reflectionpb.ServerReflectionRequest{MessageRequest: &reflectionpb.ServerReflectionRequest_ListServices{}}
	if err := stream.Send(req); err != nil {
		t.Fatal(err)
	}
	r, err := stream.Recv()
	if err != nil {
		t.Fatalf("reflection: %v", err)
	}
	stream.CloseSend()
	var names []string
	for _, s := range r.GetListServicesResponse().GetService() {
		names = append(names, s.GetName())
	}
	if !slices.Contains(names, "grpc.health.v1.Health") {
		t.Errorf("reflection lists services %q, want grpc.health.v1.Health among them", names)
	}
}

func httpGet(t *testing.T, url string, wantCode int, wantType string) []byte {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), testTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != wantCode {
		t.Errorf("GET %s: %s, want %d\n%s", url, resp.Status, wantCode, body)
	}
	if got := resp.Header.Get("Content-Type"); wantType != "" && got != wantType {
		t.Errorf("GET %s: Content-Type %q, want %q", url, got, wantType)
	}
	return body
}

// checkKeyPair checks that skey and vkey are a signed-note key pair named name.
func checkKeyPair(t *testing.T, skey, vkey, name string) {
	t.Helper()
	signer, err := note.NewSigner(skey)
	if err != nil {
		t.Fatal(err)
	}
	verifier, err := note.NewVerifier(vkey)
	if err != nil {
		t.Fatal(err)
	}
	if signer.Name() != name || verifier.Name() != name {
		t.Errorf("key names %q and %q, want %q", signer.Name(), verifier.Name(), name)
	}
	msg, err := note.Sign(&note.Note{Text: "hello\n"}, signer)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := note.Open(msg, note.VerifierList(verifier)); err != nil {
		t.Errorf("the vkey does not verify a note signed with the key: %v", err)
	}
}

func TestVerifierKey(t *testing.T) {
	skey, vkey := keyPair(t, "example.test/vk")
	if got, err := datadir.VerifierKey(skey); err != nil || got != vkey {
		t.Errorf("datadir.VerifierKey(%q) = %q, %v, want %q", skey, got, err, vkey)
	}
}

func keyPair(t *testing.T, name string) (skey, vkey string) {
	t.Helper()
	skey, vkey, err := note.GenerateKey(nil, name)
	if err != nil {
		t.Fatal(err)
	}
	return skey, vkey
}

func checkMode(t *testing.T, path string, want os.FileMode) {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if got := fi.Mode() & (os.ModePerm | os.ModeDir); got != want {
		t.Errorf("%s has mode %v, want %v", path, got, want)
	}
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(string(b))
}

func chmod(t *testing.T, path string, mode os.FileMode) {
	t.Helper()
	if err := os.Chmod(path, mode); err != nil {
		t.Fatal(err)
	}
}

func rename(t *testing.T, from, to string) {
	t.Helper()
	if err := os.Rename(from, to); err != nil {
		t.Fatal(err)
	}
}

// replaceArg returns a copy of args with the value after flag set to v.
func replaceArg(args []string, flag, v string) []string {
	out := slices.Clone(args)
	i := slices.Index(out, flag)
	out[i+1] = v
	return out
}

// A testWriter sends serve's logs to t.Log. slog writes one record per call.
type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimSuffix(string(p), "\n"))
	return len(p), nil
}
