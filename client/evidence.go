package client

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math/bits"
	"time"

	"github.com/attestlog/attestlog/tiles"
	"github.com/transparency-dev/merkle/rfc6962"
	"golang.org/x/mod/sumdb/tlog"
)

// EvidenceFormat is the format field of every evidence file.
const EvidenceFormat = "attestlog.dev/evidence/v1"

// ErrMalformedEvidence is wrapped by every error of [ParseEvidence].
var ErrMalformedEvidence = errors.New("client: malformed evidence")

// An InconsistencyError means two checkpoints for one origin, both signed by
// the log, cannot both be honest: equal tree sizes with different root
// hashes, or a consistency proof that leads to the newer root hash and
// gives the older size another root hash (the rule of [CheckEvidence]). It
// keeps the signed notes and the proof as received, so that they can be
// published.
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

// CheckEvidence checks an evidence file independently of whoever wrote it,
// and returns its own finding, in its own words, if the evidence holds. It
// holds only when the tool can prove the inconsistency itself: both notes
// carry a valid signature by a log of p named by the evidence's origin,
// the sizes are the notes', and either
//
//   - the notes have one tree size and different root hashes; or
//   - the older note's size is smaller, and the proof is a consistency
//     proof that leads to the newer note's root hash and implies, for the
//     older size, a root hash other than the older note's.
//
// (A signed checkpoint of size 0 whose root hash is not the empty tree's
// holds too: no tree has it.) Everything else does not hold, and the error
// says why in the tool's words: a proof that does not lead to the newer
// root shows nothing about the log, however the file describes it, and a
// proof from a tree size that is a power of two can never show a fork
// (RFC 6962 proofs leave that tree's root out). The file's description is
// never part of the finding or the error.
//
// A file of [IndexEvidenceFormat] is checked by [CheckIndexEvidence].
func CheckEvidence(p *Policy, b []byte) (finding string, err error) {
	if ev, err := ParseAnyEvidence(b); err == nil {
		if _, ok := ev.(*IndexEvidence); ok {
			return CheckIndexEvidence(p, b)
		}
	}
	e, err := ParseEvidence(b)
	if err != nil {
		return "", err
	}
	older, err := openLogNote(p, e.Origin, []byte(e.Older))
	if err != nil {
		return "", fmt.Errorf("client: evidence: the older checkpoint is not signed by the log: %w", err)
	}
	newer, err := openLogNote(p, e.Origin, []byte(e.Newer))
	if err != nil {
		return "", fmt.Errorf("client: evidence: the newer checkpoint is not signed by the log: %w", err)
	}
	switch {
	case older.Size != e.OlderSize || newer.Size != e.NewerSize:
		return "", fmt.Errorf("client: evidence: sizes %d and %d, but the notes have %d and %d", e.OlderSize, e.NewerSize, older.Size, newer.Size)
	case older.Size > newer.Size:
		return "", fmt.Errorf("client: evidence: the older note has the larger size")
	}
	err = checkConsistency(older, newer, e.Proof)
	if err == nil {
		return "", fmt.Errorf("client: evidence: the proof is consistent: the tree of size %d is a prefix of the tree of size %d, no fork", older.Size, newer.Size)
	}
	if !isFork(err) {
		return "", fmt.Errorf("client: evidence: %w", err)
	}
	return fmt.Sprintf("log %s signed checkpoints of tree sizes %d and %d that cannot both be honest: %v", older.Origin, older.Size, newer.Size, err), nil
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

// A consistencyError is what [checkConsistency] found wrong with two
// checkpoints and a proof: either a fork, which the checkpoints and proof
// prove, or a proof that shows nothing.
type consistencyError struct {
	fork   bool
	reason string
}

func (e *consistencyError) Error() string { return e.reason }

// isFork reports whether err is a [consistencyError] proving a fork.
func isFork(err error) bool {
	var ce *consistencyError
	return errors.As(err, &ce) && ce.fork
}

// checkConsistency decides what two checkpoints of one log, older's size
// no larger than newer's, and p, a consistency proof from older's size to
// newer's, show. It is the one rule of what is evidence of a fork: for
// [CheckEvidence], for [State] and for [MonitorLog]. It returns nil if
// they show older's tree a prefix of newer's, and otherwise a
// [*consistencyError] that is a fork when the checkpoints themselves
// cannot both be honest:
//
//   - equal sizes with different root hashes;
//   - size 0 with a root hash other than the empty tree's;
//   - a proof that leads to newer's root hash (by [tiles.ConsistencyRoots])
//     and implies another root hash for older's size than older's.
//
// Any other failure (a malformed proof, one that does not lead to newer's
// root hash) shows nothing about the log: only that whoever made the proof
// could not prove consistency.
func checkConsistency(older, newer tiles.Checkpoint, p []tlog.Hash) error {
	fork := func(format string, args ...any) error {
		return &consistencyError{fork: true, reason: fmt.Sprintf(format, args...)}
	}
	nothing := func(format string, args ...any) error {
		return &consistencyError{reason: fmt.Sprintf(format, args...)}
	}
	switch {
	case older.Size > newer.Size:
		return nothing("tree size %d is larger than %d", older.Size, newer.Size)
	case older.Size == newer.Size && older.Hash != newer.Hash:
		return fork("equal tree sizes %d with different root hashes", older.Size)
	case older.Size == newer.Size:
		return nil
	case older.Size == 0 && older.Hash != emptyRoot():
		return fork("a tree of size 0 whose root hash is not that of the empty tree")
	case older.Size == 0:
		return nil
	}
	oldRoot, newRoot, err := tiles.ConsistencyRoots(older.Size, newer.Size, older.Hash, p)
	switch {
	case err != nil:
		return nothing("the consistency proof from tree size %d to %d is malformed, so it shows nothing: %v", older.Size, newer.Size, err)
	case newRoot != newer.Hash && bits.OnesCount64(uint64(older.Size)) == 1:
		return nothing("the consistency proof from tree size %d to %d does not lead to the root hash of tree size %d: "+
			"it shows nothing (and from a tree size that is a power of two, a proof leaves the older root out, so no proof can show a fork)",
			older.Size, newer.Size, newer.Size)
	case newRoot != newer.Hash:
		return nothing("the consistency proof from tree size %d to %d does not lead to the root hash of tree size %d: it shows nothing",
			older.Size, newer.Size, newer.Size)
	case oldRoot != older.Hash:
		return fork("the consistency proof leads to the root hash of tree size %d and gives tree size %d the root hash %v, not the signed %v",
			newer.Size, older.Size, oldRoot, older.Hash)
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
