package edkey

import (
	"bytes"
	"crypto/ed25519"
	"crypto/sha512"
	"encoding/hex"
	"fmt"
	"math/big"
	mrand "math/rand/v2"
	"testing"

	"filippo.io/edwards25519"
)

// agree fails t unless New and Verify answer as ed25519.Verify does.
func agree(t *testing.T, pub, msg, sig []byte) bool {
	t.Helper()
	want := ed25519.Verify(pub, msg, sig)
	k, err := New(pub)
	if err != nil {
		if want {
			t.Fatalf("New(%x): %v, but ed25519.Verify accepts %x", pub, err, sig)
		}
		return false
	}
	if got := k.Verify(msg, sig); got != want {
		t.Fatalf("key %x, message %x, signature %x: Verify %v, ed25519.Verify %v", pub, msg, sig, got, want)
	}
	return want
}

// RFC 8032, 7.1, tests 1 to 3.
func TestRFC8032(t *testing.T) {
	for _, v := range []struct{ pub, msg, sig string }{
		{"d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a", "",
			"e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b"},
		{"3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c", "72",
			"92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da085ac1e43e15996e458f3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00"},
		{"fc51cd8e6218a1a38da47ed00230f0580816ed13ba3303ac5deb911548908025", "af82",
			"6291d657deec24024827e69c3abe01a30ce548a284743a445e3680d7db5ac3ac18ff9b538d16f290ae67f760984dc6594a7c15e9716ed28dc027beceea1ec40a"},
	} {
		pub, _ := hex.DecodeString(v.pub)
		msg, _ := hex.DecodeString(v.msg)
		sig, _ := hex.DecodeString(v.sig)
		if !agree(t, pub, msg, sig) {
			t.Errorf("RFC 8032 vector of key %s rejected", v.pub)
		}
	}
}

// Valid signatures, and each with one bit flipped in the signature, the
// message or the key.
func TestAgreesOnValidAndForged(t *testing.T) {
	rng := mrand.NewChaCha8([32]byte{1})
	for i := range 64 {
		seed := make([]byte, ed25519.SeedSize)
		rng.Read(seed)
		priv := ed25519.NewKeyFromSeed(seed)
		pub := priv.Public().(ed25519.PublicKey)
		msg := make([]byte, i*7)
		rng.Read(msg)
		sig := ed25519.Sign(priv, msg)
		if !agree(t, pub, msg, sig) {
			t.Fatalf("valid signature %d rejected", i)
		}
		k, _ := New(pub)
		for bit := range 64 * 8 {
			bad := bytes.Clone(sig)
			bad[bit/8] ^= 1 << (bit % 8)
			if k.Verify(msg, bad) != ed25519.Verify(pub, msg, bad) {
				t.Fatalf("signature %d with bit %d flipped: disagree", i, bit)
			}
		}
		if len(msg) > 0 {
			bad := bytes.Clone(msg)
			bad[i%len(msg)] ^= 0x80
			agree(t, pub, bad, sig)
		}
		bad := bytes.Clone(pub)
		bad[i%32] ^= 4
		agree(t, bad, msg, sig)
	}
}

// order is the group order L.
var order, _ = new(big.Int).SetString("7237005577332262213973186563042994240857116359379907606001950938285454250989", 10)

// scalarBytes returns n mod 2^256 as 32 little-endian bytes.
func scalarBytes(n *big.Int) []byte {
	b := make([]byte, 32)
	nb := n.Bytes()
	for i, c := range nb[max(0, len(nb)-32):] {
		b[len(nb[max(0, len(nb)-32):])-1-i] = c
	}
	return b
}

// s + L is the same scalar mod L, but not canonical: both refuse it.
func TestNonCanonicalS(t *testing.T) {
	priv := ed25519.NewKeyFromSeed(make([]byte, 32))
	pub := priv.Public().(ed25519.PublicKey)
	for i := range 32 {
		msg := []byte(fmt.Sprint(i))
		sig := ed25519.Sign(priv, msg)
		s := new(big.Int).SetBytes(reverse(sig[32:]))
		s.Add(s, order)
		copy(sig[32:], scalarBytes(s))
		if agree(t, pub, msg, sig) {
			t.Fatalf("s+L accepted")
		}
	}
}

func reverse(b []byte) []byte {
	r := make([]byte, len(b))
	for i, c := range b {
		r[len(b)-1-i] = c
	}
	return r
}

// torsion returns the eight points of small order, from a point of order
// 8L: [L]P has order 8, and its multiples are the torsion group.
func torsion(t *testing.T) []*edwards25519.Point {
	lMinus1 := new(big.Int).Sub(order, big.NewInt(1))
	s, err := edwards25519.NewScalar().SetCanonicalBytes(scalarBytes(lMinus1))
	if err != nil {
		t.Fatal(err)
	}
	for y := byte(2); ; y++ {
		enc := make([]byte, 32)
		enc[0] = y
		p, err := new(edwards25519.Point).SetBytes(enc)
		if err != nil {
			continue
		}
		tp := new(edwards25519.Point).ScalarMult(s, p)
		tp.Add(tp, p) // [L]P
		pts := []*edwards25519.Point{edwards25519.NewIdentityPoint()}
		for q := new(edwards25519.Point).Set(tp); q.Equal(edwards25519.NewIdentityPoint()) == 0; q = new(edwards25519.Point).Add(q, tp) {
			pts = append(pts, q)
		}
		if len(pts) == 8 {
			return pts
		}
	}
}

// Keys and nonces of small order, and keys with a torsion part: the
// cofactorless equation accepts a signature by A' = A + T only when [k]T
// is the identity, about one in eight messages, and Verify must accept
// exactly those. Signatures of the small-order keys themselves (s = 0,
// R of small order) are accepted by both for some messages too.
func TestAgreesOnSmallOrder(t *testing.T) {
	tor := torsion(t)
	seed := make([]byte, 32)
	seed[0] = 9
	h := sha512.Sum512(seed)
	a, err := edwards25519.NewScalar().SetBytesWithClamping(h[:32])
	if err != nil {
		t.Fatal(err)
	}
	A := new(edwards25519.Point).ScalarBaseMult(a)
	var accepted, rejected int
	for ti, T := range tor {
		pubT := new(edwards25519.Point).Add(A, T).Bytes()
		for m := range 48 {
			msg := []byte(fmt.Sprintf("message %d", m))
			// R = [r]B, s = r + k·a with k = H(R || A' || M).
			r, _ := edwards25519.NewScalar().SetUniformBytes(sha512Of(msg, []byte{byte(ti)}))
			R := new(edwards25519.Point).ScalarBaseMult(r).Bytes()
			k, _ := edwards25519.NewScalar().SetUniformBytes(sha512Of(R, pubT, msg))
			s := edwards25519.NewScalar().MultiplyAdd(k, a, r)
			sig := append(bytes.Clone(R), s.Bytes()...)
			if agree(t, pubT, msg, sig) {
				accepted++
			} else {
				rejected++
			}
			// The small-order key itself, with s = 0 and R = T.
			zero := append(T.Bytes(), make([]byte, 32)...)
			agree(t, T.Bytes(), msg, zero)
			agree(t, T.Bytes(), msg, append(tor[m%8].Bytes(), make([]byte, 32)...))
		}
	}
	if accepted == 0 || rejected == 0 {
		t.Fatalf("accepted %d, rejected %d: the mixed-order cases were not exercised both ways", accepted, rejected)
	}
}

func sha512Of(parts ...[]byte) []byte {
	h := sha512.New()
	for _, p := range parts {
		h.Write(p)
	}
	return h.Sum(nil)
}

// Encodings of points with y ≥ p (non-canonical) as keys and as R: the
// key is decoded as ed25519 decodes it, and R' is compared byte for byte.
func TestNonCanonicalEncodings(t *testing.T) {
	for y := range 19 {
		for _, sign := range []byte{0, 0x80} {
			enc := make([]byte, 32)
			for i := range enc {
				enc[i] = 0xff
			}
			enc[0] = byte(0xed + y) // p + y, for y < 19 the non-canonical encodings
			enc[31] = 0x7f | sign
			msg := []byte("m")
			agree(t, enc, msg, append(bytes.Clone(enc), make([]byte, 32)...))
			priv := ed25519.NewKeyFromSeed(make([]byte, 32))
			sig := ed25519.Sign(priv, msg)
			copy(sig, enc)
			agree(t, priv.Public().(ed25519.PublicKey), msg, sig)
		}
	}
}

func TestRadix256(t *testing.T) {
	rng := mrand.NewChaCha8([32]byte{3})
	for n := range 1002 {
		b := make([]byte, 32)
		rng.Read(b)
		b[31] &= 0x7f
		switch n {
		case 0: // the largest scalar below 2^255: every digit carries
			for i := range b {
				b[i] = 0xff
			}
			b[31] = 0x7f
		case 1:
			clear(b)
		}
		d := radix256(b)
		sum := new(big.Int)
		for i := 31; i >= 0; i-- {
			if d[i] < -128 || d[i] > 128 || i < 31 && d[i] == 128 {
				t.Fatalf("digit %d of %x: %d", i, b, d[i])
			}
			sum.Lsh(sum, 8)
			sum.Add(sum, big.NewInt(int64(d[i])))
		}
		if sum.Cmp(new(big.Int).SetBytes(reverse(b))) != 0 {
			t.Fatalf("digits of %x sum to %x", b, sum)
		}
	}
}

func TestRadix16(t *testing.T) {
	rng := mrand.NewChaCha8([32]byte{2})
	for range 1000 {
		b := make([]byte, 32)
		rng.Read(b)
		b[31] &= 0x7f
		d := radix16(b)
		sum := new(big.Int)
		for i := 63; i >= 0; i-- {
			if d[i] < -8 || d[i] > 8 {
				t.Fatalf("digit %d of %x: %d", i, b, d[i])
			}
			sum.Lsh(sum, 4)
			sum.Add(sum, big.NewInt(int64(d[i])))
		}
		if sum.Cmp(new(big.Int).SetBytes(reverse(b))) != 0 {
			t.Fatalf("digits of %x sum to %x", b, sum)
		}
	}
}

func TestNewRefuses(t *testing.T) {
	if _, err := New(make([]byte, 31)); err == nil {
		t.Error("New took a 31-byte key")
	}
	bad := make([]byte, 32)
	bad[0] = 2 // y = 2 is not on the curve
	if _, err := new(edwards25519.Point).SetBytes(bad); err == nil {
		t.Fatal("y = 2 decodes: pick another")
	}
	if _, err := New(bad); err == nil {
		t.Error("New took a key that is not a point")
	}
}

func FuzzVerify(f *testing.F) {
	priv := ed25519.NewKeyFromSeed(make([]byte, 32))
	msg := []byte("attestlog")
	f.Add([]byte(priv.Public().(ed25519.PublicKey)), msg, ed25519.Sign(priv, msg))
	f.Add(make([]byte, 32), msg, make([]byte, 64))
	f.Fuzz(func(t *testing.T, pub, msg, sig []byte) {
		if len(pub) != 32 {
			if _, err := New(pub); err == nil {
				t.Fatalf("New took a %d-byte key", len(pub))
			}
			return
		}
		agree(t, pub, msg, sig)
	})
}

func BenchmarkVerify(b *testing.B) {
	priv := ed25519.NewKeyFromSeed(make([]byte, 32))
	pub := priv.Public().(ed25519.PublicKey)
	msg := make([]byte, 300)
	sig := ed25519.Sign(priv, msg)
	k, _ := New(pub)
	b.Run("edkey", func(b *testing.B) {
		for b.Loop() {
			k.Verify(msg, sig)
		}
	})
	b.Run("crypto", func(b *testing.B) {
		for b.Loop() {
			ed25519.Verify(pub, msg, sig)
		}
	})
	b.Run("new", func(b *testing.B) {
		for b.Loop() {
			New(pub)
		}
	})
}

// Keys taken in turn, as a log's builders: their tables do not all stay
// in the processor's caches.
func BenchmarkVerifyKeys(b *testing.B) {
	for _, n := range []int{1, 16, 256, 4096} {
		keys := make([]*Key, n)
		msgs, sigs := make([][]byte, n), make([][]byte, n)
		for i := range keys {
			seed := make([]byte, 32)
			seed[0], seed[1] = byte(i), byte(i>>8)
			priv := ed25519.NewKeyFromSeed(seed)
			keys[i], _ = New(priv.Public().(ed25519.PublicKey))
			msgs[i] = make([]byte, 300)
			sigs[i] = ed25519.Sign(priv, msgs[i])
		}
		b.Run(fmt.Sprintf("keys=%d", n), func(b *testing.B) {
			i := 0
			for b.Loop() {
				keys[i%n].Verify(msgs[i%n], sigs[i%n])
				i++
			}
		})
	}
}
