package client_test

import (
	"bytes"
	"encoding/json"
	"os"
	"strings"
	"testing"

	"github.com/attestlog/attestlog/client"
	"github.com/attestlog/attestlog/log/vindex"
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
