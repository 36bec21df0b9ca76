package witness_test

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/attestlog/attestlog/witness"
	fnote "github.com/transparency-dev/formats/note"
	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"
)

func ExampleParseLogs() {
	logs, err := witness.ParseLogs([]byte(`# logs this witness cosigns for
log a.example/log+634ae0f5+AWjo4RqBALw1yKmPYiSiYQ/POJm3FNcsZ9fN+4vN1Nrf 2400
log a.example/log+7fe28df2+AU3mK3bP8xNVmWFfOhPJ0s9lFc3nAu3x93EHv90DXQm/   # a second key
log b.example/log+2877f34d+AULEBCTwNtaw8BG63HOkOYsgz5jfDUTYLGjm3qAbA6wk
`))
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, l := range logs {
		fmt.Printf("%s: %d keys, %d requests per day\n", l.Origin, len(l.Keys), l.RequestsPerDay)
	}
	_, err = witness.ParseLogs([]byte("log b.example/log+2877f34d+AULEBCTwNtaw8BG63HOkOYsgz5jfDUTYLGjm3qAbA6wk 0\n"))
	fmt.Println(err)
	// Output:
	// a.example/log: 2 keys, 2400 requests per day
	// b.example/log: 1 keys, 0 requests per day
	// witness: logs line 1: requests per day "0" is not a positive decimal
}

func ExampleWitness_AddCheckpoint() {
	dir, _ := os.MkdirTemp("", "witness")
	defer os.RemoveAll(dir)
	logKey, logVkey, _ := note.GenerateKey(nil, "example.com/log")
	witnessKey, _, _ := note.GenerateKey(nil, "example.com/witness")
	w, err := witness.Open(filepath.Join(dir, "witness.db"), witness.Config{
		Key:  witnessKey,
		Logs: []witness.Log{{Origin: "example.com/log", Keys: []string{logVkey}}},
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer w.Close()

	// A log's first checkpoint, of the empty tree, needs no proof.
	signer, _ := note.NewSigner(logKey)
	cp, _ := note.Sign(&note.Note{Text: "example.com/log\n0\n47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=\n"}, signer)
	cosig, err := w.AddCheckpoint(context.Background(), append([]byte("old 0\n\n"), cp...))
	if err != nil {
		fmt.Println(err)
		return
	}
	// Clients verify the cosignature with the witness's cosignature key.
	v, _ := fnote.NewVerifierForCosignatureV1(w.VerifierKey())
	n, err := note.Open(append(cp, cosig...), note.VerifierList(v))
	fmt.Println(n.Sigs[0].Name, err)

	// A client that assumes the wrong size learns the witness's from a 409.
	h := tlog.RecordHash([]byte("entry 0"))
	cp1, _ := note.Sign(&note.Note{Text: "example.com/log\n1\n" + base64.StdEncoding.EncodeToString(h[:]) + "\n"}, signer)
	_, err = w.AddCheckpoint(context.Background(), append([]byte("old 1\n\n"), cp1...))
	var e *witness.Error
	if errors.As(err, &e) {
		fmt.Println(e.Status, e.Size, err)
	}
	// Output:
	// example.com/witness <nil>
	// 409 0 witness: old size 1 differs from the size 0 of the latest cosigned checkpoint
}
