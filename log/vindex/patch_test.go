package vindex

import (
	"bytes"
	"errors"
	"fmt"
	"testing"
)

// TestStrataPatches applies updates to a map kept in records through
// patches, as the log's deltas keep it: each batch's DirtyPatches kept
// after the records the store held, which the next Strata reads as
// records and patches, and composed onto them every other batch, as a
// merge does. The map read back must have the MemStore's root after every
// batch, the upper strata of a map this large must change by patches of
// at most half their size, new strata and small ones must come as records.
func TestStrataPatches(t *testing.T) {
	var mem MemStore
	recs := &records{m: map[string][]byte{}, patches: map[string][][]byte{}}
	var s *Strata
	for batch := range 6 {
		var adds []Addition
		for i := range 2000 {
			adds = append(adds, Addition{DigestKey(fmt.Sprint(batch, i)), int64(batch*2000 + i)})
			if i%7 == 0 && batch > 0 { // an existing key's list grows
				adds = append(adds, Addition{DigestKey(fmt.Sprint(batch-1, i)), int64(batch*2000 + i)})
			}
		}
		want, err := Update(&mem, adds)
		if err != nil {
			t.Fatal(err)
		}
		if s == nil {
			s = NewStrata(recs)
		} else {
			s = s.Reuse(recs, 2*StratumLevels, 100)
		}
		if got, err := Update(s, adds); err != nil || got != want {
			t.Fatalf("batch %d: Update = %s, %v; a MemStore gives %s", batch, got, err, want)
		}
		patches, patchBytes, fullBytes := 0, 0, 0
		checkAppendDirtyPatches(t, s)
		for _, d := range s.DirtyPatches() {
			k, _ := d.Root.AppendBinary(nil)
			old := recs.m[string(k)]
			if !IsPatch(d.Record) {
				if st := s.strata[d.Root]; st.encodedSize() != len(d.Record) {
					t.Fatalf("batch %d: stratum %s: encodedSize %d, record of %d bytes", batch, d.Root, st.encodedSize(), len(d.Record))
				}
				if _, err := ParseStratum(d.Record); err != nil {
					t.Fatalf("batch %d: stratum %s: record does not parse: %v", batch, d.Root, err)
				}
				recs.m[string(k)] = d.Record
				delete(recs.patches, string(k))
				continue
			}
			if old == nil {
				t.Fatalf("batch %d: stratum %s: a patch for a stratum the store does not hold", batch, d.Root)
			}
			if st := s.strata[d.Root]; st.patchSize() != len(d.Record) {
				t.Fatalf("batch %d: stratum %s: patchSize %d, patch of %d bytes", batch, d.Root, st.patchSize(), len(d.Record))
			}
			recs.patches[string(k)] = append(recs.patches[string(k)], d.Record)
			composed, err := ComposeStratum(old, recs.patches[string(k)]...)
			if err != nil {
				t.Fatalf("batch %d: stratum %s: %v", batch, d.Root, err)
			}
			if len(composed) < patchMinSize {
				t.Errorf("batch %d: stratum %s: a patch for a record of %d bytes, under %d", batch, d.Root, len(composed), patchMinSize)
			}
			patches, patchBytes, fullBytes = patches+1, patchBytes+len(d.Record), fullBytes+len(composed)
			if batch%2 == 1 { // a merge
				recs.m[string(k)] = composed
				delete(recs.patches, string(k))
			}
		}
		if root, err := Root(NewStrata(recs)); err != nil || root != want {
			t.Fatalf("batch %d: root read back = %s, %v, want %s", batch, root, err, want)
		}
		if batch > 1 && (patches == 0 || patchBytes*2 > fullBytes) {
			t.Errorf("batch %d: %d patches of %d bytes for strata of %d bytes: want patches, half the size at most", batch, patches, patchBytes, fullBytes)
		}
		t.Logf("batch %d: %d patches, %d bytes for %d", batch, patches, patchBytes, fullBytes)
	}
}

// TestComposeStratumRefuses checks that ComposeStratum refuses a patch
// that is not one, removes places out of order, sets a node that is not
// stored, or leaves a stratum that is not well formed.
func TestComposeStratumRefuses(t *testing.T) {
	leaf := func(k string) []byte {
		b, _ := leafNode(Leaf{Key: DigestKey(k), Count: 1, Last: 0, Head: chain(EmptyHash, 0)}).AppendBinary(nil)
		return b
	}
	inner, _ := Node{Children: [2]Hash{{1}, {2}}}.AppendBinary(nil)
	rec := append([]byte{frontierMark, 0}, leaf("a")...)
	if _, err := ComposeStratum(rec); err != nil {
		t.Fatalf("ComposeStratum(a leaf at the root) = %v", err)
	}
	for name, patch := range map[string][]byte{
		"not a patch":             append([]byte{frontierMark, 0}, leaf("b")...),
		"removed out of order":    {patchMark, 2, 5, 3},
		"count past the end":      {patchMark, 9, 1},
		"inner node above bottom": append([]byte{patchMark, 1, 0, 3}, inner...),
		"root removed, none left": {patchMark, 1, 0},
		"leaf below a leaf":       append([]byte{patchMark, 0, 1}, leaf("c")...),
	} {
		if _, err := ComposeStratum(rec, patch); !errors.Is(err, ErrMalformedStratum) {
			t.Errorf("%s: ComposeStratum = %v, want ErrMalformedStratum", name, err)
		}
	}
}

// FuzzComposeStratum checks that ComposeStratum never panics, and that what
// it returns is a well-formed record that composes to itself.
func FuzzComposeStratum(f *testing.F) {
	leaf, _ := leafNode(Leaf{Key: DigestKey("a"), Count: 1, Last: 0, Head: chain(EmptyHash, 0)}).AppendBinary(nil)
	rec := append([]byte{frontierMark, 0}, leaf...)
	f.Add(rec, []byte{patchMark, 1, 0})
	f.Add(rec, append([]byte{patchMark, 0, 0}, leaf...))
	f.Fuzz(func(t *testing.T, rec, patch []byte) {
		out, err := ComposeStratum(rec, patch)
		if err != nil {
			if _, ferr := parseComposed(rec, [][]byte{patch}); ferr == nil {
				t.Fatalf("parseComposed accepted a record and patch that ComposeStratum refuses (%v)", err)
			}
			return
		}
		parsed, err := parseStratum(out)
		if err != nil {
			t.Fatalf("ComposeStratum gave a record that does not parse: %v", err)
		}
		// Reading the record and patch gives the stratum that reading
		// the composed record gives.
		fused, err := parseComposed(rec, [][]byte{patch})
		if err != nil {
			t.Fatalf("parseComposed = %v where ComposeStratum gave a record", err)
		}
		if a, b := appendStratumFull(nil, fused), appendStratumFull(nil, parsed); !bytes.Equal(a, b) {
			t.Fatalf("parseComposed gave the stratum %x, parsing ComposeStratum's record gave %x", a, b)
		}
		again, err := ComposeStratum(out)
		if err != nil || !bytes.Equal(again, out) {
			t.Fatalf("ComposeStratum(its own result) = %x, %v; want %x", again, err, out)
		}
	})
}

// TestComposeStratumManyPatches composes hundreds of patches that turn a
// leaf into an inner node over two leaves and back, again and again: the
// stratum's node list must not grow with the patches (its place index is
// a byte), and the result must be the last state.
func TestComposeStratumManyPatches(t *testing.T) {
	leaf := func(k string) []byte {
		b, _ := leafNode(Leaf{Key: DigestKey(k), Count: 1, Last: 0, Head: chain(EmptyHash, 0)}).AppendBinary(nil)
		return b
	}
	// A root over a leaf at place 1 and one at place 2.
	rec := append(append(append([]byte{frontierMark, 1}, leaf("a")...), 2), leaf("b")...)
	split := append(append(append([]byte{patchMark, 1, 1, 3}, leaf("c")...), 4), leaf("d")...) // place 1 becomes inner: leaves at 3 and 4
	join := append([]byte{patchMark, 2, 3, 4, 1}, leaf("e")...)                                // and back: a leaf at 1
	var patches [][]byte
	for range 200 {
		patches = append(patches, split, join)
	}
	got, err := ComposeStratum(rec, patches...)
	if err != nil {
		t.Fatalf("ComposeStratum(400 patches) = %v", err)
	}
	want := append(append(append([]byte{frontierMark, 1}, leaf("e")...), 2), leaf("b")...)
	if !bytes.Equal(got, want) {
		t.Fatalf("ComposeStratum(400 patches) = %x, want %x", got, want)
	}
	if got, err := ComposeStratum(rec, append(patches, split)...); err != nil || !bytes.Contains(got, leaf("d")) {
		t.Fatalf("ComposeStratum(401 patches) = %x, %v; want the leaves at 3 and 4", got, err)
	}
}

// checkAppendDirtyPatches checks that AppendDirtyPatches frames the
// records DirtyPatches returns, in its order, each after its header.
func checkAppendDirtyPatches(t *testing.T, s *Strata) {
	t.Helper()
	want := s.DirtyPatches()
	header := func(b []byte, root Position, size int) []byte {
		return fmt.Appendf(b, "<%s %d>", root, size)
	}
	b, got := s.AppendDirtyPatches([]byte("prefix"), header)
	frame := []byte("prefix")
	for i, d := range want {
		frame = append(header(frame, d.Root, len(d.Record)), d.Record...)
		if i >= len(got) || got[i].Root != d.Root || !bytes.Equal(got[i].Record, d.Record) {
			t.Fatalf("AppendDirtyPatches record %d differs from DirtyPatches'", i)
		}
	}
	if len(got) != len(want) || !bytes.Equal(b, frame) {
		t.Fatalf("AppendDirtyPatches gave %d records in %d bytes, want %d in %d", len(got), len(b), len(want), len(frame))
	}
}
