package client

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/attestlog/attestlog/log/vindex"
	"github.com/attestlog/attestlog/tiles"
	"github.com/transparency-dev/merkle/proof"
	"github.com/transparency-dev/merkle/rfc6962"
	"golang.org/x/mod/sumdb/tlog"
)

// IndexEvidenceFormat is the format field of the evidence file of a wrong
// index commitment ([IndexEvidence]). Fork evidence keeps [EvidenceFormat].
const IndexEvidenceFormat = "attestlog.dev/evidence/index/v1"

// IndexEvidence is the portable record of a wrong index commitment: the
// log committed, in an entry of its witnessed tree, to a map (package
// log/vindex) that a proof it served shows to contradict one of its own
// entries. Its file is JSON, in the one spelling [IndexEvidence.Marshal]
// gives (two-space indent, keys in this order, a final newline; bytes in
// standard base64):
//
//	{
//	  "format": "attestlog.dev/evidence/index/v1",
//	  "description": "the map proof for the digest ... leaves out entry 3",
//	  "time": "2026-03-01T12:00:00Z",
//	  "origin": "example.test/attestlog",
//	  "checkpoint": "<signed checkpoint note, verbatim, cosignatures included>",
//	  "commitment": {"index": 6, "entry": "<base64>", "proof": ["<base64 hash>", ...]},
//	  "key": "<search key, 64 lowercase hex digits>",
//	  "map_proof": "<base64 of the map proof, log/vindex encoding>",
//	  "entry": {"index": 3, "entry": "<base64>", "proof": [...]}
//	}
//
// The commitment and the entry carry their inclusion proofs in the
// checkpoint's tree. [CheckIndexEvidence] checks it with the log's key.
type IndexEvidence struct {
	Format      string          `json:"format"`
	Description string          `json:"description"`
	Time        time.Time       `json:"time"`
	Origin      string          `json:"origin"`
	Checkpoint  string          `json:"checkpoint"`
	Commitment  ProvenEntryJSON `json:"commitment"`
	Key         string          `json:"key"`
	MapProof    []byte          `json:"map_proof"`
	Entry       ProvenEntryJSON `json:"entry"`
}

// A ProvenEntryJSON is an entry with its inclusion proof, as evidence
// files hold it.
type ProvenEntryJSON struct {
	Index int64       `json:"index"`
	Entry []byte      `json:"entry"`
	Proof []tlog.Hash `json:"proof"`
}

// Marshal returns the evidence file's bytes. It fails only on a time that
// JSON cannot hold (a year past 9999).
func (e *IndexEvidence) Marshal() ([]byte, error) {
	c := *e
	for _, p := range []*ProvenEntryJSON{&c.Commitment, &c.Entry} {
		if p.Proof == nil {
			p.Proof = []tlog.Hash{}
		}
		if p.Entry == nil {
			p.Entry = []byte{}
		}
	}
	if c.MapProof == nil {
		c.MapProof = []byte{}
	}
	return marshalCanonical(&c)
}

// ParseIndexEvidence parses the evidence file of a wrong index commitment,
// accepting only the spelling of [IndexEvidence.Marshal]. It verifies
// nothing; see [CheckIndexEvidence]. Errors wrap [ErrMalformedEvidence].
func ParseIndexEvidence(b []byte) (*IndexEvidence, error) {
	e := &IndexEvidence{}
	if err := unmarshalCanonical(b, e, e.Marshal); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrMalformedEvidence, err)
	}
	if e.Format != IndexEvidenceFormat {
		return nil, fmt.Errorf("%w: format %q, want %q", ErrMalformedEvidence, e.Format, IndexEvidenceFormat)
	}
	return e, nil
}

// ParseAnyEvidence parses an evidence file of either kind, by its format
// field: a fork ([Evidence], [EvidenceFormat]) or a wrong index commitment
// ([IndexEvidence], [IndexEvidenceFormat]). It verifies nothing; see
// [CheckEvidence]. Errors wrap [ErrMalformedEvidence].
func ParseAnyEvidence(b []byte) (any, error) {
	var head struct {
		Format string `json:"format"`
	}
	if err := json.NewDecoder(bytes.NewReader(b)).Decode(&head); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrMalformedEvidence, err)
	}
	if head.Format == IndexEvidenceFormat {
		return ParseIndexEvidence(b)
	}
	return ParseEvidence(b)
}

// CheckIndexEvidence checks the evidence of a wrong index commitment
// independently of whoever wrote it, and returns its own finding if the
// evidence holds. It holds only when the tool proves the commitment wrong
// itself:
//
//   - the checkpoint carries a valid signature by a log of p named by the
//     evidence's origin (witness cosignatures are not needed: the log's
//     own signature binds it, and they are reported if they meet p's
//     quorum);
//   - the commitment is a well-formed index-commitment entry, of a size N
//     at most its own index, included in the checkpoint's tree;
//   - the entry is included in the same tree;
//   - the map proof verifies for the key against the commitment's root,
//     which gives the list the log committed to under the key;
//   - and the list contradicts the entry: the entry is below N and under
//     the key by the map function ([vindex.EntryKeys]) but not listed, or
//     it is listed but not under the key, or listed at or past N.
//
// Everything else does not hold, and the error says why. The file's
// description is never part of the finding or the error.
func CheckIndexEvidence(p *Policy, b []byte) (finding string, err error) {
	e, err := ParseIndexEvidence(b)
	if err != nil {
		return "", err
	}
	cp, err := openLogNote(p, e.Origin, []byte(e.Checkpoint))
	if err != nil {
		return "", fmt.Errorf("client: evidence: the checkpoint is not signed by the log: %w", err)
	}
	cm, err := provenCommitment(cp, &e.Commitment)
	if err != nil {
		return "", fmt.Errorf("client: evidence: %w", err)
	}
	if err := verifyIncluded(cp, &e.Entry); err != nil {
		return "", fmt.Errorf("client: evidence: entry %d: %w", e.Entry.Index, err)
	}
	key, err := parseKey(e.Key)
	if err != nil {
		return "", fmt.Errorf("client: evidence: %w", err)
	}
	list, err := vindex.VerifyProof(cm.Root, key, e.MapProof)
	if err != nil {
		return "", fmt.Errorf("client: evidence: the map proof does not verify against the root of the index commitment at %d: %w", e.Commitment.Index, err)
	}
	contradiction, err := contradicts(cm, key, list, e.Entry.Index, e.Entry.Entry)
	if err != nil {
		return "", fmt.Errorf("client: evidence: %w", err)
	}
	witnessed := ""
	if vc, err := p.TLog.VerifyCheckpoint([]byte(e.Checkpoint)); err == nil && len(vc.Cosigners) > 0 {
		witnessed = fmt.Sprintf(", cosigned by %d witnesses", len(vc.Cosigners))
	}
	return fmt.Sprintf("log %s committed a wrong index at entry %d of its tree of size %d%s: the map of the entries below %d, by the log's own proof, lists %d entries under key %s, and %s",
		cp.Origin, e.Commitment.Index, cp.Size, witnessed, cm.Size, len(list), key, contradiction), nil
}

// provenCommitment checks that c is an index-commitment entry included in
// cp's tree, and returns its commitment.
func provenCommitment(cp tiles.Checkpoint, c *ProvenEntryJSON) (vindex.Commitment, error) {
	if err := verifyIncluded(cp, c); err != nil {
		return vindex.Commitment{}, fmt.Errorf("index commitment at %d: %w", c.Index, err)
	}
	cm, err := vindex.ParseCommitment(c.Entry)
	if err != nil {
		return cm, fmt.Errorf("entry %d: %w", c.Index, err)
	}
	if cm.Size > c.Index {
		return cm, fmt.Errorf("index commitment at %d commits to the entries below %d, past itself", c.Index, cm.Size)
	}
	return cm, nil
}

// verifyIncluded checks the inclusion of an entry in cp's tree.
func verifyIncluded(cp tiles.Checkpoint, pe *ProvenEntryJSON) error {
	if pe.Index < 0 || pe.Index >= cp.Size {
		return fmt.Errorf("index outside the tree of size %d", cp.Size)
	}
	leaf := tlog.RecordHash(pe.Entry)
	if err := proof.VerifyInclusion(rfc6962.DefaultHasher, uint64(pe.Index), uint64(cp.Size), leaf[:], hashSlices(pe.Proof), cp.Hash[:]); err != nil {
		return fmt.Errorf("inclusion in the tree of size %d: %v", cp.Size, err)
	}
	return nil
}

// parseKey parses a search key as 64 lowercase hex digits.
func parseKey(s string) (vindex.Key, error) {
	raw, err := hex.DecodeString(s)
	if err != nil || len(raw) != vindex.HashSize || hex.EncodeToString(raw) != s {
		return vindex.Key{}, fmt.Errorf("key %q is not 64 lowercase hex digits", s)
	}
	return vindex.Key(raw), nil
}

// contradicts says how the entry at idx contradicts list, the map's list
// under key of the commitment cm, or returns an error if it does not.
func contradicts(cm vindex.Commitment, key vindex.Key, list []int64, idx int64, entry []byte) (string, error) {
	keys, _ := vindex.EntryKeys(entry)
	under, listed := slices.Contains(keys, key), slices.Contains(list, idx)
	switch {
	case under && idx < cm.Size && !listed:
		return fmt.Sprintf("leaves out entry %d, which is below %d and under that key", idx, cm.Size), nil
	case listed && idx >= cm.Size:
		return fmt.Sprintf("lists entry %d, which is not below %d", idx, cm.Size), nil
	case listed && !under:
		return fmt.Sprintf("lists entry %d, which is not under that key", idx), nil
	case listed:
		return "", fmt.Errorf("the map lists entry %d under the key, which is right: no contradiction", idx)
	case under:
		return "", fmt.Errorf("entry %d is under the key but not below the commitment's size %d: no contradiction", idx, cm.Size)
	}
	return "", errors.New("entry is not under the key and the map does not list it: no contradiction")
}
