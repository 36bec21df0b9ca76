package log

import (
	"encoding/binary"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"testing"

	"github.com/attestlog/attestlog/log/vindex"
)

// An indexSim drives the index's storage as the committer does, without
// claims: intervals of made-up claims of six keys each (two new keys, as a
// claim's digest and build identity are, and four already in the map, as
// its source, build and builder keys mostly are), each followed by its
// commitment entry, whose update it commits alone in a batch of no
// entries. It keeps the lists of every key, to check proofs.
type indexSim struct {
	s     Store
	r     *rand.Rand
	keys  []vindex.Key
	lists map[vindex.Key][]int64
	adds  []vindex.Addition // of every entry, in index order
	size  int64             // entries so far, commitments included
	carry *indexCarry       // as the committer keeps it
}

func newIndexSim(s Store, seed uint64) *indexSim {
	return &indexSim{s: s, r: rand.New(rand.NewPCG(seed, 6)), lists: map[vindex.Key][]int64{}}
}

func (sim *indexSim) newKey() vindex.Key {
	var k vindex.Key
	binary.LittleEndian.PutUint64(k[:], sim.r.Uint64())
	binary.LittleEndian.PutUint64(k[8:], sim.r.Uint64())
	k = vindex.DigestKey(string(k[:16]))
	sim.keys = append(sim.keys, k)
	return k
}

// claims adds n claims.
func (sim *indexSim) claims(n int) {
	for range n {
		for j := range 6 {
			var k vindex.Key
			if j < 2 || len(sim.keys) < 1000 {
				k = sim.newKey()
			} else {
				k = sim.keys[sim.r.IntN(len(sim.keys))]
			}
			if l := sim.lists[k]; len(l) == 0 || l[len(l)-1] != sim.size {
				sim.lists[k] = append(l, sim.size)
			}
			sim.adds = append(sim.adds, vindex.Addition{Key: k, Index: sim.size})
		}
		sim.size++
	}
}

// commit appends the commitment entry of the map over the entries so far,
// with its update, and returns the update.
func (sim *indexSim) commit(t testing.TB) *indexUpdate {
	base, prune, err := prepareIndex(sim.s)
	if err != nil {
		t.Fatal(err)
	}
	first := len(sim.adds)
	for first > 0 && sim.adds[first-1].Index >= base.Latest.Size {
		first--
	}
	u, err := updateIndex(sim.s, base, prune, sim.size, sim.adds[first:], sim.carry)
	if err != nil {
		t.Fatal(err)
	}
	if err := sim.s.Commit(&Batch{Index: u.writesAt(sim.size)}); err != nil {
		t.Fatal(err)
	}
	sim.carry = u.carryAt(sim.size)
	sim.size++ // the commitment entry
	return u
}

// listAt returns the indexes under k below size.
func (sim *indexSim) listAt(k vindex.Key, size int64) []int64 {
	l := sim.lists[k]
	i, _ := slices.BinarySearch(l, size)
	return l[:i]
}

// TestIndexVersions checks the versioned layout over many commitments:
// both served commitments (the latest and the one before) prove every key
// asked against their roots, which are the roots of a map recomputed in
// memory; a stratum has two copies only if the latest commitment wrote it,
// the other being the one the previous commitment reads; and the store
// holds about one copy of the map. The upper strata an update keeps for
// the next are used only by the next.
func TestIndexVersions(t *testing.T) {
	s, err := OpenBolt(filepath.Join(t.TempDir(), "log.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	sim := newIndexSim(s, 1)
	var ref vindex.MemStore
	refRoots := map[int64]vindex.Hash{} // by commitment index
	applied := 0
	var old *indexCarry
	for round := range 14 {
		sim.claims(50 + sim.r.IntN(400))
		switch round {
		case 5:
			old = sim.carry
		case 7:
			sim.carry = old // of an earlier commitment: not to be used
		case 10:
			sim.carry = nil // as after a restart
		}
		u := sim.commit(t)
		idx := sim.size - 1
		want, err := vindex.Update(&ref, sim.adds[applied:])
		if err != nil {
			t.Fatal(err)
		}
		applied = len(sim.adds)
		refRoots[idx] = want
		st, err := readIndexState(s)
		if err != nil {
			t.Fatal(err)
		}
		if st.Latest.Index != idx || st.Latest.Size != idx || st.Latest.Root != want {
			t.Fatalf("round %d: latest commitment %+v, want index and size %d, root %s", round, st.Latest, idx, want)
		}
		if round > 0 && st.Previous != u.Base.Latest {
			t.Fatalf("round %d: previous commitment %+v, want %+v", round, st.Previous, u.Base.Latest)
		}
		for _, c := range []commitState{st.Latest, st.Previous} {
			if c.Index < 0 {
				continue
			}
			if c.Root != refRoots[c.Index] {
				t.Fatalf("round %d: commitment %d has root %s, the map recomputed gives %s", round, c.Index, c.Root, refRoots[c.Index])
			}
			strata := vindex.NewStrata(&versionReader{s: s, at: c.Index})
			for i := range 40 {
				k := sim.keys[sim.r.IntN(len(sim.keys))]
				if i%8 == 0 {
					k = vindex.DigestKey("absent" + string(rune(i)))
				}
				p, err := vindex.Prove(strata, k, sim.listAt(k, c.Size))
				if err == nil {
					err = p.Verify(c.Root, k)
				}
				if err != nil {
					t.Fatalf("round %d: commitment %d, key %s: %v", round, c.Index, k, err)
				}
			}
		}
		// The copies: two only where the latest commitment wrote.
		copies := map[string][]int64{}
		records := 0
		err = s.IndexScan(spaceVindexStratum, nil, func(k, v []byte) bool {
			copies[string(k[:len(k)-1])] = append(copies[string(k[:len(k)-1])], int64(binary.BigEndian.Uint64(v)))
			records++
			return true
		})
		if err != nil {
			t.Fatal(err)
		}
		written := map[string]bool{}
		for _, w := range u.Strata {
			written[string(w.Key[:len(w.Key)-1])] = true
		}
		for k, vs := range copies {
			slices.Sort(vs)
			switch {
			case vs[len(vs)-1] > st.Latest.Index:
				t.Errorf("round %d: stratum %x has a copy of version %d, after the latest commitment %d", round, k, vs[len(vs)-1], st.Latest.Index)
			case len(vs) == 2 && (vs[1] != st.Latest.Index || vs[0] > st.Previous.Index):
				t.Errorf("round %d: stratum %x has copies of versions %v: two copies must be the latest commitment's (%d) and one the previous (%d) reads", round, k, vs, st.Latest.Index, st.Previous.Index)
			case len(vs) == 2 && !written[k]:
				t.Errorf("round %d: stratum %x has two copies but the latest commitment did not write it", round, k)
			}
		}
		if records > len(copies)+len(u.Strata) {
			t.Errorf("round %d: %d records for %d strata, the latest commitment wrote %d", round, records, len(copies), len(u.Strata))
		}
		t.Logf("round %d: %d claims, %d strata, %d records, %d written, %d pruned", round, sim.size, len(copies), records, len(u.Strata), len(u.Deletes))
	}
}
