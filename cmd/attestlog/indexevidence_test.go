package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/attestlog/attestlog/client"
	"github.com/attestlog/attestlog/log/vindex"
)

// TestWrongIndexCommitment: a real log (with real witnesses) whose
// operator appends an index commitment leaving out claim 3 (carol's
// dissent) is reported by `monitor` (FINDING wrong index at the
// commitment), and the evidence of it, the witnessed checkpoint, the
// commitment and the claim with their inclusion proofs and the map proof
// the operator can serve for the claim's digest, is accepted by `verify
// --evidence`; the same file with the claim swapped for one the map lists
// is refused with exit 8.
func TestWrongIndexCommitment(t *testing.T) {
	if testing.Short() {
		t.Skip("runs a log with witnesses")
	}
	tl, policy := monitorLog(t) // claims 0-4; 3 is carol's dissent
	const hidden = 3
	entries, err := tl.l.Log.Entries(0, 5)
	if err != nil {
		t.Fatal(err)
	}
	ms := &vindex.MemStore{}
	var adds []vindex.Addition
	for i, e := range entries {
		keys, _ := vindex.EntryKeys(e)
		for _, k := range keys {
			if i != hidden {
				adds = append(adds, vindex.Addition{Key: k, Index: int64(i)})
			}
		}
	}
	root, err := vindex.Update(ms, adds)
	if err != nil {
		t.Fatal(err)
	}
	commitment := vindex.Commitment{Size: 5, Root: root}.Marshal()
	cidx, _, err := tl.l.Log.AppendParsed(t.Context(), commitment, nil)
	if err != nil || cidx != 5 {
		t.Fatalf("appending the commitment: %d, %v", cidx, err)
	}
	size := tl.waitWitnessed(t)

	state := t.TempDir()
	code, out := runCode(t, "monitor", "--once", "--log", tl.grpcAddr, "--policy", policy, "--state", state)
	if code != client.ExitVerifyErr || !strings.Contains(out, "wrong index") || !strings.Contains(out, "the index commitment at 5 gives the map of the entries below 5 the root") {
		t.Fatalf("monitor: exit %d, want 8 and a wrong index at 5\n%s", code, out)
	}

	key := vindex.DigestKey(sha256Hex([]byte("evil")))
	mp, err := vindex.Prove(ms, key, nil)
	if err != nil {
		t.Fatal(err)
	}
	mapProof, err := mp.AppendBinary(nil)
	if err != nil {
		t.Fatal(err)
	}
	proven := func(idx int64, e []byte) client.ProvenEntryJSON {
		p, err := tl.l.Log.InclusionProof(idx, size)
		if err != nil {
			t.Fatal(err)
		}
		return client.ProvenEntryJSON{Index: idx, Entry: e, Proof: p}
	}
	ev := &client.IndexEvidence{Format: client.IndexEvidenceFormat, Description: "carol's claim is left out", Origin: tl.l.Published().Origin,
		Checkpoint: string(tl.l.Published().Note), Commitment: proven(cidx, commitment), Key: key.String(), MapProof: mapProof,
		Entry: proven(hidden, entries[hidden])}
	write := func(ev *client.IndexEvidence) string {
		b, err := ev.Marshal()
		if err != nil {
			t.Fatal(err)
		}
		path := filepath.Join(t.TempDir(), "index.evidence.json")
		if err := os.WriteFile(path, b, 0o600); err != nil {
			t.Fatal(err)
		}
		return path
	}
	code, out = runCode(t, "verify", "--policy", policy, "--evidence", write(ev))
	if code != 0 || !strings.Contains(out, "evidence holds: log "+ev.Origin+" committed a wrong index at entry 5") || !strings.Contains(out, "leaves out entry 3") {
		t.Fatalf("verify --evidence: exit %d, want 0 and the finding\n%s", code, out)
	}
	ev.Entry = proven(0, entries[0]) // not under the key, not listed: no contradiction
	if code, out = runCode(t, "verify", "--policy", policy, "--evidence", write(ev)); code != client.ExitVerifyErr || !strings.Contains(out, "no contradiction") {
		t.Fatalf("verify --evidence (an entry the map is right about): exit %d, want 8\n%s", code, out)
	}
}
