package vindex

import (
	"encoding/binary"
	"fmt"
	"slices"

	"github.com/attestlog/attestlog/internal/varint"
)

// patchMark starts a stratum's patch record; no place is 254 in a record
// that starts a full stratum's encoding of the older layout either, since
// a stratum's first node is its root, at place 0.
const patchMark = 0xfe

// A patch record says what changed in a stratum since an earlier record
// of it, the one a store holds: the places whose stored node ([Strata]'s
// frontier encoding: a leaf, or a node of the bottom level) was removed,
// because a leaf became an inner node computed from its children, then
// the stored nodes that were added or changed:
//
//	0xfe || uvarint(count) || count places, increasing || (place || node)..., places increasing
//
// An update of a large map changes a few of the 128 bottom nodes of each
// upper stratum, so a patch of such a stratum is a few hundred bytes where
// the stratum is about 8 KiB. [ComposeStratum] applies patches to a
// record.

// IsPatch reports whether rec is a patch record rather than a stratum's.
func IsPatch(rec []byte) bool { return len(rec) > 0 && rec[0] == patchMark }

// patchSize returns the size of the patch of s: exactly what appendPatch
// appends, so that a caller can frame the patch before encoding it.
func (s *stratum) patchSize() int {
	var places [stratumNodes]byte
	removed := s.removedPlaces(places[:0])
	n := 1 + varint.Size(uint64(len(removed))) + len(removed)
	s.changed.each(func(at uint8) {
		if p, ok := s.get(at); ok {
			n += storedSize(at, p.leaf) // 0 for a node the frontier encoding computes
		}
	})
	return n
}

// removedPlaces appends to b the places whose stored node the patch of s
// removes: unstored since, and now empty or computed from below.
func (s *stratum) removedPlaces(b []byte) []byte {
	s.unstored.each(func(at uint8) {
		if n, ok := s.get(at); !ok || !isStored(at, n.leaf) {
			b = append(b, at)
		}
	})
	return b
}

// appendPatch appends the patch record of the changes of s.
func appendPatch(b []byte, s *stratum) []byte {
	b = append(b, patchMark)
	var places [stratumNodes]byte
	removed := s.removedPlaces(places[:0])
	b = binary.AppendUvarint(b, uint64(len(removed)))
	b = append(b, removed...)
	s.changed.each(func(at uint8) {
		if n, ok := s.get(at); ok && isStored(at, n.leaf) {
			b = n.appendBinary(append(b, at))
		}
	})
	return b
}

// ComposeStratum returns the record of a stratum (in the frontier encoding
// of [Strata]) that results from applying patches, in order, to the
// stratum's record rec. It checks rec, each patch and the result as
// strictly as [ParseStratum] does, and returns an error wrapping
// [ErrMalformedStratum] for any that is not well formed.
func ComposeStratum(rec []byte, patches ...[]byte) ([]byte, error) {
	st, err := composeStored(rec, patches)
	if err != nil {
		return nil, err
	}
	if err := checkFrontier(st); err != nil {
		return nil, fmt.Errorf("the patched stratum: %w", err)
	}
	out := appendStratum(make([]byte, 0, st.encodedSize()), st) // st holds stored nodes only
	st.release()
	return out, nil
}

// composeStored returns the stored nodes (see [Strata]) of the stratum
// that results from applying patches, in order, to its record rec, which
// it checks, as it does each patch.
func composeStored(rec []byte, patches [][]byte) (*stratum, error) {
	// The stored nodes are what a patch changes; the checks of the result
	// cover the record's.
	st := newParsed(len(rec))
	if len(rec) > 0 && rec[0] == frontierMark {
		if err := parseStored(rec[1:], st); err != nil {
			return nil, err
		}
	} else {
		full, err := parseStratum(rec)
		if err != nil {
			return nil, err
		}
		for _, p := range full.nodes {
			if isStored(p.at, p.leaf) {
				st.setPacked(p.at, p)
			}
		}
	}
	for i, pb := range patches {
		if err := applyPatch(st, pb); err != nil {
			return nil, fmt.Errorf("patch %d: %w", i, err)
		}
	}
	return st, nil
}

// applyPatch applies the patch record b to the stored nodes of s.
func applyPatch(s *stratum, b []byte) error {
	if !IsPatch(b) {
		return fmt.Errorf("%w: not a patch", ErrMalformedStratum)
	}
	count, w := varint.Uvarint(b[1:])
	if w <= 0 || count > stratumNodes || uint64(len(b)-1-w) < count {
		return fmt.Errorf("%w: patch's count of removed places cut short or too large", ErrMalformedStratum)
	}
	removed := b[1+w : 1+w+int(count)]
	for i, at := range removed {
		if at >= stratumNodes || i > 0 && at <= removed[i-1] {
			return fmt.Errorf("%w: patch removes place %d (after %v)", ErrMalformedStratum, at, removed[:i])
		}
		s.unset(at)
	}
	return parseNodes(b[1+w+int(count):], stratumNodes-1, func(at uint8, n memNode) error {
		if !isStored(at, n.leaf) || slices.Contains(removed, at) {
			return fmt.Errorf("%w: patch sets place %d to a node that is not stored or that it removes", ErrMalformedStratum, at)
		}
		s.setPacked(at, n)
		return nil
	})
}
