package client

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/attestlog/attestlog/internal/atomicfile"
	"github.com/attestlog/attestlog/log/claim"
	"github.com/attestlog/attestlog/log/claim/record"
	"github.com/attestlog/attestlog/log/claim/scheme"
	"github.com/attestlog/attestlog/tiles"
	"github.com/transparency-dev/merkle/proof"
	"github.com/transparency-dev/merkle/rfc6962"
	"golang.org/x/mod/sumdb/note"
)

// MaxReceiptSize bounds a receipt file: an entry, a proof of at most 63
// hashes and a checkpoint with a few cosignatures, in JSON and base64.
const MaxReceiptSize = 4 * claim.MaxEntrySize

// A Receipt is the proof that a claim is in the log, saved by attestlog
// submit as <claim>.receipt.json. It verifies offline with the log's
// verifier key: the checkpoint's signature, then the inclusion proof of the
// entry at index in the tree of size tree_size against the checkpoint's
// root hash. []byte fields are standard base64.
type Receipt struct {
	Index          int64    `json:"index"`
	TreeSize       int64    `json:"tree_size"`
	Entry          []byte   `json:"entry"`
	InclusionProof [][]byte `json:"inclusion_proof"`
	Checkpoint     string   `json:"checkpoint"`
}

// ParseReceipt parses a receipt file strictly: one JSON object with exactly
// the fields of [Receipt], a checkpoint and an entry. It verifies nothing.
func ParseReceipt(b []byte) (Receipt, error) {
	var r Receipt
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&r); err != nil {
		return r, fmt.Errorf("not a receipt: %w", err)
	}
	if dec.More() {
		return r, errors.New("not a receipt: data after the JSON object")
	}
	if r.Checkpoint == "" || len(r.Entry) == 0 {
		return r, errors.New("not a receipt: no checkpoint or no entry")
	}
	return r, nil
}

// Save writes r to a file at path as indented JSON, atomically, replacing
// any file there: the form [ParseReceipt] reads.
func (r Receipt) Save(path string) error {
	b, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return err
	}
	return atomicfile.Write(path, append(b, '\n'), 0o644, true)
}

// VerifyReceiptFile verifies the receipt file at path offline with the
// log's verifier key: the checkpoint's signature, the inclusion proof of
// the entry, the claim's signatures, and, if the claim file it was saved
// beside (path without ".receipt.json") is there, that it is a receipt for
// that claim. It returns the verified claim and the checkpoint.
func VerifyReceiptFile(path string, logKey note.Verifier) (VerifiedClaim, tiles.Checkpoint, error) {
	b, err := ReadFileLimited(path, MaxReceiptSize)
	if err != nil {
		return VerifiedClaim{}, tiles.Checkpoint{}, err
	}
	r, err := ParseReceipt(b)
	if err != nil {
		return VerifiedClaim{}, tiles.Checkpoint{}, err
	}
	cp, err := OpenCheckpoint([]byte(r.Checkpoint), logKey)
	if err != nil {
		return VerifiedClaim{}, tiles.Checkpoint{}, err
	}
	if r.Index < 0 || r.TreeSize < 0 {
		return VerifiedClaim{}, cp, fmt.Errorf("negative index %d or tree size %d", r.Index, r.TreeSize)
	}
	// The same checks as for the claims a lookup returns.
	vc, err := VerifyClaim(cp, r.Index, r.TreeSize, r.Entry, r.InclusionProof)
	if err != nil {
		return vc, cp, err
	}
	if claimPath, ok := strings.CutSuffix(path, ".receipt.json"); ok && vc.Parsed != nil {
		if env, err := ReadFileLimited(claimPath, claim.MaxEnvelopeSize); err == nil {
			e, err := claim.ParseEnvelope(bytes.TrimSpace(env))
			if err != nil || !bytes.Equal(e.Marshal(), r.Entry) {
				return vc, cp, fmt.Errorf("it is not a receipt for the claim %s beside it", claimPath)
			}
		}
	}
	return vc, cp, nil
}

// A VerifiedClaim is a logged claim whose entry decoded, whose signatures
// verified and whose inclusion proof verified against a checkpoint.
type VerifiedClaim struct {
	Index, TreeSize int64
	Entry           []byte         // the entry bytes as logged
	Proof           [][]byte       // inclusion proof against the checkpoint
	Record          *record.Record // the decoded entry, v1 or v2
	Parsed          *claim.Entry   // v1 only: the entry's DSSE parts
	Claim           *claim.Claim   // v1 only: the statement
	// Signers name the keys that signed, in signature order: a signed-note
	// key by its name, any other by "<scheme>:<key ID>".
	Signers []string
}

// VerifyClaim checks a claim a log returned with its proof against cp: the
// inclusion proof of entry at index in the tree of size treeSize leads to
// cp's root hash, the entry is a canonical claim entry and every signature
// verifies. It does not check who signed; see [Verify] for that.
func VerifyClaim(cp tiles.Checkpoint, index, treeSize int64, entry []byte, proof [][]byte) (VerifiedClaim, error) {
	vc := VerifiedClaim{Index: index, TreeSize: treeSize, Entry: entry, Proof: proof}
	if err := VerifyInclusion(cp, vc.Index, vc.TreeSize, vc.Entry, vc.Proof); err != nil {
		return vc, err
	}
	r, err := record.Decode(vc.Entry)
	if err != nil {
		return vc, err
	}
	vc.Record, vc.Parsed, vc.Claim = r, r.V1, r.Statement
	for _, s := range r.Signers {
		vc.Signers = append(vc.Signers, signerName(s))
	}
	return vc, nil
}

// signerName returns how a signer is shown: a signed-note key by its name,
// any other by "<scheme>:<key ID>".
func signerName(s record.Signer) string {
	if s.Scheme == scheme.Note {
		return keyName(s.KeyID)
	}
	return s.Builder()
}

// VerifyInclusion checks an RFC 6962 inclusion proof of entry at index in
// the tree of cp, which must have size treeSize.
func VerifyInclusion(cp tiles.Checkpoint, index, treeSize int64, entry []byte, p [][]byte) error {
	if treeSize != cp.Size {
		return fmt.Errorf("proof is for tree size %d, the checkpoint has size %d", treeSize, cp.Size)
	}
	if index < 0 || index >= treeSize {
		return fmt.Errorf("index %d is outside the tree of size %d", index, treeSize)
	}
	leaf := rfc6962.DefaultHasher.HashLeaf(entry)
	if err := proof.VerifyInclusion(rfc6962.DefaultHasher, uint64(index), uint64(treeSize), leaf, p, cp.Hash[:]); err != nil {
		return fmt.Errorf("inclusion proof does not verify against the checkpoint: %w", err)
	}
	return nil
}

// LoadVerifier returns the verifier of s, a signed-note verifier key or
// the name of a file holding one (and white space around it).
func LoadVerifier(s string) (note.Verifier, error) {
	if v, err := note.NewVerifier(s); err == nil {
		return v, nil
	}
	b, err := os.ReadFile(s)
	if err != nil {
		return nil, fmt.Errorf("%q is neither a verifier key nor a readable file: %w", s, err)
	}
	v, err := note.NewVerifier(strings.TrimSpace(string(b)))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", s, err)
	}
	return v, nil
}
