package log_test

import (
	"crypto/sha256"
	"fmt"
	"testing"

	"github.com/attestlog/attestlog/log"
	"github.com/attestlog/attestlog/log/logtest"
	"golang.org/x/mod/sumdb/tlog"
)

// The RFC 6962 section 2.1 definitions, written as plainly as possible.
func refLeaf(e []byte) tlog.Hash { return sha256.Sum256(append([]byte{0}, e...)) }
func refNode(l, r tlog.Hash) tlog.Hash {
	return sha256.Sum256(append(append([]byte{1}, l[:]...), r[:]...))
}
func refSplit(n int) (k int) {
	for k = 1; k<<1 < n; k <<= 1 {
	}
	return k
}
func refMTH(d [][]byte) tlog.Hash {
	switch len(d) {
	case 0:
		return sha256.Sum256(nil)
	case 1:
		return refLeaf(d[0])
	}
	k := refSplit(len(d))
	return refNode(refMTH(d[:k]), refMTH(d[k:]))
}
func refPath(m int, d [][]byte) []tlog.Hash {
	if len(d) <= 1 {
		return nil
	}
	if k := refSplit(len(d)); m < k {
		return append(refPath(m, d[:k]), refMTH(d[k:]))
	} else {
		return append(refPath(m-k, d[k:]), refMTH(d[:k]))
	}
}
func refSubproof(m int, d [][]byte, whole bool) []tlog.Hash {
	if m == len(d) {
		if whole {
			return nil
		}
		return []tlog.Hash{refMTH(d)}
	}
	if k := refSplit(len(d)); m <= k {
		return append(refSubproof(m, d[:k], whole), refMTH(d[k:]))
	} else {
		return append(refSubproof(m-k, d[k:], false), refMTH(d[:k]))
	}
}

// TestAgainstReference checks roots, inclusion proofs and consistency
// proofs, hash for hash, against the recursive definitions of RFC 6962,
// with the tile cache at its default size, off, and evicting constantly.
func TestAgainstReference(t *testing.T) {
	for _, cache := range []int{0, -1, 1} {
		t.Run(fmt.Sprintf("cache=%d", cache), func(t *testing.T) { testAgainstReference(t, cache) })
	}
}

func testAgainstReference(t *testing.T, cache int) {
	l := logtest.New(t, "", log.Config{TileCacheSize: cache})
	var entries [][]byte
	var sizes []int64
	for _, n := range []int{1, 1, 2, 3, 7, 50, 128, 64, 1, 255, 9} { // crosses 256 and 512
		for range n {
			entries = append(entries, entry(len(entries)))
		}
		l.Append(t, entries[len(entries)-n:]...)
		cp := l.Checkpoint()
		if want := refMTH(entries); cp.Size != int64(len(entries)) || cp.Hash != want {
			t.Fatalf("checkpoint size %d root %v, want %d %v", cp.Size, cp.Hash, len(entries), want)
		}
		sizes = append(sizes, cp.Size)
	}
	for _, size := range sizes {
		d := entries[:size]
		for i := range d {
			p, err := l.InclusionProof(int64(i), size)
			if err != nil || fmt.Sprint(p) != fmt.Sprint(refPath(i, d)) {
				t.Fatalf("InclusionProof(%d, %d) = %v, %v; want %v", i, size, p, err, refPath(i, d))
			}
		}
		for m := int64(1); m <= size; m++ {
			p, err := l.ConsistencyProof(m, size)
			if err != nil || fmt.Sprint(p) != fmt.Sprint(refSubproof(int(m), d, true)) {
				t.Fatalf("ConsistencyProof(%d, %d) = %v, %v; want %v", m, size, p, err, refSubproof(int(m), d, true))
			}
		}
		if h, err := l.TreeHash(size); err != nil || h != refMTH(d) {
			t.Fatalf("TreeHash(%d) = %v, %v", size, h, err)
		}
	}
	for _, bad := range [][2]int64{{-1, 5}, {5, 5}, {0, int64(len(entries)) + 1}} {
		if _, err := l.InclusionProof(bad[0], bad[1]); err == nil {
			t.Errorf("InclusionProof(%d, %d) succeeded", bad[0], bad[1])
		}
	}
	for _, bad := range [][2]int64{{-1, 5}, {6, 5}, {1, int64(len(entries)) + 1}} {
		if _, err := l.ConsistencyProof(bad[0], bad[1]); err == nil {
			t.Errorf("ConsistencyProof(%d, %d) succeeded", bad[0], bad[1])
		}
	}
}
