package client_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/attestlog/attestlog/client"
	"github.com/attestlog/attestlog/log/vindex"
	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"
)

// TestMonitorFindsWrongIndexCommitment: a log that commits a map leaving
// out a claim (and hides it from its lookups, consistently with the map) is
// reported by the monitor, which recomputes the map from the entries: the
// commitment's root is wrong, and the map proof of the lookup by digest
// leaves out the claim, with evidence that CheckEvidence (verify
// --evidence) accepts and that no tampering keeps valid. Honest
// commitments, before it and after a restart of the monitor (which
// recomputes the map from the tiles), are not reported.
func TestMonitorFindsWrongIndexCommitment(t *testing.T) {
	mw := newMonitorWorld(t)
	w := mw.w
	mw.log.append(t, manyClaims(t, w, 0, 5)...)
	mw.log.commit(t, 5)
	mw.grow(t, manyClaims(t, w, 5, 2)...)
	checkReport(t, mw.pass(t), 0, 8, 7, "", true)

	// A monitor process starting again recomputes the map from the tiles.
	st, err := client.OpenState(mw.state.Dir())
	if err != nil {
		t.Fatal(err)
	}
	mw.state = st
	mw.log.append(t, manyClaims(t, w, 7, 3)...)
	mw.log.commit(t, 11)
	mw.grow(t)
	checkReport(t, mw.pass(t), 8, 12, 3, "", true)

	// The lying log leaves claim 13, which names the digest good, out of
	// its map and of its lookups.
	mw.log.append(t, w.claimEntry(t, "x", good, "linux/amd64", "bob"), w.claimEntry(t, "y", good, "linux/amd64", "carol"))
	mw.log.hidden = map[int64]bool{13: true}
	mw.log.commit(t, 14)
	mw.grow(t)
	r := mw.pass(t)
	got := findings(r)
	for _, want := range []string{"wrong index@14", "hidden claim@13"} {
		if !strings.Contains(got, want) {
			t.Errorf("findings %q, want %q among them", got, want)
		}
	}
	if r.Evidence == "" {
		t.Fatalf("no evidence file; findings %+v", r.Findings)
	}
	b, err := os.ReadFile(r.Evidence)
	if err != nil {
		t.Fatal(err)
	}
	finding, err := client.CheckEvidence(mw.p, b)
	if err != nil || !strings.Contains(finding, "committed a wrong index at entry 14") || !strings.Contains(finding, "leaves out entry 13") {
		t.Fatalf("CheckEvidence = %q, %v; want a wrong index leaving out entry 13", finding, err)
	}
	if _, err := client.ParseAnyEvidence(b); err != nil {
		t.Errorf("ParseAnyEvidence: %v", err)
	}

	ev, err := client.ParseIndexEvidence(b)
	if err != nil {
		t.Fatal(err)
	}
	honest := mw.log.entries[12]
	for _, tc := range []struct {
		desc   string
		change func(e *client.IndexEvidence)
		want   string
	}{
		{"map proof changed", func(e *client.IndexEvidence) { e.MapProof[len(e.MapProof)-1] ^= 1 }, "map proof does not verify"},
		{"another key", func(e *client.IndexEvidence) { e.Key = vindex.DigestKey(evil).String() }, "map proof does not verify"},
		{"an entry the map lists", func(e *client.IndexEvidence) {
			e.Entry.Index, e.Entry.Entry = 12, honest
			e.Entry.Proof = proveEntry(t, mw, 12)
		}, "no contradiction"},
		{"entry changed", func(e *client.IndexEvidence) { e.Entry.Entry = honest }, "inclusion"},
		{"commitment with the honest root", func(e *client.IndexEvidence) {
			ms, _ := mw.log.mapOf(t, 0)
			root, _ := vindex.Root(ms)
			e.Commitment.Entry = vindex.Commitment{Size: 14, Root: root}.Marshal()
		}, "inclusion"},
		{"checkpoint re-signed by another key", func(e *client.IndexEvidence) {
			_, other := keys(t, testOrigin, 99)
			e.Checkpoint = string(signWith(t, w, []byte(e.Checkpoint), other, 99))
		}, "not signed by the log"},
		{"another origin", func(e *client.IndexEvidence) { e.Origin = "other.example/log" }, "not signed by the log"},
	} {
		c := *ev
		c.MapProof = bytes.Clone(ev.MapProof)
		tc.change(&c)
		tb, err := c.Marshal()
		if err != nil {
			t.Fatal(err)
		}
		if finding, err := client.CheckEvidence(mw.p, tb); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: CheckEvidence = %q, %v; want an error with %q", tc.desc, finding, err, tc.want)
		}
	}
	// Not in the one spelling: refused.
	var loose map[string]any
	if err := json.Unmarshal(b, &loose); err != nil {
		t.Fatal(err)
	}
	compact, _ := json.Marshal(loose)
	if _, err := client.CheckEvidence(mw.p, compact); err == nil {
		t.Error("CheckEvidence accepted evidence in another spelling")
	}
}

// proveEntry returns the inclusion proof of entry idx in the monitor
// world's whole tree.
func proveEntry(t *testing.T, mw *monitorWorld, idx int64) []tlog.Hash {
	t.Helper()
	p, err := tlog.ProveRecord(int64(len(mw.log.entries)), idx, mw.log.reader())
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// FuzzCheckIndexEvidence: ParseIndexEvidence accepts only its own spelling
// (parse then marshal gives the same bytes), and CheckEvidence never panics
// on an index evidence file and holds only with a finding.
func FuzzCheckIndexEvidence(f *testing.F) {
	w := newWorld(f)
	p := w.policy(f)
	l := &fakeLog{w: w}
	l.append(f, w.claimEntry(f, "x", good, "linux/amd64", "bob"), w.claimEntry(f, "y", good, "linux/amd64", "carol"))
	l.hidden = map[int64]bool{0: true}
	l.commit(f, 2)
	ip := l.indexProof(f, vindex.DigestKey(good), 3)
	incl, err := tlog.ProveRecord(3, 0, l.reader())
	if err != nil {
		f.Fatal(err)
	}
	ev := &client.IndexEvidence{Format: client.IndexEvidenceFormat, Description: "left out", Time: time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC),
		Origin: testOrigin, Checkpoint: string(l.note(f, 3, 1, 2)), Key: vindex.DigestKey(good).String(), MapProof: ip.MapProof,
		Commitment: client.ProvenEntryJSON{Index: ip.Commitment.Index, Entry: ip.Commitment.Entry, Proof: ip.Commitment.Proof},
		Entry:      client.ProvenEntryJSON{Index: 0, Entry: l.entries[0], Proof: incl}}
	data, err := ev.Marshal()
	if err != nil {
		f.Fatal(err)
	}
	if _, err := client.CheckEvidence(p, data); err != nil {
		f.Fatalf("seed evidence does not hold: %v", err)
	}
	f.Add(data)
	f.Add([]byte(`{"format":"attestlog.dev/evidence/index/v1"}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		if e, err := client.ParseIndexEvidence(b); err == nil {
			again, err := e.Marshal()
			if err != nil || !bytes.Equal(again, b) {
				t.Fatalf("ParseIndexEvidence(%q).Marshal() = %q, %v", b, again, err)
			}
		}
		if finding, err := client.CheckEvidence(p, b); err == nil && finding == "" {
			t.Fatal("evidence holds with no finding")
		}
	})
}

// TestCheckLogChecksIndex: CheckLog recomputes the index from the entries
// and refuses a log with an index commitment whose root is not the map of
// the entries below its size, or one that names a size past itself.
func TestCheckLogChecksIndex(t *testing.T) {
	w := newWorld(t)
	v, err := note.NewVerifier(w.logVKey)
	if err != nil {
		t.Fatal(err)
	}
	check := func(l *fakeLog) (client.CheckReport, error) {
		size := int64(len(l.entries))
		return client.CheckLog(context.Background(), &fakeTiles{log: l, checkpoint: l.note(t, size)}, v)
	}
	l := &fakeLog{w: w}
	l.append(t, manyClaims(t, w, 0, 300)...)
	l.commit(t, 300)
	l.append(t, manyClaims(t, w, 300, 5)...)
	l.commit(t, 303)
	if r, err := check(l); err != nil || r.Commitments != 2 {
		t.Fatalf("CheckLog(honest log) = %+v, %v; want 2 commitments checked", r, err)
	}

	l.hidden = map[int64]bool{302: true}
	l.commit(t, 306)
	if _, err := check(l); !errors.Is(err, client.ErrCheck) || !strings.Contains(err.Error(), "entry 307: the index commitment at 307 gives the map of the entries below 306 the root") {
		t.Errorf("CheckLog(log with a wrong root) = %v, want ErrCheck naming commitment 307", err)
	}

	l = &fakeLog{w: w}
	l.append(t, manyClaims(t, w, 0, 2)...)
	l.append(t, vindex.Commitment{Size: 3}.Marshal())
	if _, err := check(l); !errors.Is(err, client.ErrCheck) || !strings.Contains(err.Error(), "names size 3, past itself") {
		t.Errorf("CheckLog(log with a commitment past itself) = %v, want ErrCheck", err)
	}
}
