package client

import (
	"bytes"
	"fmt"
	"maps"
	"slices"

	"github.com/attestlog/attestlog/log/vindex"
	"github.com/transparency-dev/merkle/compact"
	"github.com/transparency-dev/merkle/proof"
	"github.com/transparency-dev/merkle/rfc6962"
	"golang.org/x/mod/sumdb/tlog"
)

// DefaultMaxTail is the default bound on a lookup's tail: the entries after
// the log's latest index commitment below the verified tree size, which
// [Verify] reads and checks itself. A log that commits its index every few
// hundred entries stays far below it.
const DefaultMaxTail = 4096

// maxMapProof bounds an encoded map proof: 256 sibling hashes and the list
// of a key with a hundred thousand entries.
const maxMapProof = 4 << 20

// A tail is the map function's keys of the entries [start, size) of a
// verified tree, each entry's keys at its offset.
type tail struct {
	entries [][]byte
	keys    [][]vindex.Key
}

// complete checks the index proof of a lookup (what names it, for
// messages) for key against the verified checkpoint, and returns every
// index of the tree under key, and what lists each ("the index commitment
// at c" or "the tail"). It returns ok false after recording the problem.
func (vf *verification) complete(what string, key vindex.Key, ip *IndexProof) (map[int64]string, bool) {
	if ip == nil {
		vf.problem("index proof", nil, "%s came without an index proof: nothing shows that it holds every matching claim", what)
		return nil, false
	}
	want := map[int64]string{}
	var n int64
	if c := ip.Commitment; c != nil {
		cm, list, err := vf.commitment(c, key, ip.MapProof)
		if err != nil {
			vf.problem("index proof", &c.Index, "%s: %v", what, err)
			return nil, false
		}
		for _, i := range list {
			want[i] = fmt.Sprintf("the log's index commitment at %d (the map of the entries below %d)", c.Index, cm.Size)
		}
		n = cm.Size
	}
	t, err := vf.tail(n, ip)
	if err != nil {
		vf.problem("index proof", nil, "%s: %v", what, err)
		return nil, false
	}
	for off, keys := range t.keys {
		if slices.Contains(keys, key) {
			want[n+int64(off)] = fmt.Sprintf("the tail (the entries %d to %d after the index commitment)", n, vf.size-1)
		}
	}
	return want, true
}

// commitment verifies an index commitment's inclusion in the verified tree
// and the map proof for key against its root, and returns the commitment
// and the indexes the map lists under key.
func (vf *verification) commitment(c *ProvenClaim, key vindex.Key, mapProof []byte) (vindex.Commitment, []int64, error) {
	if c.Index < 0 || c.Index >= vf.size {
		return vindex.Commitment{}, nil, fmt.Errorf("index commitment at %d, outside the tree of size %d", c.Index, vf.size)
	}
	leaf := tlog.RecordHash(c.Entry)
	if err := proof.VerifyInclusion(rfc6962.DefaultHasher, uint64(c.Index), uint64(vf.size), leaf[:], hashSlices(c.Proof), vf.root[:]); err != nil {
		return vindex.Commitment{}, nil, fmt.Errorf("index commitment at %d: inclusion in the tree of size %d: %v", c.Index, vf.size, err)
	}
	cm, err := vindex.ParseCommitment(c.Entry)
	if err != nil {
		return cm, nil, fmt.Errorf("entry %d: %v", c.Index, err)
	}
	if cm.Size > c.Index {
		return cm, nil, fmt.Errorf("index commitment at %d commits to the entries below %d, past itself", c.Index, cm.Size)
	}
	if len(mapProof) > maxMapProof {
		return cm, nil, fmt.Errorf("map proof of %d bytes, more than %d", len(mapProof), maxMapProof)
	}
	list, err := vindex.VerifyProof(cm.Root, key, mapProof)
	if err != nil {
		return cm, nil, fmt.Errorf("map proof against the index commitment at %d: %v", c.Index, err)
	}
	if len(list) > 0 && list[len(list)-1] >= cm.Size {
		return cm, nil, fmt.Errorf("the index commitment at %d, of the entries below %d, lists entry %d: the log committed a wrong index", c.Index, cm.Size, list[len(list)-1])
	}
	return cm, list, nil
}

// tail authenticates the entries [n, size) of ip against the verified
// tree and returns their keys; one tail serves every lookup of a Verify.
func (vf *verification) tail(n int64, ip *IndexProof) (*tail, error) {
	if t := vf.tails[n]; t != nil && slices.EqualFunc(t.entries, ip.Tail, bytes.Equal) {
		return t, nil // authenticated already: the same bytes give the same keys
	}
	if long := vf.size - n; long > vf.opts.MaxTail {
		return nil, fmt.Errorf("the tail after the log's index commitment holds %d entries (%d to %d), more than the %d this verifier reads: the log does not commit its index often enough", long, n, vf.size-1, vf.opts.MaxTail)
	}
	if got, want := int64(len(ip.Tail)), vf.size-n; got != want {
		return nil, fmt.Errorf("the tail holds %d entries, want the %d from %d to the tree size %d", got, want, n, vf.size)
	}
	rf := compact.RangeFactory{Hash: rfc6962.DefaultHasher.HashChildren}
	r, err := rf.NewRange(0, uint64(n), hashSlices(ip.Left))
	if err != nil {
		return nil, fmt.Errorf("the compact range of the entries below %d: %v", n, err)
	}
	t := &tail{entries: ip.Tail, keys: make([][]vindex.Key, len(ip.Tail))}
	for i, e := range ip.Tail {
		h := tlog.RecordHash(e)
		if err := r.Append(h[:], nil); err != nil {
			return nil, err
		}
		t.keys[i], _ = vindex.EntryKeys(e)
	}
	root := rfc6962.DefaultHasher.EmptyRoot()
	if vf.size > 0 {
		if root, err = r.GetRootHash(nil); err != nil {
			return nil, err
		}
	}
	if !bytes.Equal(root, vf.root[:]) {
		return nil, fmt.Errorf("the tail (entries %d to %d) with the compact range below it gives the root %x, not the checkpoint's %x: an entry was changed, left out or added", n, vf.size-1, root, vf.root[:])
	}
	vf.tails[n] = t
	return t, nil
}

// hidden records, for a lookup's answer that returned the indexes in got,
// a "hidden claim" problem for each index the index proof lists (want)
// that the answer left out. A returned claim that the index does not list
// needs no check here: Verify checks what each returned claim says.
func (vf *verification) hidden(what string, want map[int64]string, got map[int64]bool) {
	for _, idx := range slices.Sorted(maps.Keys(want)) {
		if !got[idx] {
			vf.problem("hidden claim", &idx, "%s left out the claim at index %d, which %s lists: the log hides a matching claim", what, idx, want[idx])
		}
	}
}
