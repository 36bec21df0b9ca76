package vindex

import (
	"bytes"
	"testing"
)

func FuzzParseProof(f *testing.F) {
	s := &MemStore{}
	k := DigestKey("a")
	root, _ := Update(s, []Addition{{k, 3}, {k, 300}, {DigestKey("b"), 4}, {DigestKey("c"), 5}})
	for _, key := range []Key{k, DigestKey("b"), DigestKey("z")} {
		idx := map[Key][]int64{k: {3, 300}, DigestKey("b"): {4}}[key]
		p, _ := Prove(s, key, idx)
		b, _ := p.AppendBinary(nil)
		f.Add(b)
	}
	f.Add([]byte("\x02\x00\x00"))
	f.Fuzz(func(t *testing.T, b []byte) {
		p, err := ParseProof(b)
		if err != nil {
			return
		}
		again, err := p.AppendBinary(nil)
		if err != nil || !bytes.Equal(again, b) {
			t.Fatalf("ParseProof(%x).AppendBinary() = %x, %v", b, again, err)
		}
		for _, key := range []Key{k, DigestKey("b"), DigestKey("z")} {
			if err := p.Verify(root, key); err == nil && !bytes.Equal(b, mustProof(t, s, key)) {
				t.Fatalf("proof %x verified for key %s but is not the map's proof", b, key)
			}
		}
	})
}

// mustProof returns the map's own encoded proof for key in the fuzz map.
func mustProof(t *testing.T, s *MemStore, key Key) []byte {
	idx := map[Key][]int64{DigestKey("a"): {3, 300}, DigestKey("b"): {4}}[key]
	p, err := Prove(s, key, idx)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := p.AppendBinary(nil)
	return b
}

func FuzzParseNode(f *testing.F) {
	l := Leaf{Key: DigestKey("a"), Count: 1, Last: 7, Head: chain(EmptyHash, 7)}
	for _, n := range []Node{{Children: [2]Hash{{1, 2}}}, leafNode(l)} {
		b, _ := n.AppendBinary(nil)
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		n, err := ParseNode(b)
		if err != nil {
			return
		}
		again, _ := n.AppendBinary(nil)
		if !bytes.Equal(again, b) {
			t.Fatalf("ParseNode(%x).AppendBinary() = %x", b, again)
		}
	})
}
