package scheme

import (
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"
)

// noteAlgEd25519 is the signed-note algorithm byte of Ed25519 keys.
const noteAlgEd25519 = 1

// A NoteKey is a signed-note Ed25519 verifier key
// (https://c2sp.org/signed-note), the key attestlog's own claims are signed
// with. Its text is the vkey "<name>+<hash>+<base64 of 0x01 || key>".
type NoteKey struct {
	name string
	hash uint32
	key  ed25519.PublicKey
}

// ParseNoteKey parses a vkey in its one canonical spelling: the name valid
// for signed notes (non-empty UTF-8, no space, no "+"), the key hash as eight
// lowercase hex digits matching the key, and standard padded base64.
func ParseNoteKey(vkey string) (*NoteKey, error) {
	name, rest, ok1 := strings.Cut(vkey, "+")
	hashHex, keyB64, ok2 := strings.Cut(rest, "+")
	if !ok1 || !ok2 || !validNoteName(name) {
		return nil, fmt.Errorf("scheme: note key %q: want <name>+<8 hex>+<base64 key>, name without spaces or \"+\"", truncate(vkey))
	}
	raw, err := base64.StdEncoding.DecodeString(keyB64)
	if err != nil || len(raw) != 1+ed25519.PublicKeySize || raw[0] != noteAlgEd25519 || base64.StdEncoding.EncodeToString(raw) != keyB64 {
		return nil, fmt.Errorf("scheme: note key %q: key is not canonical base64 of 0x01 and a 32-byte Ed25519 key", truncate(vkey))
	}
	k := &NoteKey{name: name, hash: noteKeyHash(name, raw), key: ed25519.PublicKey(raw[1:])}
	if hashHex != fmt.Sprintf("%08x", k.hash) {
		return nil, fmt.Errorf("scheme: note key %q: key hash %q is not %08x, the hash of this name and key", truncate(vkey), truncate(hashHex), k.hash)
	}
	return k, nil
}

func validNoteName(name string) bool {
	return name != "" && utf8.ValidString(name) && strings.IndexFunc(name, unicode.IsSpace) < 0 && !strings.Contains(name, "+")
}

// noteKeyHash is the signed-note key ID: the first four bytes of
// SHA-256(name || "\n" || algorithm byte || key), big-endian.
func noteKeyHash(name string, algKey []byte) uint32 {
	h := sha256.New()
	h.Write([]byte(name))
	h.Write([]byte("\n"))
	h.Write(algKey)
	return binary.BigEndian.Uint32(h.Sum(nil))
}

// Scheme returns [Note].
func (k *NoteKey) Scheme() Scheme { return Note }

// KeyID returns "<name>+<hash>", the vkey without its key.
func (k *NoteKey) KeyID() string { return fmt.Sprintf("%s+%08x", k.name, k.hash) }

// String returns the vkey.
func (k *NoteKey) String() string {
	return k.KeyID() + "+" + base64.StdEncoding.EncodeToString(append([]byte{noteAlgEd25519}, k.key...))
}

// Verify checks a raw 64-byte Ed25519 signature over message. (In a signed
// note, a signature line holds the 4-byte key hash before these 64 bytes.)
func (k *NoteKey) Verify(message, signature []byte) error {
	if len(signature) != ed25519.SignatureSize {
		return fmt.Errorf("scheme: note key %s: signature is %d bytes, want %d", k.KeyID(), len(signature), ed25519.SignatureSize)
	}
	if !ed25519.Verify(k.key, message, signature) {
		return fmt.Errorf("note key %s: Ed25519 signature over the message: %w", k.KeyID(), ErrVerify)
	}
	return nil
}
