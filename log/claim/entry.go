package claim

import (
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
	"slices"
	"strings"

	"golang.org/x/mod/sumdb/note"
)

const (
	// EntryVersion is the first line of every claim entry.
	EntryVersion = "attestlog.dev/claim/v1"
	// PayloadType is the DSSE payload type of an in-toto Statement.
	PayloadType = "application/vnd.in-toto+json"
	// MaxEntrySize is the largest entry: a tlog-tiles entry bundle's 16-bit length.
	MaxEntrySize = 65535
	// MaxSignatures bounds the signatures on one claim.
	MaxSignatures = 16
)

var (
	// ErrMalformedEntry is wrapped by every error of [ParseEntry].
	ErrMalformedEntry = errors.New("claim: malformed entry")
	// ErrEntryTooLarge means the entry encoding of a claim exceeds [MaxEntrySize].
	ErrEntryTooLarge = errors.New("claim: entry larger than 65535 bytes")
	// ErrBadSignature means a signature does not verify with its key.
	ErrBadSignature = errors.New("claim: signature does not verify")
)

// A Signature is one builder's Ed25519 signature over the DSSE PAE of the payload.
type Signature struct {
	VKey string // the signer's signed-note verifier key
	Sig  []byte // 64-byte Ed25519 signature
}

// An Entry is a signed claim as the log stores it; see the package doc.
type Entry struct {
	PayloadType string
	Payload     []byte
	Signatures  []Signature // sorted by VKey, no VKey twice
}

// NewEntry builds an entry from a payload and its signatures, putting the
// signatures in canonical order. It checks the form of everything but does
// not verify signatures; see [Entry.Verify].
func NewEntry(payloadType string, payload []byte, sigs []Signature) (*Entry, error) {
	e := &Entry{PayloadType: payloadType, Payload: payload, Signatures: slices.Clone(sigs)}
	slices.SortFunc(e.Signatures, func(a, b Signature) int { return strings.Compare(a.VKey, b.VKey) })
	if err := e.check(); err != nil {
		return nil, err
	}
	if n := e.size(); n > MaxEntrySize {
		return nil, fmt.Errorf("%w: %d bytes", ErrEntryTooLarge, n)
	}
	return e, nil
}

// size is len(e.Marshal()), without encoding e.
func (e *Entry) size() int {
	n := len(EntryVersion+"\n") + len("type \n") + len(e.PayloadType) + len("\n") + len(e.Payload)
	for _, s := range e.Signatures {
		n += len("sig  \n") + len(s.VKey) + base64.StdEncoding.EncodedLen(len(s.Sig))
	}
	return n
}

// check validates the form of e: the payload type, the signature count and
// order, each vkey and signature length.
func (e *Entry) check() error {
	if e.PayloadType != PayloadType {
		return fmt.Errorf("%w: payloadType %q, want %q", ErrMalformedEntry, e.PayloadType, PayloadType)
	}
	if len(e.Signatures) == 0 {
		return fmt.Errorf("%w: no signatures", ErrMalformedEntry)
	}
	if len(e.Signatures) > MaxSignatures {
		return fmt.Errorf("%w: %d signatures, at most %d", ErrMalformedEntry, len(e.Signatures), MaxSignatures)
	}
	for i, s := range e.Signatures {
		if _, err := ParseVKey(s.VKey); err != nil {
			return fmt.Errorf("%w: signatures[%d]: %w", ErrMalformedEntry, i, err)
		}
		if len(s.Sig) != 64 {
			return fmt.Errorf("%w: signatures[%d]: %d-byte signature, want 64 (Ed25519)", ErrMalformedEntry, i, len(s.Sig))
		}
		if i > 0 && e.Signatures[i-1].VKey >= s.VKey {
			return fmt.Errorf("%w: signatures[%d]: key %s twice or out of order", ErrMalformedEntry, i, s.VKey)
		}
	}
	return nil
}

// Marshal returns the canonical entry encoding of e.
func (e *Entry) Marshal() []byte {
	var b bytes.Buffer
	b.Grow(e.size())
	b.WriteString(EntryVersion + "\n")
	b.WriteString("type " + e.PayloadType + "\n")
	for _, s := range e.Signatures {
		b.WriteString("sig " + s.VKey + " " + base64.StdEncoding.EncodeToString(s.Sig) + "\n")
	}
	b.WriteString("\n")
	b.Write(e.Payload)
	return b.Bytes()
}

// ParseEntry parses a claim entry, accepting only its canonical encoding:
// re-marshalling the result gives b. It does not verify signatures. The
// returned entry does not alias b. Errors wrap [ErrMalformedEntry] or
// [ErrEntryTooLarge].
func ParseEntry(b []byte) (*Entry, error) {
	if len(b) > MaxEntrySize {
		return nil, fmt.Errorf("%w: %d bytes", ErrEntryTooLarge, len(b))
	}
	header, payload, ok := bytes.Cut(b, []byte("\n\n"))
	if !ok {
		return nil, fmt.Errorf("%w: no blank line before the payload", ErrMalformedEntry)
	}
	lines := strings.Split(string(header), "\n")
	if lines[0] != EntryVersion {
		return nil, fmt.Errorf("%w: first line %q, want %q", ErrMalformedEntry, truncate(lines[0]), EntryVersion)
	}
	if len(lines) < 2 || !strings.HasPrefix(lines[1], "type ") {
		return nil, fmt.Errorf("%w: second line is not \"type <payload type>\"", ErrMalformedEntry)
	}
	e := &Entry{PayloadType: lines[1][len("type "):], Payload: bytes.Clone(payload)}
	for i, l := range lines[2:] {
		rest, ok := strings.CutPrefix(l, "sig ")
		vkey, sig64, ok2 := strings.Cut(rest, " ")
		sig, err := base64.StdEncoding.DecodeString(sig64)
		if !ok || !ok2 || err != nil {
			return nil, fmt.Errorf("%w: line %d is not \"sig <vkey> <base64 signature>\"", ErrMalformedEntry, i+3)
		}
		e.Signatures = append(e.Signatures, Signature{VKey: vkey, Sig: sig})
	}
	if err := e.check(); err != nil {
		return nil, err
	}
	if !bytes.Equal(e.Marshal(), b) {
		return nil, fmt.Errorf("%w: not in canonical form", ErrMalformedEntry)
	}
	return e, nil
}

// Verify checks every signature of e against its vkey and returns the
// verifiers, in signature order. Every signature must verify: a claim
// carrying a bad signature is refused whole. Errors wrap [ErrBadSignature]
// or [ErrMalformedEntry].
func (e *Entry) Verify() ([]note.Verifier, error) {
	msg := pae(e.PayloadType, e.Payload)
	vs := make([]note.Verifier, len(e.Signatures))
	for i, s := range e.Signatures {
		v, err := ParseVKey(s.VKey)
		if err != nil {
			return nil, fmt.Errorf("%w: signatures[%d]: %w", ErrMalformedEntry, i, err)
		}
		if !v.Verify(msg, s.Sig) {
			return nil, fmt.Errorf("%w: signature by %s", ErrBadSignature, s.VKey)
		}
		vs[i] = v
	}
	return vs, nil
}

// Sign returns a signature by s over the DSSE PAE of the payload, for [NewEntry].
func Sign(s note.Signer, vkey, payloadType string, payload []byte) (Signature, error) {
	sig, err := s.Sign(pae(payloadType, payload))
	if err != nil {
		return Signature{}, fmt.Errorf("claim: signing: %w", err)
	}
	return Signature{VKey: vkey, Sig: sig}, nil
}

func truncate(s string) string {
	if len(s) > 64 {
		return s[:64] + "..."
	}
	return s
}
