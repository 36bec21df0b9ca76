package vindex_test

import (
	"bytes"
	"fmt"
	"strings"
	"testing"

	"github.com/attestlog/attestlog/log/claim"
	"github.com/attestlog/attestlog/log/vindex"
	"golang.org/x/mod/sumdb/note"
)

// TestReplay: the replay's root at each size is the root of the map built
// from nothing over the entries below it, and it refuses to go back.
func TestReplay(t *testing.T) {
	skey, vkey, err := note.GenerateKey(bytes.NewReader(bytes.Repeat([]byte{7}, 32)), "builder.example")
	if err != nil {
		t.Fatal(err)
	}
	s, err := note.NewSigner(skey)
	if err != nil {
		t.Fatal(err)
	}
	var entries [][]byte
	for i := range 6 {
		c := &claim.Claim{Subjects: []claim.Subject{{Name: "x", SHA256: fmt.Sprintf("%064x", i%4)}}, Source: "git+https://example.org/x",
			Commit: strings.Repeat("c", 40), Recipe: strings.Repeat("0", 64), Platform: "linux/amd64", BuilderID: "https://builder.example"}
		st, err := claim.NewStatement(c)
		if err != nil {
			t.Fatal(err)
		}
		e, err := claim.SignStatement(st, claim.Key{Signer: s, VKey: vkey})
		if err != nil {
			t.Fatal(err)
		}
		entries = append(entries, e.Marshal())
	}
	entries = append(entries[:3], append([][]byte{vindex.Commitment{Size: 3}.Marshal(), []byte("junk")}, entries[3:]...)...)
	var r vindex.Replay
	for _, e := range entries {
		r.Add(e)
	}
	for _, n := range []int64{0, 2, 2, 5, 8} {
		want := &vindex.MemStore{}
		var adds []vindex.Addition
		for i, e := range entries[:n] {
			keys, _ := vindex.EntryKeys(e)
			for _, k := range keys {
				adds = append(adds, vindex.Addition{Key: k, Index: int64(i)})
			}
		}
		wantRoot, err := vindex.Update(want, adds)
		if err != nil {
			t.Fatal(err)
		}
		if got, err := r.RootAt(n); err != nil || got != wantRoot {
			t.Errorf("RootAt(%d) = %s, %v; want %s", n, got, err, wantRoot)
		}
	}
	if _, err := r.RootAt(7); err == nil {
		t.Error("RootAt(7) after RootAt(8) succeeded")
	}
	if _, err := r.RootAt(9); err == nil {
		t.Error("RootAt(9) past the entries succeeded")
	}
}
