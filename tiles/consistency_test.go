package tiles_test

import (
	"errors"
	"fmt"
	"testing"

	"github.com/attestlog/attestlog/tiles"
	"github.com/transparency-dev/merkle/proof"
	"github.com/transparency-dev/merkle/rfc6962"
	"golang.org/x/mod/sumdb/tlog"
)

// memTree is a tree of stored hashes, built with tlog.StoredHashes.
type memTree []tlog.Hash

func newMemTree(t testing.TB, n int64, prefix string) memTree {
	t.Helper()
	var m memTree
	for i := range n {
		hs, err := tlog.StoredHashes(i, fmt.Appendf(nil, "%s%d", prefix, i), m)
		if err != nil {
			t.Fatal(err)
		}
		m = append(m, hs...)
	}
	return m
}

func (m memTree) ReadHashes(idx []int64) ([]tlog.Hash, error) {
	out := make([]tlog.Hash, len(idx))
	for i, x := range idx {
		out[i] = m[x]
	}
	return out, nil
}

func (m memTree) root(t testing.TB, n int64) tlog.Hash {
	t.Helper()
	h, err := tlog.TreeHash(n, m)
	if err != nil {
		t.Fatal(err)
	}
	return h
}

func (m memTree) proof(t testing.TB, n, size int64) []tlog.Hash {
	t.Helper()
	p, err := tlog.ProveTree(size, n, m)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func TestConsistencyRoots(t *testing.T) {
	const max = 40
	honest := newMemTree(t, max, "entry ")
	// fork shares the first 5 entries with honest, then differs.
	var fork memTree
	for j := range int64(max) {
		data := fmt.Appendf(nil, "entry %d", j)
		if j >= 5 {
			data = fmt.Appendf(nil, "forked %d", j)
		}
		hs, err := tlog.StoredHashes(j, data, fork)
		if err != nil {
			t.Fatal(err)
		}
		fork = append(fork, hs...)
	}
	for n := int64(1); n < max; n++ {
		for m := n + 1; m <= max; m++ {
			oldRoot, newRoot := honest.root(t, n), honest.root(t, m)
			p := honest.proof(t, n, m)
			gotOld, gotNew, err := tiles.ConsistencyRoots(n, m, oldRoot, p)
			if err != nil || gotOld != oldRoot || gotNew != newRoot {
				t.Fatalf("honest proof %d→%d: roots (%v, %v, %v), want (%v, %v)", n, m, gotOld, gotNew, err, oldRoot, newRoot)
			}
			// The forked tree's proof implies its own roots: a proof of
			// inconsistency against the honest old root where the trees
			// differ at n, unless the old root is not carried (n a power of 2).
			// (Without it, the proof is seeded with the honest old root and
			// implies a new root that is neither tree's once they differ.)
			fp := fork.proof(t, n, m)
			gotOld, gotNew, err = tiles.ConsistencyRoots(n, m, oldRoot, fp)
			carried := n&(n-1) != 0
			if (carried || n <= 5) && (err != nil || gotNew != fork.root(t, m)) {
				t.Fatalf("forked proof %d→%d: new root %v (%v), want the fork's %v", n, m, gotNew, err, fork.root(t, m))
			}
			if carried && gotOld != fork.root(t, n) {
				t.Fatalf("forked proof %d→%d: old root %v, want the fork's %v", n, m, gotOld, fork.root(t, n))
			}
			if !carried && gotOld != oldRoot {
				t.Fatalf("proof %d→%d from a power of two: old root %v, want the given %v", n, m, gotOld, oldRoot)
			}
			// Our verdict agrees with transparency-dev/merkle's verifier.
			for _, c := range []struct {
				p         []tlog.Hash
				old, new_ tlog.Hash
			}{{p, oldRoot, newRoot}, {fp, oldRoot, fork.root(t, m)}, {fp, fork.root(t, n), fork.root(t, m)}} {
				o, nw, err := tiles.ConsistencyRoots(n, m, c.old, c.p)
				ours := err == nil && o == c.old && nw == c.new_
				theirs := proof.VerifyConsistency(rfc6962.DefaultHasher, uint64(n), uint64(m), hashSlices(c.p), c.old[:], c.new_[:]) == nil
				if ours != theirs {
					t.Fatalf("proof %d→%d: we say verifies=%v, merkle says %v", n, m, ours, theirs)
				}
			}
		}
	}
}

func TestConsistencyRootsRefusesMisshapenProofs(t *testing.T) {
	tree := newMemTree(t, 20, "e")
	p := tree.proof(t, 6, 13)
	var h tlog.Hash
	for _, c := range []struct {
		desc     string
		old, new int64
		p        []tlog.Hash
	}{
		{"old size 0", 0, 13, nil},
		{"equal sizes", 13, 13, nil},
		{"old larger", 14, 13, p},
		{"empty proof", 6, 13, nil},
		{"one hash short", 6, 13, p[:len(p)-1]},
		{"one hash too many", 6, 13, append(append([]tlog.Hash{}, p...), h)},
		{"negative", -1, 13, p},
	} {
		_, _, err := tiles.ConsistencyRoots(c.old, c.new, h, c.p)
		if !errors.Is(err, tiles.ErrNotImplied) {
			t.Errorf("%s: err = %v, want ErrNotImplied", c.desc, err)
		}
	}
}

// FuzzConsistencyRoots checks that ConsistencyRoots never panics and that a
// proof it says verifies is one transparency-dev/merkle verifies.
func FuzzConsistencyRoots(f *testing.F) {
	tree := newMemTree(f, 64, "e")
	f.Add(int64(6), int64(13), []byte{})
	f.Add(int64(8), int64(64), []byte{1, 2, 3})
	f.Fuzz(func(t *testing.T, n, m int64, noise []byte) {
		if n < 1 || m > 64 || n >= m {
			_, _, err := tiles.ConsistencyRoots(n, m, tlog.Hash{}, nil)
			if err == nil {
				t.Fatalf("sizes %d, %d accepted", n, m)
			}
			return
		}
		p := tree.proof(t, n, m)
		for i, b := range noise {
			if len(p) > 0 {
				p[i%len(p)][int(b)%tlog.HashSize] ^= b | 1
			}
		}
		if len(noise)%7 == 3 && len(p) > 0 {
			p = p[:len(p)-1]
		}
		old, nw := tree.root(t, n), tree.root(t, m)
		o, w, err := tiles.ConsistencyRoots(n, m, old, p)
		ours := err == nil && o == old && w == nw
		theirs := proof.VerifyConsistency(rfc6962.DefaultHasher, uint64(n), uint64(m), hashSlices(p), old[:], nw[:]) == nil
		if ours != theirs {
			t.Fatalf("proof %d→%d: we say verifies=%v, merkle says %v", n, m, ours, theirs)
		}
	})
}

func hashSlices(p []tlog.Hash) [][]byte {
	out := make([][]byte, len(p))
	for i := range p {
		out[i] = p[i][:]
	}
	return out
}
