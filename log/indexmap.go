package log

import (
	"encoding/binary"
	"errors"
	"fmt"
	"slices"

	"github.com/attestlog/attestlog/log/vindex"
	"golang.org/x/mod/sumdb/tlog"
)

// The verifiable index (package log/vindex) lives in two index spaces, in
// two slots, so that it works on every [Store] that has index spaces:
//
//	vindex-stratum slot (1) || stratum root ([vindex.Position.AppendBinary]) -> stratum ([vindex.Strata])
//	vindex-slot   slot (1) -> commitment index (8) || size N (8) || root (32)
//
// Each slot holds one whole map: the map over the entries [0, N) that the
// index-commitment entry at the slot's commitment index commits to. The two
// slots hold the two latest commitments. Proofs for the newer one can only
// be checked by clients whose witnessed checkpoint covers it, so the older
// one serves the others until then; the [IndexCommitter] writes a third
// commitment only once the newest is witnessed, so a client with the
// log's witnessed checkpoint always finds a slot below its tree size.
//
// A slot changes only in the transaction that appends its commitment
// entry: the committer computes the new nodes beside the sequencer and
// hands them to [ClaimIndex.Index] with the entry (see [Log.AppendParsed]),
// which writes them, with the slot's new state, in that entry's batch. A
// crash therefore leaves each slot at a commitment in the log, and a
// commitment's root is always computed from the entries.
const (
	spaceVindexStratum = "vindex-stratum"
	spaceVindexSlot    = "vindex-slot"
	indexSlots         = 2
	slotStateSize      = 8 + 8 + vindex.HashSize
)

// A slotState is what one slot of the map holds: the map over [0, Size),
// committed to by the index-commitment entry at Index. Index is -1 for a
// slot never written (then Size is 0 and Root the empty map's).
type slotState struct {
	Slot  byte
	Index int64
	vindex.Commitment
}

func (st slotState) encode() []byte {
	b := binary.BigEndian.AppendUint64(nil, uint64(st.Index))
	b = binary.BigEndian.AppendUint64(b, uint64(st.Size))
	return append(b, st.Root[:]...)
}

// readSlots returns the state of both slots.
func readSlots(s Store) ([indexSlots]slotState, error) {
	var out [indexSlots]slotState
	for i := range out {
		out[i] = slotState{Slot: byte(i), Index: -1}
		v, err := s.IndexGet(spaceVindexSlot, []byte{byte(i)})
		switch {
		case err != nil:
			return out, fmt.Errorf("log: reading index slot %d: %w", i, err)
		case v == nil:
			continue
		case len(v) != slotStateSize:
			return out, fmt.Errorf("%w: index slot %d holds %d bytes, want %d", ErrCorrupt, i, len(v), slotStateSize)
		}
		st := slotState{Slot: byte(i), Index: int64(binary.BigEndian.Uint64(v)),
			Commitment: vindex.Commitment{Size: int64(binary.BigEndian.Uint64(v[8:])), Root: vindex.Hash(v[16:])}}
		if st.Index < 0 || st.Size < 0 || st.Size > st.Index {
			return out, fmt.Errorf("%w: index slot %d names commitment %d of size %d", ErrCorrupt, i, st.Index, st.Size)
		}
		out[i] = st
	}
	return out, nil
}

// newest returns the slot of the latest commitment below treeSize, or ok
// false if neither slot holds one.
func newest(slots [indexSlots]slotState, treeSize int64) (slotState, bool) {
	var best slotState
	ok := false
	for _, st := range slots {
		if st.Index >= 0 && st.Index < treeSize && (!ok || st.Index > best.Index) {
			best, ok = st, true
		}
	}
	return best, ok
}

// A slotStore reads the strata of one slot of the map in a [Store], for
// a [vindex.Strata].
type slotStore struct {
	s    Store
	slot byte
}

func (ss *slotStore) key(p vindex.Position) []byte {
	k, _ := p.AppendBinary([]byte{ss.slot})
	return k
}

// ReadStrata implements [vindex.StratumReader] with one
// [Store.IndexGetMany]: one read transaction (bbolt) or one query
// (PostgreSQL) for all of ps.
func (ss *slotStore) ReadStrata(ps []vindex.Position) ([][]byte, error) {
	reads := make([]IndexRead, len(ps))
	for i, p := range ps {
		reads[i] = IndexRead{Space: spaceVindexStratum, Key: ss.key(p)}
	}
	vals, err := ss.s.IndexGetMany(reads)
	if err != nil {
		return nil, fmt.Errorf("log: reading index slot %d: %w", ss.slot, err)
	}
	if len(vals) != len(reads) {
		return nil, fmt.Errorf("log: reading %d index strata gave %d", len(reads), len(vals))
	}
	return vals, nil
}

// An indexUpdate is what the [IndexCommitter] passes with a commitment
// entry to [Log.AppendParsed]: the nodes that bring slot Base.Slot from its
// state Base to the map the entry commits to.
type indexUpdate struct {
	Base   slotState
	To     vindex.Commitment
	Writes []IndexWrite
}

// indexBase returns the state the next commitment updates: the slot of
// the older commitment.
func indexBase(s Store) (slotState, error) {
	slots, err := readSlots(s)
	if err != nil {
		return slotState{}, err
	}
	base := slots[0]
	if base.Index > slots[1].Index {
		base = slots[1]
	}
	return base, nil
}

// updateIndex computes the nodes that bring the map in the state base to
// the map over the entries [0, size), adds being the additions of the
// entries [base.Size, size).
func updateIndex(s Store, base slotState, size int64, adds []vindex.Addition) (*indexUpdate, error) {
	ss := &slotStore{s: s, slot: base.Slot}
	st := vindex.NewStrata(ss)
	root, err := vindex.Update(st, adds)
	if err != nil {
		if errors.Is(err, vindex.ErrMalformedStratum) {
			err = fmt.Errorf("%w: %w", ErrCorrupt, err)
		}
		return nil, fmt.Errorf("log: updating index slot %d from size %d to %d: %w", base.Slot, base.Size, size, err)
	}
	dirty := st.Dirty()
	writes := make([]IndexWrite, len(dirty))
	for i, d := range dirty {
		writes[i] = IndexWrite{Space: spaceVindexStratum, Key: ss.key(d.Root), Value: d.Record}
	}
	return &indexUpdate{Base: base, To: vindex.Commitment{Size: size, Root: root}, Writes: writes}, nil
}

// writesAt returns the index writes of u for its commitment entry at idx.
func (u *indexUpdate) writesAt(idx int64) []IndexWrite {
	st := slotState{Slot: u.Base.Slot, Index: idx, Commitment: u.To}
	return append(slices.Clip(u.Writes), IndexWrite{Space: spaceVindexSlot, Key: []byte{st.Slot}, Value: st.encode()})
}

// indexCommitment returns the index writes of the commitment entry e at
// index idx: its update's nodes and the slot's new state, if e carries an
// update that still applies to the store. A commitment entry without one
// (or with a stale one) is logged like any entry, but no slot serves it.
func indexCommitment(s Store, idx int64, e NewEntry) ([]IndexWrite, error) {
	u, ok := e.Parsed.(*indexUpdate)
	if !ok {
		return nil, nil
	}
	c, err := vindex.ParseCommitment(e.Bytes)
	if err != nil || c != u.To || c.Size > idx {
		return nil, nil
	}
	slots, err := readSlots(s)
	if err != nil {
		return nil, err
	}
	if int(u.Base.Slot) >= indexSlots || slots[u.Base.Slot] != u.Base {
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
// slot changed after the [IndexCommitter] read it.
var errStaleCommitment = errors.New("log: another index commitment was logged first; the committer retries from the new state")

// dropStaleCommitments fails, and takes out of batch, every index
// commitment whose update no longer applies to the store: another
// committer's commitment came first (frontends sharing a store each run
// one). Logged, it would name a smaller size than the commitment before
// it, which clients refuse ("commitments must grow"). The sequencer calls
// it before it assigns indexes, so that the check and the commit see one
// state (on a shared store, under the writer lock).
func (l *Log) dropStaleCommitments(batch []*pending) ([]*pending, error) {
	var slots *[indexSlots]slotState
	kept := batch[:0]
	for _, p := range batch {
		u, ok := p.parsed.(*indexUpdate)
		if !ok {
			kept = append(kept, p)
			continue
		}
		if slots == nil {
			s, err := readSlots(l.store)
			if err != nil {
				return batch, err
			}
			slots = &s
		}
		if int(u.Base.Slot) < indexSlots && slots[u.Base.Slot] == u.Base {
			kept = append(kept, p)
			continue
		}
		p.err = errStaleCommitment
		close(p.done)
	}
	return kept, nil
}
