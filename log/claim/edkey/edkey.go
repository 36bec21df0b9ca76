// Package edkey verifies Ed25519 signatures (RFC 8032) by keys that sign
// again and again, as a log's builders do, about twice as fast as
// crypto/ed25519, with exactly its answers.
//
// crypto/ed25519 computes R' = [s]B − [k]A for each signature with a
// double-scalar multiplication of 256 doublings, since it knows nothing
// of A in advance. A [Key] keeps a table of multiples of A, as
// crypto/ed25519 keeps one of B, and the package a wider one of B (480
// KiB, for base-256 digits), so that R' takes 96 additions of table
// points and four doublings. The equation, the checks and the comparison
// are crypto/ed25519's, unchanged: cofactorless, s below the group order,
// R' encoded and compared byte for byte with the signature's R. Only the
// way the same group element is computed differs, so that Verify accepts
// exactly the signatures ed25519.Verify accepts, which the tests and the
// fuzz test check against it, valid, forged, non-canonical and of small
// order alike.
//
// The table costs 30 KiB and about two verifications to build: [Verify]
// keeps tables for the keys it sees more than once, in a bounded cache.
package edkey

import (
	"crypto/ed25519"
	"crypto/sha512"
	"errors"
	"sync"

	"filippo.io/edwards25519"
)

// A Key is an Ed25519 public key with its table. It is immutable and safe
// for concurrent use.
type Key struct {
	pub [ed25519.PublicKeySize]byte
	t   *table
}

// New returns the Key of an Ed25519 public key, or an error if pub is not
// 32 bytes or not the encoding of a curve point (crypto/ed25519 verifies no
// signature by such a key).
func New(pub []byte) (*Key, error) {
	if len(pub) != ed25519.PublicKeySize {
		return nil, errors.New("edkey: an Ed25519 public key is 32 bytes")
	}
	a, err := new(edwards25519.Point).SetBytes(pub)
	if err != nil {
		return nil, errors.New("edkey: the public key is not a point of edwards25519")
	}
	k := &Key{t: newTable(a)}
	copy(k.pub[:], pub)
	return k, nil
}

// base is the base point's wide table, built on first use (some 4,000
// point additions).
var base = sync.OnceValue(func() *wideTable { return newWideTable(edwards25519.NewGeneratorPoint()) })

// Verify reports whether sig is k's signature of msg: the answer of
// ed25519.Verify(pub, msg, sig).
func (k *Key) Verify(msg, sig []byte) bool {
	if len(sig) != ed25519.SignatureSize || sig[63]&224 != 0 {
		return false
	}
	s, err := edwards25519.NewScalar().SetCanonicalBytes(sig[32:])
	if err != nil {
		return false
	}
	h := sha512.New()
	h.Write(sig[:32])
	h.Write(k.pub[:])
	h.Write(msg)
	var digest [sha512.Size]byte
	c, err := edwards25519.NewScalar().SetUniformBytes(h.Sum(digest[:0]))
	if err != nil {
		return false // cannot happen: a SHA-512 digest is 64 bytes
	}
	// R' = [s]B − [c]A: [c]A by the base-16 digits of c, the odd digits'
	// sum times 16 plus the even digits' sum, then [s]B by the base-256
	// digits of s, from the base point's wide table.
	sd, cd := radix256(s.Bytes()), radix16(c.Bytes())
	b := base()
	if k.t.touch(&cd)+b.touch(&sd) == 0 {
		touched.Add(1) // a use of the loads, so that they are made
	}
	var r extended
	r.identity()
	for i := 1; i < 64; i += 2 {
		r.addDigit(k.t[i/2][:], int(cd[i]), true)
	}
	for range 4 {
		r.double()
	}
	for i := 0; i < 64; i += 2 {
		r.addDigit(k.t[i/2][:], int(cd[i]), true)
	}
	for i := range sd {
		r.addDigit(b[i][:], int(sd[i]), false)
	}
	return r.encode() == [32]byte(sig[:32])
}
