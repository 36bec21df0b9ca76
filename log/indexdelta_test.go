package log

import (
	"bytes"
	"encoding/binary"
	"errors"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"testing"

	"github.com/attestlog/attestlog/log/vindex"
)

// FuzzParseDelta checks that parseDelta never panics, and that a delta it
// accepts encodes back to the same bytes.
func FuzzParseDelta(f *testing.F) {
	root := vindex.Position{}
	f.Add(appendDelta(nil, []vindex.StratumRecord{{Root: root, Record: []byte{0xff, 0}}}))
	f.Add([]byte{deltaMark})
	f.Add([]byte{deltaMark, 2, 0, 8, 1, 0})
	f.Fuzz(func(t *testing.T, b []byte) {
		d, err := parseDelta(b)
		if err != nil {
			if !errors.Is(err, ErrMalformedDelta) {
				t.Fatalf("parseDelta error %v does not wrap ErrMalformedDelta", err)
			}
			return
		}
		var rs []vindex.StratumRecord
		for i := range d.strata {
			k := d.key(i)
			var p vindex.Position
			p.Depth = uint16(k[0])<<8 | uint16(k[1])
			copy(p.Prefix[:], k[2:])
			rs = append(rs, vindex.StratumRecord{Root: p, Record: d.record(i)})
			if rec, ok := d.get(k, stratumFilterKey(k)); !ok || !bytes.Equal(rec, d.record(i)) {
				t.Fatalf("parseDelta(%x): get(%x) = %x, %v; want %x", b, k, rec, ok, d.record(i))
			}
		}
		if again := appendDelta(nil, rs); !bytes.Equal(again, b) || d.size() != len(b) {
			t.Fatalf("parseDelta(%x) encodes back as %x (size %d)", b, again, d.size())
		}
		checkPartKeys(t, d)
	})
}

// checkPartKeys checks that appendPartKeys finds, for each part of a
// merge, the keys of d in that part, in order, as reading every key does.
func checkPartKeys(t *testing.T, d *delta) {
	t.Helper()
	total := 0
	for part := range mergeSteps {
		var want [][]byte
		for i := range d.strata {
			if mergePart(d.key(i)) == part {
				want = append(want, d.key(i))
			}
		}
		got := d.appendPartKeys(nil, part)
		if !slices.EqualFunc(got, want, bytes.Equal) {
			t.Fatalf("part %d of a delta of %d strata: appendPartKeys gives %d keys, %x; want %d, %x", part, len(d.strata), len(got), got, len(want), want)
		}
		total += len(got)
	}
	if total != len(d.strata) {
		t.Fatalf("the parts of a delta of %d strata hold %d keys", len(d.strata), total)
	}
}

func sortRecords(rs []vindex.StratumRecord) {
	slices.SortFunc(rs, func(a, b vindex.StratumRecord) int { return bytes.Compare(stratumKey(a.Root), stratumKey(b.Root)) })
}

// FuzzParseIndexState checks that parseIndexState never panics and that a
// state it accepts is consistent and encodes back to the same bytes, or,
// read from the older record (v3), to a record that reads back as the
// same state.
func FuzzParseIndexState(f *testing.F) {
	c := func(idx, size int64) commitState {
		return commitState{Index: idx, Commitment: vindex.Commitment{Size: size, Root: vindex.Hash{byte(idx)}}}
	}
	v3 := func(st indexState) []byte {
		b := st.Base.append(st.Previous.append(st.Latest.append(nil)))
		for _, d := range st.Deltas {
			b = binary.BigEndian.AppendUint64(b, uint64(d))
		}
		return b
	}
	f.Add(noIndexState.encode(), false)
	f.Add(indexState{Latest: c(10, 9), Previous: c(5, 4), Base: c(5, 4), Deltas: []int64{10}}.encode(), false)
	f.Add(indexState{Latest: c(3, 2), Previous: noCommitment, Base: c(3, 2)}.encode(), false)
	f.Add(indexState{Latest: c(20, 19), Previous: c(15, 14), Base: c(5, 4), Steps: 2, Merging: c(10, 9), Deltas: []int64{10, 15, 20}}.encode(), false)
	f.Add(v3(indexState{Latest: c(10, 9), Previous: c(5, 4), Base: c(5, 4), Deltas: []int64{10}}), true)
	f.Fuzz(func(t *testing.T, b []byte, v3 bool) {
		st, err := parseIndexState(b, v3)
		if err != nil {
			if !errors.Is(err, ErrCorrupt) {
				t.Fatalf("parseIndexState error %v does not wrap ErrCorrupt", err)
			}
			return
		}
		if err := st.check(); err != nil {
			t.Fatalf("parseIndexState accepted an inconsistent state: %v", err)
		}
		switch again, err := parseIndexState(st.encode(), false); {
		case b == nil:
		case !v3 && !bytes.Equal(st.encode(), b):
			t.Fatalf("parseIndexState(%x) encodes back as %x", b, st.encode())
		case err != nil || !again.equal(st):
			t.Fatalf("the state read from the older record %x reads back from its record %x as %+v, %v", b, st.encode(), again, err)
		}
	})
}

// TestReadDeltaChunks checks that a delta is read back whole from its
// chunks, and that a missing or short chunk is corruption, not a shorter
// delta.
func TestReadDeltaChunks(t *testing.T) {
	s, err := OpenBolt(filepath.Join(t.TempDir(), "log.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	b := make([]byte, 2*deltaChunk+17)
	for i := range b {
		b[i] = byte(i)
	}
	if err := s.Commit(&Batch{Index: deltaWrites(7, b)}); err != nil {
		t.Fatal(err)
	}
	got, err := readDelta(s, 7)
	if err != nil || !bytes.Equal(got, b) {
		t.Fatalf("readDelta = %d bytes, %v; want the %d written", len(got), err, len(b))
	}
	if _, err := readDelta(s, 8); !errors.Is(err, errDeltaGone) {
		t.Errorf("readDelta of a delta never written = %v, want errDeltaGone", err)
	}
	// Drop the middle chunk.
	if err := s.Commit(&Batch{Index: deltaDeletes(7, len(b))[1:2]}); err != nil {
		t.Fatal(err)
	}
	if _, err := readDelta(s, 7); !errors.Is(err, ErrCorrupt) {
		t.Errorf("readDelta with a chunk missing = %v, want ErrCorrupt", err)
	}
	if err := s.Commit(&Batch{Index: deltaDeletes(7, len(b))}); err != nil {
		t.Fatal(err)
	}
	if _, err := readDelta(s, 7); !errors.Is(err, errDeltaGone) {
		t.Errorf("readDelta after its deletes = %v, want errDeltaGone", err)
	}
}

// TestKeyFilter checks that a delta's filter holds every key added to it
// (a reader that missed one would read an older record of the stratum)
// and lets few others through.
func TestKeyFilter(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	randomRoot := func() vindex.Position {
		p := vindex.Position{Depth: uint16(8 * (1 + r.IntN(4)))}
		for i := range int(p.Depth) / 8 {
			p.Prefix[i] = byte(r.Uint32())
		}
		return p
	}
	for _, n := range []int{0, 1, 7, 1300, 20000} {
		in := map[vindex.Position]bool{}
		var rs []vindex.StratumRecord
		for len(rs) < n {
			if p := randomRoot(); !in[p] {
				in[p] = true
				rs = append(rs, vindex.StratumRecord{Root: p, Record: []byte{byte(len(rs)), 1}})
			}
		}
		sortRecords(rs)
		d, err := parseDelta(appendDelta(nil, rs))
		if err != nil {
			t.Fatal(err)
		}
		checkPartKeys(t, d)
		for _, rec := range rs {
			k := stratumKey(rec.Root)
			if got, ok := d.get(k, stratumFilterKey(k)); !ok || !bytes.Equal(got, rec.Record) {
				t.Fatalf("%d keys: the delta gives %x, %v for %x, added to it with %x", n, got, ok, k, rec.Record)
			}
		}
		passed, absent := 0, 0
		for absent < 10000 {
			p := randomRoot()
			if in[p] {
				continue
			}
			absent++
			k := stratumKey(p)
			if d.filter.mayHave(stratumFilterKey(k)) {
				passed++
			}
			if got, ok := d.get(k, stratumFilterKey(k)); ok {
				t.Fatalf("%d keys: the delta gives %x for %x, never added", n, got, k)
			}
		}
		if passed > 300 {
			t.Errorf("%d keys: the filter let %d of 10,000 other keys through; want about 100", n, passed)
		}
	}
}

// BenchmarkDeltaGet looks up strata in a delta of 5,000, as a commitment
// of some 1,200 claims writes: keys it holds (hit), and keys it does not
// hold that its Bloom filter lets through (falsePositive, which the
// filter makes about 1% of the misses).
func BenchmarkDeltaGet(b *testing.B) {
	r := rand.New(rand.NewPCG(3, 4))
	var rs []vindex.StratumRecord
	in := map[vindex.Position]bool{}
	for len(rs) < 5000 {
		p := vindex.Position{Depth: 16}
		p.Prefix[0], p.Prefix[1] = byte(r.Uint32()), byte(r.Uint32())
		if !in[p] {
			in[p] = true
			rs = append(rs, vindex.StratumRecord{Root: p, Record: make([]byte, 200)})
		}
	}
	sortRecords(rs)
	d, err := parseDelta(appendDelta(nil, rs))
	if err != nil {
		b.Fatal(err)
	}
	type lookup struct {
		k  []byte
		fk bloomKey
	}
	var hits, fps []lookup
	for _, rec := range rs {
		k := stratumKey(rec.Root)
		hits = append(hits, lookup{k, stratumFilterKey(k)})
	}
	for len(fps) < 50 {
		p := vindex.Position{Depth: 24}
		p.Prefix[0], p.Prefix[1], p.Prefix[2] = byte(r.Uint32()), byte(r.Uint32()), byte(r.Uint32())
		if k := stratumKey(p); d.filter.mayHave(stratumFilterKey(k)) {
			fps = append(fps, lookup{k, stratumFilterKey(k)})
		}
	}
	for _, c := range []struct {
		name string
		ls   []lookup
		want bool
	}{{"hit", hits, true}, {"falsePositive", fps, false}} {
		b.Run(c.name, func(b *testing.B) {
			for i := 0; b.Loop(); i++ {
				l := c.ls[i%len(c.ls)]
				if _, ok := d.get(l.k, l.fk); ok != c.want {
					b.Fatalf("get(%x) = %v, want %v", l.k, ok, c.want)
				}
			}
		})
	}
}
