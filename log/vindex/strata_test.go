package vindex

import (
	"bytes"
	"errors"
	"fmt"
	"testing"
)

// records is a StratumReader over records kept in memory by storage key,
// and the patches that follow each, if any.
type records struct {
	m       map[string][]byte
	patches map[string][][]byte
	reads   int // ReadStrata calls
}

func (r *records) ReadStrata(ps []Position) ([]StoredStratum, error) {
	r.reads++
	out := make([]StoredStratum, len(ps))
	for i, p := range ps {
		k, _ := p.AppendBinary(nil)
		out[i] = StoredStratum{Record: r.m[string(k)], Patches: r.patches[string(k)]}
	}
	return out, nil
}

func (r *records) write(t *testing.T, s *Strata) int {
	t.Helper()
	dirty := s.Dirty(0)
	for _, d := range dirty {
		if _, err := ParseStratum(d.Record); err != nil {
			t.Fatalf("Dirty() gave a record that does not parse: %v", err)
		}
		k, _ := d.Root.AppendBinary(nil)
		r.m[string(k)] = d.Record
	}
	return len(dirty)
}

// TestStrata checks that a map kept in strata has the roots and proofs of
// the same map in a MemStore, batch after batch, and that it reads and
// writes about an eighth of the records a store of nodes would.
func TestStrata(t *testing.T) {
	var mem MemStore
	cs := &countingStore{} // the same map, counting its node reads
	recs := &records{m: map[string][]byte{}}
	var keys []Key
	lists := map[Key][]int64{}
	next := int64(0)
	for batch := range 6 {
		var adds []Addition
		for i := range 1500 {
			k := DigestKey(fmt.Sprint(batch, i))
			if batch > 0 && i%3 > 0 {
				k = keys[(i*7919+batch)%len(keys)]
			} else {
				keys = append(keys, k)
			}
			adds = append(adds, Addition{k, next})
			lists[k] = append(lists[k], next)
			next++
		}
		want, err := Update(&mem, adds)
		if err != nil {
			t.Fatal(err)
		}
		cs.positions = 0
		if _, err := Update(cs, adds); err != nil {
			t.Fatal(err)
		}
		s := NewStrata(recs)
		recs.reads = 0
		got, err := Update(s, adds)
		if err != nil || got != want {
			t.Fatalf("batch %d: Update on strata = %s, %v; a MemStore gives %s", batch, got, err, want)
		}
		written := recs.write(t, s)
		if root, err := Root(NewStrata(recs)); err != nil || root != want {
			t.Fatalf("batch %d: root read back from the records = %s, %v, want %s", batch, root, err, want)
		}
		t.Logf("batch %d: %d strata written, %d node reads, %d ReadStrata", batch, written, cs.positions, recs.reads)
		// A store of nodes writes every node on the batch's paths once:
		// the count of positions read plus the new nodes.
		if batch > 0 && written*4 > cs.positions {
			t.Errorf("batch %d: %d strata written, against %d node reads for a store of nodes: want about an eighth", batch, written, cs.positions)
		}
		if batch > 0 && (recs.reads > 5 || recs.reads < 2) {
			t.Errorf("batch %d: %d ReadStrata calls for a map about 14 levels deep, want 2 to 5 (one per stratum level)", batch, recs.reads)
		}
	}
	inner, leaves := mem.Len()
	if len(recs.m)*4 > inner+leaves {
		t.Errorf("%d records for %d nodes: want far fewer", len(recs.m), inner+leaves)
	}
	for _, k := range append(keys[:50:50], DigestKey("absent"), DigestKey("also absent")) {
		idx := lists[k]
		want, err := Prove(&mem, k, idx)
		if err != nil {
			t.Fatal(err)
		}
		recs.reads = 0
		got, err := Prove(NewStrata(recs), k, idx)
		if err != nil {
			t.Fatal(err)
		}
		wb, _ := want.AppendBinary(nil)
		gb, _ := got.AppendBinary(nil)
		if !bytes.Equal(wb, gb) {
			t.Fatalf("key %s: proof from strata differs from the MemStore's", k)
		}
		if recs.reads > 3 {
			t.Errorf("key %s: proof read %d strata, want at most 3 for a map about 14 levels deep", k, recs.reads)
		}
	}
}

func TestParseStratum(t *testing.T) {
	var s MemStore
	a, b := DigestKey("a"), DigestKey("b")
	if _, err := Update(&s, []Addition{{a, 1}, {b, 2}}); err != nil {
		t.Fatal(err)
	}
	root, _, _ := s.Get(Position{})
	inner, _ := root.AppendBinary(nil)
	leaf, _ := leafNode(Leaf{Key: a, Count: 1, Last: 1, Head: chain(EmptyHash, 1)}).AppendBinary(nil)
	side := byte(1 + a.bit(0)) // the place of a's leaf, if it is a child of the root
	good := append(append([]byte{0}, inner...), append([]byte{side}, leaf...)...)
	if n, err := ParseStratum(good); err != nil && root.Children[a.bit(0)] != EmptyHash || err == nil && n != 2 {
		t.Fatalf("ParseStratum(root and a child) = %d, %v", n, err)
	}
	for _, tc := range []struct {
		name string
		b    []byte
	}{
		{"empty", nil},
		{"one byte", []byte{0}},
		{"cut short", good[:len(good)-1]},
		{"trailing byte", append(append([]byte{}, good...), 0)},
		{"place out of range", append([]byte{255}, leaf...)},
		{"places out of order", append(append([]byte{0}, inner...), append([]byte{0}, leaf...)...)},
		{"orphan", append([]byte{1}, leaf...)},
		{"below a leaf", append(append([]byte{0}, leaf...), append([]byte{1}, leaf...)...)},
		{"bad node", append([]byte{0, 0x07}, inner[1:]...)},
		{"frontier: empty", []byte{frontierMark}},
		{"frontier: inner node above the bottom level", append([]byte{frontierMark, 0}, inner...)},
		{"frontier: leaf above nodes", append(append([]byte{frontierMark, 1}, leaf...), append([]byte{3}, leaf...)...)},
		{"frontier: places out of order", append(append([]byte{frontierMark, 2}, leaf...), append([]byte{1}, leaf...)...)},
		{"frontier: cut short", append([]byte{frontierMark, 1}, leaf[:20]...)},
	} {
		if _, err := ParseStratum(tc.b); !errors.Is(err, ErrMalformedStratum) {
			t.Errorf("%s: ParseStratum(%x) = %v, want ErrMalformedStratum", tc.name, tc.b, err)
		}
	}
}

func FuzzParseStratum(f *testing.F) {
	recs := &records{m: map[string][]byte{}}
	s := NewStrata(recs)
	var adds []Addition
	for i := range int64(40) {
		adds = append(adds, Addition{DigestKey(fmt.Sprint(i)), i})
	}
	if _, err := Update(s, adds); err != nil {
		f.Fatal(err)
	}
	for _, d := range s.Dirty(0) {
		f.Add(d.Record)
		st, _ := parseStratum(d.Record)
		f.Add(appendStratumFull(nil, st))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		st, err := parseStratum(b)
		if len(b) > 0 && b[0] == frontierMark {
			// ComposeStratum's check, without hashes, agrees with the parse.
			st := newParsed(len(b))
			if perr := parseStored(b[1:], st); perr == nil {
				if cerr := checkFrontier(st); (cerr == nil) != (err == nil) {
					t.Fatalf("checkFrontier = %v, parseStratum = %v", cerr, err)
				}
			}
		}
		if err != nil {
			return
		}
		encode := appendStratum
		if b[0] != frontierMark {
			encode = appendStratumFull
		}
		if b[0] == frontierMark && st.encodedSize() != len(b) {
			t.Fatalf("encodedSize = %d for a record of %d bytes", st.encodedSize(), len(b))
		}
		if again := encode(nil, st); !bytes.Equal(again, b) {
			t.Fatalf("parseStratum(%x) encodes back as %x", b, again)
		}
		if b[0] == frontierMark {
			checkInnerHashes(t, st)
		}
	})
}

// checkInnerHashes checks that every inner node of st above its bottom
// level holds the hashes of its children in st, and EmptyHash on a side
// with none: what parsing a record in the frontier encoding computes.
func checkInnerHashes(t *testing.T, st *stratum) {
	t.Helper()
	for _, p := range st.nodes {
		if p.leaf || p.at >= bottomPlace {
			continue
		}
		for side := range 2 {
			want := EmptyHash
			if c, ok := st.get(2*p.at + 1 + uint8(side)); ok {
				want = c.hash()
			}
			if got := *p.child(side); got != want {
				t.Fatalf("inner node at place %d: child %d hash %s, want %s", p.at, side, got, want)
			}
		}
	}
}

// TestStrataReuse checks that a Strata reused for the next update reads
// only the strata below the depth it kept, and gives the MemStore's roots.
func TestStrataReuse(t *testing.T) {
	var mem MemStore
	recs := &records{m: map[string][]byte{}}
	var s *Strata
	for batch := range 4 {
		var adds []Addition
		for i := range 3000 {
			adds = append(adds, Addition{DigestKey(fmt.Sprint(batch, i)), int64(batch*3000 + i)})
		}
		want, err := Update(&mem, adds)
		if err != nil {
			t.Fatal(err)
		}
		if s == nil {
			s = NewStrata(recs)
		} else {
			s = s.Reuse(recs, StratumLevels, 0) // keeps only the root stratum
		}
		counting := &countingReader{r: recs}
		s.r = counting
		got, err := Update(s, adds)
		if err != nil || got != want {
			t.Fatalf("batch %d: Update on reused strata = %s, %v; a MemStore gives %s", batch, got, err, want)
		}
		if batch > 0 && counting.roots[0] {
			t.Errorf("batch %d: the root stratum was read again", batch)
		}
		if batch > 0 && len(counting.roots) == 0 {
			t.Errorf("batch %d: no stratum below the kept depth was read", batch)
		}
		recs.write(t, s)
		if root, err := Root(NewStrata(recs)); err != nil || root != want {
			t.Fatalf("batch %d: root read back = %s, %v, want %s", batch, root, err, want)
		}
	}
}

// countingReader records the depths of the strata read through it.
type countingReader struct {
	r     StratumReader
	roots map[uint16]bool
}

func (c *countingReader) ReadStrata(ps []Position) ([]StoredStratum, error) {
	if c.roots == nil {
		c.roots = map[uint16]bool{}
	}
	for _, p := range ps {
		c.roots[p.Depth] = true
	}
	return c.r.ReadStrata(ps)
}

// appendStratumFull appends the encoding of s that attestlog wrote before
// the frontier encoding: every node, without a mark.
func appendStratumFull(b []byte, s *stratum) []byte {
	for at, i := range s.index {
		if i > 0 {
			b = append(b, uint8(at))
			b = s.nodes[i-1].appendBinary(b)
		}
	}
	return b
}

// TestStratumEncodings checks that a stratum read from its frontier
// record, which stores only the leaves and the bottom level, holds every
// node its record in the older full encoding holds, for every stratum of
// a map of 3,000 keys, and that the frontier record is at most a little
// over half the full one for a full stratum.
func TestStratumEncodings(t *testing.T) {
	s := NewStrata(&records{m: map[string][]byte{}})
	var adds []Addition
	for i := range int64(3000) {
		adds = append(adds, Addition{DigestKey(fmt.Sprint(i)), i})
	}
	if _, err := Update(s, adds); err != nil {
		t.Fatal(err)
	}
	for _, d := range s.Dirty(0) {
		fromFrontier, err := parseStratum(d.Record)
		if err != nil {
			t.Fatalf("stratum %s: %v", d.Root, err)
		}
		full := appendStratumFull(nil, fromFrontier)
		want := appendStratumFull(nil, s.strata[d.Root])
		if !bytes.Equal(full, want) {
			t.Fatalf("stratum %s: its frontier record gives other nodes than it holds", d.Root)
		}
		fromFull, err := parseStratum(full)
		if err != nil || !bytes.Equal(appendStratum(nil, fromFull), d.Record) {
			t.Fatalf("stratum %s: the full record reads as another stratum (%v)", d.Root, err)
		}
		if len(s.strata[d.Root].nodes) == stratumNodes && 2*len(d.Record) > len(full)+len(full)/8 {
			t.Errorf("full stratum %s: frontier record of %d bytes, the full one %d", d.Root, len(d.Record), len(full))
		}
	}
}

// TestCompareKeys checks that Position.compareKeys orders positions as
// their storage keys do, which is the order Dirty promises.
func TestCompareKeys(t *testing.T) {
	var ps []Position
	for _, depth := range []uint16{0, 1, 7, 8, 9, 16, 24, 255, 256} {
		for _, first := range []byte{0x00, 0x01, 0x80, 0xff} {
			p := Position{Depth: depth}
			if depth > 0 {
				p.Prefix[0] = first
				p.Prefix[(depth-1)/8] |= 0x01
			}
			ps = append(ps, p)
		}
	}
	key := func(p Position) []byte { k, _ := p.AppendBinary(nil); return k }
	for _, p := range ps {
		for _, q := range ps {
			if got, want := p.compareKeys(q), bytes.Compare(key(p), key(q)); got != want {
				t.Errorf("%s.compareKeys(%s) = %d, want %d", p, q, got, want)
			}
		}
	}
}
