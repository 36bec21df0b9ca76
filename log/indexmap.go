package log

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/attestlog/attestlog/log/vindex"
	"golang.org/x/mod/sumdb/tlog"
)

// The verifiable index (package log/vindex) lives in two index spaces, so
// that it works on every [Store]:
//
//	vindex-stratum  stratum root ([vindex.Position.AppendBinary]) || copy (1 byte: 0 or 1)
//	                -> version (8, big-endian) || stratum ([vindex.Strata])
//	vindex-state    "state" -> the latest commitment || the one before it, each
//	                           entry index (8) || size N (8) || root (32), index -1 for none
//	                "prune" -> the vindex-stratum keys the latest commitment superseded,
//	                           each as uvarint(length) || key
//
// One copy of the map is stored, in strata (8 levels of a path per
// record), each stratum in one or two versions. A version is the index of
// the commitment entry that wrote it, and the map a commitment at index c
// committed to is, for each stratum, the copy with the largest version at
// or below c. Two commitments are served: the latest, and the one before
// it for clients whose witnessed checkpoint does not cover the latest yet
// (the [IndexCommitter] writes a commitment only once the latest is
// witnessed, so a client with the log's witnessed checkpoint always finds
// one of the two below its tree size).
//
// A commitment applies the additions of the entries since the latest one
// (each interval's additions are applied once) and writes only the strata
// they change, each into the copy that the latest commitment does not
// read: the older copy, which only the commitment before the latest
// could read and which stops being served now, or a new one. It deletes
// the copies listed under "prune", which the latest commitment superseded
// and only the one before it read, and lists the copies it supersedes
// itself. So a stratum has two copies only while the latest commitment
// changed it, and the store holds the map once plus the strata of one
// interval.
//
// The index changes only in the transaction that appends a commitment
// entry: the committer computes the new strata beside the sequencer and
// hands them to [ClaimIndex.Index] with the entry (see [Log.AppendParsed]),
// which writes them, with the new state, in that entry's batch, provided
// the state is still the one they were computed from. A crash therefore
// leaves the index at a commitment in the log, and a commitment's root is
// always computed from the entries.
//
// attestlog before this layout kept two whole maps, node by node, in
// "vindex-node" and "vindex-slot". A log without a "state" record has its
// index rebuilt from the entries by the next commitment, which also
// deletes the records of that older layout (see [IndexCommitter]).
const (
	spaceVindexStratum = "vindex-stratum"
	spaceVindexState   = "vindex-state"
	// The spaces of the older layout.
	spaceVindexNodeV1 = "vindex-node"
	spaceVindexSlotV1 = "vindex-slot"

	commitStateSize = 8 + 8 + vindex.HashSize
	versionSize     = 8
)

var (
	keyIndexState = []byte("state")
	keyIndexPrune = []byte("prune")
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

// An indexState is the index's state: the two commitments it serves.
type indexState struct {
	Latest, Previous commitState
}

func (st indexState) encode() []byte {
	return st.Previous.append(st.Latest.append(nil))
}

func parseIndexState(v []byte) (indexState, error) {
	if v == nil {
		return indexState{noCommitment, noCommitment}, nil
	}
	if len(v) != 2*commitStateSize {
		return indexState{}, fmt.Errorf("%w: index state of %d bytes, want %d", ErrCorrupt, len(v), 2*commitStateSize)
	}
	latest, err := parseCommitState(v)
	if err != nil {
		return indexState{}, err
	}
	prev, err := parseCommitState(v[commitStateSize:])
	if err != nil {
		return indexState{}, err
	}
	if latest.Index < 0 && prev.Index >= 0 || prev.Index >= 0 && (prev.Index >= latest.Index || prev.Size > latest.Size) {
		return indexState{}, fmt.Errorf("%w: index state's previous commitment %d (size %d) is not before its latest %d (size %d)", ErrCorrupt, prev.Index, prev.Size, latest.Index, latest.Size)
	}
	return indexState{latest, prev}, nil
}

// readIndexState returns the index's state.
func readIndexState(s Store) (indexState, error) {
	v, err := s.IndexGet(spaceVindexState, keyIndexState)
	if err != nil {
		return indexState{}, fmt.Errorf("log: reading the index state: %w", err)
	}
	return parseIndexState(v)
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

func stratumKey(root vindex.Position, copy byte) []byte {
	k, _ := root.AppendBinary(nil)
	return append(k, copy)
}

// A versionReader reads, for a [vindex.Strata], the strata of the map the
// commitment at index At committed to: of the copies of each stratum, the
// one with the largest version at or below At. Copies of later versions,
// written by later commitments, are not part of that map.
type versionReader struct {
	s  Store
	at int64
	// used records the copy read of each stratum (-1: none), for the
	// committer, which writes into the other.
	used map[vindex.Position]int
}

// ReadStrata implements [vindex.StratumReader] with one
// [Store.IndexGetMany]: one read transaction (bbolt) or one query
// (PostgreSQL) for both copies of all of ps.
func (r *versionReader) ReadStrata(ps []vindex.Position) ([][]byte, error) {
	reads := make([]IndexRead, 0, 2*len(ps))
	for _, p := range ps {
		reads = append(reads, IndexRead{Space: spaceVindexStratum, Key: stratumKey(p, 0)},
			IndexRead{Space: spaceVindexStratum, Key: stratumKey(p, 1)})
	}
	vals, err := r.s.IndexGetMany(reads)
	if err != nil {
		return nil, fmt.Errorf("log: reading index strata: %w", err)
	}
	if len(vals) != len(reads) {
		return nil, fmt.Errorf("log: reading %d index strata gave %d", len(reads), len(vals))
	}
	out := make([][]byte, len(ps))
	for i, p := range ps {
		used, best := -1, int64(-1)
		for c, v := range vals[2*i : 2*i+2] {
			if v == nil {
				continue
			}
			if len(v) < versionSize {
				return nil, fmt.Errorf("%w: index stratum %s, copy %d, of %d bytes", ErrCorrupt, p, c, len(v))
			}
			version := int64(binary.BigEndian.Uint64(v))
			switch {
			case version < 0:
				return nil, fmt.Errorf("%w: index stratum %s, copy %d, of version %d", ErrCorrupt, p, c, version)
			case version == best:
				return nil, fmt.Errorf("%w: index stratum %s has two copies of version %d", ErrCorrupt, p, version)
			case version <= r.at && version > best:
				used, best = c, version
			}
		}
		if used >= 0 {
			out[i] = vals[2*i+used][versionSize:]
		}
		if r.used != nil {
			r.used[p] = used
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
	// Strata are the changed strata, each with the key of the copy it
	// goes to and 8 bytes for the version before the record; Deletes the keys of the copies no served commitment will
	// read (and of the older layout's records); Superseded the keys of the
	// copies the new strata supersede, the next commitment's Deletes.
	Strata     []IndexWrite
	Deletes    [][]byte
	OldLayout  []IndexWrite
	Superseded [][]byte
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

// carryDepth bounds the strata an [indexCarry] keeps: those of the upper
// two levels of strata (the map's first 16 levels), which every
// commitment of a large map changes, 257 strata at most.
const carryDepth = 2 * vindex.StratumLevels

// An indexCarry is what the committer keeps of its last update for the
// next: the upper strata of the map its commitment At committed to, and
// which copy of each the store holds, so that the next update neither
// reads nor parses them. It is valid only while At is the latest
// commitment, which the index state says.
type indexCarry struct {
	at     commitState
	strata *vindex.Strata
	used   map[vindex.Position]int
}

// prepareIndex reads what the next commitment needs: the index's state
// and the copies the latest commitment superseded, in one read.
func prepareIndex(s Store) (indexState, [][]byte, error) {
	vals, err := s.IndexGetMany([]IndexRead{{Space: spaceVindexState, Key: keyIndexState}, {Space: spaceVindexState, Key: keyIndexPrune}})
	if err != nil {
		return indexState{}, nil, fmt.Errorf("log: reading the index state: %w", err)
	}
	if len(vals) != 2 {
		return indexState{}, nil, fmt.Errorf("log: reading 2 index records gave %d", len(vals))
	}
	st, err := parseIndexState(vals[0])
	if err != nil {
		return indexState{}, nil, err
	}
	var prune [][]byte
	for b := vals[1]; len(b) > 0; {
		n, w := binary.Uvarint(b)
		if w <= 0 || n == 0 || uint64(len(b)-w) < n {
			return indexState{}, nil, fmt.Errorf("%w: index prune list cut short", ErrCorrupt)
		}
		prune, b = append(prune, b[w:w+int(n)]), b[w+int(n):]
	}
	return st, prune, nil
}

// updateIndex computes the update that brings the index from the state
// base (whose latest commitment superseded the copies prune) to the map
// over the entries [0, size), adds being the additions of the entries
// [base.Latest.Size, size). carry, if not nil, is what the last update
// left; it is used only if its commitment is base's latest.
func updateIndex(s Store, base indexState, prune [][]byte, size int64, adds []vindex.Addition, carry *indexCarry) (*indexUpdate, error) {
	r := &versionReader{s: s, at: base.Latest.Index, used: map[vindex.Position]int{}}
	if base.Latest.Index < 0 {
		r.at = -1 // no commitment: an empty map, whatever the store holds
	}
	var st *vindex.Strata
	if carry != nil && base.Latest.Index >= 0 && carry.at == base.Latest {
		st = carry.strata.Reuse(r, carryDepth)
		for p, c := range carry.used {
			if st.Loaded(p) {
				r.used[p] = c
			}
		}
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
	u := &indexUpdate{Base: base, To: vindex.Commitment{Size: size, Root: root}, Deletes: prune}
	next := &indexCarry{strata: st, used: map[vindex.Position]int{}}
	for p, c := range r.used {
		if p.Depth < carryDepth {
			next.used[p] = c
		}
	}
	for _, d := range st.Dirty(versionSize) {
		used, read := r.used[d.Root]
		if !read {
			used = -1 // a new stratum
		}
		to := byte(0)
		if used >= 0 {
			to = byte(1 - used)
			u.Superseded = append(u.Superseded, stratumKey(d.Root, byte(used)))
		}
		u.Strata = append(u.Strata, IndexWrite{Space: spaceVindexStratum, Key: stratumKey(d.Root, to), Value: d.Record})
		if d.Root.Depth < carryDepth {
			next.used[d.Root] = int(to)
		}
	}
	u.next = next
	return u, nil
}

// writesAt returns the index writes of u for its commitment entry at idx:
// the deletes first, so that a stratum written again into a copy to
// delete keeps it.
func (u *indexUpdate) writesAt(idx int64) []IndexWrite {
	out := make([]IndexWrite, 0, len(u.OldLayout)+len(u.Deletes)+len(u.Strata)+2)
	out = append(out, u.OldLayout...)
	for _, k := range u.Deletes {
		out = append(out, IndexWrite{Space: spaceVindexStratum, Key: k, Delete: true})
	}
	for _, w := range u.Strata {
		// Dirty left room for the version; a retried append writes it again.
		binary.BigEndian.PutUint64(w.Value, uint64(idx))
		out = append(out, w)
	}
	st := indexState{Latest: commitState{Index: idx, Commitment: u.To}, Previous: u.Base.Latest}
	var prune []byte
	for _, k := range u.Superseded {
		prune = append(binary.AppendUvarint(prune, uint64(len(k))), k...)
	}
	return append(out, IndexWrite{Space: spaceVindexState, Key: keyIndexState, Value: st.encode()},
		IndexWrite{Space: spaceVindexState, Key: keyIndexPrune, Value: prune})
}

// oldLayoutDeletes returns the deletes of every record of the index's
// older layout (two slots of nodes), from one view per space.
func oldLayoutDeletes(s Store) ([]IndexWrite, error) {
	var out []IndexWrite
	for _, space := range []string{spaceVindexNodeV1, spaceVindexSlotV1} {
		err := s.IndexScan(space, nil, func(k, _ []byte) bool {
			out = append(out, IndexWrite{Space: space, Key: bytes.Clone(k), Delete: true})
			return true
		})
		if err != nil {
			return nil, fmt.Errorf("log: reading the index's older layout (%s): %w", space, err)
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
	if st != u.Base {
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
		if !taken && *state == u.Base {
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
