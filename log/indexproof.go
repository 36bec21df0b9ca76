package log

import (
	"bytes"
	"errors"
	"fmt"

	"github.com/attestlog/attestlog/log/vindex"
	pb "github.com/attestlog/attestlog/proto/attestlog/v1"
)

// proofAttempts bounds how often indexProof reads the index again after a
// commitment changed it during the read.
const proofAttempts = 3

// lookupSize returns the tree size a lookup proves its answer for: the
// request's, which must not exceed the latest checkpoint's, or that one.
func lookupSize(req uint64, latest int64) (int64, error) {
	if req == 0 {
		return latest, nil
	}
	size, err := toInt64("tree_size", req)
	if err != nil {
		return 0, err
	}
	if size > latest {
		return 0, fmt.Errorf("%w: tree_size %d, the log has %d entries", ErrOutOfRange, size, latest)
	}
	return size, nil
}

// IndexProof returns the proof that the entries under key in the tree of
// the given size are the ones list gives (for each N, the indexes below N
// under key, from the lookup index), as the gRPC lookups serve it: the
// latest index commitment below size, its inclusion proof, the map proof
// for key, and the compact range of the commitment's size. Without a
// commitment below size, the proof holds only the empty compact range:
// the whole tree is the tail.
func (l *Log) IndexProof(key vindex.Key, size int64, list func(limit int64) ([]int64, error)) (*pb.IndexProof, error) {
	var err error
	for range proofAttempts {
		var p *pb.IndexProof
		if p, err = l.indexProof(key, size, list); !errors.Is(err, errIndexChanged) {
			return p, err
		}
	}
	return nil, err
}

// errIndexChanged means a commitment changed the index while a proof was
// read from it.
var errIndexChanged = errors.New("log: the index changed while a proof was read from it")

func (l *Log) indexProof(key vindex.Key, size int64, list func(limit int64) ([]int64, error)) (*pb.IndexProof, error) {
	out := &pb.IndexProof{TreeSize: uint64(size), TailLeft: [][]byte{}}
	state, err := readIndexState(l.store)
	if err != nil {
		return nil, err
	}
	st, ok := state.servedBelow(size)
	if !ok {
		return out, nil
	}
	idx, err := list(st.Size)
	if err != nil {
		return nil, err
	}
	var mp *vindex.Proof
	r, err := newMapReader(l.store, l.vdeltas, state, st)
	if err == nil {
		mp, err = vindex.Prove(vindex.NewStrata(r), key, idx)
	}
	if err == nil {
		err = mp.Verify(st.Root, key)
	}
	if err != nil {
		// A commitment that merged the deltas changes what was read.
		if again, rerr := readIndexState(l.store); rerr == nil && !again.equal(state) {
			return nil, errIndexChanged
		}
		if errors.Is(err, ErrCorrupt) {
			return nil, fmt.Errorf("log: index of commitment %d (size %d): %w", st.Index, st.Size, err)
		}
		return nil, fmt.Errorf("%w: index of commitment %d (size %d): %w", ErrCorrupt, st.Index, st.Size, err)
	}
	entry, err := l.Entries(st.Index, 1)
	if err != nil {
		return nil, fmt.Errorf("log: reading index commitment %d: %w", st.Index, err)
	}
	if !bytes.Equal(entry[0], st.Commitment.Marshal()) {
		return nil, fmt.Errorf("%w: the index state names commitment %d, which holds another entry", ErrCorrupt, st.Index)
	}
	incl, err := l.InclusionProof(st.Index, size)
	if err != nil {
		return nil, err
	}
	left, err := compactRange(l.hashes, st.Size)
	if err != nil {
		return nil, fmt.Errorf("log: reading the compact range of size %d: %w", st.Size, err)
	}
	out.CommitmentIndex, out.CommitmentEntry, out.CommitmentInclusionProof = uint64(st.Index), entry[0], hashBytes(incl)
	if out.MapProof, err = mp.AppendBinary(nil); err != nil {
		return nil, err
	}
	out.TailLeft = hashBytes(left)
	return out, nil
}
