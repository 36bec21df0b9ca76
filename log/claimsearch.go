package log

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"fmt"
)

// FirstByDigest is [ClaimIndex.ByDigest] bounded for pages: it returns the
// first n indexes, below limit, of the claims naming the artifact digest,
// and whether there are more. Its cost grows with n, not with the number of
// claims naming the digest.
func (ClaimIndex) FirstByDigest(s Store, sha256Hex string, n int, limit int64) ([]int64, bool, error) {
	d, err := hex.DecodeString(sha256Hex)
	if err != nil || len(d) != sha256.Size {
		return nil, false, fmt.Errorf("log: digest %q is not 64 hex digits", sha256Hex)
	}
	return scanFirst(s, spaceDigest, d, n, limit, nil)
}

// FirstBySource is [ClaimIndex.BySource] bounded like [ClaimIndex.FirstByDigest].
func (ClaimIndex) FirstBySource(s Store, source, commit, platform string, n int, limit int64) ([]int64, bool, error) {
	var keep func([]byte) bool
	if platform != "" {
		keep = func(v []byte) bool { return hasPlatform(v, platform) }
	}
	return scanFirst(s, spaceSource, hashFields(source, commit), n, limit, keep)
}

// FirstByBuilder is [ClaimIndex.ByBuilder] bounded like [ClaimIndex.FirstByDigest].
func (ClaimIndex) FirstByBuilder(s Store, builder string, n int, limit int64) ([]int64, bool, error) {
	return scanFirst(s, spaceBuilder, hashFields(builder), n, limit, nil)
}

// FirstByName is [ClaimIndex.ByName] bounded like [ClaimIndex.FirstByDigest].
func (ClaimIndex) FirstByName(s Store, name string, n int, limit int64) ([]int64, bool, error) {
	return scanFirst(s, spaceName, hashFields(name), n, limit, nil)
}

// scanFirst returns the first n entry indexes under prefix in space, below
// limit, whose values keep accepts (nil keeps all), and whether more follow.
// Keys end in the big-endian index, so the scan stops at the first one at
// or past limit.
func scanFirst(s Store, space string, prefix []byte, n int, limit int64, keep func([]byte) bool) ([]int64, bool, error) {
	var out []int64
	more := false
	err := s.IndexScan(space, prefix, func(k, v []byte) bool {
		i := int64(binary.BigEndian.Uint64(k[len(k)-8:]))
		if i >= limit {
			return false
		}
		if keep != nil && !keep(v) {
			return true
		}
		if len(out) == n {
			more = true
			return false
		}
		out = append(out, i)
		return true
	})
	return out, more, err
}
