package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/attestlog/attestlog/client"
	"github.com/attestlog/attestlog/cmd/attestlog/internal/usage"
	"github.com/attestlog/attestlog/log"
	"github.com/attestlog/attestlog/log/archive"
	"github.com/attestlog/attestlog/log/claim"
	"github.com/attestlog/attestlog/log/logtest"
	pb "github.com/attestlog/attestlog/proto/attestlog/v1"
	"github.com/attestlog/attestlog/tiles"
	"github.com/attestlog/attestlog/witness"
	fnote "github.com/transparency-dev/formats/note"
	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
)

// A testLog is a real log in this process, as serve runs it: bbolt, the
// sequencer with the claim index, the gRPC service and the tile HTTP API on
// loopback, and three real witnesses (package witness) on their own
// loopback HTTP ports. It publishes only checkpoints that 2 of the 3
// witnesses cosigned, collecting cosignatures every 5 ms.
type testLog struct {
	l         *logtest.Log
	svc       *log.Service
	grpcAddr  string
	httpURL   string
	lc        pb.LogServiceClient
	logVKey   string
	logSigner note.Signer
	witnesses []testLogWitness
	builders  map[string]claim.Key
	dir       string // for policies, bundles, state
}

type testLogWitness struct {
	name   string
	vkey   string      // cosignature vkey
	signer note.Signer // cosignature/v1 signer, to forge what a compromised witness would
	url    string
}

// seeded returns a fixed key pair.
func seeded(t *testing.T, name string, seed byte) (skey, vkey string) {
	t.Helper()
	skey, vkey, err := note.GenerateKey(bytes.NewReader(bytes.Repeat([]byte{seed}, 32)), name)
	if err != nil {
		t.Fatal(err)
	}
	return skey, vkey
}

func newTestLog(t *testing.T) *testLog {
	t.Helper()
	clearClientEnv(t)
	for _, name := range []string{"ATTESTLOG_POLICY_FILE", "ATTESTLOG_STATE", "ATTESTLOG_LOG_HTTP"} {
		t.Setenv(name, "")
	}
	t.Setenv("XDG_STATE_HOME", t.TempDir()) // never the user's state
	tl := &testLog{dir: t.TempDir(), builders: map[string]claim.Key{}}
	skey, vkey := logtest.Keys(logtest.Origin)
	tl.logVKey = vkey
	var err error
	if tl.logSigner, err = note.NewSigner(skey); err != nil {
		t.Fatal(err)
	}
	policyText := "log " + vkey + "\n"
	for i := range 3 {
		name := fmt.Sprintf("w%d.example", i)
		wskey, wvkey := seeded(t, name, byte(30+i))
		cv, err := fnote.VKeyToCosignatureV1(wvkey)
		if err != nil {
			t.Fatal(err)
		}
		cs, err := fnote.NewSignerForCosignatureV1(wskey)
		if err != nil {
			t.Fatal(err)
		}
		w, err := witness.Open(filepath.Join(t.TempDir(), "witness.db"), witness.Config{Key: wskey, Logs: []witness.Log{{Origin: logtest.Origin, Keys: []string{vkey}}}})
		if err != nil {
			t.Fatal(err)
		}
		srv := httptest.NewServer(w.Handler())
		t.Cleanup(func() { srv.Close(); w.Close() })
		tl.witnesses = append(tl.witnesses, testLogWitness{name: fmt.Sprintf("w%d", i), vkey: cv, signer: cs, url: srv.URL})
		policyText += fmt.Sprintf("witness w%d %s %s/\n", i, cv, srv.URL)
	}
	policy, err := tiles.ParsePolicy([]byte(policyText + "group q 2 w0 w1 w2\nquorum q\n"))
	if err != nil {
		t.Fatal(err)
	}
	tl.l = logtest.New(t, "", log.Config{Indexer: log.ClaimIndex{}, Witnesses: policy, WitnessInterval: 5 * time.Millisecond})
	a, err := archive.Open(filepath.Join(t.TempDir(), "archive"), archive.Config{})
	if err != nil {
		t.Fatal(err)
	}
	if tl.svc, err = log.NewService(tl.l.Log, a, log.ServiceConfig{}); err != nil {
		t.Fatal(err)
	}
	tl.grpcAddr = serveTestGRPC(t, tl.svc)
	hs := httptest.NewServer(tl.l.Handler())
	t.Cleanup(hs.Close)
	tl.httpURL = hs.URL + "/"
	conn, err := grpc.NewClient(tl.grpcAddr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	tl.lc = pb.NewLogServiceClient(conn)
	for i, name := range []string{"ci-a", "ci-b", "alice", "bob", "carol", "mallory"} {
		bskey, bvkey := seeded(t, name+".example", byte(50+i))
		s, err := note.NewSigner(bskey)
		if err != nil {
			t.Fatal(err)
		}
		tl.builders[name] = claim.Key{Signer: s, VKey: bvkey}
	}
	return tl
}

// serveTestGRPC serves a LogService on a loopback port until the test ends.
func serveTestGRPC(t *testing.T, svc pb.LogServiceServer) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := grpc.NewServer(log.GRPCServerOptions()...)
	pb.RegisterLogServiceServer(srv, svc)
	go srv.Serve(ln)
	t.Cleanup(srv.Stop)
	return ln.Addr().String()
}

// policy writes a client policy and returns its path. The quorum is 2 of
// the three witnesses, or with quorum set, what it says (witness w3 is one
// the log never asks); the builders are ci (two keys), alice, bob and
// carol, and ci and 2 of the 3 others must agree.
func (tl *testLog) policy(t *testing.T, quorum string) string {
	t.Helper()
	var b strings.Builder
	fmt.Fprintf(&b, "log %s %s\n", tl.logVKey, tl.httpURL)
	for _, w := range tl.witnesses {
		fmt.Fprintf(&b, "witness %s %s\n", w.name, w.vkey)
	}
	_, w3 := seeded(t, "w3.example", 33)
	cv, _ := fnote.VKeyToCosignatureV1(w3)
	fmt.Fprintf(&b, "witness w3 %s\n", cv)
	if quorum == "" {
		quorum = "group witnesses 2 w0 w1 w2\nquorum witnesses"
	}
	fmt.Fprintf(&b, "%s\n", quorum)
	for _, name := range []string{"ci-a", "alice", "ci-b", "bob", "carol"} {
		fmt.Fprintf(&b, "builder %s %s\n", strings.TrimSuffix(strings.TrimSuffix(name, "-a"), "-b"), tl.builders[name].VKey)
	}
	b.WriteString("builders rebuilders 2 alice bob carol\nbuilders release all ci rebuilders\nagree release\n")
	path := filepath.Join(t.TempDir(), "policy")
	writeFile(t, path, []byte(b.String()))
	return path
}

// commitOf returns a commit hash for a test case's build.
func commitOf(name string) string { return sha256Hex([]byte("commit " + name))[:40] }

// addClaim appends a claim that artifact of the build named build has
// digest, signed by the named builders, and returns its index.
func (tl *testLog) addClaim(t *testing.T, build, artifact, digest string, signers ...string) int64 {
	t.Helper()
	c := &claim.Claim{
		Subjects: []claim.Subject{{Name: artifact, SHA256: digest}},
		Source:   "git+https://example.org/" + build, Commit: commitOf(build), Recipe: sha256Hex([]byte("recipe")),
		Platform: "linux/amd64", BuilderID: "https://builders.example/" + strings.Join(signers, "+"),
	}
	st, err := claim.NewStatement(c)
	if err != nil {
		t.Fatal(err)
	}
	var keys []claim.Key
	for _, s := range signers {
		keys = append(keys, tl.builders[s])
	}
	e, err := claim.SignStatement(st, keys...)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := tl.lc.AddClaim(t.Context(), &pb.AddClaimRequest{Envelope: e.Envelope()})
	if err != nil {
		t.Fatalf("AddClaim: %v", err)
	}
	return int64(resp.GetClaim().GetIndex())
}

// waitWitnessed waits until the log's every entry is in a witnessed checkpoint.
func (tl *testLog) waitWitnessed(t *testing.T) int64 {
	t.Helper()
	size := tl.l.Checkpoint().Size
	waitFor(t, fmt.Sprintf("size %d is witnessed", size), func() bool {
		w := tl.l.Published()
		return w != nil && w.Size == size
	})
	return size
}

// runCode runs a subcommand and returns main's exit status and the output.
func runCode(t *testing.T, args ...string) (int, string) {
	t.Helper()
	var out bytes.Buffer
	err := run(t.Context(), args, &out, &out)
	if ee := (exitError{}); err != nil && (!errors.As(err, &ee) || ee.err != nil) { // as main prints it
		usage.PrintError(&out, err)
	}
	return exitCode(err), out.String()
}

// binaries of the verify test cases: each case is its own build.
func binaryOf(name string) []byte { return []byte("the binary of " + name) }

func TestVerify(t *testing.T) {
	if testing.Short() {
		t.Skip("runs a log with witnesses")
	}
	tl := newTestLog(t)
	type spec struct {
		evil    bool // claims another digest than the case's binary
		signers []string
	}
	builds := map[string][]spec{
		"met":       {{signers: []string{"ci-a"}}, {signers: []string{"alice"}}, {signers: []string{"bob"}}},
		"ci-silent": {{signers: []string{"alice"}}, {signers: []string{"bob"}}, {signers: []string{"carol"}}},
		"conflict":  {{signers: []string{"ci-a"}}, {signers: []string{"alice"}}, {signers: []string{"bob"}}, {evil: true, signers: []string{"carol"}}},
		"untrusted": {{signers: []string{"ci-a"}}, {signers: []string{"alice", "mallory"}}, {signers: []string{"bob"}}, {signers: []string{"mallory"}}},
		"two-keys":  {{signers: []string{"ci-a"}}, {signers: []string{"ci-b"}}, {signers: []string{"alice"}}},
	}
	indexes := map[string][]int64{}
	for _, name := range []string{"met", "ci-silent", "conflict", "untrusted", "two-keys"} {
		for _, s := range builds[name] {
			d := sha256Hex(binaryOf(name))
			if s.evil {
				d = sha256Hex([]byte("evil"))
			}
			indexes[name] = append(indexes[name], tl.addClaim(t, name, "hello", d, s.signers...))
		}
	}
	tl.waitWitnessed(t)
	dir := t.TempDir()
	file := func(name string) string {
		p := filepath.Join(dir, name)
		writeFile(t, p, binaryOf(name))
		return p
	}
	policy := tl.policy(t, "")
	noQuorum := tl.policy(t, "group witnesses 2 w0 w3\nquorum witnesses")
	tests := []struct {
		desc     string
		args     []string
		wantCode int
		want     []string // lines of the output, each a substring
	}{
		{desc: "quorum met", args: []string{file("met")}, wantCode: 0,
			want: []string{"TRUSTED: " + file("met"), "rule: agree release: met", "agreed: ci (key ci-a.example; claim " + fmt.Sprint(indexes["met"][0]) + ")",
				"agreed: alice", "silent: carol", "witness: w", "checkpoint: example.test/attestlog, tree size 17"}},
		{desc: "one builder silent", args: []string{file("ci-silent")}, wantCode: client.ExitNoQuorum,
			want: []string{"NOT TRUSTED (exit 2: builder quorum not met)", "silent: ci (no claim naming this digest; counts as no)", "group: release: 2 of 2 needed, 1 agreed (NOT met)"}},
		{desc: "trusted builder conflicting", args: []string{file("conflict")}, wantCode: client.ExitConflict,
			want: []string{"NOT TRUSTED (exit 4: conflict by a trusted builder)",
				fmt.Sprintf("disagreed: carol (key carol.example; claim %d) says git+https://example.org/conflict@%s linux/amd64 hello is sha256 %s", indexes["conflict"][3], commitOf("conflict"), sha256Hex([]byte("evil")))}},
		{desc: "untrusted builder ignored", args: []string{file("untrusted")}, wantCode: 0,
			want: []string{"TRUSTED", "ignored: " + tl.builders["mallory"].VKey + fmt.Sprintf(" (not in the policy; claims %d, %d)", indexes["untrusted"][1], indexes["untrusted"][3])}},
		{desc: "two keys of one identity counted once", args: []string{file("two-keys")}, wantCode: client.ExitNoQuorum,
			want: []string{fmt.Sprintf("agreed: ci (keys ci-a.example, ci-b.example; claims %d, %d)", indexes["two-keys"][0], indexes["two-keys"][1]),
				"group: rebuilders: 2 of 3 needed, 1 agreed (NOT met)"}},
		{desc: "witness quorum missing", args: []string{"--policy", noQuorum, file("met")}, wantCode: client.ExitNoQuorum | client.ExitVerifyErr,
			want: []string{"NOT TRUSTED (exit 10: builder quorum not met, verification failed)", "problem: checkpoint: tiles: ", "quorum witnesses, cosigned by [w"}},
		{desc: "--require a silent builder", args: []string{"--require", "alice", "--require", "carol", file("met")}, wantCode: client.ExitNoQuorum,
			want: []string{"rule: agree release: met", "required: alice (agreed)", "required: carol (MISSING)"}},
		{desc: "--require a builder that agreed", args: []string{"--require", "bob", file("met")}, wantCode: 0, want: []string{"TRUSTED", "required: bob (agreed)"}},
		{desc: "--require an unknown name", args: []string{"--require", "mallory", file("met")}, wantCode: exitOperational,
			want: []string{`required builder "mallory" is not a builder or builders group of the policy`}},
		{desc: "-k below the rule", args: []string{"-k", "2", file("ci-silent")}, wantCode: 0,
			want: []string{"rule: -k 2: at least 2 trusted builders agree (replaces agree release): met"}},
		{desc: "-k above the rule", args: []string{"-k", "4", file("met")}, wantCode: client.ExitNoQuorum, want: []string{"-k 4: at least 4 trusted builders agree (replaces agree release): NOT met"}},
		{desc: "-k counts identities, not keys", args: []string{"-k", "3", file("two-keys")}, wantCode: client.ExitNoQuorum},
		{desc: "no claims", args: []string{"--digest", sha256Hex([]byte("nothing"))}, wantCode: client.ExitNoClaims | client.ExitNoQuorum,
			want: []string{"NOT TRUSTED (exit 3: no claims, builder quorum not met)", "silent: ci", "silent: carol"}},
		{desc: "--digest with a prefix", args: []string{"--digest", "SHA256:" + strings.ToUpper(sha256Hex(binaryOf("met")))}, wantCode: 0, want: []string{"TRUSTED: sha256 " + sha256Hex(binaryOf("met"))}},
		{desc: "fresh enough", args: []string{"--max-age", "1h", file("met")}, wantCode: 0},
		{desc: "unreadable file", args: []string{filepath.Join(dir, "missing")}, wantCode: exitOperational, want: []string{"no such file"}},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			args := append([]string{"verify", "--log", tl.grpcAddr, "--policy", policy, "--state", t.TempDir()}, tt.args...)
			code, out := runCode(t, args...)
			t.Logf("verify %q: exit %d\n%s", tt.args, code, out)
			out = squeeze(out)
			if code != tt.wantCode {
				t.Errorf("verify %q: exit %d, want %d\n%s", tt.args, code, tt.wantCode, out)
			}
			for _, w := range tt.want {
				if !strings.Contains(out, w) {
					t.Errorf("verify %q: output lacks %q:\n%s", tt.args, w, out)
				}
			}
		})
	}

	t.Run("--json", func(t *testing.T) {
		code, out := runCode(t, "verify", "--log", tl.grpcAddr, "--policy", policy, "--state", "", "--json", file("conflict"))
		var v struct {
			ExitCode int  `json:"exit_code"`
			Trusted  bool `json:"trusted"`
			client.Verdict
		}
		if err := json.Unmarshal([]byte(out), &v); err != nil {
			t.Fatalf("verify --json printed invalid JSON: %v\n%s", err, out)
		}
		if code != client.ExitConflict || v.ExitCode != code || v.Trusted || v.Verdict.ExitCode() != code || v.Digest != sha256Hex(binaryOf("conflict")) ||
			len(v.Disagreed) != 1 || v.Disagreed[0].Builder != "carol" || len(v.Agreed) != 3 || v.Checkpoint == nil || len(v.Checkpoint.Witnesses) < 2 {
			t.Errorf("verify --json: exit %d\n%s", code, out)
		}
	})

	t.Run("log unreachable", func(t *testing.T) {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		addr := ln.Addr().String()
		ln.Close()
		code, out := runCode(t, "verify", "--log", addr, "--policy", policy, "--state", "", file("met"))
		if code != exitOperational || !strings.Contains(out, "fetching checkpoint") {
			t.Errorf("verify against nothing: exit %d\n%s", code, out)
		}
	})
}

// forkService is a LogService of a log that forked: it serves a witnessed
// checkpoint of another tree, signed with the real log's key and cosigned
// with the real witnesses' keys (a compromised log and witnesses), and
// consistency proofs in that tree.
type forkService struct {
	pb.UnimplementedLogServiceServer
	tree       *memTree
	checkpoint []byte
}

func (s *forkService) GetCheckpoint(context.Context, *pb.GetCheckpointRequest) (*pb.GetCheckpointResponse, error) {
	return &pb.GetCheckpointResponse{Checkpoint: s.checkpoint, WitnessedCheckpoint: s.checkpoint}, nil
}

func (s *forkService) GetConsistencyProof(_ context.Context, req *pb.GetConsistencyProofRequest) (*pb.GetConsistencyProofResponse, error) {
	p, err := tlog.ProveTree(int64(req.GetNewSize()), int64(req.GetOldSize()), s.tree)
	if err != nil {
		return nil, err
	}
	resp := &pb.GetConsistencyProofResponse{}
	for _, h := range p {
		resp.Proof = append(resp.Proof, h[:])
	}
	return resp, nil
}

// fork returns the address of a forkService whose tree has size entries
// of its own, all differing from the real log's.
func (tl *testLog) fork(t *testing.T, treeSize, size int64) string {
	t.Helper()
	tree := &memTree{}
	for i := range treeSize {
		tree.append(t, i, fmt.Sprintf("forked entry %d", i))
	}
	h, err := tlog.TreeHash(size, tree)
	if err != nil {
		t.Fatal(err)
	}
	body := tiles.Checkpoint{Origin: logtest.Origin, Size: size, Hash: h}.Format()
	msg, err := note.Sign(&note.Note{Text: string(body)}, tl.logSigner, tl.witnesses[0].signer, tl.witnesses[1].signer)
	if err != nil {
		t.Fatal(err)
	}
	return serveTestGRPC(t, &forkService{tree: tree, checkpoint: msg})
}

func TestVerifyFindsForks(t *testing.T) {
	if testing.Short() {
		t.Skip("runs a log with witnesses")
	}
	tl := newTestLog(t)
	for _, s := range []string{"ci-a", "alice", "bob"} {
		tl.addClaim(t, "met", "hello", sha256Hex(binaryOf("met")), s)
	}
	size := tl.waitWitnessed(t)
	policy := tl.policy(t, "")
	p, err := client.ParsePolicyFile(policy)
	if err != nil {
		t.Fatal(err)
	}
	digest := sha256Hex(binaryOf("met"))
	tests := []struct {
		desc           string
		tree, forkSize int64
		// wantEvidence: the fork's answers prove it. A smaller fork's
		// proof leads to its own tree's root, not the remembered one: it
		// shows nothing, and verify fails without evidence.
		wantEvidence bool
	}{
		{"equal-size fork", size, size, true},
		{"smaller non-prefix checkpoint", size, size - 1, false},
		{"larger inconsistent checkpoint", size + 2, size + 2, true},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			state := t.TempDir()
			verifyArgs := func(addr string) []string {
				return []string{"verify", "--log", addr, "--policy", policy, "--state", state, "--digest", digest}
			}
			if code, out := runCode(t, verifyArgs(tl.grpcAddr)...); code != 0 {
				t.Fatalf("verify against the log: exit %d\n%s", code, out)
			}
			code, out := runCode(t, verifyArgs(tl.fork(t, tt.tree, tt.forkSize))...)
			out = squeeze(out)
			if !tt.wantEvidence {
				if code&client.ExitVerifyErr == 0 || !strings.Contains(out, "problem: consistency: client: no consistency proof that holds") || strings.Contains(out, "evidence:") {
					t.Fatalf("verify against the fork: exit %d, want bit 8, a consistency problem and no evidence\n%s", code, out)
				}
				return
			}
			if code&client.ExitVerifyErr == 0 || !strings.Contains(out, "problem: consistency: client: checkpoints of example.test/attestlog are inconsistent") {
				t.Fatalf("verify against the fork: exit %d, want bit 8 and an inconsistency\n%s", code, out)
			}
			_, path, ok := strings.Cut(out, "evidence: ")
			path, _, _ = strings.Cut(path, " (")
			if !ok || filepath.Dir(path) != state {
				t.Fatalf("no evidence file in the state directory named:\n%s", out)
			}
			if _, err := client.CheckEvidence(p, readBytes(t, path)); err != nil {
				t.Errorf("CheckEvidence(%s): %v", path, err)
			}
			if code, out := runCode(t, "verify", "--policy", policy, "--evidence", path); code != 0 || !strings.Contains(out, "evidence holds: log example.test/attestlog signed checkpoints of tree sizes") {
				t.Errorf("verify --evidence: exit %d\n%s", code, out)
			}
			// The remembered checkpoint is still the log's: it verifies on.
			if code, out := runCode(t, verifyArgs(tl.grpcAddr)...); code != 0 {
				t.Errorf("verify against the log after the fork: exit %d\n%s", code, out)
			}
		})
	}

	t.Run("evidence that does not hold", func(t *testing.T) {
		e := client.Evidence{Format: client.EvidenceFormat, Description: "made up", Origin: logtest.Origin, OlderSize: size, NewerSize: size,
			Older: string(tl.l.Published().Note), Newer: string(tl.l.Published().Note)}
		b, err := e.Marshal()
		if err != nil {
			t.Fatal(err)
		}
		path := filepath.Join(t.TempDir(), "evidence.json")
		writeFile(t, path, b)
		if code, out := runCode(t, "verify", "--policy", policy, "--evidence", path); code != client.ExitVerifyErr || !strings.Contains(out, "no fork") {
			t.Errorf("verify --evidence of consistent notes: exit %d\n%s", code, out)
		}
		writeFile(t, path, []byte("{}\n"))
		if code, out := runCode(t, "verify", "--policy", policy, "--evidence", path); code != exitOperational {
			t.Errorf("verify --evidence of a malformed file: exit %d\n%s", code, out)
		}
	})
}

// TestVerifyEvidenceMustProveAFork checks that verify --evidence holds only
// what it proves itself, and never prints the file's own description.
func TestVerifyEvidenceMustProveAFork(t *testing.T) {
	if testing.Short() {
		t.Skip("runs a log with witnesses")
	}
	tl := newTestLog(t)
	for _, s := range []string{"ci-a", "alice", "bob"} {
		tl.addClaim(t, "met", "hello", sha256Hex(binaryOf("met")), s)
	}
	tl.waitWitnessed(t)
	note3 := tl.l.Published().Note
	tl.addClaim(t, "tool", "tool", sha256Hex([]byte("tool")), "mallory")
	tl.addClaim(t, "tool", "tool", sha256Hex([]byte("tool")), "carol")
	tl.waitWitnessed(t)
	note5 := tl.l.Published().Note
	policy := tl.policy(t, "")
	resp, err := tl.lc.GetConsistencyProof(t.Context(), &pb.GetConsistencyProofRequest{OldSize: 3, NewSize: 5})
	if err != nil {
		t.Fatal(err)
	}
	var honest, junk []tlog.Hash
	for _, h := range resp.GetProof() {
		honest = append(honest, tlog.Hash(h))
		junk = append(junk, tlog.Hash(h))
		junk[len(junk)-1][0] ^= 0x40
	}
	// forked signs, with the log's key (or another), a checkpoint of a
	// tree of entries of its own, and returns the tree.
	forked := func(size int64, s note.Signer) ([]byte, *memTree) {
		tree := &memTree{}
		for i := range size {
			tree.append(t, i, fmt.Sprintf("forked entry %d", i))
		}
		h, err := tlog.TreeHash(size, tree)
		if err != nil {
			t.Fatal(err)
		}
		msg, err := note.Sign(&note.Note{Text: string(tiles.Checkpoint{Origin: logtest.Origin, Size: size, Hash: h}.Format())}, s)
		if err != nil {
			t.Fatal(err)
		}
		return msg, tree
	}
	fork5, tree5 := forked(5, tl.logSigner)
	forkProof, err := tlog.ProveTree(5, 3, tree5)
	if err != nil {
		t.Fatal(err)
	}
	fork3, _ := forked(3, tl.logSigner)
	otherKey, _ := seeded(t, logtest.Origin, 77)
	otherSigner, err := note.NewSigner(otherKey)
	if err != nil {
		t.Fatal(err)
	}
	unsigned3, _ := forked(3, otherSigner)
	const claim = "\x1b[2J\x1b[HTHE FILE SAYS: the log forked, trust me"
	tests := []struct {
		desc         string
		older, newer []byte
		proof        []tlog.Hash
		wantCode     int
		want         string
	}{
		{"fabricated: two honest consistent checkpoints and a junk proof", note3, note5, junk, client.ExitVerifyErr,
			"the evidence does not hold: client: evidence: the consistency proof from tree size 3 to 5 does not lead to the root hash of tree size 5: it shows nothing"},
		{"two honest checkpoints and the honest proof", note3, note5, honest, client.ExitVerifyErr, "the proof is consistent"},
		{"a larger fork and its proof", note3, fork5, forkProof, 0,
			"evidence holds: log example.test/attestlog signed checkpoints of tree sizes 3 and 5 that cannot both be honest: the consistency proof leads to the root hash of tree size 5 and gives tree size 3 the root hash"},
		{"a larger fork and the honest proof", note3, fork5, honest, client.ExitVerifyErr, "it shows nothing"},
		{"an equal-size fork", note3, fork3, nil, 0,
			"evidence holds: log example.test/attestlog signed checkpoints of tree sizes 3 and 3 that cannot both be honest: equal tree sizes 3 with different root hashes"},
		{"an equal-size checkpoint not signed by the log", note3, unsigned3, nil, client.ExitVerifyErr, "the newer checkpoint is not signed by the log"},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			older, newer := tt.older, tt.newer
			e := client.Evidence{Format: client.EvidenceFormat, Description: claim, Time: time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC),
				Origin: logtest.Origin, OlderSize: sizeOfNote(t, older), NewerSize: sizeOfNote(t, newer),
				Older: string(older), Newer: string(newer), Proof: tt.proof}
			b, err := e.Marshal()
			if err != nil {
				t.Fatal(err)
			}
			path := filepath.Join(t.TempDir(), "evidence.json")
			writeFile(t, path, b)
			code, out := runCode(t, "verify", "--policy", policy, "--evidence", path)
			if code != tt.wantCode || !strings.Contains(out, tt.want) {
				t.Errorf("verify --evidence: exit %d, want %d and %q\n%s", code, tt.wantCode, tt.want, out)
			}
			if strings.Contains(out, "THE FILE SAYS") || strings.Contains(out, "\x1b") {
				t.Errorf("verify --evidence printed the file's description:\n%q", out)
			}
		})
	}
}

// sizeOfNote returns the tree size of a checkpoint note, unverified.
func sizeOfNote(t *testing.T, msg []byte) int64 {
	t.Helper()
	text, _, _ := bytes.Cut(msg, []byte("\n\n"))
	cp, err := tiles.ParseCheckpoint(append(text, '\n'))
	if err != nil {
		t.Fatal(err)
	}
	return cp.Size
}

func TestVerifyUsage(t *testing.T) {
	clearClientEnv(t)
	t.Setenv("ATTESTLOG_POLICY_FILE", "")
	policy := filepath.Join(t.TempDir(), "policy")
	writeFile(t, policy, []byte("not a policy\n"))
	hex64 := strings.Repeat("a", 64)
	for _, tt := range []struct {
		args    []string
		wantErr string // "" for success
		usage   bool
	}{
		{args: []string{"verify", "-h"}},
		{args: []string{"bundle", "-h"}},
		{args: []string{"monitor", "-h"}},
		{args: []string{"verify", "--digest", hex64}, wantErr: "--policy (or ATTESTLOG_POLICY_FILE) is required", usage: true},
		{args: []string{"verify", "--policy", policy}, wantErr: "exactly one of FILE or --digest", usage: true},
		{args: []string{"verify", "--policy", policy, "a", "b"}, wantErr: "at most one FILE", usage: true},
		{args: []string{"verify", "--policy", policy, "--digest", hex64, "a"}, wantErr: "exactly one of FILE or --digest", usage: true},
		{args: []string{"verify", "--policy", policy, "--digest", "abc"}, wantErr: "--digest", usage: true},
		{args: []string{"verify", "--policy", policy, "-k", "-1", "--digest", hex64}, wantErr: "-k -1", usage: true},
		{args: []string{"verify", "--policy", policy, "--evidence", "e", "--digest", hex64}, wantErr: "--evidence checks an evidence file alone", usage: true},
		{args: []string{"verify", "--no-such-flag"}, wantErr: "flag provided but not defined", usage: true},
		{args: []string{"verify", "--policy", policy, "--digest", hex64}, wantErr: "malformed policy"},
		{args: []string{"verify", "--policy", filepath.Join(t.TempDir(), "none"), "--digest", hex64}, wantErr: "reading policy"},
		{args: []string{"bundle", hex64}, wantErr: "-o OUT is required", usage: true},
		{args: []string{"bundle", "-o", "out"}, wantErr: "want one FILE or DIGEST", usage: true},
		{args: []string{"bundle", "-o", "out", "nonsense"}, wantErr: "neither a file nor a sha256 digest", usage: true},
		{args: []string{"bundle", "-o", "out", hex64}, wantErr: "--policy FILE (or ATTESTLOG_POLICY_FILE) is required", usage: true},
		{args: []string{"bundle", "--unverified", "--policy", "p", "-o", "out", hex64}, wantErr: "contradict", usage: true},
		{args: []string{"monitor"}, wantErr: "--policy (or ATTESTLOG_POLICY_FILE) is required", usage: true},
		{args: []string{"monitor", "--policy", policy, "--state", ""}, wantErr: "--state must name a directory", usage: true},
		{args: []string{"monitor", "--policy", policy, "--interval", "0s"}, wantErr: "--interval", usage: true},
		{args: []string{"monitor", "--policy", policy, "extra"}, wantErr: `unexpected argument "extra"`, usage: true},
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
			if code := exitCode(err); code != exitOperational {
				t.Errorf("run(%q): exit status %d, want %d", tt.args, code, exitOperational)
			}
			if got := isUsage(err); got != tt.usage {
				t.Errorf("run(%q) error is a usage error: %v, want %v", tt.args, got, tt.usage)
			}
		})
	}
}

func isUsage(err error) bool { return errors.As(err, new(usage.Error)) }

// squeeze replaces every run of spaces with one, so that tests need not
// count the padding of verify's labels.
func squeeze(s string) string {
	for strings.Contains(s, "  ") {
		s = strings.ReplaceAll(s, "  ", " ")
	}
	return s
}
