package client_test

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/attestlog/attestlog/client"
	"github.com/attestlog/attestlog/log/claim/format"
	"github.com/attestlog/attestlog/log/claim/record/recordtest"
)

// digestOnlyWorld is a monitored log whose first two claims are SHA256SUMS
// files of two builders naming one release file (digest-only claims: a
// lookup by name finds them), the second builder's with another digest.
func digestOnlyWorld(t *testing.T) (*monitorWorld, [][]byte) {
	t.Helper()
	mw := newMonitorWorld(t)
	const name = "hello-1.0-x86_64-linux-gnu.tar.gz"
	a, b := recordtest.NewEd25519(t, 50), recordtest.NewEd25519(t, 51)
	file := []byte("hello 1.0\n")
	return mw, [][]byte{
		a.SumsEntry(t, recordtest.Sums(map[string][]byte{name: file, "hello-1.0.tar.gz": []byte("src\n")}), format.Annotations{}),
		b.SumsEntry(t, recordtest.Sums(map[string][]byte{name: file}), format.Annotations{}),
		b.SumsEntry(t, recordtest.SumsWithDigest(name, sha("evil")), format.Annotations{}),
	}
}

// TestMonitorNameLookups checks that the monitor audits the lookups by file
// name that verify relies on for digest-only claims, as it audits those by
// digest and by source: a lookup that drops a claim naming the file is a
// hidden claim, the lookup is checked again on the next passes until it is
// right, and the monitor's own index of names and of the digests of
// digest-only claims survives its state file.
func TestMonitorNameLookups(t *testing.T) {
	t.Run("honest", func(t *testing.T) {
		mw, es := digestOnlyWorld(t)
		mw.grow(t, es[0])
		r := mw.pass(t)
		checkReport(t, r, 0, 1, 1, "", true)
		if r.Names != 2 || r.Digests != 2 {
			t.Errorf("names checked %d, digests %d; want 2 and 2", r.Names, r.Digests)
		}
		// Pass 2 reads the state pass 1 saved: the claim at 0 is still in
		// the monitor's index by digest and by name.
		mw.grow(t, es[1], es[2])
		r = mw.pass(t)
		checkReport(t, r, 1, 3, 2, "", true)
		if r.Names != 1 || r.Digests != 2 {
			t.Errorf("names checked %d, digests %d; want 1 and 2", r.Names, r.Digests)
		}
		path := filepath.Join(mw.state.Dir(), originHashOf(testOrigin)+".monitor.json")
		saved, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range []string{`"other_digests": [`, `"names": [`, `"name": "hello-1.0-x86_64-linux-gnu.tar.gz",` + "\n" + `      "claims": [` + "\n" + `        0,` + "\n" + `        1,` + "\n" + `        2` + "\n"} {
			if !bytes.Contains(saved, []byte(s)) {
				t.Errorf("monitor state lacks %q:\n%s", s, saved)
			}
		}
		// A state naming a claim past its size is refused.
		st, err := client.OpenState(t.TempDir())
		if err != nil {
			t.Fatal(err)
		}
		bad := bytes.Replace(saved, []byte("        2\n"), []byte("        9\n"), 1)
		if err := os.WriteFile(filepath.Join(st.Dir(), filepath.Base(path)), bad, 0o600); err != nil {
			t.Fatal(err)
		}
		if _, err := client.MonitorLog(context.Background(), client.MonitorConfig{Policy: mw.p, Tiles: mw.tiles, Index: mw.index, State: st}); err == nil || !strings.Contains(err.Error(), "malformed or out of order") {
			t.Errorf("a state with a claim past its size: %v", err)
		}
	})
	t.Run("claim left out of the committed map", func(t *testing.T) {
		mw, es := digestOnlyWorld(t)
		mw.log.append(t, es...)
		mw.log.hidden = map[int64]bool{2: true}
		mw.log.commit(t, 3)
		mw.grow(t)
		r := mw.pass(t)
		if !slices.ContainsFunc(r.Findings, func(f client.Finding) bool {
			return f.Kind == client.FindingIndex && strings.Contains(f.Detail, "the lookup by file name (hello-1.0-x86_64-linux-gnu.tar.gz) came with the map proof")
		}) {
			t.Errorf("no wrong-index finding of the lookup by name: %q %+v", findings(r), r.Findings)
		}
	})
	t.Run("claim dropped from a name lookup", func(t *testing.T) {
		mw, es := digestOnlyWorld(t)
		mw.grow(t, es...)
		drop := func(lk *client.Lookup) {
			lk.Claims = slices.DeleteFunc(lk.Claims, func(pc client.ProvenClaim) bool { return pc.Index == 2 })
		}
		mw.index.tamperName = drop
		r := mw.pass(t)
		checkReport(t, r, 0, 3, 3, "hidden claim@2", true)
		if len(r.Findings) == 1 && !strings.Contains(r.Findings[0].Detail, "by file name (hello-1.0-x86_64-linux-gnu.tar.gz)") {
			t.Errorf("finding %q does not name the lookup", r.Findings[0].Detail)
		}
		// No new entry: the lookup with a finding is made again.
		checkReport(t, mw.pass(t), 3, 3, 0, "hidden claim@2", true)
		mw.index.tamperName = nil
		checkReport(t, mw.pass(t), 3, 3, 0, "", true)
		if r := mw.pass(t); r.Names != 0 {
			t.Errorf("a right lookup was made again: %d names checked", r.Names)
		}
	})
}
