package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/attestlog/attestlog/cmd/attestlog/internal/daemon"
	"github.com/attestlog/attestlog/cmd/attestlog/internal/datadir"
	"github.com/attestlog/attestlog/cmd/attestlog/internal/usage"
	fnote "github.com/transparency-dev/formats/note"
	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"
)

func TestWitness(t *testing.T) {
	dir := t.TempDir()
	data := filepath.Join(dir, "data") // witness creates it
	lg := newWitnessTestLog(t, "example.test/wlog")
	logsFile := filepath.Join(dir, "logs")
	writeTestFile(t, logsFile, "# trusted logs\nlog "+lg.vkey+" 1000\n")
	args := []string{"witness", "--data", data, "--http", "127.0.0.1:0", "--name", "example.test/witness", "--logs", logsFile}

	s := startWitness(t, args)
	checkMode(t, data, 0o700|os.ModeDir)
	checkMode(t, filepath.Join(data, datadir.WitnessKey), 0o600)
	checkMode(t, filepath.Join(data, datadir.WitnessVKey), 0o644)
	if got := readFile(t, filepath.Join(data, datadir.WitnessVKey)); got != s.vkey {
		t.Errorf("witness printed vkey %q, %s holds %q", s.vkey, datadir.WitnessVKey, got)
	}
	// The printed key is a cosignature/v1 key (type 0x04) derived from the key file.
	parts := strings.SplitN(s.vkey, "+", 3)
	if raw, err := base64.StdEncoding.DecodeString(parts[len(parts)-1]); err != nil || len(raw) != 33 || raw[0] != 0x04 || parts[0] != "example.test/witness" {
		t.Errorf("witness vkey %q is not an Ed25519 cosignature key named example.test/witness", s.vkey)
	}
	vkey01, err := datadir.VerifierKey(readFile(t, filepath.Join(data, datadir.WitnessKey)))
	if err != nil {
		t.Fatal(err)
	}
	if want, err := fnote.VKeyToCosignatureV1(vkey01); err != nil || s.vkey != want {
		t.Errorf("witness vkey %q, want %q (%v)", s.vkey, want, err)
	}
	v, err := fnote.NewVerifierForCosignatureV1(s.vkey)
	if err != nil {
		t.Fatalf("NewVerifierForCosignatureV1(%q): %v", s.vkey, err)
	}

	cp3 := lg.checkpoint(t, 3)
	resp := s.addCheckpoint(t, 0, nil, cp3, http.StatusOK)
	checkWitnessCosignature(t, cp3, resp, v)
	metrics := httpGet(t, "http://"+s.addr+"/metrics", http.StatusOK, "")
	for _, m := range []string{`attestlog_witness_cosignatures_total{origin="example.test/wlog"} 1`, "attestlog_witness_add_checkpoint_seconds", "go_goroutines", "process_"} {
		if !bytes.Contains(metrics, []byte(m)) {
			t.Errorf("/metrics lacks %q", m)
		}
	}
	httpGet(t, "http://"+s.addr+"/healthz", http.StatusOK, "text/plain; charset=utf-8")
	s.stop(t)

	// A restart keeps the key and the state.
	s = startWitness(t, args)
	if s.vkey != parts[0]+"+"+parts[1]+"+"+parts[2] {
		t.Errorf("restarted witness printed vkey %q, want the same key", s.vkey)
	}
	if got := s.addCheckpoint(t, 0, nil, lg.checkpoint(t, 5), http.StatusConflict); string(got) != "3\n" {
		t.Errorf("409 body %q, want \"3\\n\"", got)
	}
	cp5 := lg.checkpoint(t, 5)
	checkWitnessCosignature(t, cp5, s.addCheckpoint(t, 3, lg.proof(t, 3, 5), cp5, http.StatusOK), v)
	h := sha256.Sum256([]byte("example.test/wlog"))
	mon := httpGet(t, fmt.Sprintf("http://%s/%x/checkpoint", s.addr, h), http.StatusOK, "text/plain; charset=utf-8")
	if n, err := note.Open(mon, note.VerifierList(v, lg.verifier)); err != nil || len(n.Sigs) != 2 {
		t.Errorf("monitoring checkpoint does not verify with the log's and the witness's keys: %v\n%s", err, mon)
	}
	s.stop(t)

	// Refusals, all before listening.
	keyPath := filepath.Join(data, datadir.WitnessKey)
	for _, tt := range []struct {
		name    string
		args    []string
		setup   func(t *testing.T)
		wantErr string
	}{
		{"other name", replaceArg(args, "--name", "example.test/other"), nil,
			`is a key named "example.test/witness", but --name is "example.test/other"`},
		{"key readable by others", args, func(t *testing.T) { chmod(t, keyPath, 0o644) }, "readable by group or others"},
		{"key readable by group", args, func(t *testing.T) { chmod(t, keyPath, 0o640) }, "readable by group or others"},
		{"key missing for an existing state", args, func(t *testing.T) { rename(t, keyPath, filepath.Join(data, "moved")) },
			"refusing to continue with a new key"},
		{"vkey file of another key", args, func(t *testing.T) {
			rename(t, filepath.Join(data, "moved"), keyPath)
			chmod(t, keyPath, 0o600)
			writeTestFile(t, filepath.Join(data, datadir.WitnessVKey), lg.vkey+"\n")
		}, "does not hold the witness's cosignature verifier key"},
		{"missing logs file", replaceArg(args, "--logs", filepath.Join(dir, "nope")), nil, "reading logs file"},
		{"bad logs file", args, func(t *testing.T) { writeTestFile(t, logsFile, "# ok\nlog nope\n") }, "line 2: malformed verifier key"},
		{"empty logs file", args, func(t *testing.T) { writeTestFile(t, logsFile, "# none\n") }, "lists no logs"},
		{"listen error", replaceArg(args, "--http", "127.0.0.1:-1"), func(t *testing.T) {
			writeTestFile(t, logsFile, "log "+lg.vkey+"\n")
			writeTestFile(t, filepath.Join(data, datadir.WitnessVKey), s.vkey+"\n")
		}, "http: "},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if tt.setup != nil {
				tt.setup(t)
			}
			err := run(t.Context(), tt.args, io.Discard, io.Discard)
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("witness = %v, want error containing %q", err, tt.wantErr)
			}
		})
	}
}

func TestWitnessFlags(t *testing.T) {
	for _, name := range []string{"ATTESTLOG_WITNESS_DATA", "ATTESTLOG_WITNESS_HTTP", "ATTESTLOG_WITNESS_NAME", "ATTESTLOG_WITNESS_LOGS", "ATTESTLOG_WITNESS_LOG_LEVEL"} {
		t.Setenv(name, "")
	}
	c, err := parseWitnessFlags([]string{"--logs", "l"}, io.Discard)
	want := witnessConfig{WitnessConfig: daemon.WitnessConfig{Data: "./attestlog-witness", HTTPAddr: "127.0.0.1:7390", Name: "localhost/witness", Logs: "l"}}
	if err != nil || c != want {
		t.Errorf("parseWitnessFlags defaults = %+v, %v; want %+v", c, err, want)
	}
	if _, err := parseWitnessFlags(nil, io.Discard); err == nil || !errors.As(err, new(usage.Error)) || !strings.Contains(err.Error(), "no --logs file") {
		t.Errorf("parseWitnessFlags without --logs = %v, want a usage error", err)
	}
	for _, args := range [][]string{{"--logs", "l", "extra"}, {"--logs", "l", "--log-level", "loud"}, {"--nope"}} {
		if _, err := parseWitnessFlags(args, io.Discard); !errors.As(err, new(usage.Error)) {
			t.Errorf("parseWitnessFlags(%q) = %v, want a usage error", args, err)
		}
	}
	if err := run(t.Context(), []string{"witness", "-h"}, io.Discard, io.Discard); err != nil {
		t.Errorf("witness -h = %v", err)
	}

	t.Setenv("ATTESTLOG_WITNESS_DATA", "/env/data")
	t.Setenv("ATTESTLOG_WITNESS_HTTP", ":1")
	t.Setenv("ATTESTLOG_WITNESS_NAME", "env.example/w")
	t.Setenv("ATTESTLOG_WITNESS_LOGS", "/env/logs")
	t.Setenv("ATTESTLOG_WITNESS_LOG_LEVEL", "debug")
	c, err = parseWitnessFlags([]string{"--http", ":3"}, io.Discard)
	want = witnessConfig{WitnessConfig: daemon.WitnessConfig{Data: "/env/data", HTTPAddr: ":3", Name: "env.example/w", Logs: "/env/logs"}, level: slog.LevelDebug}
	if err != nil || c != want {
		t.Errorf("parseWitnessFlags from env = %+v, %v; want %+v", c, err, want)
	}
}

// A witnessServer is a witness subcommand running in the background.
type witnessServer struct {
	vkey, addr string
	cancel     context.CancelFunc
	finished   chan struct{} // closed when run has returned
	err        error         // run's result, set before finished is closed
}

// startWitness runs args in the background and waits until it has printed
// its verifier key and listen address.
func startWitness(t *testing.T, args []string) *witnessServer {
	t.Helper()
	ctx, cancel := context.WithCancel(t.Context())
	pr, pw := io.Pipe()
	s := &witnessServer{cancel: cancel, finished: make(chan struct{})}
	go func() {
		s.err = run(ctx, args, pw, testWriter{t})
		pw.Close()
		close(s.finished)
	}()
	t.Cleanup(func() {
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
	for s.vkey == "" || s.addr == "" {
		select {
		case line, ok := <-lines:
			if !ok {
				<-s.finished
				t.Fatalf("witness exited before printing its address: %v", s.err)
			}
			if v, ok := strings.CutPrefix(line, "witness vkey: "); ok {
				s.vkey = v
			} else if v, ok := strings.CutPrefix(line, "http listening on "); ok {
				s.addr = v
			} else {
				t.Errorf("witness printed unexpected line %q", line)
			}
		case <-deadline:
			t.Fatalf("witness printed no address within %v", testTimeout)
		}
	}
	go func() {
		for range lines {
		}
	}()
	return s
}

func (s *witnessServer) stop(t *testing.T) {
	t.Helper()
	s.cancel()
	select {
	case <-s.finished:
		if s.err != nil {
			t.Fatalf("witness returned %v after cancel, want nil", s.err)
		}
	case <-time.After(testTimeout):
		t.Fatalf("witness did not return within %v of cancel", testTimeout)
	}
}

// addCheckpoint posts an add-checkpoint request and returns the response body.
func (s *witnessServer) addCheckpoint(t *testing.T, old int64, proof []tlog.Hash, cp []byte, wantCode int) []byte {
	t.Helper()
	body := fmt.Appendf(nil, "old %d\n", old)
	for _, h := range proof {
		body = fmt.Appendf(body, "%s\n", base64.StdEncoding.EncodeToString(h[:]))
	}
	body = append(append(body, '\n'), cp...)
	ctx, cancel := context.WithTimeout(t.Context(), testTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, "http://"+s.addr+"/add-checkpoint", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != wantCode {
		t.Fatalf("add-checkpoint: %s, want %d\n%s", resp.Status, wantCode, b)
	}
	return b
}

// checkWitnessCosignature checks that resp is one cosignature line that
// verifies on cp with formats/note's cosignature verifier.
func checkWitnessCosignature(t *testing.T, cp, resp []byte, v note.Verifier) {
	t.Helper()
	if bytes.Count(resp, []byte("\n")) != 1 || !bytes.HasPrefix(resp, []byte("— example.test/witness ")) {
		t.Fatalf("add-checkpoint response %q, want one cosignature line", resp)
	}
	n, err := note.Open(append(bytes.Clone(cp), resp...), note.VerifierList(v))
	if err != nil {
		t.Fatalf("cosignature does not verify: %v", err)
	}
	if ts, err := fnote.CoSigV1Timestamp(n.Sigs[0]); err != nil || ts.Unix() <= 0 {
		t.Errorf("cosignature timestamp %v, %v", ts, err)
	}
}

// A witnessTestLog is a small in-memory log that signs checkpoints.
type witnessTestLog struct {
	origin   string
	vkey     string
	signer   note.Signer
	verifier note.Verifier
	hashes   []tlog.Hash
	size     int64
}

func newWitnessTestLog(t *testing.T, origin string) *witnessTestLog {
	skey, vkey := keyPair(t, origin)
	signer, err := note.NewSigner(skey)
	if err != nil {
		t.Fatal(err)
	}
	v, err := note.NewVerifier(vkey)
	if err != nil {
		t.Fatal(err)
	}
	return &witnessTestLog{origin: origin, vkey: vkey, signer: signer, verifier: v}
}

func (l *witnessTestLog) ReadHashes(indexes []int64) ([]tlog.Hash, error) {
	out := make([]tlog.Hash, len(indexes))
	for i, x := range indexes {
		out[i] = l.hashes[x]
	}
	return out, nil
}

func (l *witnessTestLog) grow(t *testing.T, n int64) {
	for ; l.size < n; l.size++ {
		hs, err := tlog.StoredHashes(l.size, fmt.Appendf(nil, "entry %d", l.size), l)
		if err != nil {
			t.Fatal(err)
		}
		l.hashes = append(l.hashes, hs...)
	}
}

func (l *witnessTestLog) checkpoint(t *testing.T, size int64) []byte {
	l.grow(t, size)
	h, err := tlog.TreeHash(size, l)
	if err != nil {
		t.Fatal(err)
	}
	msg, err := note.Sign(&note.Note{Text: fmt.Sprintf("%s\n%d\n%s\n", l.origin, size, base64.StdEncoding.EncodeToString(h[:]))}, l.signer)
	if err != nil {
		t.Fatal(err)
	}
	return msg
}

func (l *witnessTestLog) proof(t *testing.T, old, size int64) []tlog.Hash {
	l.grow(t, size)
	p, err := tlog.ProveTree(size, old, l)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func writeTestFile(t *testing.T, path, data string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(data), 0o644); err != nil {
		t.Fatal(err)
	}
}
