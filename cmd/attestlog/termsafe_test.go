package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/attestlog/attestlog/client"
	"github.com/attestlog/attestlog/client/report"
	"github.com/attestlog/attestlog/cmd/attestlog/internal/usage"
	"github.com/attestlog/attestlog/log"
	"github.com/attestlog/attestlog/log/claim"
	"github.com/attestlog/attestlog/log/logtest"
	pb "github.com/attestlog/attestlog/proto/attestlog/v1"
	"github.com/attestlog/attestlog/tiles"
	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"
)

// Hostile text, as a hostile log, builder or evidence file would send it:
// ESC sequences that clear the screen and home the cursor, the same with
// the one-character C1 CSI, and a right-to-left override.
const (
	hostileESC  = "\x1b[2J\x1b[H"
	hostileCSI  = "\u009b2J"
	hostileBidi = "\u202e"
)

// The escaped forms termSafe (and %q) show instead.
const (
	escapedESC  = `\x1b[2J\x1b[H`
	escapedCSI  = `\u009b2J`
	escapedBidi = `\u202e`
)

// rawControl returns the first character of out that a terminal could obey
// or be misled by (the test's own list: C0 but newline, DEL, C1, line
// separators, bidi controls), or a byte that is not UTF-8, and whether there
// is one.
func rawControl(out string) (string, bool) {
	for i, r := range out {
		switch {
		case r == utf8.RuneError && !strings.HasPrefix(out[i:], "\uFFFD"),
			r < 0x20 && r != '\n', r >= 0x7f && r <= 0x9f, r == 0x2028, r == 0x2029,
			r == 0x061c, r == 0x200e, r == 0x200f, r >= 0x202a && r <= 0x202e, r >= 0x2066 && r <= 0x2069:
			return fmt.Sprintf("%U at byte %d", r, i), true
		}
	}
	return "", false
}

// checkTermOutput fails unless out holds no raw control or bidi character
// and holds each of the escaped forms in want.
func checkTermOutput(t *testing.T, what, out string, want ...string) {
	t.Helper()
	if c, ok := rawControl(out); ok {
		t.Errorf("%s printed a raw %s:\n%q", what, c, out)
	}
	for _, w := range want {
		if !strings.Contains(out, w) {
			t.Errorf("%s does not show %s:\n%s", what, w, out)
		}
	}
}

func TestPrintError(t *testing.T) {
	var b bytes.Buffer
	usage.PrintError(&b, fmt.Errorf("looking up: %w", errors.New("rpc error: desc = \x1b[2J\nTRUSTED: sha256 x\u202e")))
	if got, want := b.String(), "attestlog: looking up: rpc error: desc = \\x1b[2J\n  TRUSTED: sha256 x\\u202e\n"; got != want {
		t.Errorf("printError printed %q, want %q", got, want)
	}
}

func TestKeygenRefusesBadNames(t *testing.T) {
	for _, name := range []string{"ci" + hostileESC + "release.example", "ci" + hostileCSI, "ci.example" + hostileBidi + "gro",
		"", "two words", "a+b", "tab\tname", "bad\xffutf8"} {
		dir := t.TempDir()
		t.Chdir(dir)
		var stdout, stderr bytes.Buffer
		err := run(t.Context(), []string{"keygen", name}, &stdout, &stderr)
		if !isUsage(err) || !strings.Contains(err.Error(), "key name") {
			t.Errorf("keygen %q = %v, want a usage error about the key name", name, err)
		} else {
			checkTermOutput(t, "keygen's error", err.Error())
		}
		err = run(t.Context(), []string{"keygen", "-o", filepath.Join(dir, "k"), name}, &stdout, &stderr)
		if !isUsage(err) {
			t.Errorf("keygen -o k %q = %v, want a usage error", name, err)
		}
		if ents, _ := os.ReadDir(dir); len(ents) != 0 || stdout.Len() != 0 {
			t.Errorf("keygen %q wrote %d files and printed %q", name, len(ents), stdout.String())
		}
	}
}

// hostileStatement returns the in-toto Statement of a claim that artifact
// has digest, built from source, in the profile of package claim, without
// any check of the names.
func hostileStatement(artifact, source, digest string) []byte {
	b, err := json.Marshal(map[string]any{
		"_type":         claim.StatementType,
		"subject":       []any{map[string]any{"name": artifact, "digest": map[string]string{"sha256": digest}}},
		"predicateType": claim.ProvenanceType,
		"predicate": map[string]any{
			"buildDefinition": map[string]any{
				"buildType": claim.BuildType,
				"externalParameters": map[string]any{
					"recipe":   map[string]any{"digest": map[string]string{"sha256": sha256Hex([]byte("recipe"))}},
					"platform": "linux/amd64",
				},
				"resolvedDependencies": []any{map[string]any{"uri": source, "digest": map[string]string{"gitCommit": commitOf("hostile")}}},
			},
			"runDetails": map[string]any{"builder": map[string]any{"id": "https://builders.example/hostile"}},
		},
	})
	if err != nil {
		panic(err) // strings only
	}
	return b
}

// hostileEntry signs a statement with k and returns the claim entry, as a
// hostile builder's own tool would make it: nothing checks the names.
func hostileEntry(t *testing.T, k claim.Key, statement []byte) []byte {
	t.Helper()
	sig, err := claim.Sign(k.Signer, k.VKey, claim.PayloadType, statement)
	if err != nil {
		t.Fatal(err)
	}
	return (&claim.Entry{PayloadType: claim.PayloadType, Payload: statement, Signatures: []claim.Signature{sig}}).Marshal()
}

// hostileService is a LogService whose log logged hostile claims: it
// serves a tree of its own entries, under a checkpoint signed with the real
// log's key and cosigned by two of the policy's witnesses (witnesses cosign
// whatever a log appends), and answers every lookup with the entries naming
// the digest, or all of them for a lookup by source.
type hostileService struct {
	pb.UnimplementedLogServiceServer
	tree       memTree
	entries    [][]byte
	digests    []string // the digest each entry names
	checkpoint []byte
}

func (tl *testLog) hostileLog(t *testing.T, entries [][]byte, digests []string) string {
	t.Helper()
	s := &hostileService{entries: entries, digests: digests}
	for i, e := range entries {
		s.tree.append(t, int64(i), string(e))
	}
	h, err := tlog.TreeHash(int64(len(entries)), &s.tree)
	if err != nil {
		t.Fatal(err)
	}
	body := tiles.Checkpoint{Origin: logtest.Origin, Size: int64(len(entries)), Hash: h}.Format()
	if s.checkpoint, err = note.Sign(&note.Note{Text: string(body)}, tl.logSigner, tl.witnesses[0].signer, tl.witnesses[1].signer); err != nil {
		t.Fatal(err)
	}
	return serveTestGRPC(t, s)
}

func (s *hostileService) GetCheckpoint(context.Context, *pb.GetCheckpointRequest) (*pb.GetCheckpointResponse, error) {
	return &pb.GetCheckpointResponse{Checkpoint: s.checkpoint, WitnessedCheckpoint: s.checkpoint}, nil
}

func (s *hostileService) proven(digest string) ([]*pb.ProvenClaim, error) {
	var out []*pb.ProvenClaim
	n := int64(len(s.entries))
	for i, e := range s.entries {
		if digest != "" && s.digests[i] != digest {
			continue
		}
		p, err := tlog.ProveRecord(n, int64(i), &s.tree)
		if err != nil {
			return nil, err
		}
		pc := &pb.ProvenClaim{Index: uint64(i), Entry: e, TreeSize: uint64(n)}
		for _, h := range p {
			pc.InclusionProof = append(pc.InclusionProof, h[:])
		}
		out = append(out, pc)
	}
	return out, nil
}

func (s *hostileService) LookupByDigest(_ context.Context, req *pb.LookupByDigestRequest) (*pb.LookupByDigestResponse, error) {
	cs, err := s.proven(req.GetSha256())
	return &pb.LookupByDigestResponse{Checkpoint: s.checkpoint, Claims: cs}, err
}

func (s *hostileService) LookupBySource(context.Context, *pb.LookupBySourceRequest) (*pb.LookupBySourceResponse, error) {
	cs, err := s.proven("")
	return &pb.LookupBySourceResponse{Checkpoint: s.checkpoint, Claims: cs}, err
}

// TestHostileClaims runs lookup and verify against a log that logged claims
// with a control sequence in the signer's key name (the key poses as a
// trusted builder after clearing the screen), a C1 CSI in an artifact name
// and a bidi override in a source path: nothing may reach the terminal raw.
func TestHostileClaims(t *testing.T) {
	if testing.Short() {
		t.Skip("runs a log with witnesses")
	}
	tl := newTestLog(t)
	policy := tl.policy(t, "")
	digest, other := sha256Hex([]byte("hostile binary")), sha256Hex([]byte("another binary"))
	ciA, alice := tl.builders["ci-a"], tl.builders["alice"]
	// A key whose name clears the screen and poses as a trusted builder.
	poserSKey, poserVKey := seeded(t, "x"+hostileESC+"TRUSTED:ci.example", 90)
	poser, err := note.NewSigner(poserSKey)
	if err != nil {
		t.Fatal(err)
	}
	poserKey := claim.Key{Signer: poser, VKey: poserVKey}
	source := "git+https://example.org/hostile"
	tests := []struct {
		desc    string
		entries [][]byte
		digests []string
		escaped string
	}{
		{"ESC in a key name", [][]byte{hostileEntry(t, poserKey, hostileStatement("hello", source, digest))}, []string{digest}, escapedESC},
		// Two claims of one build with different digests, so that verify
		// names the artifact in a disagreement.
		{"C1 in an artifact name", [][]byte{
			hostileEntry(t, ciA, hostileStatement("hello"+hostileCSI, source, digest)),
			hostileEntry(t, alice, hostileStatement("hello"+hostileCSI, source, other)),
		}, []string{digest, other}, escapedCSI},
		{"bidi override in a source path", [][]byte{
			hostileEntry(t, ciA, hostileStatement("hello", source+hostileBidi+"/evil", digest)),
			hostileEntry(t, alice, hostileStatement("hello", source+hostileBidi+"/evil", other)),
		}, []string{digest, other}, escapedBidi},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			addr := tl.hostileLog(t, tt.entries, tt.digests)
			_, out := runCode(t, "lookup", "--log", addr, "--log-vkey", tl.logVKey, "--digest", digest)
			checkTermOutput(t, "lookup", out, tt.escaped)
			_, out = runCode(t, "verify", "--log", addr, "--policy", policy, "--state", "", "--digest", digest)
			checkTermOutput(t, "verify", out, tt.escaped)
		})
	}
}

// lyingMismatchService is the real log's LogService, except that
// ListMismatches also lists a mismatch with hostile names, which the
// list's clients cannot check against anything (the list is not signed).
type lyingMismatchService struct {
	*log.Service
	extra *pb.Mismatch
}

func (s lyingMismatchService) ListMismatches(ctx context.Context, req *pb.ListMismatchesRequest) (*pb.ListMismatchesResponse, error) {
	resp, err := s.Service.ListMismatches(ctx, req)
	if err == nil && resp.GetNextPageToken() == "" {
		resp.Mismatches = append(resp.Mismatches, s.extra)
	}
	return resp, err
}

// TestHostileMismatches runs mismatches and monitor against a log that lists
// a mismatch with hostile names; their --json output must give the names
// back exactly.
func TestHostileMismatches(t *testing.T) {
	if testing.Short() {
		t.Skip("runs a log with witnesses")
	}
	tl, policy := monitorLog(t)
	extra := &pb.Mismatch{Id: 1, SourceUri: "git+https://example.org/he" + hostileBidi + "llo", Commit: commitOf("met"),
		Platform: "linux/amd64" + hostileCSI, Artifact: "hello" + hostileESC + "OK",
		Digests: []*pb.MismatchDigest{{Sha256: sha256Hex([]byte("x")), ClaimIndexes: []uint64{1}, Recipes: []string{sha256Hex([]byte("recipe"))}}}}
	lying := serveTestGRPC(t, lyingMismatchService{Service: tl.svc, extra: extra})

	code, out := runCode(t, "mismatches", "--log", lying)
	if code != 0 || !strings.Contains(out, "2 mismatches") {
		t.Fatalf("mismatches: exit %d\n%s", code, out)
	}
	checkTermOutput(t, "mismatches", out, escapedESC, escapedCSI, escapedBidi)

	code, out = runCode(t, "mismatches", "--log", lying, "--json")
	var ms []report.Mismatch
	if err := json.Unmarshal([]byte(out), &ms); err != nil || code != 0 || len(ms) != 2 {
		t.Fatalf("mismatches --json: exit %d, %v\n%s", code, err, out)
	}
	if m := ms[1]; m.Source != extra.SourceUri || m.Platform != extra.Platform || m.Artifact != extra.Artifact {
		t.Errorf("mismatches --json changed the names: %+v", m)
	}
	if !strings.Contains(out, `\u001b[2J`) || !strings.Contains(out, hostileBidi) || !strings.Contains(out, hostileCSI) {
		t.Errorf("mismatches --json is not the names as encoding/json writes them:\n%s", out)
	}

	code, out = runCode(t, "monitor", "--once", "--log", lying, "--policy", policy, "--state", t.TempDir())
	if code != client.ExitVerifyErr || !strings.Contains(out, "FINDING invented mismatch") {
		t.Fatalf("monitor: exit %d, want 8 and an invented mismatch\n%s", code, out)
	}
	checkTermOutput(t, "monitor", out, escapedESC, escapedCSI, escapedBidi)

	code, out = runCode(t, "monitor", "--once", "--json", "--log", lying, "--policy", policy, "--state", t.TempDir())
	var r client.MonitorReport
	if err := json.Unmarshal([]byte(out), &r); err != nil || code != client.ExitVerifyErr || len(r.Findings) != 1 {
		t.Fatalf("monitor --json: exit %d, %v\n%s", code, err, out)
	}
	if d := r.Findings[0].Detail; !strings.Contains(d, extra.Artifact) || !strings.Contains(d, extra.SourceUri) {
		t.Errorf("monitor --json changed the names: %q", d)
	}
}

// TestHostileEvidence checks verify --evidence on an evidence file that
// holds (two checkpoints of one size with different roots, both signed by
// the log) whose free-text fields are hostile.
func TestHostileEvidence(t *testing.T) {
	if testing.Short() {
		t.Skip("runs a log with witnesses")
	}
	tl := newTestLog(t)
	tl.addClaim(t, "met", "hello", sha256Hex(binaryOf("met")), "ci-a")
	size := tl.waitWitnessed(t)
	policy := tl.policy(t, "")
	body := tiles.Checkpoint{Origin: logtest.Origin, Size: size, Hash: tlog.Hash{1}}.Format()
	forged, err := note.Sign(&note.Note{Text: string(body)}, tl.logSigner)
	if err != nil {
		t.Fatal(err)
	}
	e := client.Evidence{Format: client.EvidenceFormat, Description: "equal sizes" + hostileESC + "TRUSTED" + hostileCSI + hostileBidi,
		Time: time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC), Origin: logtest.Origin, OlderSize: size, NewerSize: size,
		Older: string(tl.l.Published().Note), Newer: string(forged)}
	b, err := e.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "evidence.json")
	writeFile(t, path, b)
	code, out := runCode(t, "verify", "--policy", policy, "--evidence", path)
	if code != 0 || !strings.Contains(out, "evidence holds") {
		t.Fatalf("verify --evidence: exit %d, want 0\n%s", code, out)
	}
	checkTermOutput(t, "verify --evidence", out)

	// Evidence naming a log the policy does not have quotes the origin.
	e.Origin = logtest.Origin + hostileBidi + hostileESC
	if b, err = e.Marshal(); err != nil {
		t.Fatal(err)
	}
	writeFile(t, path, b)
	code, out = runCode(t, "verify", "--policy", policy, "--evidence", path)
	if code != client.ExitVerifyErr {
		t.Fatalf("verify --evidence of another origin: exit %d, want 8\n%s", code, out)
	}
	checkTermOutput(t, "verify --evidence", out, escapedBidi, escapedESC)
}
