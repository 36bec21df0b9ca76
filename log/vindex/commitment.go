package vindex

import (
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"

	"github.com/attestlog/attestlog/log/claim/record"
)

// CommitmentVersion is the first line of every index-commitment entry.
const CommitmentVersion = "attestlog.dev/index-commitment/v1"

// ErrMalformedCommitment is returned by [ParseCommitment] for bytes that
// are not the canonical encoding of an index commitment.
var ErrMalformedCommitment = errors.New("vindex: malformed index-commitment entry")

// A Commitment is the content of an index-commitment entry: the log's
// statement that the map over its entries [0, Size) has the given Root.
// The entry sits in the log itself, so the witnessed tree covers it (see
// the package doc).
type Commitment struct {
	Size int64
	Root Hash
}

// Marshal returns the entry encoding of c:
//
//	attestlog.dev/index-commitment/v1
//	size <Size, decimal, no leading zeros>
//	root <Root, standard base64>
//
// each line ending in a newline. Marshal does not check c; [ParseCommitment]
// refuses a negative size.
func (c Commitment) Marshal() []byte {
	b := make([]byte, 0, len(CommitmentVersion)+80)
	b = append(b, CommitmentVersion+"\nsize "...)
	b = strconv.AppendInt(b, c.Size, 10)
	b = append(b, "\nroot "...)
	b = base64.StdEncoding.AppendEncode(b, c.Root[:])
	return append(b, '\n')
}

// IsCommitment reports whether entry is meant as an index commitment: it
// starts with the commitment's version line. No claim entry does, since
// those start with [claim.EntryVersion]. Whether it is well formed is for
// [ParseCommitment] to say.
func IsCommitment(entry []byte) bool {
	return bytes.HasPrefix(entry, []byte(CommitmentVersion+"\n"))
}

// ParseCommitment parses an index-commitment entry, accepting only the
// encoding [Commitment.Marshal] gives for a size of at least 0. Errors wrap
// [ErrMalformedCommitment]. It does not retain b.
func ParseCommitment(b []byte) (Commitment, error) {
	rest, ok := bytes.CutPrefix(b, []byte(CommitmentVersion+"\nsize "))
	if !ok {
		return Commitment{}, fmt.Errorf("%w: it does not start with %q and a size line", ErrMalformedCommitment, CommitmentVersion)
	}
	sizeText, rest, ok := bytes.Cut(rest, []byte("\n"))
	if !ok {
		return Commitment{}, fmt.Errorf("%w: unterminated size line", ErrMalformedCommitment)
	}
	size, err := strconv.ParseInt(string(sizeText), 10, 64)
	if err != nil || size < 0 || strconv.FormatInt(size, 10) != string(sizeText) {
		return Commitment{}, fmt.Errorf("%w: size %q is not a decimal number without sign or leading zeros", ErrMalformedCommitment, sizeText)
	}
	rootText, ok := bytes.CutPrefix(rest, []byte("root "))
	if !ok || len(rootText) != base64.StdEncoding.EncodedLen(HashSize)+1 || rootText[len(rootText)-1] != '\n' {
		return Commitment{}, fmt.Errorf("%w: want a last line \"root <base64 of %d bytes>\"", ErrMalformedCommitment, HashSize)
	}
	rootText = rootText[:len(rootText)-1]
	raw, err := base64.StdEncoding.DecodeString(string(rootText))
	if err != nil || len(raw) != HashSize || base64.StdEncoding.EncodeToString(raw) != string(rootText) {
		return Commitment{}, fmt.Errorf("%w: root %q is not the standard base64 of %d bytes", ErrMalformedCommitment, rootText, HashSize)
	}
	return Commitment{Size: size, Root: Hash(raw)}, nil
}

// EntryKeys applies the map function to a log entry as logged: an index
// commitment has no keys (ok true, nil keys); a claim entry whose entry
// decodes (log/claim/record's EntryKeys: a v2 entry verified, a v1 entry
// parsed, as before) has the keys of [ClaimKeys]; anything else is not a
// claim (ok false), which a log must never hold and a monitor reports.
func EntryKeys(entry []byte) (keys []Key, ok bool) {
	if IsCommitment(entry) {
		_, err := ParseCommitment(entry)
		return nil, err == nil
	}
	k, err := record.EntryKeys(entry)
	if err != nil {
		return nil, false
	}
	return ClaimKeys(k), true
}
