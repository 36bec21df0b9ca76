package client_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/attestlog/attestlog/client"
	"github.com/attestlog/attestlog/tiles"
	"golang.org/x/mod/sumdb/tlog"
)

// forkedLogs returns log A, six entries whose first three vote for good,
// and log B, a fork of A that shares its first two entries only.
func forkedLogs(t *testing.T, w *world) (a, b *fakeLog) {
	a, b = &fakeLog{w: w}, &fakeLog{w: w}
	common := [][]byte{w.claimEntry(t, "hello", good, "linux/amd64", "ci-a"), w.claimEntry(t, "hello", good, "linux/amd64", "alice")}
	a.append(t, common...)
	b.append(t, common...)
	a.append(t, w.claimEntry(t, "hello", good, "linux/amd64", "bob"))
	b.append(t, w.claimEntry(t, "other", good, "linux/amd64", "bob"))
	for _, tag := range []string{"x", "y", "z"} {
		a.append(t, w.claimEntry(t, "a-"+tag, sha(tag), "linux/amd64", "carol"))
		b.append(t, w.claimEntry(t, "b-"+tag, sha(tag), "linux/amd64", "carol"))
	}
	return a, b
}

// remember makes st remember the checkpoint of l at size.
func remember(t *testing.T, p *client.Policy, st *client.State, l *fakeLog, size int64) []byte {
	t.Helper()
	msg := l.note(t, size, 1, 2)
	vc, err := p.TLog.VerifyCheckpoint(msg)
	if err != nil {
		t.Fatal(err)
	}
	if err := st.Update(context.Background(), vc, &fakeSource{t: t, log: l}); err != nil {
		t.Fatal(err)
	}
	return msg
}

func rememberedSize(t *testing.T, st *client.State) int64 {
	t.Helper()
	msg, err := st.Checkpoint(testOrigin)
	if err != nil || msg == nil {
		t.Fatalf("Checkpoint(%s) = %q, %v", testOrigin, msg, err)
	}
	text, _, _ := bytes.Cut(msg, []byte("\n\n"))
	cp, err := tiles.ParseCheckpoint(append(text, '\n'))
	if err != nil {
		t.Fatal(err)
	}
	return cp.Size
}

func TestStateConsistency(t *testing.T) {
	w := newWorld(t)
	p := w.policy(t)
	a, b := forkedLogs(t, w)
	tests := []struct {
		desc         string
		remembered   *fakeLog // nil: nothing remembered
		rememberSize int64
		log          *fakeLog
		size         int64
		noProof      bool
		proofFrom    *fakeLog // the tree the source's consistency proofs come from; nil for log

		wantInconsistent bool
		wantProblem      string // Problem.What; "" for none
		wantText         string // in the problem
		wantRemembered   int64
	}{
		{desc: "nothing remembered", log: a, size: 4, wantRemembered: 4},
		{desc: "larger, consistent", remembered: a, rememberSize: 3, log: a, size: 6, wantRemembered: 6},
		{desc: "from a remembered empty tree", remembered: a, rememberSize: 0, log: a, size: 6, noProof: true, wantRemembered: 6},
		{desc: "equal", remembered: a, rememberSize: 5, log: a, size: 5, wantRemembered: 5},
		{desc: "smaller, a prefix", remembered: a, rememberSize: 6, log: a, size: 3, wantRemembered: 6},
		{desc: "equal size fork", remembered: a, rememberSize: 5, log: b, size: 5, wantInconsistent: true, wantProblem: "consistency", wantRemembered: 5},
		{desc: "smaller, not a prefix, proven by the remembered tree's proof", remembered: a, rememberSize: 6, log: b, size: 3, proofFrom: a,
			wantInconsistent: true, wantProblem: "consistency", wantRemembered: 6},
		{desc: "smaller, not a prefix, the source's proof shows nothing", remembered: a, rememberSize: 6, log: b, size: 3,
			wantProblem: "consistency", wantText: "does not lead to the root hash of tree size 6: it shows nothing", wantRemembered: 6},
		{desc: "larger, inconsistent", remembered: a, rememberSize: 3, log: b, size: 6, wantInconsistent: true, wantProblem: "consistency", wantRemembered: 3},
		{desc: "larger, consistent, a junk proof", remembered: a, rememberSize: 3, log: a, size: 6, proofFrom: b,
			wantProblem: "consistency", wantText: "this is no evidence against the log", wantRemembered: 3},
		{desc: "larger, inconsistent, from a power of two", remembered: a, rememberSize: 4, log: b, size: 6,
			wantProblem: "consistency", wantText: "a power of two, a proof leaves the older root out, so no proof can show a fork", wantRemembered: 4},
		{desc: "larger, the source has no proof", remembered: a, rememberSize: 3, log: a, size: 6, noProof: true, wantProblem: "consistency", wantRemembered: 3},
		{desc: "smaller, the source has no proof", remembered: a, rememberSize: 6, log: a, size: 3, noProof: true, wantProblem: "consistency", wantRemembered: 6},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			st, err := client.OpenState(filepath.Join(t.TempDir(), "state"))
			if err != nil {
				t.Fatal(err)
			}
			st.Now = func() time.Time { return time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC) }
			if tt.remembered != nil {
				remember(t, p, st, tt.remembered, tt.rememberSize)
			}
			src := &fakeSource{t: t, log: tt.log, checkpoint: tt.log.note(t, tt.size, 1, 3)}
			if tt.noProof {
				src.consistencyErr = errors.New("fake: no proof today")
			}
			src.proofFrom = tt.proofFrom
			v, err := client.Verify(context.Background(), p, src, good, client.VerifyOptions{State: st})
			if err != nil {
				t.Fatalf("Verify: %v", err)
			}
			var problems []string
			for _, p := range v.Problems {
				problems = append(problems, p.What)
			}
			if got := strings.Join(problems, " "); got != tt.wantProblem {
				t.Errorf("problems %q, want %q: %+v", got, tt.wantProblem, v.Problems)
			}
			if tt.wantText != "" && (len(v.Problems) == 0 || !strings.Contains(v.Problems[0].Err, tt.wantText)) {
				t.Errorf("problems %+v, want one saying %q", v.Problems, tt.wantText)
			}
			wantFiles := 0
			if tt.wantInconsistent {
				wantFiles = 1
			}
			if n := evidenceFiles(t, st); n != wantFiles {
				t.Errorf("%d evidence files written, want %d", n, wantFiles)
			}
			if (v.Inconsistency != nil) != tt.wantInconsistent || (v.Evidence != "") != tt.wantInconsistent {
				t.Errorf("inconsistency %v, evidence %q; want an inconsistency: %v", v.Inconsistency, v.Evidence, tt.wantInconsistent)
			}
			if tt.wantProblem != "" && v.ExitCode()&client.ExitVerifyErr == 0 {
				t.Errorf("ExitCode() = %d, without bit 8", v.ExitCode())
			}
			if tt.wantProblem == "" && v.ExitCode() != 0 && tt.size >= 3 {
				t.Errorf("ExitCode() = %d: %+v", v.ExitCode(), v)
			}
			if got := rememberedSize(t, st); got != tt.wantRemembered {
				t.Errorf("remembered size %d, want %d", got, tt.wantRemembered)
			}
			if v.Inconsistency != nil {
				checkInconsistency(t, p, st, v)
			}
		})
	}
}

// evidenceFiles counts the evidence files in the state directory.
func evidenceFiles(t *testing.T, st *client.State) int {
	t.Helper()
	m, err := filepath.Glob(filepath.Join(st.Dir(), "*.evidence.json"))
	if err != nil {
		t.Fatal(err)
	}
	return len(m)
}

// checkInconsistency checks the error and evidence file of a fork.
func checkInconsistency(t *testing.T, p *client.Policy, st *client.State, v *client.Verdict) {
	t.Helper()
	ie := v.Inconsistency
	h := sha256.Sum256([]byte(testOrigin))
	if filepath.Dir(v.Evidence) != st.Dir() || !strings.HasPrefix(filepath.Base(v.Evidence), hex.EncodeToString(h[:])+".20260301T120000") ||
		!strings.HasSuffix(v.Evidence, ".evidence.json") {
		t.Errorf("evidence file %s", v.Evidence)
	}
	if ie.Origin != testOrigin || len(ie.Older) == 0 || len(ie.Newer) == 0 || bytes.Equal(ie.Older, ie.Newer) {
		t.Errorf("InconsistencyError %+v", ie)
	}
	data, err := os.ReadFile(v.Evidence)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := client.CheckEvidence(p, data); err != nil {
		t.Errorf("CheckEvidence(the evidence written) = %v", err)
	}
	e, err := client.ParseEvidence(data)
	if err != nil {
		t.Fatal(err)
	}
	if e.Older != string(ie.Older) || e.Newer != string(ie.Newer) || len(e.Proof) != len(ie.Proof) || e.OlderSize > e.NewerSize {
		t.Errorf("evidence %+v does not match %+v", e, ie)
	}
}

// fileClaim is the description of every evidence file of TestCheckEvidence:
// the file's own words, which must never come back as a finding.
const fileClaim = "THE FILE SAYS: the log forked"

func TestCheckEvidence(t *testing.T) {
	w := newWorld(t)
	p := w.policy(t)
	a, b := forkedLogs(t, w)
	proof := func(l *fakeLog, n, m int64) []tlog.Hash {
		pr, err := tlog.ProveTree(m, n, l.reader())
		if err != nil {
			t.Fatal(err)
		}
		return pr
	}
	evidence := func(older, newer []byte, olderSize, newerSize int64, pr []tlog.Hash) []byte {
		e := &client.Evidence{Format: client.EvidenceFormat, Description: fileClaim, Time: time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC),
			Origin: testOrigin, OlderSize: olderSize, NewerSize: newerSize, Older: string(older), Newer: string(newer), Proof: pr}
		data, err := e.Marshal()
		if err != nil {
			t.Fatal(err)
		}
		return data
	}
	_, otherVKey := keys(t, testOrigin, 99)
	otherPolicy, err := client.ParsePolicy([]byte(strings.Replace(w.policyText(), w.logVKey, otherVKey, 1)))
	if err != nil {
		t.Fatal(err)
	}
	junk := proof(a, 3, 6) // the right shape, junk hashes
	for i := range junk {
		junk[i][0] ^= 0x40
	}
	tests := []struct {
		desc   string
		policy *client.Policy
		data   []byte
		want   string // in the finding if wantErr is false, else in the error
		// wantErr: the evidence does not hold.
		wantErr bool
	}{
		{desc: "equal sizes, different roots", data: evidence(a.note(t, 4), b.note(t, 4, 1), 4, 4, nil),
			want: "log example.test/attestlog signed checkpoints of tree sizes 4 and 4 that cannot both be honest: equal tree sizes 4 with different root hashes"},
		{desc: "a proof of the newer tree that gives the older size another root", data: evidence(a.note(t, 3), b.note(t, 6), 3, 6, proof(b, 3, 6)),
			want: "sizes 3 and 6 that cannot both be honest: the consistency proof leads to the root hash of tree size 6 and gives tree size 3 the root hash"},
		{desc: "smaller fork, proven by the newer tree's proof", data: evidence(b.note(t, 5), a.note(t, 6), 5, 6, proof(a, 5, 6)),
			want: "sizes 5 and 6 that cannot both be honest"},
		{desc: "fabricated: consistent notes and a junk proof", data: evidence(a.note(t, 3), a.note(t, 6), 3, 6, junk), wantErr: true,
			want: "the consistency proof from tree size 3 to 6 does not lead to the root hash of tree size 6: it shows nothing"},
		{desc: "fabricated: consistent notes and another tree's proof", data: evidence(a.note(t, 3), a.note(t, 6), 3, 6, proof(b, 3, 6)), wantErr: true,
			want: "does not lead to the root hash of tree size 6: it shows nothing"},
		{desc: "fabricated: consistent notes and a proof too short", data: evidence(a.note(t, 3), a.note(t, 6), 3, 6, junk[:1]), wantErr: true,
			want: "is malformed, so it shows nothing"},
		{desc: "a fork and no proof at all", data: evidence(a.note(t, 3), b.note(t, 6), 3, 6, nil), wantErr: true,
			want: "is malformed, so it shows nothing"},
		{desc: "a fork from a power of two", data: evidence(a.note(t, 4), b.note(t, 6), 4, 6, proof(b, 4, 6)), wantErr: true,
			want: "a power of two, a proof leaves the older root out, so no proof can show a fork"},
		{desc: "consistent notes", data: evidence(a.note(t, 3), a.note(t, 6), 3, 6, proof(a, 3, 6)), wantErr: true,
			want: "the proof is consistent: the tree of size 3 is a prefix of the tree of size 6, no fork"},
		{desc: "equal notes", data: evidence(a.note(t, 3), a.note(t, 3, 2), 3, 3, nil), wantErr: true, want: "no fork"},
		{desc: "shared prefix of a fork", data: evidence(a.note(t, 2), b.note(t, 6), 2, 6, proof(b, 2, 6)), wantErr: true, want: "no fork"},
		{desc: "sizes that are not the notes'", data: evidence(a.note(t, 4), b.note(t, 4), 4, 5, nil), wantErr: true, want: "but the notes have"},
		{desc: "older larger than newer", data: evidence(b.note(t, 6), a.note(t, 3), 6, 3, nil), wantErr: true, want: "larger size"},
		{desc: "another log key", policy: otherPolicy, data: evidence(a.note(t, 4), b.note(t, 4), 4, 4, nil), wantErr: true,
			want: "the older checkpoint is not signed by the log"},
		{desc: "newer unsigned", data: evidence(a.note(t, 4), signWith(t, w, b.note(t, 4), otherVKey, 99), 4, 4, nil), wantErr: true,
			want: "the newer checkpoint is not signed by the log"},
		{desc: "a note tampered with", data: evidence(a.note(t, 4), bytes.Replace(b.note(t, 4), []byte("\n4\n"), []byte("\n5\n"), 1), 4, 5, nil), wantErr: true,
			want: "the newer checkpoint is not signed by the log"},
		{desc: "not canonical", data: bytes.Replace(evidence(a.note(t, 4), b.note(t, 4), 4, 4, nil), []byte("  "), []byte("   "), 1), wantErr: true,
			want: "malformed evidence"},
		{desc: "not JSON", data: []byte("fork!"), wantErr: true, want: "malformed evidence"},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			pol := p
			if tt.policy != nil {
				pol = tt.policy
			}
			finding, err := client.CheckEvidence(pol, tt.data)
			if (err != nil) != tt.wantErr {
				t.Fatalf("CheckEvidence = %q, %v; want an error: %v", finding, err, tt.wantErr)
			}
			got := finding
			if err != nil {
				got = err.Error()
			}
			if !strings.Contains(got, tt.want) || strings.Contains(got, fileClaim) {
				t.Errorf("CheckEvidence = %q, %v; want %q, and never the file's description", finding, err, tt.want)
			}
		})
	}
}

func TestStateRememberedNoteMustVerify(t *testing.T) {
	w := newWorld(t)
	p := w.policy(t)
	a, _ := forkedLogs(t, w)
	dir := t.TempDir()
	st, err := client.OpenState(dir)
	if err != nil {
		t.Fatal(err)
	}
	msg := remember(t, p, st, a, 3)
	h := sha256.Sum256([]byte(testOrigin))
	path := filepath.Join(dir, hex.EncodeToString(h[:])+".checkpoint")
	if got, err := os.ReadFile(path); err != nil || !bytes.Equal(got, msg) {
		t.Fatalf("state file %s = %q, %v; want the note", path, got, err)
	}
	if err := os.WriteFile(path, bytes.Replace(msg, []byte("\n3\n"), []byte("\n2\n"), 1), 0o600); err != nil {
		t.Fatal(err)
	}
	src := &fakeSource{t: t, log: a, checkpoint: a.note(t, 6, 1, 2)}
	if _, err := client.Verify(context.Background(), p, src, good, client.VerifyOptions{State: st}); err == nil {
		t.Fatal("Verify with a tampered state file succeeded")
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 1 {
		t.Errorf("state directory holds %d files, want 1", len(entries))
	}
}

func FuzzParseEvidence(f *testing.F) {
	w := newWorld(f)
	a := &fakeLog{w: w}
	a.append(f, []byte("one"), []byte("two"))
	e := &client.Evidence{Format: client.EvidenceFormat, Description: "equal tree sizes 2 with different root hashes",
		Time: time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC), Origin: testOrigin, OlderSize: 1, NewerSize: 2,
		Older: string(a.note(f, 1)), Newer: string(a.note(f, 2, 1)), Proof: []tlog.Hash{a.root(f, 1)}}
	data, err := e.Marshal()
	if err != nil {
		f.Fatal(err)
	}
	f.Add(data)
	f.Add([]byte(`{"format":"attestlog.dev/evidence/v1"}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		e, err := client.ParseEvidence(b)
		if err != nil {
			return
		}
		again, err := e.Marshal()
		if err != nil || !bytes.Equal(again, b) {
			t.Fatalf("ParseEvidence(%q).Marshal() = %q, %v", b, again, err)
		}
	})
}

// FuzzCheckEvidence checks that CheckEvidence never panics on a file, and
// that evidence holds only with a finding of its own.
func FuzzCheckEvidence(f *testing.F) {
	w := newWorld(f)
	p := w.policy(f)
	a, b := &fakeLog{w: w}, &fakeLog{w: w}
	a.append(f, []byte("one"), []byte("two"), []byte("three"))
	b.append(f, []byte("one"), []byte("deux"), []byte("trois"))
	pr, err := tlog.ProveTree(3, 2, b.reader())
	if err != nil {
		f.Fatal(err)
	}
	for _, e := range []*client.Evidence{
		{Origin: testOrigin, OlderSize: 2, NewerSize: 3, Older: string(a.note(f, 2)), Newer: string(b.note(f, 3)), Proof: pr},
		{Origin: testOrigin, OlderSize: 3, NewerSize: 3, Older: string(a.note(f, 3)), Newer: string(b.note(f, 3))},
		{Origin: testOrigin, OlderSize: 1, NewerSize: 3, Older: string(a.note(f, 1)), Newer: string(a.note(f, 3)), Proof: []tlog.Hash{{1}, {2}}},
	} {
		e.Format, e.Description, e.Time = client.EvidenceFormat, fileClaim, time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
		data, err := e.Marshal()
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		finding, err := client.CheckEvidence(p, data)
		if err == nil && (finding == "" || strings.Contains(finding, fileClaim)) {
			t.Fatalf("CheckEvidence(%q) holds with the finding %q", data, finding)
		}
	})
}
