package archive

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
)

// A Digest is the SHA-256 of an artifact's bytes, the name it is stored under.
type Digest [sha256.Size]byte

// ParseDigest parses the one accepted spelling of a digest: exactly 64
// lowercase hex digits. Anything else, including upper case and a "sha256:"
// prefix, is an error wrapping [ErrMalformedDigest]; normalising is the
// caller's job, so that one object has one name.
func ParseDigest(s string) (Digest, error) {
	var d Digest
	if len(s) != 2*len(d) {
		return Digest{}, fmt.Errorf("%w: %.80q has %d characters, want %d", ErrMalformedDigest, s, len(s), 2*len(d))
	}
	for i := 0; i < len(s); i++ {
		// hex.Decode also accepts upper case, which would give one digest two names.
		if c := s[i]; (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return Digest{}, fmt.Errorf("%w: %q is not lowercase hex", ErrMalformedDigest, s)
		}
	}
	if _, err := hex.Decode(d[:], []byte(s)); err != nil {
		panic("archive: hex.Decode refused checked hex: " + err.Error())
	}
	return d, nil
}

// String returns d as 64 lowercase hex digits, the form ParseDigest accepts.
func (d Digest) String() string { return hex.EncodeToString(d[:]) }
