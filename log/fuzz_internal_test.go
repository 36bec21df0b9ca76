package log

import (
	"bytes"
	"errors"
	"strings"
	"testing"

	fnote "github.com/transparency-dev/formats/note"
	"golang.org/x/mod/sumdb/note"
)

// FuzzOwnCosignature feeds witness responses to ownCosignature: it never
// panics, and what it keeps is only lines of the witness's key that verify.
func FuzzOwnCosignature(f *testing.F) {
	skey, vkey, _ := note.GenerateKey(bytes.NewReader(bytes.Repeat([]byte{3}, 32)), "w.example")
	cv, _ := fnote.VKeyToCosignatureV1(vkey)
	v, _ := fnote.NewVerifierForCosignatureV1(cv)
	s, _ := fnote.NewSignerForCosignatureV1(skey)
	checkpoint := []byte("example.test/log\n1\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n")
	signed, _ := note.Sign(&note.Note{Text: string(checkpoint)}, s)
	lines := signed[len(checkpoint)+1:]
	f.Add(lines)
	f.Add([]byte("— other.example AAAA\n"))
	f.Fuzz(func(t *testing.T, resp []byte) {
		own, err := ownCosignature(v, append(bytes.Clone(checkpoint), '\n'), resp)
		if err != nil {
			return
		}
		if _, err := note.Open(append(append(bytes.Clone(checkpoint), '\n'), own...), note.VerifierList(v)); err != nil {
			t.Fatalf("ownCosignature kept lines that do not verify: %q", own)
		}
	})
}

// FuzzParseBuilders feeds allowlist files to ParseBuilders: it never panics,
// and every key it returns comes from the file.
func FuzzParseBuilders(f *testing.F) {
	_, vkey, _ := note.GenerateKey(bytes.NewReader(bytes.Repeat([]byte{4}, 32)), "b.example")
	f.Add([]byte("# builders\n" + vkey + " # ci\n"))
	f.Add([]byte("x+00000000+AAAA\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		keys, err := ParseBuilders(b)
		if err != nil {
			return
		}
		for k := range keys {
			// An OpenPGP key is named by "openpgp:<fingerprint>", every
			// other by its text, which the file holds.
			if !bytes.Contains(b, []byte(strings.TrimPrefix(k, "openpgp:"))) {
				t.Fatalf("ParseBuilders(%q) returned a key not in the file: %q", b, k)
			}
		}
	})
}

// FuzzDecodeStaged checks that decodeStaged never panics, that its errors
// wrap ErrCorrupt, and that a value it accepts encodes back to the same
// bytes: a staged record has one encoding.
func FuzzDecodeStaged(f *testing.F) {
	f.Add(encodeStaged(3, []stagedWrite{
		{space: "digest", stagedRecord: stagedRecord{key: "k", stagedValue: stagedValue{value: []byte("v")}}},
		{space: "builder", stagedRecord: stagedRecord{key: "gone", stagedValue: stagedValue{deleted: true}}},
	}))
	f.Add(encodeStaged(0, nil))
	f.Fuzz(func(t *testing.T, b []byte) {
		moves, ws, err := decodeStaged(b)
		if err != nil {
			if !errors.Is(err, ErrCorrupt) {
				t.Fatalf("decodeStaged error %v does not wrap ErrCorrupt", err)
			}
			return
		}
		if again := encodeStaged(moves, ws); !bytes.Equal(again, b) {
			t.Fatalf("decodeStaged(%x) encodes back as %x", b, again)
		}
	})
}
