package tiles

import (
	"errors"
	"fmt"
	"math/bits"

	"golang.org/x/mod/sumdb/tlog"
)

// ErrNotImplied is wrapped by [ConsistencyRoots]' errors: the proof does not
// have the shape a consistency proof between the two sizes has, so it implies
// no roots at all. Such a proof is junk: it shows nothing about the log.
var ErrNotImplied = errors.New("tiles: proof implies no roots")

// ConsistencyRoots returns the root hashes that the RFC 6962 consistency
// proof p implies for the trees of sizes oldSize and newSize
// (0 < oldSize < newSize), following the verification algorithm of
// RFC 9162, section 2.1.4.2, without comparing either root to anything.
//
// A proof verifies when the implied roots equal the two checkpoints' roots.
// When the implied new root equals the newer checkpoint's root but the
// implied old root differs from the older one's, the proof is a proof of
// inconsistency: whoever made the newer tree had, at oldSize, another tree.
// When the implied new root differs, the proof shows nothing: it may be junk.
//
// If oldSize is a power of two, the old tree is a complete subtree of the new
// one and the proof leaves its root out; oldRoot is then taken as given (and
// returned as the implied old root), so such a proof can show only that the
// new root does not follow from oldRoot. oldRoot is not used otherwise.
func ConsistencyRoots(oldSize, newSize int64, oldRoot tlog.Hash, p []tlog.Hash) (oldImplied, newImplied tlog.Hash, err error) {
	if oldSize <= 0 || newSize <= oldSize {
		return tlog.Hash{}, tlog.Hash{}, fmt.Errorf("%w: a consistency proof needs 0 < old size < new size, got %d and %d", ErrNotImplied, oldSize, newSize)
	}
	path := p
	if bits.OnesCount64(uint64(oldSize)) == 1 {
		path = append([]tlog.Hash{oldRoot}, p...)
	}
	if len(path) == 0 {
		return tlog.Hash{}, tlog.Hash{}, fmt.Errorf("%w: empty proof from size %d to %d", ErrNotImplied, oldSize, newSize)
	}
	fn, sn := uint64(oldSize-1), uint64(newSize-1)
	for fn&1 == 1 {
		fn, sn = fn>>1, sn>>1
	}
	fr, sr := path[0], path[0]
	for _, c := range path[1:] {
		if sn == 0 {
			return tlog.Hash{}, tlog.Hash{}, fmt.Errorf("%w: proof from size %d to %d has %d hashes, too many", ErrNotImplied, oldSize, newSize, len(p))
		}
		if fn&1 == 1 || fn == sn {
			fr, sr = tlog.NodeHash(c, fr), tlog.NodeHash(c, sr)
			for fn&1 == 0 && fn != 0 {
				fn, sn = fn>>1, sn>>1
			}
		} else {
			sr = tlog.NodeHash(sr, c)
		}
		fn, sn = fn>>1, sn>>1
	}
	if sn != 0 {
		return tlog.Hash{}, tlog.Hash{}, fmt.Errorf("%w: proof from size %d to %d has %d hashes, too few", ErrNotImplied, oldSize, newSize, len(p))
	}
	return fr, sr, nil
}
