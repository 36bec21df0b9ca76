package log

import (
	"sync"
	"sync/atomic"

	"github.com/attestlog/attestlog/log/claim"
	"golang.org/x/mod/sumdb/tlog"
)

// maxCachedKeys bounds a [keyCache]: at DefaultCommitEntries a
// commitment, sixteen intervals. Past it the cache starts over, and the
// committer parses what it misses.
const maxCachedKeys = 4096

// A keyCache is where the sequencer's [ClaimIndex] leaves the index keys
// of each claim it parsed, by the index it was given, for the
// [IndexCommitter], which would otherwise parse (and, for a v2 claim,
// verify) every claim's entry a second time to run the map function on
// it. An index the sequencer assigned may end up holding another entry
// (its batch failed to commit, or another frontend of a shared store
// took the index): keys are taken only for the very entry they were parsed
// from, named by its RFC 6962 leaf hash, so the cache can be filled before
// the commit, and the committer need not read an entry whose keys it finds
// here: the leaf hashes in the tree's tiles say which entry each index holds.
//
// It is inactive, and costs nothing, until a committer activates it. It is
// safe for concurrent use. A nil *keyCache is an inactive one.
type keyCache struct {
	active atomic.Bool
	mu     sync.Mutex
	m      map[int64]cachedKeys // guarded by mu
}

type cachedKeys struct {
	leaf tlog.Hash // the leaf hash of the entry the keys were parsed from
	keys claim.IndexKeys
}

// activate makes c keep what put gives it.
func (c *keyCache) activate() {
	if c != nil {
		c.active.Store(true)
	}
}

// put records that the entry at index idx, if it is the entry of leaf hash
// leaf, has the keys keys.
func (c *keyCache) put(idx int64, leaf tlog.Hash, keys claim.IndexKeys) {
	if c == nil || !c.active.Load() {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil || len(c.m) >= maxCachedKeys {
		c.m = make(map[int64]cachedKeys)
	}
	c.m[idx] = cachedKeys{leaf: leaf, keys: keys}
}

// take returns the keys recorded for the entry at index idx if they were
// parsed from the entry of leaf hash leaf, and forgets them.
func (c *keyCache) take(idx int64, leaf tlog.Hash) (claim.IndexKeys, bool) {
	if c == nil {
		return claim.IndexKeys{}, false
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	k, ok := c.m[idx]
	if !ok {
		return claim.IndexKeys{}, false
	}
	delete(c.m, idx)
	return k.keys, k.leaf == leaf
}

// dropBelow forgets the keys of the entries below index n, which the index
// already holds.
func (c *keyCache) dropBelow(n int64) {
	if c == nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	for i := range c.m {
		if i < n {
			delete(c.m, i)
		}
	}
}
