package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/attestlog/attestlog/client"
	"github.com/attestlog/attestlog/log"
	"github.com/attestlog/attestlog/log/claim"
	"github.com/attestlog/attestlog/log/logtest"
	pb "github.com/attestlog/attestlog/proto/attestlog/v1"
	"github.com/attestlog/attestlog/witness"
	"golang.org/x/mod/sumdb/note"
)

// monitorLog is a test log with the claims the monitor tests follow: three
// builders agree on one binary and carol claims another (a mismatch), and
// an unrelated tool.
func monitorLog(t *testing.T) (*testLog, string) {
	t.Helper()
	tl := newTestLog(t)
	for _, s := range []string{"ci-a", "alice", "bob"} {
		tl.addClaim(t, "met", "hello", sha256Hex(binaryOf("met")), s)
	}
	tl.addClaim(t, "met", "hello", sha256Hex([]byte("evil")), "carol")
	tl.addClaim(t, "tool", "tool", sha256Hex([]byte("tool")), "mallory")
	tl.waitWitnessed(t)
	return tl, tl.policy(t, "")
}

func TestMonitor(t *testing.T) {
	if testing.Short() {
		t.Skip("runs a log with witnesses")
	}
	tl, policy := monitorLog(t)
	state, execDir := t.TempDir(), t.TempDir()
	t.Setenv("EXEC_DIR", execDir)
	execCmd := `cat > "$EXEC_DIR/$ATTESTLOG_INDEX.entry" && echo "$ATTESTLOG_INDEX $ATTESTLOG_ARTIFACT $ATTESTLOG_SHA256 $ATTESTLOG_PLATFORM" >> "$EXEC_DIR/calls"`
	args := []string{"monitor", "--once", "--log", tl.grpcAddr, "--policy", policy, "--state", state, "--exec", execCmd}
	calls := func() []string {
		b, err := os.ReadFile(filepath.Join(execDir, "calls"))
		if err != nil {
			t.Fatal(err)
		}
		return strings.Split(strings.TrimSpace(string(b)), "\n")
	}
	pass := func(wantSummary string) {
		t.Helper()
		code, out := runCode(t, args...)
		if code != 0 || !strings.Contains(out, wantSummary) {
			t.Fatalf("monitor: exit %d, want 0 and %q\n%s", code, wantSummary, out)
		}
	}

	pass("example.test/attestlog: tree size 0 -> 5, 5 new entries, 5 new claims; the log answered consistently (1 tile and 1 entry bundle authenticated, 3 digests looked up); builds disagree: 1 mismatch (\"attestlog mismatches\" lists them)\n")
	got := calls()
	if len(got) != 5 || got[3] != "3 hello "+sha256Hex([]byte("evil"))+" linux/amd64" {
		t.Fatalf("--exec ran for %q", got)
	}
	resp, err := tl.lc.GetEntries(t.Context(), &pb.GetEntriesRequest{Start: 0, Count: 5})
	if err != nil {
		t.Fatal(err)
	}
	for i, e := range resp.GetEntries() {
		if b := readBytes(t, filepath.Join(execDir, fmt.Sprintf("%d.entry", i))); string(b) != string(e) {
			t.Errorf("--exec for claim %d read %q on stdin, want the entry", i, b)
		}
	}

	tl.addClaim(t, "met", "hello", sha256Hex(binaryOf("met")), "carol")
	tl.addClaim(t, "tool", "tool", sha256Hex([]byte("another tool")), "alice") // a second mismatch
	tl.waitWitnessed(t)
	pass("tree size 5 -> 7, 2 new entries, 2 new claims; the log answered consistently (1 tile and 1 entry bundle authenticated, 2 digests looked up); builds disagree: 2 mismatches (\"attestlog mismatches\" lists them)\n")
	if got := calls(); len(got) != 7 || !strings.HasPrefix(got[5], "5 hello ") || !strings.HasPrefix(got[6], "6 tool ") {
		t.Fatalf("--exec ran for %q, want each claim once", got)
	}
	pass("tree size 7 -> 7, 0 new entries, 0 new claims")
	if got := calls(); len(got) != 7 {
		t.Fatalf("--exec ran again: %q", got)
	}

	code, out := runCode(t, "monitor", "--once", "--json", "--log", tl.grpcAddr, "--policy", policy, "--state", t.TempDir())
	var r client.MonitorReport
	if err := json.Unmarshal([]byte(out), &r); err != nil || code != 0 {
		t.Fatalf("monitor --json: exit %d, %v\n%s", code, err, out)
	}
	if r.Size != 7 || len(r.Claims) != 7 || len(r.Findings) != 0 || !r.Saved || r.Mismatches != 2 || r.Claims[6].Subjects[0].Name != "tool" {
		t.Errorf("monitor --json report:\n%s", out)
	}
}

// droppingService is a malicious LogService: the real log's, except that
// LookupByDigest leaves out the claim at one index.
type droppingService struct {
	*log.Service
	drop uint64
}

func (s droppingService) LookupByDigest(ctx context.Context, req *pb.LookupByDigestRequest) (*pb.LookupByDigestResponse, error) {
	resp, err := s.Service.LookupByDigest(ctx, req)
	if err == nil {
		resp.Claims = slices.DeleteFunc(resp.Claims, func(pc *pb.ProvenClaim) bool { return pc.GetIndex() == s.drop })
	}
	return resp, err
}

func TestMonitorFindsHiddenClaim(t *testing.T) {
	if testing.Short() {
		t.Skip("runs a log with witnesses")
	}
	tl, policy := monitorLog(t)
	lying := serveTestGRPC(t, droppingService{Service: tl.svc, drop: 1})
	state := t.TempDir()
	want := "FINDING hidden claim (entry 1, sha256 " + sha256Hex(binaryOf("met")) + "): the lookup by digest against the tree of size 5 left out this claim naming the digest"
	for pass := range 2 { // reported again until the log answers right
		code, out := runCode(t, "monitor", "--once", "--log", lying, "--policy", policy, "--state", state)
		if code != client.ExitVerifyErr || !strings.Contains(out, want) || !strings.Contains(out, "the log MISBEHAVED: 1 FINDING below") {
			t.Fatalf("monitor pass %d against a log hiding claim 1: exit %d, want 8 and %q\n%s", pass, code, want, out)
		}
	}
	if code, out := runCode(t, "monitor", "--once", "--log", tl.grpcAddr, "--policy", policy, "--state", state); code != 0 || !strings.Contains(out, "1 digest looked up); builds disagree: 1 mismatch") {
		t.Fatalf("monitor against the honest log: exit %d\n%s", code, out)
	}
}

// flipProxy serves base's resources, flipping one byte of the resource at path.
func flipProxy(t *testing.T, base, path string, at int) string {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		resp, err := http.Get(strings.TrimSuffix(base, "/") + r.URL.Path)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		if r.URL.Path == "/"+path {
			b[at%len(b)] ^= 0x40
		}
		w.WriteHeader(resp.StatusCode)
		w.Write(b)
	}))
	t.Cleanup(srv.Close)
	return srv.URL + "/"
}

func TestMonitorFindsTampering(t *testing.T) {
	if testing.Short() {
		t.Skip("runs a log with witnesses")
	}
	tl, policy := monitorLog(t)
	for _, tt := range []struct {
		path, want string
	}{
		{"tile/0/000.p/5", "FINDING tile: authenticating level-0 tile 0:"},
		{"tile/entries/000.p/5", "FINDING bundle: entry 0 in tile/entries/000.p/5 does not hash to its leaf in the tree"},
	} {
		t.Run(tt.path, func(t *testing.T) {
			proxy := flipProxy(t, tl.httpURL, tt.path, 2*32+7) // in the third leaf hash, or the first entry
			code, out := runCode(t, "monitor", "--once", "--log", tl.grpcAddr, "--http", proxy, "--policy", policy, "--state", t.TempDir())
			if code != client.ExitVerifyErr || !strings.Contains(out, tt.want) || !strings.Contains(out, "(the state did not advance)") {
				t.Errorf("monitor through a proxy flipping a byte of %s: exit %d, want 8 and %q\n%s", tt.path, code, tt.want, out)
			}
			_, err := client.CheckLog(t.Context(), client.HTTPFetcher{Base: proxy}, tl.l.Verifier)
			if !errors.Is(err, client.ErrCheck) {
				t.Errorf("CheckLog through the proxy = %v, want ErrCheck", err)
			}
		})
	}
	if _, err := client.CheckLog(t.Context(), client.HTTPFetcher{Base: tl.httpURL}, tl.l.Verifier); err != nil {
		t.Errorf("CheckLog of the log itself: %v", err)
	}
}

// checkpointProxy serves base's resources, but msg as the checkpoint: a
// mirror that lags behind, or forges cosignatures' times.
func checkpointProxy(t *testing.T, base string, msg []byte) string {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/checkpoint" {
			w.Write(msg)
			return
		}
		resp, err := http.Get(strings.TrimSuffix(base, "/") + r.URL.Path)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		defer resp.Body.Close()
		w.WriteHeader(resp.StatusCode)
		io.Copy(w, resp.Body)
	}))
	t.Cleanup(srv.Close)
	return srv.URL + "/"
}

// cosignedAt returns the log's checkpoint note msg with its witnesses'
// cosignatures replaced by ones made at the time at: the same witness keys,
// in witnesses whose clock says at.
func cosignedAt(t *testing.T, tl *testLog, msg []byte, at time.Time) []byte {
	t.Helper()
	text, _, _ := strings.Cut(string(msg), "\n\n")
	out, err := note.Sign(&note.Note{Text: text + "\n"}, tl.logSigner)
	if err != nil {
		t.Fatal(err)
	}
	logOnly := bytes.Clone(out)
	for i := range 2 {
		wskey, _ := seeded(t, fmt.Sprintf("w%d.example", i), byte(30+i))
		w, err := witness.Open(filepath.Join(t.TempDir(), "witness.db"), witness.Config{Key: wskey,
			Logs: []witness.Log{{Origin: logtest.Origin, Keys: []string{tl.logVKey}}}, Now: func() time.Time { return at }})
		if err != nil {
			t.Fatal(err)
		}
		srv := httptest.NewServer(w.Handler())
		t.Cleanup(func() { srv.Close(); w.Close() })
		lines, err := (&witness.Client{URL: srv.URL}).AddCheckpoint(t.Context(), 0, nil, logOnly)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, lines...)
	}
	return out
}

func TestMonitorFindsStaleCheckpoint(t *testing.T) {
	if testing.Short() {
		t.Skip("runs a log with witnesses")
	}
	tl := newTestLog(t)
	tl.addClaim(t, "met", "hello", sha256Hex(binaryOf("met")), "ci-a")
	tl.addClaim(t, "met", "hello", sha256Hex(binaryOf("met")), "alice")
	tl.waitWitnessed(t)
	note2 := tl.l.Published().Note
	tl.addClaim(t, "met", "hello", sha256Hex(binaryOf("met")), "bob")
	tl.waitWitnessed(t)
	policy, state := tl.policy(t, ""), t.TempDir()
	monitorArgs := func(http, state string, more ...string) []string {
		return append([]string{"monitor", "--once", "--log", tl.grpcAddr, "--http", http, "--policy", policy, "--state", state}, more...)
	}
	if code, out := runCode(t, monitorArgs(tl.httpURL, state)...); code != 0 || !strings.Contains(out, "tree size 0 -> 3") {
		t.Fatalf("monitor against the log: exit %d\n%s", code, out)
	}

	// A mirror serving the witnessed checkpoint of size 2, a prefix.
	lagging := checkpointProxy(t, tl.httpURL, note2)
	want := "FINDING stale checkpoint: the checkpoint has tree size 2, smaller than the tree size 3 remembered"
	for pass := range 2 { // the state stays: reported again
		code, out := runCode(t, monitorArgs(lagging, state)...)
		if code != client.ExitVerifyErr || !strings.Contains(out, want) || !strings.Contains(out, "the log MISBEHAVED: 1 FINDING below") || !strings.Contains(out, "(the state did not advance)") {
			t.Fatalf("monitor pass %d through a mirror serving size 2: exit %d, want 8 and %q\n%s", pass, code, want, out)
		}
	}
	if code, out := runCode(t, monitorArgs(tl.httpURL, state)...); code != 0 || !strings.Contains(out, "tree size 3 -> 3") {
		t.Fatalf("monitor against the log again: exit %d\n%s", code, out)
	}

	// A mirror serving the checkpoint of size 3 as witnesses cosigned it two days ago.
	old := checkpointProxy(t, tl.httpURL, cosignedAt(t, tl, tl.l.Published().Note, time.Now().Add(-48*time.Hour)))
	want = "FINDING stale checkpoint: the checkpoint of tree size 3 is too old: the newest cosignature is from "
	code, out := runCode(t, monitorArgs(old, t.TempDir())...)
	if code != client.ExitVerifyErr || !strings.Contains(out, want) || !strings.Contains(out, "more than the maximum age 24h0m0s") {
		t.Fatalf("monitor through a mirror serving a checkpoint cosigned 48 h ago: exit %d, want 8 and %q\n%s", code, want, out)
	}
	if code, out := runCode(t, monitorArgs(old, t.TempDir(), "--max-age", "72h")...); code != 0 {
		t.Fatalf("monitor --max-age 72h through that mirror: exit %d, want 0\n%s", code, out)
	}
}

// sourceDroppingService is a malicious LogService: the real log's, except
// that LookupBySource leaves out the claim at one index. LookupByDigest
// still returns it.
type sourceDroppingService struct {
	*log.Service
	drop uint64
}

func (s sourceDroppingService) LookupBySource(ctx context.Context, req *pb.LookupBySourceRequest) (*pb.LookupBySourceResponse, error) {
	resp, err := s.Service.LookupBySource(ctx, req)
	if err == nil {
		resp.Claims = slices.DeleteFunc(resp.Claims, func(pc *pb.ProvenClaim) bool { return pc.GetIndex() == s.drop })
	}
	return resp, err
}

// TestMonitorFindsClaimHiddenBySource: a log hiding carol's dissenting claim
// (entry 3) from LookupBySource, the lookup verify finds conflicts with, is
// caught by the monitor, every pass until it answers right.
func TestMonitorFindsClaimHiddenBySource(t *testing.T) {
	if testing.Short() {
		t.Skip("runs a log with witnesses")
	}
	tl, policy := monitorLog(t)
	lying := serveTestGRPC(t, sourceDroppingService{Service: tl.svc, drop: 3})
	state := t.TempDir()
	want := []string{
		"FINDING hidden claim (entry 3): the lookup by source (git+https://example.org/met@" + commitOf("met") + ", every platform) against the tree of size 5 left out this claim about that source commit",
		"FINDING hidden claim (entry 3): the lookup by source (git+https://example.org/met@" + commitOf("met") + ", platform linux/amd64) against the tree of size 5 left out this claim about that source commit",
		"the log MISBEHAVED: 2 FINDINGS below",
	}
	for pass := range 2 {
		code, out := runCode(t, "monitor", "--once", "--log", lying, "--policy", policy, "--state", state)
		for _, w := range want {
			if code != client.ExitVerifyErr || !strings.Contains(out, w) {
				t.Fatalf("monitor pass %d against a log hiding claim 3 by source: exit %d, want 8 and %q\n%s", pass, code, w, out)
			}
		}
	}
	if code, out := runCode(t, "monitor", "--once", "--log", tl.grpcAddr, "--policy", policy, "--state", state); code != 0 || !strings.Contains(out, "the log answered consistently") {
		t.Fatalf("monitor against the honest log: exit %d\n%s", code, out)
	}
}

// TestVerifyFindsClaimHiddenBySource: verify refuses an answer whose lookup
// by source leaves out a claim its lookup by digest returned, naming it.
func TestVerifyFindsClaimHiddenBySource(t *testing.T) {
	if testing.Short() {
		t.Skip("runs a log with witnesses")
	}
	tl, policy := monitorLog(t)
	lying := serveTestGRPC(t, sourceDroppingService{Service: tl.svc, drop: 3})
	evil := sha256Hex([]byte("evil"))
	code, out := runCode(t, "verify", "--log", lying, "--policy", policy, "--state", "", "--digest", evil)
	want := "problem:     hidden claim, claim 3: the lookup by source (git+https://example.org/met@" + commitOf("met") + ", platform linux/amd64) left out this claim naming " + evil
	if code&client.ExitVerifyErr == 0 || !strings.Contains(out, want) {
		t.Fatalf("verify through a log hiding claim 3 by source: exit %d, want bit 8 and %q\n%s", code, want, out)
	}
	if code, out := runCode(t, "verify", "--log", tl.grpcAddr, "--policy", policy, "--state", "", "--digest", evil); code&client.ExitVerifyErr != 0 {
		t.Fatalf("verify through the honest log: exit %d\n%s", code, out)
	}
}

// twoSubjectClaim appends a claim by signer that the build "pair" made the
// artifacts a and b with the given contents, and returns its index.
func (tl *testLog) addTwoSubjectClaim(t *testing.T, a, b, signer string) int64 {
	t.Helper()
	c := &claim.Claim{
		Subjects: []claim.Subject{{Name: "a", SHA256: sha256Hex([]byte(a))}, {Name: "b", SHA256: sha256Hex([]byte(b))}},
		Source:   "git+https://example.org/pair", Commit: commitOf("pair"), Recipe: sha256Hex([]byte("recipe")),
		Platform: "linux/amd64", BuilderID: "https://builders.example/" + signer,
	}
	st, err := claim.NewStatement(c)
	if err != nil {
		t.Fatal(err)
	}
	e, err := claim.SignStatement(st, tl.builders[signer])
	if err != nil {
		t.Fatal(err)
	}
	resp, err := tl.lc.AddClaim(t.Context(), &pb.AddClaimRequest{Envelope: e.Envelope()})
	if err != nil {
		t.Fatalf("AddClaim: %v", err)
	}
	return int64(resp.GetClaim().GetIndex())
}

// TestTwoMismatchesOfOneClaim: a claim that disagrees on both artifacts of
// a build creates two mismatches; the CLI lists both, evidence pull takes
// each ID, and an honest log passes the monitor with no findings, pass
// after pass.
func TestTwoMismatchesOfOneClaim(t *testing.T) {
	if testing.Short() {
		t.Skip("runs a log with witnesses")
	}
	tl := newTestLog(t)
	tl.addTwoSubjectClaim(t, "a1", "b1", "alice")
	creator := tl.addTwoSubjectClaim(t, "a2", "b2", "bob")
	tl.waitWitnessed(t)
	policy := tl.policy(t, "")

	var ms []mismatchJSON
	if err := json.Unmarshal([]byte(runOK(t, "mismatches", "--log", tl.grpcAddr, "--json")), &ms); err != nil {
		t.Fatal(err)
	}
	if len(ms) != 2 || ms[0].Artifact != "a" || ms[1].Artifact != "b" || ms[0].Claim != creator || ms[1].Claim != creator ||
		ms[0].Subject != 0 || ms[1].Subject != 1 || ms[0].ID == ms[1].ID {
		t.Fatalf("mismatches = %+v, want one for each artifact, both created by claim %d", ms, creator)
	}
	for _, m := range ms {
		out := runOK(t, "evidence", "pull", "--log", tl.grpcAddr, "--log-vkey", tl.logVKey, m.ID, "-o", filepath.Join(t.TempDir(), "evidence"))
		if !strings.Contains(out, "mismatch "+m.ID+": git+https://example.org/pair@"+commitOf("pair")+" linux/amd64 "+m.Artifact) {
			t.Errorf("evidence pull %s printed:\n%s", m.ID, out)
		}
	}
	err := run(t.Context(), []string{"evidence", "pull", "--log", tl.grpcAddr, "--log-vkey", tl.logVKey, fmt.Sprint(creator), "-o", t.TempDir()}, io.Discard, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "created 2 mismatches") {
		t.Errorf("evidence pull by the creating claim's index = %v, want it to ask for one of the two", err)
	}

	state := t.TempDir()
	for pass := range 2 {
		code, out := runCode(t, "monitor", "--once", "--log", tl.grpcAddr, "--policy", policy, "--state", state)
		if code != 0 || !strings.Contains(out, "the log answered consistently") || !strings.Contains(out, "builds disagree: 2 mismatches") {
			t.Fatalf("monitor pass %d against the honest log: exit %d, want 0 and 2 mismatches\n%s", pass, code, out)
		}
	}
}
