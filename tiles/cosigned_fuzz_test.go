package tiles_test

import (
	"testing"

	"github.com/attestlog/attestlog/tiles"
	fnote "github.com/transparency-dev/formats/note"
	"golang.org/x/mod/sumdb/note"
)

// FuzzVerifyCheckpoint feeds notes to Policy.VerifyCheckpoint: it never
// panics, and what it accepts carries a log signature and a parsed body.
func FuzzVerifyCheckpoint(f *testing.F) {
	logS, logV := key(f, "example.org/log", 1)
	wS, wV := witnessKey(f, "w.example", 2)
	p, err := tiles.ParsePolicy([]byte("log " + logV + "\nwitness w " + wV + "\nquorum w\n"))
	if err != nil {
		f.Fatal(err)
	}
	ls, _ := note.NewSigner(logS)
	ws, _ := fnote.NewSignerForCosignatureV1(wS)
	good, _ := note.Sign(&note.Note{Text: string(tiles.Checkpoint{Origin: "example.org/log", Size: 3, Hash: [32]byte{7}}.Format())}, ls, ws)
	f.Add(good)
	f.Add([]byte("example.org/log\n3\n\n— example.org/log AAAA\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		vc, err := p.VerifyCheckpoint(b)
		if err == nil && (vc.Origin != "example.org/log" || vc.Log.VKey != logV) {
			t.Fatalf("VerifyCheckpoint(%q) accepted %+v", b, vc)
		}
	})
}
