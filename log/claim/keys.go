package claim

import (
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"sync"

	"github.com/attestlog/attestlog/log/claim/edkey"
	"golang.org/x/mod/sumdb/note"
)

// ErrBadKey is wrapped by errors about a builder's verifier key.
var ErrBadKey = errors.New("claim: bad builder key")

// ParseVKey parses a builder's Ed25519 signed-note verifier key,
// "<name>+<8 hex key ID>+<base64(0x01 || public key)>", accepting only its
// canonical spelling (lowercase hex, canonical base64), so that one key has
// one text and claims deduplicate, and only a name [CheckKeyName] accepts.
// Errors wrap [ErrBadKey].
//
// The verifier's Verify answers as note's Ed25519 verifier does
// (ed25519.Verify), through [edkey.Verify], which verifies the signatures
// of keys that sign again and again faster. Keys parsed recently are
// kept, so that a log parses each builder's key once, not per claim.
func ParseVKey(vkey string) (note.Verifier, error) {
	if v := vkeys.get(vkey); v != nil {
		return v, nil
	}
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
	// note.NewVerifier took it: the algorithm byte 0x01, Ed25519, and a
	// 32-byte public key.
	ev := &ed25519Verifier{name: name, hash: v.KeyHash(), pub: key[1:]}
	vkeys.put(vkey, ev)
	return ev, nil
}

// An ed25519Verifier is a builder's parsed verifier key.
type ed25519Verifier struct {
	name string
	hash uint32
	pub  []byte
}

func (v *ed25519Verifier) Name() string                { return v.name }
func (v *ed25519Verifier) KeyHash() uint32             { return v.hash }
func (v *ed25519Verifier) Verify(msg, sig []byte) bool { return edkey.Verify(v.pub, msg, sig) }

// vkeys holds the verifier keys ParseVKey accepted last, up to
// maxParsedVKeys; past it, it starts over.
var vkeys = vkeyCache{m: map[string]*ed25519Verifier{}}

const maxParsedVKeys = 4096

type vkeyCache struct {
	mu sync.Mutex
	m  map[string]*ed25519Verifier
}

func (c *vkeyCache) get(vkey string) *ed25519Verifier {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.m[vkey]
}

func (c *vkeyCache) put(vkey string, v *ed25519Verifier) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.m) >= maxParsedVKeys {
		clear(c.m)
	}
	c.m[vkey] = v
}

// pae is DSSE's pre-authentication encoding, the bytes a DSSE signature covers:
// "DSSEv1" SP len(type) SP type SP len(body) SP body.
func pae(payloadType string, payload []byte) []byte {
	b := make([]byte, 0, 32+len(payloadType)+len(payload))
	b = fmt.Appendf(b, "DSSEv1 %d %s %d ", len(payloadType), payloadType, len(payload))
	return append(b, payload...)
}
