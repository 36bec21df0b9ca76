package log

import (
	"bytes"
	"encoding/binary"
	"fmt"
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
	dc    *deltaCache       // as the log keeps it
	// builders, if set, makes each claim one of bench --agree 1: four new
	// keys (digest, source, build, identity) and a builder key of these.
	builders []vindex.Key
	// published, if set, is the published tree size, which gives each
	// commitment its anchor as the committer's does; unset, every
	// commitment is published before the next. commits are the
	// commitments made, by entry index.
	published *int64
	commits   map[int64]commitState
}

// agreeOne makes sim's claims those of `attestlog bench --mode add
// --builders n` (--agree 1: every claim a build of its own).
func (sim *indexSim) agreeOne(n int) {
	for range n {
		sim.builders = append(sim.builders, sim.newKey())
	}
}

func newIndexSim(s Store, seed uint64) *indexSim {
	return &indexSim{s: s, r: rand.New(rand.NewPCG(seed, 6)), lists: map[vindex.Key][]int64{}, dc: newDeltaCache()}
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
			switch {
			case sim.builders != nil && j == 5:
				continue
			case sim.builders != nil && j == 4:
				k = sim.builders[sim.r.IntN(len(sim.builders))]
			case sim.builders != nil:
				k = sim.newKey()
			case j < 2 || len(sim.keys) < 1000:
				k = sim.newKey()
			default:
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
	base, err := readIndexState(sim.s)
	if err != nil {
		t.Fatal(err)
	}
	first := len(sim.adds)
	for first > 0 && sim.adds[first-1].Index >= base.Latest.Size {
		first--
	}
	if sim.commits == nil {
		sim.commits = map[int64]commitState{-1: noCommitment}
	}
	anchor := base.Latest
	if sim.published != nil {
		anchor = sim.commits[anchorOf(base, *sim.published)]
	}
	u, err := updateIndex(sim.s, sim.dc, base, sim.size, sim.adds[first:], sim.carry, anchor)
	if err != nil {
		t.Fatal(err)
	}
	sim.commits[sim.size] = commitState{Index: sim.size, Commitment: u.To}
	if err := sim.s.Commit(&Batch{Index: u.writesAt(sim.size)}); err != nil {
		t.Fatal(err)
	}
	sim.carry = u.carryAt(sim.size)
	if !u.ToBase {
		if err := sim.dc.put(sim.size, u.Delta); err != nil {
			t.Fatal(err)
		}
	}
	sim.size++ // the commitment entry
	return u
}

// proveServed checks that each commitment st serves proves n keys of sim
// (and some absent ones) against its root, reading the map from the store
// alone (a new deltaCache), and that its root is the one refRoots gives
// for its index.
func (sim *indexSim) proveServed(t testing.TB, st indexState, n int, refRoots map[int64]vindex.Hash) {
	t.Helper()
	for _, c := range []commitState{st.Latest, st.Previous} {
		if c.Index < 0 {
			continue
		}
		if want, ok := refRoots[c.Index]; !ok || c.Size != c.Index || c.Root != want {
			t.Fatalf("commitment %d of size %d has root %s; the entries give %s", c.Index, c.Size, c.Root, want)
		}
		r, err := newMapReader(sim.s, newDeltaCache(), st, c)
		if err != nil {
			t.Fatal(err)
		}
		strata := vindex.NewStrata(r)
		for i := range n {
			k := sim.keys[sim.r.IntN(len(sim.keys))]
			if i%5 == 0 {
				k = vindex.DigestKey(fmt.Sprint("absent", i))
			}
			p, err := vindex.Prove(strata, k, sim.listAt(k, c.Size))
			if err == nil {
				err = p.Verify(c.Root, k)
			}
			if err != nil {
				t.Fatalf("commitment %d, key %s: %v", c.Index, k, err)
			}
		}
	}
}

// checkDeltas checks that the store holds exactly the deltas st lists,
// each parsing.
func checkDeltas(t testing.TB, s Store, st indexState) {
	t.Helper()
	var got []int64
	err := s.IndexScan(spaceVindexDelta, nil, func(k, v []byte) bool {
		if idx := int64(binary.BigEndian.Uint64(k)); len(got) == 0 || got[len(got)-1] != idx {
			got = append(got, idx)
		}
		return true
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, idx := range got {
		b, err := readDelta(s, idx)
		if err == nil {
			_, err = parseDelta(b)
		}
		if err != nil {
			t.Errorf("delta %d: %v", idx, err)
		}
	}
	if !slices.Equal(got, st.Deltas) {
		t.Fatalf("the store holds the deltas %v, the state lists %v", got, st.Deltas)
	}
}

// listAt returns the indexes under k below size.
func (sim *indexSim) listAt(k vindex.Key, size int64) []int64 {
	l := sim.lists[k]
	i, _ := slices.BinarySearch(l, size)
	return l[:i]
}

// A refMap is the map of an indexSim's additions recomputed in memory,
// with its root at each commitment: what the tests prove the store's
// commitments against.
type refMap struct {
	store   vindex.MemStore
	applied int // additions of the sim in store
	roots   map[int64]vindex.Hash
}

// commit applies the sim's additions since the last call and records the
// root as that of commitment idx.
func (m *refMap) commit(t testing.TB, sim *indexSim, idx int64) vindex.Hash {
	t.Helper()
	root, err := vindex.Update(&m.store, sim.adds[m.applied:])
	if err != nil {
		t.Fatal(err)
	}
	if m.roots == nil {
		m.roots = map[int64]vindex.Hash{}
	}
	m.applied, m.roots[idx] = len(sim.adds), root
	return root
}

// smallMergeSim returns an indexSim over a new bbolt store, with merges
// every 4 deltas in 3 steps until the test ends, so that a few dozen
// commitments make several merges.
func smallMergeSim(t *testing.T, seed uint64) *indexSim {
	t.Helper()
	n, m := mergeDeltas, mergeSteps
	mergeDeltas, mergeSteps = 4, 3
	t.Cleanup(func() { mergeDeltas, mergeSteps = n, m })
	s, err := OpenBolt(filepath.Join(t.TempDir(), "log.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return newIndexSim(s, seed)
}

// TestIndexDeltas checks the layout of a base and deltas over many
// commitments and several merges: both served commitments (the latest and
// the one before) prove keys present and absent against their roots, which
// are the roots of a map recomputed in memory, read from the store alone;
// the store holds exactly the deltas the state lists; a merge starts at
// mergeDeltas deltas, makes a step a commitment, and its last step makes
// the base the commitment it started at and deletes the deltas up to it;
// the first commitment writes the base. Served commitments are proved in
// the middle of merges too, when the base holds parts of two maps. The
// strata an update keeps for the next are used only by the next.
func TestIndexDeltas(t *testing.T) {
	sim := smallMergeSim(t, 1)
	s := sim.s
	var ref refMap
	merges := 0
	var old *indexCarry
	for round := range 24 {
		sim.claims(50 + sim.r.IntN(400))
		switch round {
		case 5:
			old = sim.carry
		case 7:
			sim.carry = old // of an earlier commitment: not to be used
		case 10:
			sim.carry = nil // as after a restart
		case 13:
			sim.dc = newDeltaCache() // as after a restart
		}
		u := sim.commit(t)
		idx := sim.size - 1
		want := ref.commit(t, sim, idx)
		st, err := readIndexState(s)
		if err != nil {
			t.Fatal(err)
		}
		if st.Latest.Index != idx || st.Latest.Root != want {
			t.Fatalf("round %d: latest commitment %+v, want index and size %d, root %s", round, st.Latest, idx, want)
		}
		if st.Previous != u.Base.Latest {
			t.Fatalf("round %d: previous commitment %+v, want %+v", round, st.Previous, u.Base.Latest)
		}
		switch {
		case round == 0 && (!u.ToBase || st.Base != st.Latest || len(st.Deltas) != 0):
			t.Fatalf("round 0: the first commitment wrote to the base %v, state %+v; want the base to be it, with no delta", u.ToBase, st)
		case round > 0 && u.ToBase:
			t.Fatalf("round %d: a commitment after the first wrote to the base directly", round)
		case !u.Merging && st.Steps != u.Base.Steps:
			t.Fatalf("round %d: a commitment that made no merge step left the state %+v after %+v", round, st, u.Base)
		case u.Merging && u.MergeStep == 0 && (u.Base.Steps != 0 || u.MergeTo != u.Base.Latest || len(u.Base.Deltas) < mergeDeltas):
			t.Fatalf("round %d: a merge to %+v started from the state %+v; want one to the latest commitment, at %d deltas", round, u.MergeTo, u.Base, mergeDeltas)
		case u.Merging && u.MergeStep > 0 && (u.MergeStep != u.Base.Steps || u.MergeTo != u.Base.Merging):
			t.Fatalf("round %d: merge step %d to %+v from the state %+v", round, u.MergeStep, u.MergeTo, u.Base)
		case u.Merging && u.MergeStep < mergeSteps-1 && (st.Steps != u.MergeStep+1 || st.Merging != u.MergeTo || st.Base != u.Base.Base):
			t.Fatalf("round %d: after merge step %d the state is %+v", round, u.MergeStep, st)
		case u.Merging && u.MergeStep == mergeSteps-1 && (st.Steps != 0 || st.Base != u.MergeTo || st.Deltas[0] <= u.MergeTo.Index || st.Base != st.Previous && !slices.Contains(st.Deltas, st.Previous.Index)):
			t.Fatalf("round %d: after a merge's last step the state is %+v; want the merge's target %d as the base, and only the deltas after it", round, st, u.MergeTo.Index)
		case len(st.Deltas) > mergeDeltas+mergeSteps:
			t.Fatalf("round %d: %d deltas after the base, merges start at %d and take %d steps", round, len(st.Deltas), mergeDeltas, mergeSteps)
		}
		if u.Merging && u.MergeStep == mergeSteps-1 {
			merges++
		}
		if !u.ToBase {
			// What the committer keeps of its delta is what a reader parses.
			b, err := readDelta(s, idx)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(b, u.Delta) {
				t.Fatalf("round %d: the delta kept in memory differs from the one stored", round)
			}
			if !bytes.Equal(u.Delta, appendDelta(nil, u.Strata)) {
				t.Fatalf("round %d: the delta framed as its records were encoded differs from appendDelta's of them", round)
			}
		}
		checkDeltas(t, s, st)
		sim.proveServed(t, st, 40, ref.roots)
		t.Logf("round %d: %d claims, %d strata written, %d merge writes, %d steps of a merge done, deltas %v", round, sim.size, len(u.Strata), len(u.Merge), st.Steps, st.Deltas)
	}
	if merges < 3 {
		t.Errorf("%d merges in 24 rounds at %d deltas a merge", merges, mergeDeltas)
	}
}

// TestIndexAnchors checks the base and deltas when the published
// checkpoint lags the commitments, as a witness round makes it: each
// state serves as its previous commitment the anchor its commitment
// named (the newest one below the published size), which proves keys
// against its root like the latest; a merge never merges past it, so
// that the base is never after a commitment a client with the published
// checkpoint is served.
func TestIndexAnchors(t *testing.T) {
	sim := smallMergeSim(t, 3)
	s := sim.s
	published := int64(0)
	sim.published = &published
	var ref refMap
	behind, mergedBehind := 0, 0
	for round := range 40 {
		sim.claims(20 + sim.r.IntN(200))
		base, err := readIndexState(s)
		if err != nil {
			t.Fatal(err)
		}
		// The witnesses cosign every third round or so; the committer
		// waits for them only as IndexCommitter.due does.
		if sim.r.IntN(3) == 0 || base.Latest.Index >= published && !canGoAhead(base) {
			published = sim.size
		}
		u := sim.commit(t)
		idx := sim.size - 1
		ref.commit(t, sim, idx)
		st, err := readIndexState(s)
		if err != nil {
			t.Fatal(err)
		}
		switch {
		case round > 0 && st.Previous != u.Anchor:
			t.Fatalf("round %d: the state serves %+v as its previous commitment, want the anchor %+v", round, st.Previous, u.Anchor)
		case round > 0 && u.Anchor.Index >= published && u.Anchor != u.Base.Previous:
			t.Fatalf("round %d: anchor %d at or past the published size %d", round, u.Anchor.Index, published)
		case u.Merging && u.MergeTo.Index > u.Anchor.Index:
			t.Fatalf("round %d: a merge to commitment %d, past the anchor %d", round, u.MergeTo.Index, u.Anchor.Index)
		case st.Base.Index > st.Previous.Index && st.Previous.Index >= 0:
			t.Fatalf("round %d: the base %d is after the previous commitment %d", round, st.Base.Index, st.Previous.Index)
		}
		if round > 0 && u.Anchor != u.Base.Latest {
			behind++
		}
		if u.Merging && u.MergeStep == 0 && u.MergeTo != u.Base.Latest {
			mergedBehind++
		}
		checkDeltas(t, s, st)
		sim.proveServed(t, st, 30, ref.roots)
	}
	if behind < 10 || mergedBehind < 2 {
		t.Errorf("%d of 40 commitments anchored before the latest, %d merges started behind it: the test did not exercise lagging publication", behind, mergedBehind)
	}
}

// TestIndexStateV3 checks that a log whose index state is in the record
// of the layout before merge steps ("state/v3") is served from it, and
// that its next commitment moves the state to the new record and deletes
// the old one, in its batch.
func TestIndexStateV3(t *testing.T) {
	s, err := OpenBolt(filepath.Join(t.TempDir(), "log.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	sim := newIndexSim(s, 3)
	var ref refMap
	commit := func() {
		sim.claims(200)
		sim.commit(t)
		ref.commit(t, sim, sim.size-1)
	}
	for range 3 {
		commit()
	}
	st, err := readIndexState(s)
	if err != nil {
		t.Fatal(err)
	}
	// The state as attestlog wrote it before: the three commitments and
	// the deltas, under the older key.
	old := st.Base.append(st.Previous.append(st.Latest.append(nil)))
	for _, d := range st.Deltas {
		old = binary.BigEndian.AppendUint64(old, uint64(d))
	}
	if err := s.Commit(&Batch{Index: []IndexWrite{
		{Space: spaceVindexState, Key: keyIndexState, Delete: true},
		{Space: spaceVindexState, Key: keyIndexStateV3, Value: old},
	}}); err != nil {
		t.Fatal(err)
	}
	got, err := readIndexState(s)
	if err != nil {
		t.Fatal(err)
	}
	if !got.v3 || !got.equal(st) {
		t.Fatalf("the state read from the older record is %+v, want %+v", got, st)
	}
	sim.proveServed(t, got, 20, ref.roots)
	commit()
	after, err := readIndexState(s)
	if err != nil {
		t.Fatal(err)
	}
	if after.v3 || after.Latest.Index != sim.size-1 {
		t.Fatalf("after a commitment the state is %+v, want the new record with the latest commitment %d", after, sim.size-1)
	}
	if v, err := s.IndexGet(spaceVindexState, keyIndexStateV3); err != nil || v != nil {
		t.Fatalf("the older state record is still there after a commitment (%x, %v)", v, err)
	}
	sim.proveServed(t, after, 20, ref.roots)
}

// TestIndexMergeStepsGrow checks that a merge under way when attestlog
// starts making merges in more steps (mergeSteps, 8 before 16) ends with
// every stratum merged: the steps done covered the parts of the fewer
// steps, the parts of the rest cover the remainder, and the commitments
// after the merge, which read the base alone where the merged deltas were,
// prove keys against the roots of a map recomputed in memory.
func TestIndexMergeStepsGrow(t *testing.T) {
	defer func(n, m int) { mergeDeltas, mergeSteps = n, m }(mergeDeltas, mergeSteps)
	mergeDeltas, mergeSteps = 3, 2
	s, err := OpenBolt(filepath.Join(t.TempDir(), "log.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	sim := newIndexSim(s, 7)
	var ref refMap
	commit := func() (*indexUpdate, indexState) {
		sim.claims(100 + sim.r.IntN(200))
		u := sim.commit(t)
		ref.commit(t, sim, sim.size-1)
		st, err := readIndexState(s)
		if err != nil {
			t.Fatal(err)
		}
		return u, st
	}
	for round := 0; ; round++ {
		if _, st := commit(); st.Steps == 1 {
			break // one of the two steps done
		}
		if round > 20 {
			t.Fatal("no merge under way after 20 commitments")
		}
	}
	mergeSteps = 4
	for round := 0; ; round++ {
		u, st := commit()
		sim.proveServed(t, st, 40, ref.roots)
		if u.Merging && u.MergeStep == mergeSteps-1 {
			if st.Steps != 0 || st.Base != u.MergeTo {
				t.Fatalf("after the merge's last step the state is %+v, want its target %+v as the base", st, u.MergeTo)
			}
			break
		}
		if round > 4 {
			t.Fatalf("the merge did not end in the 3 steps after the first: state %+v", st)
		}
	}
	for range 3 {
		_, st := commit()
		checkDeltas(t, s, st)
		sim.proveServed(t, st, 80, ref.roots)
	}
}
