package client

import (
	"bytes"
	"errors"
	"fmt"
	"time"

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

// ReadCheckpoint reads a checkpoint note a log sent with its answer. With
// the log's verifier key v it is [OpenCheckpoint]; with a nil v it only
// parses the note's body, so that proofs against it show consistency with
// what the log said, not that the log signed it. verified reports which.
func ReadCheckpoint(msg []byte, v note.Verifier) (cp tiles.Checkpoint, verified bool, err error) {
	if v != nil {
		cp, err := OpenCheckpoint(msg, v)
		return cp, err == nil, err
	}
	// A signed note's text ends at its last blank line (c2sp.org/signed-note).
	i := bytes.LastIndex(msg, []byte("\n\n"))
	if i < 0 {
		return tiles.Checkpoint{}, false, errors.New("checkpoint is not a signed note")
	}
	cp, err = tiles.ParseCheckpoint(msg[:i+1])
	return cp, false, err
}

// checkFreshness returns an error unless a witness of the policy cosigned
// vc within maxAge before now. The newest timestamp among the
// cosignatures that verified under the policy (vc.Cosigners) dates the
// checkpoint: some witness saw it as the log's latest then. A checkpoint
// without such cosignatures (policy "quorum none") is never fresh.
func checkFreshness(vc *tiles.VerifiedCheckpoint, maxAge time.Duration, now time.Time) error {
	var newest time.Time
	for _, t := range vc.Cosigners {
		if t.After(newest) {
			newest = t
		}
	}
	switch {
	case newest.IsZero():
		return errors.New("no cosignature by a witness of the policy dates the checkpoint")
	case now.Sub(newest) > maxAge:
		return fmt.Errorf("the newest cosignature is from %s, %s before now, more than the maximum age %s",
			newest.UTC().Format(time.RFC3339), now.Sub(newest).Round(time.Second), maxAge)
	}
	return nil
}
