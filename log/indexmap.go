package log

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"slices"

	"github.com/attestlog/attestlog/log/vindex"
	"golang.org/x/mod/sumdb/tlog"
)

// The verifiable index (package log/vindex) lives in three index spaces,
// so that it works on every [Store]:
//
//	vindex-base   stratum root ([vindex.Position.AppendBinary]) -> stratum ([vindex.Strata])
//	vindex-delta  commitment entry index (8, big-endian) || chunk (4) -> part of a delta
//	              (see [parseDelta] and deltaChunk)
//	vindex-state  "state/v4" -> the latest commitment || the one before it || the base ||
//	                            the merge's target, each entry index (8) || size N (8) ||
//	                            root (32), index -1 for none; the merge's steps done (1);
//	                            then the entry index (8) of each delta, increasing
//
// The map is stored as a base and deltas, the way a log-structured merge
// tree keeps a table: vindex-base holds the strata (8 levels of a path per
// record) of the map the base commitment committed to, and each commitment
// after the base wrote one delta, a single record holding every stratum it
// changed, each as a record or as a patch of the record before it (the
// stored nodes that changed; see [vindex.IsPatch]) when the record is
// large and the patch smaller by half: an upper stratum of a large map,
// about 8 KiB, changes by a few hundred bytes. The map a commitment c committed to is, for each stratum,
// the newest record at or before c, in the deltas or else in the base,
// with the patches of the later deltas up to c applied. Two
// commitments are served: the latest, and the "previous" one for clients
// whose witnessed checkpoint does not cover the latest yet. The previous
// one is the anchor each commitment names (see updateIndex): the newest
// commitment before it that the published checkpoint covered when it was
// made, so that a client with the log's published checkpoint always finds
// one of the two below its tree size, while the [IndexCommitter] goes on
// committing ahead of the witnesses. The base is never after the previous
// one, so both are the base plus deltas.
//
// Why deltas: a commitment changes about one stratum per key its interval
// added, at keys spread at random over the map, so that writing each into
// a B+tree (bbolt's or PostgreSQL's) dirtied one page per stratum: several
// megabytes written, and as many page splits and frees, per commitment. A
// delta is one sequential record. Once mergeDeltas deltas (or
// mergeDeltaBytes of them) have built up, the commitments that follow
// merge them into the base, newest record per stratum, in key order, so
// that each page of the base is written about once per merge instead of
// once per commitment, and delete them; the base then is the map of the
// anchor of the commitment that started the merge, which was the previous
// one it served. The first commitment (or the
// rebuild of an older layout) writes its strata to the base directly,
// since no older commitment is served.
//
// A merge comes in mergeSteps steps, one per commitment, so that no
// commitment writes (and no committer holds in memory) more than a part of
// the base: the strata fall into mergeSteps parts by the first byte of
// their root's prefix (see mergePart), and step k writes the merged
// records of part k, the last step also deleting the merged deltas and
// moving the base to the merge's target. Until then every delta after the
// base is kept, and the state says how many parts are merged. A reader
// needs neither: the record of a stratum is its newest full record in the
// deltas up to the commitment read, with the patches after it applied, or
// else the base's record with every patch of those deltas applied, and
// applying to a part already merged the patches it already holds gives
// that part again, since a patch sets or removes nodes at places, the
// last patch setting a place winning. Every commitment served is at or
// after the merge's target, so a reader of one reads its map whether a
// step came before it read the base or not. (A reader whose state is so
// old that the commitment it reads is before the target reads a map that
// is not its commitment's, as it would after a whole merge: its proof
// fails against the root, and it reads the state again; see
// [Log.indexProof].)
//
// The index changes only in the transaction that appends a commitment
// entry: the committer computes the delta (and the merge) beside the
// sequencer and hands it to [ClaimIndex.Index] with the entry (see
// [Log.AppendParsed]), which writes it, with the new state, in that
// entry's batch, provided the state is still the one it was computed
// from. A crash therefore leaves the index at a commitment in the log, and
// a commitment's root is always computed from the entries.
//
// Readers keep the deltas they read in memory (a [deltaCache]: a delta
// never changes once written, and is deleted only by a merge), so that a
// proof or an update reads from the store only the base's strata.
//
// attestlog before this layout kept versioned copies of each stratum in
// "vindex-stratum" (with "state" and "prune"), and before that two whole
// maps, node by node, in "vindex-node" and "vindex-slot". A log with
// neither a "state/v4" nor a "state/v3" record (this layout's state before
// merges came in steps, read as a state with no merge under way) has its
// index rebuilt from the entries by the next commitment, which also
// deletes the records of the older layouts (see [IndexCommitter]).
const (
	spaceVindexBase  = "vindex-base"
	spaceVindexDelta = "vindex-delta"
	spaceVindexState = "vindex-state"
	// The spaces of the older layouts.
	spaceVindexStratumV2 = "vindex-stratum"
	spaceVindexNodeV1    = "vindex-node"
	spaceVindexSlotV1    = "vindex-slot"

	commitStateSize = 8 + 8 + vindex.HashSize

	// mergeDeltaBytes bounds the total size of the deltas after the base
	// when a merge starts (and so, with the mergeSteps deltas its steps
	// add, the memory of every reader's deltaCache): a commitment that
	// finds more starts merging them.
	mergeDeltaBytes = 32 << 20
	// maxDeltas bounds the deltas a state may list: more than a merge ever
	// leaves, fewer than would make a reader's memory a concern.
	maxDeltas = 256
)

// mergeDeltas is how many deltas a commitment may find before it starts
// merging them into the base, and mergeSteps in how many steps, one per
// commitment, a merge writes the base. Merging every 24 commitments, in
// 8 steps, instead of every 16 at once, cut the committer's CPU per claim
// by a fifth on a 400,000-claim map, where the merges had cost two fifths
// of it (none measurable on a 100,000-claim map), and the file's growth
// by a fifth to a third. 16 steps instead of 8 halve the memory and the
// batch of a step (a sixteenth of a merge's): from 720,000 to 1,200,000
// claims serve then held 3,000-3,900 claims/s, p99 at most 212 ms and 205
// MiB of RssAnon, against 1,800-4,500, 614 ms and 219 MiB with 8, each
// step's pages and records having pushed the heap into the memory limit
// (BENCHMARKS.md, "Ninth pass"). A log whose merge was under way in
// fewer steps ends it in these: the steps done cover the parts of the
// map their partition had, and the steps left the remainder
// (TestIndexMergeStepsGrow). Variables for tests.
var (
	mergeDeltas = 24
	mergeSteps  = 16
)

var (
	// keyIndexState holds the index's state; keyIndexStateV3 held it
	// before merges came in steps, with no merge's target or steps. A log
	// whose state is in the older record is read from it, and its next
	// commitment moves it to keyIndexState.
	keyIndexState   = []byte("state/v4")
	keyIndexStateV3 = []byte("state/v3")
	// The state records of the layout before.
	keyIndexStateV2 = []byte("state")
	keyIndexPruneV2 = []byte("prune")
)

// A commitState is an index commitment: the entry at Index commits to the
// map over the entries [0, Size). Index is -1 for none (then Size is 0 and
// Root the empty map's).
type commitState struct {
	Index int64
	vindex.Commitment
}

var noCommitment = commitState{Index: -1}

func (c commitState) append(b []byte) []byte {
	b = binary.BigEndian.AppendUint64(b, uint64(c.Index))
	b = binary.BigEndian.AppendUint64(b, uint64(c.Size))
	return append(b, c.Root[:]...)
}

func parseCommitState(b []byte) (commitState, error) {
	c := commitState{Index: int64(binary.BigEndian.Uint64(b)),
		Commitment: vindex.Commitment{Size: int64(binary.BigEndian.Uint64(b[8:])), Root: vindex.Hash(b[16:])}}
	switch {
	case c == noCommitment:
	case c.Index < 0 || c.Size < 0 || c.Size > c.Index:
		return c, fmt.Errorf("%w: index state names commitment %d of size %d", ErrCorrupt, c.Index, c.Size)
	}
	return c, nil
}

// An indexState is the index's state: the two commitments it serves, the
// base, and the deltas after it.
type indexState struct {
	Latest, Previous, Base commitState
	// Steps is how many steps of a merge into the base are done: 0 for
	// none, else the base's records of the parts [0, Steps) of the strata
	// (see mergePart) are those of the map of Merging, the others Base's.
	Steps   int
	Merging commitState
	// Deltas are the entry indexes of the commitments after Base, each of
	// which wrote a delta, in increasing order; the last is Latest's
	// unless Latest is the base.
	Deltas []int64
	// v3 says that the state was read from the older record
	// (keyIndexStateV3), which the next commitment deletes. It is not
	// part of the state.
	v3 bool
}

var noIndexState = indexState{Latest: noCommitment, Previous: noCommitment, Base: noCommitment}

func (st indexState) equal(o indexState) bool {
	return st.Latest == o.Latest && st.Previous == o.Previous && st.Base == o.Base &&
		st.Steps == o.Steps && (st.Steps == 0 || st.Merging == o.Merging) && slices.Equal(st.Deltas, o.Deltas)
}

// encode returns the record of st (keyIndexState).
func (st indexState) encode() []byte {
	merging := noCommitment
	if st.Steps > 0 {
		merging = st.Merging
	}
	b := merging.append(st.Base.append(st.Previous.append(st.Latest.append(nil))))
	b = append(b, byte(st.Steps))
	for _, d := range st.Deltas {
		b = binary.BigEndian.AppendUint64(b, uint64(d))
	}
	return b
}

// parseIndexState parses the record of an index state: keyIndexState's,
// or keyIndexStateV3's if v3 is set. A nil record is the state of a log
// with no index.
func parseIndexState(v []byte, v3 bool) (indexState, error) {
	if v == nil {
		return noIndexState, nil
	}
	commits, head := 4, 4*commitStateSize+1
	if v3 {
		commits, head = 3, 3*commitStateSize
	}
	if len(v) < head || (len(v)-head)%8 != 0 || (len(v)-head)/8 > maxDeltas {
		return indexState{}, fmt.Errorf("%w: index state of %d bytes, want %d and at most %d deltas of 8", ErrCorrupt, len(v), head, maxDeltas)
	}
	st := indexState{Merging: noCommitment, v3: v3}
	for i, c := range []*commitState{&st.Latest, &st.Previous, &st.Base, &st.Merging}[:commits] {
		var err error
		if *c, err = parseCommitState(v[i*commitStateSize:]); err != nil {
			return indexState{}, err
		}
	}
	if !v3 {
		st.Steps = int(v[head-1])
	}
	for b := v[head:]; len(b) > 0; b = b[8:] {
		st.Deltas = append(st.Deltas, int64(binary.BigEndian.Uint64(b)))
	}
	if err := st.check(); err != nil {
		return indexState{}, fmt.Errorf("%w: index state: %w", ErrCorrupt, err)
	}
	return st, nil
}

// check reports what is inconsistent in st.
func (st indexState) check() error {
	latest, prev, base := st.Latest, st.Previous, st.Base
	switch {
	case latest.Index < 0 && (prev.Index >= 0 || base.Index >= 0 || len(st.Deltas) > 0):
		return errors.New("commitments, a base or deltas without a latest commitment")
	case prev.Index >= 0 && (prev.Index >= latest.Index || prev.Size > latest.Size):
		return fmt.Errorf("previous commitment %d (size %d) is not before the latest %d (size %d)", prev.Index, prev.Size, latest.Index, latest.Size)
	case latest.Index >= 0 && base.Index < 0:
		return fmt.Errorf("latest commitment %d without a base", latest.Index)
	case base.Index > latest.Index || prev.Index >= 0 && base.Index > prev.Index || prev.Index < 0 && base != latest:
		return fmt.Errorf("base %d is after the previous commitment %d (latest %d)", base.Index, prev.Index, latest.Index)
	case base == latest && len(st.Deltas) > 0 || base != latest && (len(st.Deltas) == 0 || st.Deltas[len(st.Deltas)-1] != latest.Index):
		return fmt.Errorf("deltas %v do not end at the latest commitment %d (base %d)", st.Deltas, latest.Index, base.Index)
	case prev.Index > base.Index && !slices.Contains(st.Deltas, prev.Index):
		return fmt.Errorf("no delta for the previous commitment %d (base %d, deltas %v)", prev.Index, base.Index, st.Deltas)
	}
	for i, d := range st.Deltas {
		if d <= base.Index || i > 0 && d <= st.Deltas[i-1] {
			return fmt.Errorf("deltas %v are not increasing after the base %d", st.Deltas, base.Index)
		}
	}
	switch m := st.Merging; {
	case st.Steps == 0 && m != noCommitment:
		return fmt.Errorf("a merge's target %d with no step done", m.Index)
	case st.Steps == 0:
	case st.Steps >= mergeSteps:
		return fmt.Errorf("%d steps of a merge done, which takes %d", st.Steps, mergeSteps)
	case m.Index < 0 || !slices.Contains(st.Deltas, m.Index) || m.Index > prev.Index:
		return fmt.Errorf("merge into the base to commitment %d, which is not a delta (%v) at or before the previous commitment %d", m.Index, st.Deltas, prev.Index)
	}
	return nil
}

// readIndexState returns the index's state.
func readIndexState(s Store) (indexState, error) {
	v, err := s.IndexGet(spaceVindexState, keyIndexState)
	if err != nil {
		return indexState{}, fmt.Errorf("log: reading the index state: %w", err)
	}
	if v != nil {
		return parseIndexState(v, false)
	}
	if v, err = s.IndexGet(spaceVindexState, keyIndexStateV3); err != nil {
		return indexState{}, fmt.Errorf("log: reading the index state: %w", err)
	}
	return parseIndexState(v, true)
}

// servedBelow returns the latest commitment served whose entry is below
// treeSize, or ok false if there is none.
func (st indexState) servedBelow(treeSize int64) (commitState, bool) {
	for _, c := range []commitState{st.Latest, st.Previous} {
		if c.Index >= 0 && c.Index < treeSize {
			return c, true
		}
	}
	return commitState{}, false
}

// deltasAt returns the deltas the map of the served commitment c is made
// of: those at or before c.
func (st indexState) deltasAt(c commitState) []int64 {
	i, _ := slices.BinarySearch(st.Deltas, c.Index+1)
	return st.Deltas[:i]
}

func stratumKey(root vindex.Position) []byte {
	k, _ := root.AppendBinary(nil)
	return k
}

func deltaKey(idx int64) []byte { return binary.BigEndian.AppendUint64(nil, uint64(idx)) }

// A mapReader reads, for a [vindex.Strata], the strata of the map of one
// commitment: from its deltas, newest first, or else from the base.
type mapReader struct {
	s      Store
	empty  bool     // the map is empty: no base, no deltas
	deltas []*delta // newest first
}

// newMapReader returns the reader of the map of the served commitment c
// of st, with the deltas it needs from dc.
func newMapReader(s Store, dc *deltaCache, st indexState, c commitState) (*mapReader, error) {
	r := &mapReader{s: s, empty: c.Index < 0}
	if r.empty {
		return r, nil
	}
	ds, err := dc.get(s, st.deltasAt(c))
	if err != nil {
		return nil, err
	}
	slices.Reverse(ds)
	r.deltas = ds
	return r, nil
}

// ReadStrata implements [vindex.StratumReader] with one
// [Store.IndexGetMany] for the strata the deltas do not hold in full: one
// read transaction (bbolt) or one query (PostgreSQL).
func (r *mapReader) ReadStrata(ps []vindex.Position) ([]vindex.StoredStratum, error) {
	keys := make([][]byte, len(ps))
	for i, p := range ps {
		keys[i] = stratumKey(p)
	}
	return readStrata(r.s, r.deltas, r.empty, keys)
}

// readStrata returns what is stored of the stratum under each of keys in
// the map made of the base (none if empty) and ds, newest first: the
// newest delta's record, or the base's if no delta holds it in full, with
// the patches of the deltas after that record, oldest first.
func readStrata(s Store, ds []*delta, empty bool, keys [][]byte) ([]vindex.StoredStratum, error) {
	out := make([]vindex.StoredStratum, len(keys))
	var reads []IndexRead
	var at []int
	for i, k := range keys {
		full := false
		fk := stratumFilterKey(k)
		var patches [][]byte // newest first
		for _, d := range ds {
			rec, ok := d.get(k, fk)
			if !ok {
				continue
			}
			if !vindex.IsPatch(rec) {
				out[i].Record, full = rec, true
				break
			}
			patches = append(patches, rec)
		}
		slices.Reverse(patches)
		out[i].Patches = patches
		if !full && !empty {
			reads, at = append(reads, IndexRead{Space: spaceVindexBase, Key: k}), append(at, i)
		}
	}
	if len(reads) > 0 {
		vals, err := s.IndexGetMany(reads)
		if err != nil {
			return nil, fmt.Errorf("log: reading index strata: %w", err)
		}
		if len(vals) != len(reads) {
			return nil, fmt.Errorf("log: reading %d index strata gave %d", len(reads), len(vals))
		}
		for j, v := range vals {
			out[at[j]].Record = v
		}
	}
	for i, o := range out {
		if len(o.Patches) > 0 && o.Record == nil {
			return nil, fmt.Errorf("%w: index stratum %x: a delta patches it, but no record of it precedes the patch", ErrCorrupt, keys[i])
		}
	}
	return out, nil
}

// An indexUpdate is what the [IndexCommitter] passes with a commitment
// entry to [Log.AppendParsed]: what brings the index from the state Base
// to the map the entry commits to.
type indexUpdate struct {
	Base indexState
	To   vindex.Commitment
	// Strata are the changed strata, in key order, as records or patches
	// ([vindex.IsPatch]). They go into one delta or, for a first
	// commitment (ToBase), all as records into the base.
	Strata []vindex.StratumRecord
	ToBase bool
	// Anchor is the commitment the new state serves as its previous one
	// (see updateIndex).
	Anchor commitState
	// Delta is the record of the delta, unless ToBase.
	Delta []byte
	// Merging says that the update makes step MergeStep of the merge of
	// the deltas up to MergeTo into the base (Base's, or the merge that
	// this update starts, to its Anchor); Merge holds its writes: the base's
	// records of one part of the strata and, in the last step, the merged
	// deltas' deletes.
	Merging   bool
	MergeTo   commitState
	MergeStep int
	Merge     []IndexWrite
	OldLayout []IndexWrite
	// next is what the committer keeps for the next update, once the
	// entry is logged (then its at is the entry's commitment).
	next *indexCarry
}

// carryAt returns what the next update can reuse of u, once u's
// commitment entry is logged at idx.
func (u *indexUpdate) carryAt(idx int64) *indexCarry {
	c := u.next
	c.at = commitState{Index: idx, Commitment: u.To}
	return c
}

// carryDepth and carryStrata bound the strata an [indexCarry] keeps: every
// stratum of the upper two levels of strata (the map's first 16 levels),
// which every commitment of a large map changes, 257 at most, and up to
// carryStrata others. Lower strata are few of the many a large map has,
// so a commitment seldom finds the one it needs among them, and they cost
// the collector more than they save: in a serve process under a
// 100,000-claim load, 8,192 of them kept the live heap 20 MB higher, near
// the memory limit, for 40% more collections than 1,024 (BENCHMARKS.md,
// "fifth pass"); 32,768 had held 50 MiB.
const (
	carryDepth  = 2 * vindex.StratumLevels
	carryStrata = 1 << 10
)

// An indexCarry is what the committer keeps of its last update for the
// next: strata of the map its commitment At committed to, parsed, so that
// the next update neither reads nor parses them. It is valid only while At
// is the latest commitment, which the index state says.
type indexCarry struct {
	at     commitState
	strata *vindex.Strata
}

// updateIndex computes the update that brings the index from the state
// base to the map over the entries [0, size), adds being the additions of
// the entries [base.Latest.Size, size). carry, if not nil, is what the
// last update left; it is used only if its commitment is base's latest.
//
// anchor is the commitment served beside the new one (the new state's
// Previous): the newest of base's commitments, from its previous to its
// latest, that the published checkpoint covers, so that a client holding
// that checkpoint finds a commitment below its tree size whatever the
// committer made since (see [IndexCommitter]). A merge the update starts
// merges the deltas up to the anchor, never past it. For a first
// commitment (base has none) it is ignored.
func updateIndex(s Store, dc *deltaCache, base indexState, size int64, adds []vindex.Addition, carry *indexCarry, anchor commitState) (*indexUpdate, error) {
	if base.Latest.Index >= 0 && anchor != base.Latest && anchor != base.Previous &&
		(!slices.Contains(base.Deltas, anchor.Index) || anchor.Index <= base.Previous.Index || anchor.Index >= base.Latest.Index) {
		return nil, fmt.Errorf("log: updating the index: commitment %d (size %d) is not one of the state's from its previous %d to its latest %d",
			anchor.Index, anchor.Size, base.Previous.Index, base.Latest.Index)
	}
	r, err := newMapReader(s, dc, base, base.Latest)
	if err != nil {
		return nil, err
	}
	var st *vindex.Strata
	if carry != nil && base.Latest.Index >= 0 && carry.at == base.Latest {
		st = carry.strata.Reuse(r, carryDepth, carryStrata)
	} else {
		st = vindex.NewStrata(r)
	}
	root, err := vindex.Update(st, adds)
	if err != nil {
		if errors.Is(err, vindex.ErrMalformedStratum) {
			err = fmt.Errorf("%w: %w", ErrCorrupt, err)
		}
		return nil, fmt.Errorf("log: updating the index from size %d to %d: %w", base.Latest.Size, size, err)
	}
	u := &indexUpdate{Base: base, To: vindex.Commitment{Size: size, Root: root}, ToBase: base.Latest.Index < 0, Anchor: anchor, next: &indexCarry{strata: st}}
	if u.ToBase {
		u.Strata = st.Dirty(0)
	} else {
		u.Delta, u.Strata = st.AppendDirtyPatches([]byte{deltaMark}, appendDeltaHeader)
	}
	// r holds every delta of base: those of its latest commitment.
	switch {
	case u.ToBase:
	case base.Steps > 0:
		u.Merging, u.MergeTo, u.MergeStep = true, base.Merging, base.Steps
	case mergeDue(r.deltas) && anchor.Index > base.Base.Index:
		u.Merging, u.MergeTo, u.MergeStep = true, anchor, 0
	}
	if u.Merging {
		merged := base.deltasAt(u.MergeTo)
		if u.Merge, err = mergeWrites(s, r.deltas[len(r.deltas)-len(merged):], merged, u.MergeStep); err != nil {
			return nil, err
		}
	}
	return u, nil
}

// mergeDue reports whether the commitment after the deltas ds starts
// merging them into the base.
func mergeDue(ds []*delta) bool {
	n := 0
	for _, d := range ds {
		n += d.size()
	}
	return len(ds) >= mergeDeltas || n >= mergeDeltaBytes
}

// mergePart returns the part of the strata, 0 to mergeSteps-1, that the
// stratum with the storage key k ([vindex.Position.AppendBinary]) is in,
// by the first byte of its root's prefix (the root stratum is in part 0):
// a part holds a range of keys at each depth, so that a step writes runs
// of neighbouring records of the base.
func mergePart(k []byte) int {
	if len(k) < 3 {
		return 0
	}
	return int(k[2]) * mergeSteps / 256
}

// mergeWrites returns the writes of step `step` of the merge of the
// deltas ds (newest first), of the commitments idxs (increasing), into
// the base: the newest record (patches applied) of each stratum of the
// step's part that they hold, in key order, and in the last step the
// deltas' deletes.
func mergeWrites(s Store, ds []*delta, idxs []int64, step int) ([]IndexWrite, error) {
	var keys [][]byte
	for _, d := range ds {
		keys = d.appendPartKeys(keys, step)
	}
	slices.SortFunc(keys, bytes.Compare)
	keys = slices.CompactFunc(keys, bytes.Equal)
	recs, err := readStrata(s, ds, false, keys)
	if err != nil {
		return nil, err
	}
	out := make([]IndexWrite, 0, len(keys)+len(ds))
	for i, k := range keys {
		rec := recs[i].Record
		if len(recs[i].Patches) > 0 {
			if rec, err = vindex.ComposeStratum(rec, recs[i].Patches...); err != nil {
				return nil, fmt.Errorf("%w: index stratum %x: %w", ErrCorrupt, k, err)
			}
		}
		out = append(out, IndexWrite{Space: spaceVindexBase, Key: k, Value: rec})
	}
	if step == mergeSteps-1 {
		for i, idx := range idxs {
			out = append(out, deltaDeletes(idx, ds[len(ds)-1-i].size())...)
		}
	}
	return out, nil
}

// state returns the index's state once u's commitment entry is logged at
// idx.
func (u *indexUpdate) state(idx int64) indexState {
	c := commitState{Index: idx, Commitment: u.To}
	st := indexState{Latest: c, Previous: u.Anchor, Base: u.Base.Base, Steps: u.Base.Steps, Merging: u.Base.Merging,
		Deltas: append(slices.Clip(u.Base.Deltas), idx)}
	switch {
	case u.ToBase:
		st.Base, st.Deltas, st.Steps, st.Merging = c, nil, 0, noCommitment
	case u.Merging && u.MergeStep == mergeSteps-1:
		st.Base, st.Steps, st.Merging = u.MergeTo, 0, noCommitment
		st.Deltas = st.Deltas[len(u.Base.deltasAt(u.MergeTo)):]
	case u.Merging:
		st.Steps, st.Merging = u.MergeStep+1, u.MergeTo
	}
	return st
}

// writesAt returns the index writes of u for its commitment entry at idx.
func (u *indexUpdate) writesAt(idx int64) []IndexWrite {
	out := make([]IndexWrite, 0, len(u.OldLayout)+len(u.Merge)+len(u.Strata)+len(u.Delta)/deltaChunk+2)
	out = append(out, u.OldLayout...)
	out = append(out, u.Merge...)
	if u.ToBase {
		for _, r := range u.Strata {
			out = append(out, IndexWrite{Space: spaceVindexBase, Key: stratumKey(r.Root), Value: r.Record})
		}
	} else {
		out = append(out, deltaWrites(idx, u.Delta)...)
	}
	if u.Base.v3 {
		out = append(out, IndexWrite{Space: spaceVindexState, Key: keyIndexStateV3, Delete: true})
	}
	return append(out, IndexWrite{Space: spaceVindexState, Key: keyIndexState, Value: u.state(idx).encode()})
}

// oldLayoutDeletes returns the deletes of every record of the index's
// older layouts, from one view per space.
func oldLayoutDeletes(s Store) ([]IndexWrite, error) {
	var out []IndexWrite
	for _, space := range []string{spaceVindexNodeV1, spaceVindexSlotV1, spaceVindexStratumV2} {
		err := s.IndexScan(space, nil, func(k, _ []byte) bool {
			out = append(out, IndexWrite{Space: space, Key: bytes.Clone(k), Delete: true})
			return true
		})
		if err != nil {
			return nil, fmt.Errorf("log: reading the index's older layout (%s): %w", space, err)
		}
	}
	for _, k := range [][]byte{keyIndexStateV2, keyIndexPruneV2} {
		v, err := s.IndexGet(spaceVindexState, k)
		if err != nil {
			return nil, fmt.Errorf("log: reading the index's older layout: %w", err)
		}
		if v != nil {
			out = append(out, IndexWrite{Space: spaceVindexState, Key: k, Delete: true})
		}
	}
	return out, nil
}

// indexCommitment returns the index writes of the commitment entry e at
// index idx, if e carries an update that still applies to the store. A
// commitment entry without one (or with a stale one) is logged like any
// entry, but the index does not serve it.
func indexCommitment(s Store, idx int64, e NewEntry) ([]IndexWrite, error) {
	u, ok := e.Parsed.(*indexUpdate)
	if !ok {
		return nil, nil
	}
	c, err := vindex.ParseCommitment(e.Bytes)
	if err != nil || c != u.To || c.Size > idx {
		return nil, nil
	}
	st, err := readIndexState(s)
	if err != nil {
		return nil, err
	}
	if !st.equal(u.Base) {
		return nil, nil
	}
	return u.writesAt(idx), nil
}

// compactRange returns the hashes of the perfect subtrees that make up the
// tree of the entries [0, n), largest first: with the leaf hashes of the
// entries [n, size) they give the root of the tree of any size past n.
func compactRange(hr tlog.HashReader, n int64) ([]tlog.Hash, error) {
	var idx []int64
	var start int64
	for level := 62; level >= 0; level-- {
		if n&(1<<level) != 0 {
			idx = append(idx, tlog.StoredHashIndex(level, start>>level))
			start += 1 << level
		}
	}
	if len(idx) == 0 {
		return []tlog.Hash{}, nil
	}
	return hr.ReadHashes(idx)
}

// errStaleCommitment fails the append of an index commitment whose base
// state changed after the [IndexCommitter] read it.
var errStaleCommitment = errors.New("log: another index commitment was logged first; the committer retries from the new state")

// dropStaleCommitments fails, and takes out of batch, every index
// commitment whose update no longer applies to the store: another
// committer's commitment came first (frontends sharing a store each run
// one). Logged, it would name a smaller size than the commitment before
// it, which clients refuse ("commitments must grow"). The sequencer calls
// it before it assigns indexes, so that the check and the commit see one
// state (on a shared store, under the writer lock).
func (l *Log) dropStaleCommitments(batch []*pending) ([]*pending, error) {
	var state *indexState
	taken := false
	kept := batch[:0]
	for _, p := range batch {
		u, ok := p.parsed.(*indexUpdate)
		if !ok {
			kept = append(kept, p)
			continue
		}
		if state == nil {
			s, err := readIndexState(l.store)
			if err != nil {
				return batch, err
			}
			state = &s
		}
		if !taken && state.equal(u.Base) {
			// One commitment per state: the next one would apply its
			// update to the state this one leaves.
			kept, taken = append(kept, p), true
			continue
		}
		p.err = errStaleCommitment
		close(p.done)
	}
	return kept, nil
}
