package client

import (
	"fmt"

	"github.com/attestlog/attestlog/tiles"
	"golang.org/x/mod/sumdb/note"
)

// OpenCheckpoint verifies the log's signature on a checkpoint note with v
// and parses its body strictly. The origin must equal v's key name, as
// c2sp.org/tlog-checkpoint recommends and attestlog requires.
func OpenCheckpoint(msg []byte, v note.Verifier) (tiles.Checkpoint, error) {
	n, err := note.Open(msg, note.VerifierList(v))
	if err != nil {
		return tiles.Checkpoint{}, fmt.Errorf("verifying checkpoint signature of %s: %w", v.Name(), err)
	}
	cp, err := tiles.ParseCheckpoint([]byte(n.Text))
	if err != nil {
		return tiles.Checkpoint{}, err
	}
	if cp.Origin != v.Name() {
		return tiles.Checkpoint{}, fmt.Errorf("checkpoint origin %q differs from log key name %q", cp.Origin, v.Name())
	}
	return cp, nil
}
