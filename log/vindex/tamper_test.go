package vindex

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
)

// tamperFixture is a map with a busy key (many indexes), a few quiet keys
// and an absent key whose path ends at a quiet key's leaf.
func tamperFixture(t *testing.T) (s *MemStore, root Hash, busy, quiet, absent Key, m map[Key][]int64) {
	t.Helper()
	var adds []Addition
	busy, quiet = BuilderKey("busy"), DigestKey("quiet")
	for i := range int64(40) {
		adds = append(adds, Addition{busy, i * 3})
		if i%10 == 0 {
			adds = append(adds, Addition{quiet, i * 3})
		}
		adds = append(adds, Addition{DigestKey(fmt.Sprint(i)), i * 3})
	}
	s, root, m = mapOf(t, adds)
	// An absent key that shares its path with quiet down to the last bit.
	absent = quiet
	absent[HashSize-1] ^= 1
	return s, root, busy, quiet, absent, m
}

func encode(t *testing.T, p *Proof) []byte {
	t.Helper()
	b, err := p.AppendBinary(nil)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestTamperedProofsRefused: every change to a proof, its key or its root
// is refused, with an error that says what does not hold.
func TestTamperedProofsRefused(t *testing.T) {
	s, root, busy, quiet, absent, m := tamperFixture(t)
	prove := func(k Key) *Proof {
		p, err := Prove(s, k, slices.Clone(m[k]))
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	without := func(l []int64, i int) []int64 { return append(append([]int64{}, l[:i]...), l[i+1:]...) }
	with := func(l []int64, i int, x int64) []int64 {
		return append(append(append([]int64{}, l[:i]...), x), l[i:]...)
	}
	otherRoot := root
	otherRoot[0] ^= 1
	for _, tc := range []struct {
		desc  string
		key   Key
		root  Hash
		proof func() *Proof
		want  string
	}{
		{"dropped first index", busy, root, func() *Proof { p := prove(busy); p.Indexes = without(p.Indexes, 0); return p },
			"the 39 indexes under key " + busy.String() + " (last 117) do not lead to map root"},
		{"dropped middle index", busy, root, func() *Proof { p := prove(busy); p.Indexes = without(p.Indexes, 20); return p },
			"the 39 indexes under key " + busy.String() + " (last 117) do not lead to map root"},
		{"dropped last index", busy, root, func() *Proof { p := prove(busy); p.Indexes = without(p.Indexes, 39); return p },
			"the 39 indexes under key " + busy.String() + " (last 114) do not lead to map root"},
		{"added index inside", busy, root, func() *Proof { p := prove(busy); p.Indexes = with(p.Indexes, 6, 16); return p },
			"the 41 indexes under key"},
		{"added index at the end", quiet, root, func() *Proof { p := prove(quiet); p.Indexes = append(p.Indexes, 200); return p },
			"the 5 indexes under key " + quiet.String() + " (last 200)"},
		{"all indexes dropped: presence turned into absence", quiet, root, func() *Proof { p := prove(quiet); p.Indexes = nil; return p },
			"the proof that key " + quiet.String() + " is absent does not lead to map root"},
		{"absence at the key's own leaf", quiet, root, func() *Proof {
			p := prove(quiet)
			n, _, _ := s.Get(Position{Depth: uint16(len(p.Siblings)), Prefix: prefix(quiet, len(p.Siblings))})
			p.Indexes, p.Other = nil, &n.Leaf
			return p
		}, "ends at that key's own leaf, with 4 indexes"},
		{"indexes out of order", busy, root, func() *Proof { p := prove(busy); p.Indexes[3], p.Indexes[4] = p.Indexes[4], p.Indexes[3]; return p },
			"not increasing and non-negative at position 4 (9)"},
		{"presence against another root", busy, otherRoot, func() *Proof { return prove(busy) }, "do not lead to map root " + otherRoot.String()},
		{"absence against another root", absent, otherRoot, func() *Proof { return prove(absent) }, "the proof that key " + absent.String() + " is absent does not lead"},
		{"presence proof of another key", quiet, root, func() *Proof { return prove(busy) }, "the 40 indexes under key " + quiet.String()},
		{"absence proof of another absent key", absent, root, func() *Proof { return prove(DigestKey("absent")) }, ""},
		{"absence proof of the key's neighbour, for the present key", quiet, root, func() *Proof { return prove(absent) },
			"ends at that key's own leaf"},
		{"absence at a leaf off the key's path", DigestKey("elsewhere"), root, func() *Proof { return prove(absent) },
			"which is not on its path at depth"},
		{"a sibling emptied", busy, root, func() *Proof { p := prove(busy); p.Siblings[0] = EmptyHash; return p }, "do not lead to map root"},
		{"the last sibling emptied", busy, root, func() *Proof { p := prove(busy); p.Siblings[len(p.Siblings)-1] = EmptyHash; return p },
			"beside an empty subtree, which a map never holds"},
		{"a level dropped", busy, root, func() *Proof { p := prove(busy); p.Siblings = p.Siblings[1:]; return p }, "do not lead to map root"},
		{"a level added", busy, root, func() *Proof { p := prove(busy); p.Siblings = append(p.Siblings, Hash{9}); return p }, "do not lead to map root"},
	} {
		t.Run(tc.desc, func(t *testing.T) {
			p := tc.proof()
			err := p.Verify(tc.root, tc.key)
			if !errors.Is(err, ErrInvalidProof) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Verify = %v, want ErrInvalidProof containing %q", err, tc.want)
			}
			// The encoded form is refused too, when it can be encoded.
			if b, err := p.AppendBinary(nil); err == nil {
				if _, err := VerifyProof(tc.root, tc.key, b); err == nil {
					t.Fatalf("VerifyProof accepted the encoded tampered proof")
				}
			}
		})
	}
}

// prefix returns the first n bits of k.
func prefix(k Key, n int) Key {
	var p Key
	copy(p[:n/8], k[:n/8])
	if n%8 != 0 {
		p[n/8] = k[n/8] & (0xff << (8 - n%8))
	}
	return p
}

// TestFlippedProofBitsRefused flips every bit of encoded proofs of presence
// and absence in turn: each result is refused, as malformed or invalid.
func TestFlippedProofBitsRefused(t *testing.T) {
	s, root, _, quiet, absent, m := tamperFixture(t)
	for _, k := range []Key{quiet, absent, DigestKey("absent")} {
		p, err := Prove(s, k, m[k])
		if err != nil {
			t.Fatal(err)
		}
		b := encode(t, p)
		if _, err := VerifyProof(root, k, b); err != nil {
			t.Fatalf("untampered proof refused: %v", err)
		}
		for i := range 8 * len(b) {
			c := append([]byte{}, b...)
			c[i/8] ^= 0x80 >> (i % 8)
			idx, err := VerifyProof(root, k, c)
			if !errors.Is(err, ErrMalformedProof) && !errors.Is(err, ErrInvalidProof) {
				t.Fatalf("proof with bit %d flipped: VerifyProof = %v, %v", i, idx, err)
			}
		}
		for n := range len(b) {
			if _, err := VerifyProof(root, k, b[:n]); err == nil {
				t.Fatalf("proof cut to %d of %d bytes accepted", n, len(b))
			}
		}
		if _, err := VerifyProof(root, k, append(b, 0)); !errors.Is(err, ErrMalformedProof) {
			t.Fatalf("proof with a trailing byte: %v", err)
		}
	}
}

func TestParseProofStrict(t *testing.T) {
	for _, tc := range []struct {
		desc string
		b    string
	}{
		{"empty", ""},
		{"unknown kind", "\x04\x00\x00"},
		{"kind zero", "\x00\x00\x00"},
		{"too deep", "\x02\x01\x01" + strings.Repeat("\x00", 33)},
		{"padding bit set in bitmap", "\x02\x00\x01\x40" + strings.Repeat("\x01", 32)},
		{"empty sibling spelled out", "\x02\x00\x01\x80" + strings.Repeat("\x00", 32)},
		{"presence with no index", "\x01\x00\x00\x00"},
		{"non-minimal uvarint", "\x01\x00\x00\x01\x80\x00"},
		{"count larger than the rest", "\x01\x00\x00\x05\x01"},
		{"index past int64", "\x01\x00\x00\x02\xff\xff\xff\xff\xff\xff\xff\xff\x7f\x00"},
		{"absence leaf truncated", "\x03\x00\x00" + strings.Repeat("\x01", 31)},
		{"absence leaf count past int64", "\x03\x00\x00" + strings.Repeat("\x01", 32) + "\xff\xff\xff\xff\xff\xff\xff\xff\xff\x01\x00" + strings.Repeat("\x01", 32)},
		{"trailing byte", "\x02\x00\x00\x00"},
	} {
		if p, err := ParseProof([]byte(tc.b)); !errors.Is(err, ErrMalformedProof) {
			t.Errorf("%s: ParseProof(%x) = %+v, %v; want ErrMalformedProof", tc.desc, tc.b, p, err)
		}
	}
}
