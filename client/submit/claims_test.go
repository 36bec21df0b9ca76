package submit_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"strings"
	"testing"

	"github.com/attestlog/attestlog/client/submit"
	"github.com/attestlog/attestlog/log/claim"
	"golang.org/x/mod/sumdb/note"
)

// TestReadClaimFiles reads a signed claim file and refuses a binary, a
// claim whose signature fails and text that is no claim, naming the file.
func TestReadClaimFiles(t *testing.T) {
	dir := t.TempDir()
	skey, vkey, err := note.GenerateKey(nil, "builder.example/b")
	if err != nil {
		t.Fatal(err)
	}
	signer, err := note.NewSigner(skey)
	if err != nil {
		t.Fatal(err)
	}
	bin := []byte("\x7fELF\x00\x01binary")
	sum := sha256.Sum256(bin)
	st, err := claim.NewStatement(&claim.Claim{Subjects: []claim.Subject{{Name: "hello", SHA256: hex.EncodeToString(sum[:])}},
		Source: "git+https://example.org/hello", Commit: strings.Repeat("a", 40), Recipe: strings.Repeat("b", 64),
		Platform: "linux/amd64", BuilderID: "https://example.org/builder"})
	if err != nil {
		t.Fatal(err)
	}
	e, err := claim.SignStatement(st, claim.Key{Signer: signer, VKey: vkey})
	if err != nil {
		t.Fatal(err)
	}
	good := write(t, dir, "claim.json", append(e.Envelope(), '\n'))
	fs, err := submit.ReadClaimFiles([]string{good})
	if err != nil || len(fs) != 1 || !bytes.Equal(fs[0].Entry, e.Marshal()) || !bytes.Equal(fs[0].Envelope, e.Envelope()) || fs[0].Claim.Subjects[0].Name != "hello" {
		t.Fatalf("ReadClaimFiles(good) = %+v, %v", fs, err)
	}
	tampered := write(t, dir, "tampered.json", bytes.Replace(e.Envelope(), []byte(`"sig":"`), []byte(`"sig":"A`), 1))
	binary := write(t, dir, "hello", bin)
	text := write(t, dir, "notes.txt", []byte("not a claim\n"))
	_, err = submit.ReadClaimFiles([]string{good, binary})
	wantError(t, "binary", err, binary+" looks like a binary", "did you mean --artifact "+binary)
	_, err = submit.ReadClaimFiles([]string{tampered})
	wantError(t, "tampered", err, tampered+": ")
	_, err = submit.ReadClaimFiles([]string{text})
	wantError(t, "text", err, text+": ")

	// A file cut inside a multi-byte rune at 512 bytes is still text.
	long := write(t, dir, "long.txt", append(bytes.Repeat([]byte("a"), 511), "é"...))
	_, err = submit.ReadClaimFiles([]string{long})
	if err == nil || strings.Contains(err.Error(), "looks like a binary") {
		t.Errorf("ReadClaimFiles(UTF-8 text cut at 512 bytes) = %v, want a claim error, not a binary", err)
	}

	as, err := submit.HashArtifacts([]string{binary}, []string{fs[0].Claim.Subjects[0].SHA256})
	if err != nil || len(as) != 1 || as[0].SHA256 != hex.EncodeToString(sum[:]) || as[0].Size != int64(len(bin)) {
		t.Errorf("HashArtifacts = %+v, %v", as, err)
	}
	_, err = submit.HashArtifacts([]string{text}, []string{fs[0].Claim.Subjects[0].SHA256})
	wantError(t, "unnamed artifact", err, "artifact "+text, "is not named by any submitted claim")
}
