package client_test

import (
	"strings"
	"testing"

	"github.com/attestlog/attestlog/client"
	"github.com/attestlog/attestlog/tiles"
	"golang.org/x/mod/sumdb/note"
)

// TestReadCheckpoint reads a signed checkpoint with the log's key, with
// another key and with none: without a key it parses the body and says it
// verified nothing.
func TestReadCheckpoint(t *testing.T) {
	skey, vkey, err := note.GenerateKey(nil, "example.test/log")
	if err != nil {
		t.Fatal(err)
	}
	_, otherVKey, err := note.GenerateKey(nil, "example.test/log")
	if err != nil {
		t.Fatal(err)
	}
	s, _ := note.NewSigner(skey)
	v, _ := note.NewVerifier(vkey)
	other, _ := note.NewVerifier(otherVKey)
	want := tiles.Checkpoint{Origin: "example.test/log", Size: 3}
	msg, err := note.Sign(&note.Note{Text: string(want.Format())}, s)
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		desc         string
		msg          []byte
		v            note.Verifier
		wantVerified bool
		wantErr      string
	}{
		{"log key", msg, v, true, ""},
		{"no key", msg, nil, false, ""},
		{"other key", msg, other, false, "verifying checkpoint signature"},
		{"no key, not a note", want.Format(), nil, false, "checkpoint is not a signed note"},
		{"no key, bad body", []byte("example.test/log\nx\n\n— sig\n"), nil, false, "checkpoint"},
	} {
		cp, verified, err := client.ReadCheckpoint(tt.msg, tt.v)
		switch {
		case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
			t.Errorf("%s: ReadCheckpoint = %v, want an error containing %q", tt.desc, err, tt.wantErr)
		case tt.wantErr == "" && (err != nil || cp.Origin != want.Origin || cp.Size != want.Size || verified != tt.wantVerified):
			t.Errorf("%s: ReadCheckpoint = %+v, %v, %v; want %+v, %v", tt.desc, cp, verified, err, want, tt.wantVerified)
		}
	}
}
