package client_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/attestlog/attestlog/client"
	"github.com/attestlog/attestlog/log/claim"
	"github.com/attestlog/attestlog/tiles"
	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"
)

// fakeTiles serves a fakeLog's tlog-tiles resources: tiles and bundles of
// every entry it holds, and a checkpoint set by the test.
type fakeTiles struct {
	log        *fakeLog
	checkpoint []byte
	tamper     func(path string, b []byte) // changes a resource in place
}

func (f *fakeTiles) Fetch(_ context.Context, path string) ([]byte, error) {
	if path == "checkpoint" {
		return bytes.Clone(f.checkpoint), nil
	}
	t, err := tiles.ParsePath(path)
	if err != nil {
		return nil, err
	}
	if t.W > tiles.TileWidth(t.L, t.N, int64(len(f.log.entries))) {
		return nil, fmt.Errorf("%s: %w", path, fs.ErrNotExist)
	}
	var b []byte
	if t.L == tiles.EntriesLevel {
		b, err = tiles.FormatEntryBundle(f.log.entries[t.N*tiles.Width : t.N*tiles.Width+int64(t.W)])
	} else {
		b, err = tlog.ReadTileData(t, f.log.reader())
	}
	if err != nil {
		return nil, err
	}
	if f.tamper != nil {
		f.tamper(path, b)
	}
	return b, nil
}

// fakeIndex is an IndexSource over a fakeLog: honest lookups from
// fakeSource, and mismatches derived here independently of the monitor,
// unless the hooks change them.
type fakeIndex struct {
	*fakeSource
	tamperMismatches func([]client.Mismatch) []client.Mismatch
}

func (x *fakeIndex) Mismatches(context.Context) ([]client.Mismatch, error) {
	type digest struct{ claims, recipes []string }
	var out []client.Mismatch
	seen := map[client.Identity]*client.Mismatch{}
	for i, e := range x.log.entries {
		ent, err := claim.ParseEntry(e)
		if err != nil || func() error { _, err := ent.Verify(); return err }() != nil {
			continue
		}
		c, err := claim.ParseStatement(ent.Payload)
		if err != nil {
			continue
		}
		for _, id := range c.Identities() {
			sub := c.Subjects[slices.IndexFunc(c.Subjects, func(s claim.Subject) bool { return s.Name == id.Artifact })]
			cid := client.Identity{Source: id.Source, Commit: id.Commit, Platform: id.Platform, Artifact: id.Artifact}
			m := seen[cid]
			if m == nil {
				m = &client.Mismatch{ID: cid.ID(), Claim: -1, Identity: cid}
				seen[cid] = m
			}
			k := slices.IndexFunc(m.Digests, func(d client.MismatchDigest) bool { return d.SHA256 == sub.SHA256 })
			if k < 0 {
				k = len(m.Digests)
				m.Digests = append(m.Digests, client.MismatchDigest{SHA256: sub.SHA256})
				if k == 1 {
					m.Claim = int64(i)
				}
			}
			m.Digests[k].Claims = append(m.Digests[k].Claims, int64(i))
			m.Digests[k].Recipes = append(m.Digests[k].Recipes, c.Recipe)
		}
	}
	for _, m := range seen {
		if m.Claim >= 0 {
			out = append(out, *m)
		}
	}
	slices.SortFunc(out, func(a, b client.Mismatch) int { return int(a.Claim - b.Claim) })
	if x.tamperMismatches != nil {
		out = x.tamperMismatches(out)
	}
	return out, nil
}

// monitorWorld is a log a monitor follows: the tiles it serves and its index.
type monitorWorld struct {
	w     *world
	p     *client.Policy
	log   *fakeLog
	tiles *fakeTiles
	index *fakeIndex
	state *client.State
	exec  []int64 // indexes OnClaim was called with
}

func newMonitorWorld(t *testing.T) *monitorWorld {
	w := newWorld(t)
	l := &fakeLog{w: w}
	st, err := client.OpenState(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	return &monitorWorld{w: w, p: w.policy(t), log: l, tiles: &fakeTiles{log: l},
		index: &fakeIndex{fakeSource: &fakeSource{t: t, log: l}}, state: st}
}

// grow appends entries and publishes the checkpoint of the whole log.
func (mw *monitorWorld) grow(t *testing.T, entries ...[]byte) {
	t.Helper()
	mw.log.append(t, entries...)
	mw.tiles.checkpoint = mw.log.note(t, int64(len(mw.log.entries)), 1, 2)
}

func (mw *monitorWorld) pass(t *testing.T) *client.MonitorReport {
	t.Helper()
	r, err := client.MonitorLog(context.Background(), client.MonitorConfig{Policy: mw.p, Tiles: mw.tiles, Index: mw.index, State: mw.state,
		OnClaim: func(_ context.Context, c client.MonitorClaim) error {
			mw.exec = append(mw.exec, c.Index)
			if !bytes.Equal(c.Entry, mw.log.entries[c.Index]) {
				t.Errorf("OnClaim(%d) got another entry", c.Index)
			}
			return nil
		}})
	if err != nil {
		t.Fatalf("MonitorLog: %v", err)
	}
	return r
}

// mismatchOf returns the ID of the mismatch of artifact in the test build.
func mismatchOf(artifact string) string {
	return client.Identity{Source: testSource, Commit: testCommit, Platform: "linux/amd64", Artifact: artifact}.ID()
}

// findings returns the report's findings as "kind@index" or
// "kind#artifact", for a mismatch of an artifact of the test build.
func findings(r *client.MonitorReport) string {
	var out []string
	for _, f := range r.Findings {
		s := f.Kind
		if f.Index != nil {
			s += fmt.Sprintf("@%d", *f.Index)
		}
		if f.Mismatch != "" {
			name := f.Mismatch
			for _, a := range []string{"hello", "other"} {
				if f.Mismatch == mismatchOf(a) {
					name = a
				}
			}
			s += "#" + name
		}
		out = append(out, s)
	}
	return strings.Join(out, " ")
}

func checkReport(t *testing.T, r *client.MonitorReport, oldSize, size int64, claims int, wantFindings string, saved bool) {
	t.Helper()
	if r.OldSize != oldSize || r.Size != size || len(r.Claims) != claims || findings(r) != wantFindings || r.Saved != saved {
		t.Errorf("report: sizes %d to %d, %d claims, findings %q, saved %v; want %d to %d, %d claims, findings %q, saved %v\n%+v",
			r.OldSize, r.Size, len(r.Claims), findings(r), r.Saved, oldSize, size, claims, wantFindings, saved, r.Findings)
	}
}

// manyClaims returns n claims of distinct artifacts with one of six
// digests (good every seventh time), so that few lookups are needed.
func manyClaims(t *testing.T, w *world, from, n int) [][]byte {
	var out [][]byte
	for i := from; i < from+n; i++ {
		d := sha(fmt.Sprint("artifact ", i%5))
		if i%7 == 0 {
			d = good
		}
		out = append(out, w.claimEntry(t, fmt.Sprintf("a%d", i), d, "linux/amd64", "alice"))
	}
	return out
}

func TestMonitorFollowsLog(t *testing.T) {
	mw := newMonitorWorld(t)
	w := mw.w
	mw.grow(t, w.claimEntry(t, "hello", good, "linux/amd64", "ci-a"), w.claimEntry(t, "hello", good, "linux/amd64", "alice", "mallory"),
		w.claimEntry(t, "hello", evil, "linux/amd64", "carol")) // a mismatch, ID 2
	r := mw.pass(t)
	checkReport(t, r, 0, 3, 3, "", true)
	if r.Mismatches != 1 || r.Entries != 3 || r.Bundles != 1 || r.Tiles != 1 || r.Digests != 2 {
		t.Errorf("report %+v", r)
	}
	if got := r.Claims[1]; got.Index != 1 || len(got.Signers) != 2 || got.Subjects[0] != (client.MonitorSubject{Name: "hello", SHA256: good, Platform: "linux/amd64"}) || got.Platform != "linux/amd64" {
		t.Errorf("claim 1 %+v", got)
	}

	// Across the boundary of the first entry bundle, another mismatch (ID 5).
	mw.grow(t, manyClaims(t, w, 0, 250)...)
	mw.grow(t, w.claimEntry(t, "a2", evil, "linux/amd64", "bob"))
	mw.grow(t, manyClaims(t, w, 1000, 50)...)
	mw.exec = nil
	r = mw.pass(t)
	checkReport(t, r, 3, 304, 301, "", true)
	if r.Mismatches != 2 || r.Bundles != 2 || len(mw.exec) != 301 || mw.exec[0] != 3 || mw.exec[300] != 303 {
		t.Errorf("report %+v, OnClaim for %d claims", r, len(mw.exec))
	}

	// Nothing new: no claims, and the mismatches are compared again.
	mw.exec = nil
	r = mw.pass(t)
	checkReport(t, r, 304, 304, 0, "", true)
	if r.Mismatches != 2 || len(mw.exec) != 0 {
		t.Errorf("report %+v, OnClaim %v", r, mw.exec)
	}

	// A fresh state file reads back as written: the next pass is the same.
	b, err := os.ReadFile(filepath.Join(mw.state.Dir(), originHashOf(testOrigin)+".monitor.json"))
	if err != nil || !bytes.Contains(b, []byte(`"format": "attestlog.dev/monitor/v1"`)) || !bytes.Contains(b, []byte(`"size": 304`)) {
		t.Fatalf("monitor state: %v\n%.300s", err, b)
	}
}

func TestMonitorFindsLies(t *testing.T) {
	setup := func(t *testing.T) *monitorWorld {
		mw := newMonitorWorld(t)
		w := mw.w
		mw.grow(t, w.claimEntry(t, "hello", good, "linux/amd64", "ci-a"), w.claimEntry(t, "hello", good, "linux/amd64", "alice"),
			w.claimEntry(t, "hello", evil, "linux/amd64", "carol"), w.claimEntry(t, "other", sha("o"), "linux/amd64", "bob"))
		return mw
	}
	dropIndex := func(d string, idx int64) func(*client.Lookup) {
		return func(lk *client.Lookup) {
			lk.Claims = slices.DeleteFunc(lk.Claims, func(pc client.ProvenClaim) bool {
				return pc.Index == idx && namesDigestOf(pc.Entry, d)
			})
		}
	}
	tests := []struct {
		desc   string
		tamper func(*testing.T, *monitorWorld)
		want   string
		saved  bool
	}{
		{desc: "hidden claim", tamper: func(t *testing.T, mw *monitorWorld) { mw.index.tamperDigest = dropIndex(good, 1) },
			want: "hidden claim@1", saved: true},
		{desc: "dissenting claim hidden by source", tamper: func(t *testing.T, mw *monitorWorld) {
			mw.index.tamperSource = func(lk *client.Lookup) {
				lk.Claims = slices.DeleteFunc(lk.Claims, func(pc client.ProvenClaim) bool { return pc.Index == 2 })
			}
		}, want: "hidden claim@2 hidden claim@2", saved: true},
		{desc: "invented claim", tamper: func(t *testing.T, mw *monitorWorld) {
			mw.index.tamperDigest = func(lk *client.Lookup) {
				if len(lk.Claims) > 0 && namesDigestOf(lk.Claims[0].Entry, evil) {
					lk.Claims = append(lk.Claims, client.ProvenClaim{Index: 3, Entry: mw.log.entries[3], Proof: proveRecord(t, mw.log, 4, 3)})
				}
			}
		}, want: "invented claim@3", saved: true},
		{desc: "lookup with a bad proof", tamper: func(t *testing.T, mw *monitorWorld) {
			mw.index.tamperDigest = func(lk *client.Lookup) {
				for i := range lk.Claims {
					if lk.Claims[i].Index == 0 {
						lk.Claims[i].Proof[0][0] ^= 1
					}
				}
			}
		}, want: "lookup@0", saved: true},
		{desc: "lookup index twice", tamper: func(t *testing.T, mw *monitorWorld) {
			mw.index.tamperDigest = func(lk *client.Lookup) {
				if len(lk.Claims) == 2 {
					lk.Claims = append(lk.Claims, lk.Claims[1])
				}
			}
		}, want: "lookup@1", saved: true},
		{desc: "missing mismatch", tamper: func(t *testing.T, mw *monitorWorld) {
			mw.index.tamperMismatches = func([]client.Mismatch) []client.Mismatch { return nil }
		}, want: "missing mismatch#hello", saved: true},
		{desc: "mismatch missing a claim", tamper: func(t *testing.T, mw *monitorWorld) {
			mw.index.tamperMismatches = func(ms []client.Mismatch) []client.Mismatch {
				ms[0].Digests[0].Claims, ms[0].Digests[0].Recipes = ms[0].Digests[0].Claims[:1], ms[0].Digests[0].Recipes[:1]
				return ms
			}
		}, want: "missing mismatch#hello", saved: true},
		{desc: "invented mismatch", tamper: func(t *testing.T, mw *monitorWorld) {
			mw.index.tamperMismatches = func(ms []client.Mismatch) []client.Mismatch {
				return append(ms, client.Mismatch{ID: mismatchOf("other"), Claim: 3, Identity: client.Identity{Source: testSource, Commit: testCommit, Platform: "linux/amd64", Artifact: "other"},
					Digests: []client.MismatchDigest{{SHA256: sha("o"), Claims: []int64{3}, Recipes: []string{sha("recipe")}}, {SHA256: good, Claims: []int64{3}, Recipes: []string{sha("recipe")}}}})
			}
		}, want: "invented mismatch#other", saved: true},
		{desc: "mismatch with another recipe", tamper: func(t *testing.T, mw *monitorWorld) {
			mw.index.tamperMismatches = func(ms []client.Mismatch) []client.Mismatch {
				ms[0].Digests[1].Recipes[0] = sha("other recipe")
				return ms
			}
		}, want: "invented mismatch#hello", saved: true},
		{desc: "mismatch past the checkpoint is ignored", tamper: func(t *testing.T, mw *monitorWorld) {
			mw.index.tamperMismatches = func(ms []client.Mismatch) []client.Mismatch {
				return append(ms, client.Mismatch{ID: client.Identity{Source: testSource}.ID(), Claim: 9, Identity: client.Identity{Source: testSource}})
			}
		}, want: "", saved: true},
		{desc: "tampered leaf hash", tamper: func(t *testing.T, mw *monitorWorld) {
			mw.tiles.tamper = func(path string, b []byte) {
				if path == "tile/0/000.p/4" {
					b[40] ^= 1
				}
			}
		}, want: "tile", saved: false},
		{desc: "tampered entry bundle", tamper: func(t *testing.T, mw *monitorWorld) {
			mw.tiles.tamper = func(path string, b []byte) {
				if path == "tile/entries/000.p/4" {
					b[len(b)-20] ^= 1
				}
			}
		}, want: "bundle", saved: false},
		{desc: "checkpoint without the witness quorum", tamper: func(t *testing.T, mw *monitorWorld) {
			mw.tiles.checkpoint = mw.log.note(t, 4, 3)
		}, want: "checkpoint", saved: false},
		{desc: "logged claim with a bad signature", tamper: func(t *testing.T, mw *monitorWorld) {
			ent, _ := claim.ParseEntry(mw.w.claimEntry(t, "bad", sha("bad"), "linux/amd64", "bob"))
			ent.Signatures[0].Sig[0] ^= 1
			mw.grow(t, ent.Marshal())
		}, want: "bad signature@4 invented claim@4 invented claim@4", saved: true}, // the lookups by source return it
		{desc: "logged entry that is no claim", tamper: func(t *testing.T, mw *monitorWorld) {
			mw.grow(t, []byte("not a claim"))
		}, want: "malformed entry@4", saved: true},
		{desc: "logged index commitment", tamper: func(t *testing.T, mw *monitorWorld) {
			mw.log.commit(t, int64(len(mw.log.entries)))
			mw.grow(t)
		}, want: "", saved: true},
		{desc: "malformed index commitment", tamper: func(t *testing.T, mw *monitorWorld) {
			mw.grow(t, []byte("attestlog.dev/index-commitment/v1\nsize 04\n"))
		}, want: "malformed entry@4", saved: true},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			mw := setup(t)
			tt.tamper(t, mw)
			r := mw.pass(t)
			checkReport(t, r, 0, int64(len(mw.log.entries)), len(r.Claims), tt.want, tt.saved)
			if !tt.saved && len(mw.exec) != 0 {
				t.Errorf("OnClaim ran for %v in a pass that found %s", mw.exec, tt.want)
			}
		})
	}

	t.Run("finding repeated until the log answers right", func(t *testing.T) {
		mw := setup(t)
		mw.index.tamper = dropIndex(good, 1) // by digest and by source
		checkReport(t, mw.pass(t), 0, 4, 4, "hidden claim@1 hidden claim@1 hidden claim@1", true)
		checkReport(t, mw.pass(t), 4, 4, 0, "hidden claim@1 hidden claim@1 hidden claim@1", true)
		mw.index.tamper = nil
		r := mw.pass(t)
		checkReport(t, r, 4, 4, 0, "", true)
		if r.Digests != 1 || r.Sources != 2 {
			t.Errorf("looked up %d digests and %d sources, want the ones rechecked (1 and 2)", r.Digests, r.Sources)
		}
		checkReport(t, mw.pass(t), 4, 4, 0, "", true)
	})

	t.Run("tampering repeated until fixed", func(t *testing.T) {
		mw := setup(t)
		mw.tiles.tamper = func(path string, b []byte) { b[0] ^= 1 }
		checkReport(t, mw.pass(t), 0, 4, 0, "tile", false)
		checkReport(t, mw.pass(t), 0, 4, 0, "tile", false)
		mw.tiles.tamper = nil
		checkReport(t, mw.pass(t), 0, 4, 4, "", true)
	})

	t.Run("OnClaim fails", func(t *testing.T) {
		mw := setup(t)
		calls := 0
		cfg := client.MonitorConfig{Policy: mw.p, Tiles: mw.tiles, Index: mw.index, State: mw.state,
			OnClaim: func(context.Context, client.MonitorClaim) error {
				if calls++; calls == 2 {
					return errors.New("rebuild failed")
				}
				return nil
			}}
		if _, err := client.MonitorLog(context.Background(), cfg); err == nil || !strings.Contains(err.Error(), "new claim 1: rebuild failed") {
			t.Fatalf("MonitorLog = %v, want OnClaim's error", err)
		}
		r, err := client.MonitorLog(context.Background(), cfg) // at least once: from the start again
		if err != nil || r.OldSize != 0 || !r.Saved || calls != 6 {
			t.Fatalf("second pass: %v, %+v, %d calls", err, r, calls)
		}
	})
}

func TestMonitorFindsForks(t *testing.T) {
	tests := []struct {
		desc                 string
		monitored, served    int64 // sizes of log A the monitor reached, and of fork B served
		indexA               bool  // the index's consistency proofs are from log A (the remembered tree), not B
		rememberVerifiedOnly bool  // only the monitor state remembers, the client state does not
		wantFinding          string
		wantEvidence         bool
	}{
		{desc: "equal-size fork", monitored: 4, served: 4, wantFinding: "inconsistency", wantEvidence: true},
		{desc: "larger inconsistent checkpoint", monitored: 3, served: 6, wantFinding: "inconsistency", wantEvidence: true},
		// From a tree size that is a power of two no proof is evidence,
		// but the tiles authenticated against the new checkpoint show the fork.
		{desc: "larger inconsistent checkpoint, from a power of two", monitored: 4, served: 6, wantFinding: "inconsistency"},
		{desc: "smaller non-prefix checkpoint, proven by the log", monitored: 6, served: 5, indexA: true, wantFinding: "inconsistency", wantEvidence: true},
		// The index's proof is of B's tree: it shows nothing against A's
		// remembered checkpoint; the smaller checkpoint is stale.
		{desc: "smaller non-prefix checkpoint, the proof shows nothing", monitored: 6, served: 5, wantFinding: "stale checkpoint"},
		{desc: "larger inconsistent checkpoint, client state lost", monitored: 3, served: 6, rememberVerifiedOnly: true, wantFinding: "inconsistency", wantEvidence: true},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			w := newWorld(t)
			p := w.policy(t)
			a, b := forkedLogs(t, w)
			st, err := client.OpenState(t.TempDir())
			if err != nil {
				t.Fatal(err)
			}
			full := func(l *fakeLog, size int64) *fakeLog {
				c := &fakeLog{w: w}
				c.append(t, l.entries[:size]...)
				return c
			}
			run := func(l, index *fakeLog, size int64) *client.MonitorReport {
				r, err := client.MonitorLog(context.Background(), client.MonitorConfig{Policy: p, State: st,
					Tiles: &fakeTiles{log: full(l, size), checkpoint: l.note(t, size, 1, 2)},
					Index: &fakeIndex{fakeSource: &fakeSource{t: t, log: index}}})
				if err != nil {
					t.Fatal(err)
				}
				return r
			}
			checkReport(t, run(a, a, tt.monitored), 0, tt.monitored, int(tt.monitored), "", true)
			if tt.rememberVerifiedOnly {
				os.Remove(filepath.Join(st.Dir(), originHashOf(testOrigin)+".checkpoint"))
			}
			index := b
			if tt.indexA {
				index = a
			}
			r := run(b, index, tt.served)
			checkReport(t, r, tt.monitored, tt.served, 0, tt.wantFinding, false)
			if !tt.wantEvidence {
				if r.Evidence != "" {
					t.Errorf("evidence %s written, want none", r.Evidence)
				}
				return
			}
			ev, err := os.ReadFile(r.Evidence)
			if err != nil {
				t.Fatalf("evidence file: %v", err)
			}
			if _, err := client.CheckEvidence(p, ev); err != nil {
				t.Errorf("CheckEvidence: %v\n%s", err, ev)
			}
		})
	}
}

func namesDigestOf(entry []byte, d string) bool {
	e, err := claim.ParseEntry(entry)
	if err != nil {
		return false
	}
	c, err := claim.ParseStatement(e.Payload)
	return err == nil && slices.ContainsFunc(c.Subjects, func(s claim.Subject) bool { return s.SHA256 == d })
}

func originHashOf(origin string) string { return sha(origin) }

func TestMonitorState(t *testing.T) {
	mw := newMonitorWorld(t)
	w := mw.w
	mw.grow(t, w.claimEntry(t, "hello", good, "linux/amd64", "ci-a"), w.claimEntry(t, "hello", evil, "linux/amd64", "alice"))
	checkReport(t, mw.pass(t), 0, 2, 2, "", true)
	path := filepath.Join(mw.state.Dir(), originHashOf(testOrigin)+".monitor.json")
	saved, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{`"format": "attestlog.dev/monitor/v1"`, `"origin": "example.test/attestlog"`, `"size": 2`,
		`"artifact": "hello"`, `"claims": [` + "\n" + `            0` + "\n", `"recheck": []`} {
		if !bytes.Contains(saved, []byte(s)) {
			t.Errorf("monitor state lacks %q:\n%s", s, saved)
		}
	}
	if _, err := client.MonitorLog(context.Background(), client.MonitorConfig{Policy: mw.p}); err == nil {
		t.Error("MonitorLog without Tiles, Index and State succeeded")
	}
	_, otherVKey := keys(t, testOrigin, 99)
	for _, tt := range []struct {
		desc, wantErr string
		edit          func([]byte) []byte
	}{
		{"not canonical", "not in canonical form", func(b []byte) []byte { return bytes.Replace(b, []byte("\n  "), []byte("\n   "), 1) }},
		{"another format", "format", func(b []byte) []byte {
			return bytes.Replace(b, []byte("attestlog.dev/monitor/v1"), []byte("attestlog.dev/monitor/v2"), 1)
		}},
		{"size not the checkpoint's", "size 3", func(b []byte) []byte { return bytes.Replace(b, []byte(`"size": 2`), []byte(`"size": 3`), 1) }},
		{"claim past the size", "malformed digest", func(b []byte) []byte {
			return bytes.Replace(b, []byte("            0\n"), []byte("            7\n"), 1)
		}},
		{"checkpoint of another log key", "verifying checkpoint signature", func(b []byte) []byte {
			p, err := client.ParsePolicy([]byte(strings.Replace(w.policyText(), w.logVKey, otherVKey, 1)))
			if err != nil {
				t.Fatal(err)
			}
			mw.p = p
			mw.tiles.checkpoint = signWith(t, w, mw.tiles.checkpoint, otherVKey, 99)
			return b
		}},
	} {
		t.Run(tt.desc, func(t *testing.T) {
			defer func(p *client.Policy, cp []byte) { mw.p, mw.tiles.checkpoint = p, cp }(mw.p, mw.tiles.checkpoint)
			st, err := client.OpenState(t.TempDir())
			if err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(st.Dir(), filepath.Base(path)), tt.edit(bytes.Clone(saved)), 0o600); err != nil {
				t.Fatal(err)
			}
			_, err = client.MonitorLog(context.Background(), client.MonitorConfig{Policy: mw.p, Tiles: mw.tiles, Index: mw.index, State: st})
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("MonitorLog with a state file %s = %v, want an error containing %q", tt.desc, err, tt.wantErr)
			}
		})
	}
}

// signWith re-signs a checkpoint note's text with the log key of seed,
// whose vkey is vkey, and has witnesses w1 and w2 cosign it.
func signWith(t *testing.T, w *world, msg []byte, vkey string, seed byte) []byte {
	t.Helper()
	skey, v := keys(t, testOrigin, seed)
	if v != vkey {
		t.Fatalf("key of seed %d is %s, not %s", seed, v, vkey)
	}
	text, _, _ := bytes.Cut(msg, []byte("\n\n"))
	out, err := note.Sign(&note.Note{Text: string(text) + "\n"}, signer(t, skey), w.witnesses[0], w.witnesses[1])
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func TestMonitorStaleCheckpoint(t *testing.T) {
	mw := newMonitorWorld(t)
	w := mw.w
	mw.grow(t, w.claimEntry(t, "hello", good, "linux/amd64", "ci-a"), w.claimEntry(t, "hello", good, "linux/amd64", "alice"),
		w.claimEntry(t, "hello", good, "linux/amd64", "bob"))
	checkReport(t, mw.pass(t), 0, 3, 3, "", true)
	latest := mw.tiles.checkpoint

	// A mirror still serving the checkpoint of size 2, a prefix of size 3.
	mw.tiles.checkpoint = mw.log.note(t, 2, 1, 2)
	for range 2 { // and again: the state did not go back
		r := mw.pass(t)
		checkReport(t, r, 3, 2, 0, "stale checkpoint", false)
		if d := firstDetail(r); !strings.Contains(d, "tree size 2, smaller than the tree size 3 remembered") {
			t.Errorf("finding %q, want both sizes", d)
		}
	}
	mw.tiles.checkpoint = latest
	checkReport(t, mw.pass(t), 3, 3, 0, "", true)

	// MaxAge: the witnesses cosigned the checkpoint just now.
	run := func(now time.Time) *client.MonitorReport {
		r, err := client.MonitorLog(context.Background(), client.MonitorConfig{Policy: mw.p, Tiles: mw.tiles, Index: mw.index, State: mw.state,
			MaxAge: 24 * time.Hour, Now: func() time.Time { return now }})
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	checkReport(t, run(time.Now()), 3, 3, 0, "", true)
	r := run(time.Now().Add(25 * time.Hour))
	checkReport(t, r, 3, 3, 0, "stale checkpoint", true)
	if d := firstDetail(r); !strings.Contains(d, "the checkpoint of tree size 3 is too old: the newest cosignature is from") ||
		!strings.Contains(d, "more than the maximum age 24h0m0s") {
		t.Errorf("finding %q, want the cosignature's age", d)
	}
}

// firstDetail returns the detail of the report's first finding, or "".
func firstDetail(r *client.MonitorReport) string {
	if len(r.Findings) == 0 {
		return ""
	}
	return r.Findings[0].Detail
}
