package client

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/attestlog/attestlog/tiles"
	"github.com/transparency-dev/merkle/proof"
	"github.com/transparency-dev/merkle/rfc6962"
	"golang.org/x/mod/sumdb/tlog"
)

// EvidenceFormat is the format field of every evidence file.
const EvidenceFormat = "attestlog.dev/evidence/v1"

// ErrMalformedEvidence is wrapped by every error of [ParseEvidence].
var ErrMalformedEvidence = errors.New("client: malformed evidence")

// An InconsistencyError means two checkpoints for one origin, both signed by
// the log, cannot both be honest: equal tree sizes with different root
// hashes, or a consistency proof between them that fails. It keeps the
// signed notes and the proof as received, so that they can be published.
type InconsistencyError struct {
	Origin string
	// Older is the note with the smaller tree size (with equal sizes, the
	// one remembered), Newer the other; both verbatim, signatures included.
	Older, Newer []byte
	// Proof is the consistency proof from Older's size to Newer's that the
	// source gave; nil for equal sizes.
	Proof []tlog.Hash
	// Reason says what failed.
	Reason string
	// Evidence is the path of the evidence file written, empty if none.
	Evidence string
}

func (e *InconsistencyError) Error() string {
	s := fmt.Sprintf("client: checkpoints of %s are inconsistent, the log has forked or lied: %s", e.Origin, e.Reason)
	if e.Evidence != "" {
		s += " (evidence in " + e.Evidence + ")"
	}
	return s
}

// Evidence is the portable record of an [InconsistencyError], as [State]
// writes it. Its file is JSON, in the one spelling [Evidence.Marshal] gives
// (two-space indent, keys in this order, a final newline):
//
//	{
//	  "format": "attestlog.dev/evidence/v1",
//	  "description": "equal tree sizes 5 with different root hashes",
//	  "time": "2026-03-01T12:00:00Z",
//	  "origin": "example.test/attestlog",
//	  "older_size": 5,
//	  "newer_size": 5,
//	  "older": "example.test/attestlog\n5\n...\n\n— example.test/attestlog ...\n",
//	  "newer": "...",
//	  "proof": []
//	}
//
// The notes are verbatim, every signature included; the proof hashes are
// standard base64. Anyone with the log's key can check it with
// [CheckEvidence].
type Evidence struct {
	Format      string      `json:"format"`
	Description string      `json:"description"`
	Time        time.Time   `json:"time"`
	Origin      string      `json:"origin"`
	OlderSize   int64       `json:"older_size"`
	NewerSize   int64       `json:"newer_size"`
	Older       string      `json:"older"`
	Newer       string      `json:"newer"`
	Proof       []tlog.Hash `json:"proof"`
}

// Marshal returns the evidence file's bytes. It fails only on a time that
// JSON cannot hold (a year past 9999).
func (e *Evidence) Marshal() ([]byte, error) {
	c := *e
	if c.Proof == nil {
		c.Proof = []tlog.Hash{}
	}
	return marshalCanonical(&c)
}

// ParseEvidence parses an evidence file, accepting only the spelling of
// [Evidence.Marshal]. It verifies nothing; see [CheckEvidence]. Errors wrap
// [ErrMalformedEvidence].
func ParseEvidence(b []byte) (*Evidence, error) {
	e := &Evidence{}
	if err := unmarshalCanonical(b, e, e.Marshal); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrMalformedEvidence, err)
	}
	if e.Format != EvidenceFormat {
		return nil, fmt.Errorf("%w: format %q, want %q", ErrMalformedEvidence, e.Format, EvidenceFormat)
	}
	return e, nil
}

// CheckEvidence checks an evidence file independently of whoever wrote it:
// both notes must carry a valid signature by a log of p named by the
// evidence's origin, the sizes must be the notes', and the notes must be
// inconsistent: equal sizes with different root hashes, or a proof that
// does not prove the older tree a prefix of the newer. It returns nil if
// the evidence holds.
//
// A failed proof shows that whoever served it could not prove consistency.
// It is conclusive only if the log itself cannot either: ask it for the
// proof between the two sizes again.
func CheckEvidence(p *Policy, b []byte) error {
	e, err := ParseEvidence(b)
	if err != nil {
		return err
	}
	older, err := openLogNote(p, e.Origin, []byte(e.Older))
	if err != nil {
		return fmt.Errorf("client: evidence: older note: %w", err)
	}
	newer, err := openLogNote(p, e.Origin, []byte(e.Newer))
	if err != nil {
		return fmt.Errorf("client: evidence: newer note: %w", err)
	}
	switch {
	case older.Size != e.OlderSize || newer.Size != e.NewerSize:
		return fmt.Errorf("client: evidence: sizes %d and %d, but the notes have %d and %d", e.OlderSize, e.NewerSize, older.Size, newer.Size)
	case older.Size > newer.Size:
		return fmt.Errorf("client: evidence: the older note has the larger size")
	}
	if checkConsistency(older, newer, e.Proof) == nil {
		return errors.New("client: evidence: the notes are consistent; nothing is proven")
	}
	return nil
}

// openLogNote verifies a checkpoint note with any log of p whose origin is origin.
func openLogNote(p *Policy, origin string, msg []byte) (tiles.Checkpoint, error) {
	err := fmt.Errorf("the policy has no log %q", origin)
	for _, l := range p.TLog.Logs {
		if l.Origin() != origin {
			continue
		}
		var cp tiles.Checkpoint
		if cp, err = OpenCheckpoint(msg, l.Verifier); err == nil {
			return cp, nil
		}
	}
	return tiles.Checkpoint{}, err
}

// checkConsistency checks that older's tree is a prefix of newer's, which
// is at least as large, with proof.
func checkConsistency(older, newer tiles.Checkpoint, p []tlog.Hash) error {
	switch {
	case older.Size > newer.Size:
		return fmt.Errorf("tree size %d is larger than %d", older.Size, newer.Size)
	case older.Size == newer.Size && older.Hash != newer.Hash:
		return fmt.Errorf("equal tree sizes %d with different root hashes", older.Size)
	case older.Size == 0 && older.Hash != emptyRoot():
		return errors.New("a tree of size 0 whose root hash is not that of the empty tree")
	}
	if err := proof.VerifyConsistency(rfc6962.DefaultHasher, uint64(older.Size), uint64(newer.Size), hashSlices(p), older.Hash[:], newer.Hash[:]); err != nil {
		return fmt.Errorf("consistency proof from tree size %d to %d: %v", older.Size, newer.Size, err)
	}
	return nil
}

func emptyRoot() tlog.Hash { return tlog.Hash(rfc6962.DefaultHasher.EmptyRoot()) }

// marshalCanonical returns v as JSON with a two-space indent, no HTML
// escaping and a final newline: the one spelling of attestlog's JSON files.
func marshalCanonical(v any) ([]byte, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(v); err != nil {
		return nil, fmt.Errorf("client: encoding JSON: %w", err)
	}
	return b.Bytes(), nil
}

// errNotCanonical is the complaint of the parsers of attestlog's JSON files.
var errNotCanonical = errors.New("not in canonical form (two-space indent, fields in order, no HTML escapes, one final newline)")

// unmarshalCanonical decodes b into v, refusing unknown fields and any
// spelling other than the one marshal gives (which also refuses duplicate
// keys and trailing data).
func unmarshalCanonical(b []byte, v any, marshal func() ([]byte, error)) error {
	if err := decodeStrict(b, v); err != nil {
		return err
	}
	if again, err := marshal(); err != nil || !bytes.Equal(again, b) {
		return errNotCanonical
	}
	return nil
}

// decodeStrict decodes the first JSON value of b into v, refusing unknown fields.
func decodeStrict(b []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	return dec.Decode(v)
}
