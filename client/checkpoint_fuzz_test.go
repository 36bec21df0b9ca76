package client_test

import (
	"bytes"
	"testing"

	"github.com/attestlog/attestlog/client"
	"golang.org/x/mod/sumdb/note"
)

// FuzzOpenCheckpoint feeds signed notes to OpenCheckpoint: it never panics,
// and what it accepts is exactly the signed text it parsed.
func FuzzOpenCheckpoint(f *testing.F) {
	skey, vkey, _ := note.GenerateKey(bytes.NewReader(bytes.Repeat([]byte{9}, 32)), "example.test/log")
	s, _ := note.NewSigner(skey)
	v, _ := note.NewVerifier(vkey)
	good, _ := note.Sign(&note.Note{Text: "example.test/log\n5\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n"}, s)
	f.Add(good)
	f.Add([]byte("example.test/log\n5\nAAAA\n\n— example.test/log AAAA\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		cp, err := client.OpenCheckpoint(b, v)
		if err != nil {
			return
		}
		if !bytes.HasPrefix(b, append(cp.Format(), '\n')) {
			t.Fatalf("OpenCheckpoint(%q) accepted a body other than %q", b, cp.Format())
		}
	})
}
