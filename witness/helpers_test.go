package witness_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/attestlog/attestlog/witness"
	fnote "github.com/transparency-dev/formats/note"
	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"
)

// A testLog is an in-memory Merkle tree with a signing key: the source of
// real checkpoints and consistency proofs.
type testLog struct {
	origin string
	salt   string // entries are "<origin> entry <i><salt>": a fork has another salt
	skey   string
	vkey   string
	signer note.Signer

	mu     sync.Mutex
	hashes []tlog.Hash // stored hashes, as tlog.StoredHashes lays them out
	size   int64
}

func newTestLog(t testing.TB, origin string) *testLog {
	t.Helper()
	skey, vkey, err := note.GenerateKey(nil, origin)
	if err != nil {
		t.Fatal(err)
	}
	signer, err := note.NewSigner(skey)
	if err != nil {
		t.Fatal(err)
	}
	return &testLog{origin: origin, skey: skey, vkey: vkey, signer: signer}
}

// ReadHashes implements tlog.HashReader.
func (l *testLog) ReadHashes(indexes []int64) ([]tlog.Hash, error) {
	out := make([]tlog.Hash, len(indexes))
	for i, x := range indexes {
		if x >= int64(len(l.hashes)) {
			return nil, fmt.Errorf("hash %d not stored", x)
		}
		out[i] = l.hashes[x]
	}
	return out, nil
}

// grow appends entries until the tree has size n.
func (l *testLog) grow(t testing.TB, n int64) {
	t.Helper()
	l.mu.Lock()
	defer l.mu.Unlock()
	for l.size < n {
		hs, err := tlog.StoredHashes(l.size, fmt.Appendf(nil, "%s entry %d%s", l.origin, l.size, l.salt), l)
		if err != nil {
			t.Fatal(err)
		}
		l.hashes = append(l.hashes, hs...)
		l.size++
	}
}

func (l *testLog) root(t testing.TB, size int64) tlog.Hash {
	t.Helper()
	l.grow(t, size)
	h, err := tlog.TreeHash(size, l)
	if err != nil {
		t.Fatal(err)
	}
	return h
}

// body returns the checkpoint body of the tree at size.
func (l *testLog) body(t testing.TB, size int64) string {
	t.Helper()
	h := l.root(t, size)
	return fmt.Sprintf("%s\n%d\n%s\n", l.origin, size, base64.StdEncoding.EncodeToString(h[:]))
}

// checkpoint returns the checkpoint note of the tree at size, signed by the
// log's key and any extra signers.
func (l *testLog) checkpoint(t testing.TB, size int64, extra ...note.Signer) []byte {
	t.Helper()
	return signNote(t, l.body(t, size), append([]note.Signer{l.signer}, extra...)...)
}

func signNote(t testing.TB, text string, signers ...note.Signer) []byte {
	t.Helper()
	msg, err := note.Sign(&note.Note{Text: text}, signers...)
	if err != nil {
		t.Fatal(err)
	}
	return msg
}

// proof returns the RFC 6962 consistency proof from old to size.
func (l *testLog) proof(t testing.TB, old, size int64) []tlog.Hash {
	t.Helper()
	if old == 0 || old == size {
		return nil
	}
	l.grow(t, size)
	p, err := tlog.ProveTree(size, old, l)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// request returns an add-checkpoint body from old to size with a valid proof.
func (l *testLog) request(t testing.TB, old, size int64) []byte {
	t.Helper()
	return requestBody(old, l.proof(t, old, size), l.checkpoint(t, size))
}

func requestBody(old int64, proof []tlog.Hash, cp []byte) []byte {
	b := fmt.Appendf(nil, "old %d\n", old)
	for _, h := range proof {
		b = fmt.Appendf(b, "%s\n", base64.StdEncoding.EncodeToString(h[:]))
	}
	b = append(b, '\n')
	return append(b, cp...)
}

// A clock is a settable fake clock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *clock { return &clock{t: time.Date(2026, 7, 22, 12, 0, 0, 0, time.UTC)} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = t
}

func (c *clock) add(d time.Duration) { c.set(c.Now().Add(d)) }

// A testWitness is a witness served over real HTTP on loopback.
type testWitness struct {
	*witness.Witness
	cfg   witness.Config
	path  string
	srv   *httptest.Server
	clock *clock
	vkey  string // the witness's 0x01 signed-note verifier key
}

// newTestWitness starts a witness trusting logs, with a fresh key, a state
// file in t.TempDir() and a fake clock; edit may change its config.
func newTestWitness(t testing.TB, logs []*testLog, edit func(*witness.Config)) *testWitness {
	t.Helper()
	skey, vkey, err := note.GenerateKey(nil, "witness.test/w1")
	if err != nil {
		t.Fatal(err)
	}
	tw := &testWitness{path: filepath.Join(t.TempDir(), "witness.db"), clock: newClock(), vkey: vkey}
	tw.cfg = witness.Config{Key: skey, Now: tw.clock.Now}
	for _, l := range logs {
		tw.cfg.Logs = append(tw.cfg.Logs, witness.Log{Origin: l.origin, Keys: []string{l.vkey}})
	}
	if edit != nil {
		edit(&tw.cfg)
	}
	tw.start(t)
	t.Cleanup(func() { tw.stop(t) })
	return tw
}

func (tw *testWitness) start(t testing.TB) {
	t.Helper()
	w, err := witness.Open(tw.path, tw.cfg)
	if err != nil {
		t.Fatal(err)
	}
	tw.Witness = w
	tw.srv = httptest.NewServer(w.Handler())
}

// stop closes the server and the witness; a stopped witness can start again.
func (tw *testWitness) stop(t testing.TB) {
	t.Helper()
	if tw.srv == nil {
		return
	}
	tw.srv.Close()
	if err := tw.Witness.Close(); err != nil {
		t.Errorf("Close: %v", err)
	}
	tw.srv = nil
}

// A response is an HTTP response, read.
type response struct {
	code int
	typ  string
	hdr  http.Header
	body []byte
}

func (tw *testWitness) post(t testing.TB, body []byte) response {
	t.Helper()
	return do(t, tw.srv.Client(), http.MethodPost, tw.srv.URL+"/add-checkpoint", body)
}

func (tw *testWitness) get(t testing.TB, path string) response {
	t.Helper()
	return do(t, tw.srv.Client(), http.MethodGet, tw.srv.URL+path, nil)
}

func do(t testing.TB, c *http.Client, method, url string, body []byte) response {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, method, url, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return response{code: resp.StatusCode, typ: resp.Header.Get("Content-Type"), hdr: resp.Header, body: b}
}

// cosignatureVerifier returns a formats/note verifier for the witness's
// cosignatures, built from its ordinary verifier key as a client would.
func (tw *testWitness) cosignatureVerifier(t testing.TB) note.Verifier {
	t.Helper()
	cvkey, err := fnote.VKeyToCosignatureV1(tw.vkey)
	if err != nil {
		t.Fatal(err)
	}
	if got := tw.VerifierKey(); got != cvkey {
		t.Errorf("VerifierKey() = %q, want %q", got, cvkey)
	}
	v, err := fnote.NewVerifierForCosignatureV1(cvkey)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// checkCosigned checks that resp is a 200 whose body is exactly one
// cosignature line by the witness over cp, verified with formats/note and
// x/mod note.Open on cp with the body appended, and returns its timestamp.
func (tw *testWitness) checkCosigned(t testing.TB, resp response, cp []byte) time.Time {
	t.Helper()
	if resp.code != http.StatusOK || resp.typ != "text/plain; charset=utf-8" {
		t.Fatalf("response %d %q, want 200 text/plain; charset=utf-8\n%s", resp.code, resp.typ, resp.body)
	}
	if !bytes.HasPrefix(resp.body, []byte("— witness.test/w1 ")) || bytes.Count(resp.body, []byte("\n")) != 1 || !bytes.HasSuffix(resp.body, []byte("\n")) {
		t.Fatalf("response body %q, want one cosignature line", resp.body)
	}
	n, err := note.Open(append(bytes.Clone(cp), resp.body...), note.VerifierList(tw.cosignatureVerifier(t)))
	if err != nil {
		t.Fatalf("opening checkpoint with the cosignature: %v\n%s%s", err, cp, resp.body)
	}
	if len(n.Sigs) != 1 {
		t.Fatalf("%d verified cosignatures, want 1", len(n.Sigs))
	}
	ts, err := fnote.CoSigV1Timestamp(n.Sigs[0])
	if err != nil {
		t.Fatal(err)
	}
	if ts.Unix() <= 0 {
		t.Errorf("cosignature timestamp %d, want positive", ts.Unix())
	}
	return ts
}

func (tw *testWitness) originPath(origin string) string {
	h := sha256.Sum256([]byte(origin))
	return fmt.Sprintf("/%x/checkpoint", h)
}

func checkRefused(t testing.TB, resp response, code int, bodyContains string) {
	t.Helper()
	if resp.code != code {
		t.Errorf("status %d, want %d; body %q", resp.code, code, resp.body)
	}
	if resp.typ != "text/plain; charset=utf-8" {
		t.Errorf("Content-Type %q, want text/plain; charset=utf-8", resp.typ)
	}
	if !strings.Contains(string(resp.body), bodyContains) {
		t.Errorf("body %q, want it to contain %q", resp.body, bodyContains)
	}
}

func checkConflict(t testing.TB, resp response, size int64) {
	t.Helper()
	if resp.code != http.StatusConflict || resp.typ != "text/x.tlog.size" || string(resp.body) != fmt.Sprintf("%d\n", size) {
		t.Errorf("response %d %q %q, want 409 text/x.tlog.size %q", resp.code, resp.typ, resp.body, fmt.Sprintf("%d\n", size))
	}
}
