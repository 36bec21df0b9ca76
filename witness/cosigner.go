package witness

import (
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"golang.org/x/mod/sumdb/note"
)

// sigTypeCosignatureV1 is the signed-note signature type of
// c2sp.org/tlog-cosignature Ed25519 cosignatures.
const sigTypeCosignatureV1 = 0x04

// A cosigner signs c2sp.org/tlog-cosignature cosignature/v1 signatures with
// an Ed25519 key. Unlike formats/note's signer, which reads the clock itself,
// it signs with a timestamp chosen by the caller, so that the witness can
// keep timestamps from going backwards.
type cosigner struct {
	name string
	hash uint32 // key ID: SHA-256(name || "\n" || 0x04 || public key)[:4]
	key  ed25519.PrivateKey
	vkey string // <name>+<key ID>+base64(0x04 || public key)
}

// newCosigner returns the cosigner of skey, a signed-note Ed25519 private key:
//
//	PRIVATE+KEY+<name>+<key ID, 8 hex digits>+<base64(0x01 || 32-byte seed)>
func newCosigner(skey string) (*cosigner, error) {
	// note.NewSigner checks the name, the key ID and the key type.
	s, err := note.NewSigner(skey)
	if err != nil {
		return nil, fmt.Errorf("witness: parsing witness key: %w", err)
	}
	// Names and key IDs cannot contain '+'; the base64 key may.
	parts := strings.SplitN(strings.TrimPrefix(skey, "PRIVATE+KEY+"), "+", 3)
	if len(parts) != 3 {
		return nil, errors.New("witness: parsing witness key: malformed key")
	}
	raw, err := base64.StdEncoding.DecodeString(parts[2])
	if err != nil || len(raw) != 1+ed25519.SeedSize || raw[0] != 0x01 {
		return nil, errors.New("witness: parsing witness key: not an Ed25519 signed-note key")
	}
	key := ed25519.NewKeyFromSeed(raw[1:])
	pub := append([]byte{sigTypeCosignatureV1}, key.Public().(ed25519.PublicKey)...)
	h := sha256.New()
	h.Write([]byte(s.Name() + "\n"))
	h.Write(pub)
	c := &cosigner{name: s.Name(), hash: binary.BigEndian.Uint32(h.Sum(nil)), key: key}
	c.vkey = fmt.Sprintf("%s+%08x+%s", c.name, c.hash, base64.StdEncoding.EncodeToString(pub))
	return c, nil
}

// at returns a note.Signer that signs cosignature/v1 signatures with the
// timestamp ts (Unix seconds, not zero).
func (c *cosigner) at(ts uint64) note.Signer { return timestampedSigner{c, ts} }

// cosign returns the signature line of a cosignature with timestamp ts over
// the checkpoint body text:
//
//	— <name> base64(key ID || timestamp || Ed25519 signature)\n
func (c *cosigner) cosign(ts uint64, text []byte) []byte {
	sig, _ := c.at(ts).Sign(text) // cannot fail
	b := binary.BigEndian.AppendUint32(nil, c.hash)
	b = append(b, sig...)
	return fmt.Appendf(nil, "— %s %s\n", c.name, base64.StdEncoding.EncodeToString(b))
}

type timestampedSigner struct {
	*cosigner
	ts uint64
}

func (s timestampedSigner) Name() string    { return s.name }
func (s timestampedSigner) KeyHash() uint32 { return s.hash }

// Sign returns timestamp (8 bytes, big-endian) || Ed25519 signature over
//
//	cosignature/v1
//	time <timestamp, decimal>
//	<msg, the whole checkpoint body>
func (s timestampedSigner) Sign(msg []byte) ([]byte, error) {
	m := make([]byte, 0, 64+len(msg))
	m = append(m, "cosignature/v1\ntime "...)
	m = strconv.AppendUint(m, s.ts, 10)
	m = append(m, '\n')
	m = append(m, msg...)
	sig := binary.BigEndian.AppendUint64(make([]byte, 0, 8+ed25519.SignatureSize), s.ts)
	return append(sig, ed25519.Sign(s.key, m)...), nil
}
