package claim

import (
	"encoding/base64"
	"errors"
	"fmt"
	"strings"

	"golang.org/x/mod/sumdb/note"
)

// ErrBadKey is wrapped by errors about a builder's verifier key.
var ErrBadKey = errors.New("claim: bad builder key")

// ParseVKey parses a builder's Ed25519 signed-note verifier key,
// "<name>+<8 hex key ID>+<base64(0x01 || public key)>", accepting only its
// canonical spelling (lowercase hex, canonical base64), so that one key has
// one text and claims deduplicate, and only a name [CheckKeyName] accepts.
// Errors wrap [ErrBadKey].
func ParseVKey(vkey string) (note.Verifier, error) {
	name, rest, _ := strings.Cut(vkey, "+")
	if err := CheckKeyName(name); err != nil {
		return nil, fmt.Errorf("%w %q: %w", ErrBadKey, vkey, err)
	}
	v, err := note.NewVerifier(vkey)
	if err != nil {
		return nil, fmt.Errorf("%w %q: %v", ErrBadKey, vkey, err)
	}
	hash16, key64, _ := strings.Cut(rest, "+")
	key, _ := base64.StdEncoding.DecodeString(key64)
	if hash16 != fmt.Sprintf("%08x", v.KeyHash()) || base64.StdEncoding.EncodeToString(key) != key64 || name != v.Name() {
		return nil, fmt.Errorf("%w %q: not in canonical form", ErrBadKey, vkey)
	}
	return v, nil
}

// pae is DSSE's pre-authentication encoding, the bytes a DSSE signature covers:
// "DSSEv1" SP len(type) SP type SP len(body) SP body.
func pae(payloadType string, payload []byte) []byte {
	b := make([]byte, 0, 32+len(payloadType)+len(payload))
	b = fmt.Appendf(b, "DSSEv1 %d %s %d ", len(payloadType), payloadType, len(payload))
	return append(b, payload...)
}
