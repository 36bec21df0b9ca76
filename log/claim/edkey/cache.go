package edkey

import (
	"container/list"
	"crypto/ed25519"
	"sync"
)

// The default cache's bounds: tables for the 256 keys used most recently
// (7.5 MiB), built for a key on its second signature among the last 4,096
// keys seen.
const (
	cacheKeys = 256
	cacheSeen = 4096
)

var defaultCache = NewCache(cacheKeys, cacheSeen)

// Verify reports whether sig is pub's Ed25519 signature of msg, exactly as
// ed25519.Verify does (it panics, as ed25519.Verify does, if pub is not 32
// bytes). It keeps tables for the keys it sees more than once, so that
// their signatures verify about twice as fast: see [Cache].
func Verify(pub, msg, sig []byte) bool { return defaultCache.Verify(pub, msg, sig) }

// A Cache keeps the Keys of the public keys that sign most often, for
// [Cache.Verify]. A key's table is built on its second signature among the
// last seen keys, so that a key that signs once costs one ed25519.Verify
// and a set entry, not a table: a stranger's flood of fresh keys neither
// fills the cache nor costs it more than it would cost ed25519.Verify, and
// evicts no key's table. Keys that sign twice take their place among the
// tables, least recently used out. It is safe for concurrent use.
type Cache struct {
	maxKeys, maxSeen int

	mu    sync.Mutex
	order *list.List                 // of *Key, most recently used first
	keys  map[[32]byte]*list.Element // public key -> element of order
	seen  map[[32]byte]struct{}      // keys that signed once; starts over when full
}

// NewCache returns a cache of at most maxKeys tables, remembering up to
// maxSeen keys that signed once.
func NewCache(maxKeys, maxSeen int) *Cache {
	return &Cache{maxKeys: maxKeys, maxSeen: maxSeen, order: list.New(), keys: map[[32]byte]*list.Element{}, seen: map[[32]byte]struct{}{}}
}

// Verify reports whether sig is pub's Ed25519 signature of msg, as
// ed25519.Verify does.
func (c *Cache) Verify(pub, msg, sig []byte) bool {
	if len(pub) != ed25519.PublicKeySize {
		return ed25519.Verify(pub, msg, sig) // its panic, its words
	}
	if k := c.key([32]byte(pub)); k != nil {
		return k.Verify(msg, sig)
	}
	return ed25519.Verify(pub, msg, sig)
}

// key returns the Key of pub if it is cached or signs for the second
// time (then it builds and caches it), or nil.
func (c *Cache) key(pub [32]byte) *Key {
	c.mu.Lock()
	if el, ok := c.keys[pub]; ok {
		c.order.MoveToFront(el)
		c.mu.Unlock()
		return el.Value.(*Key)
	}
	if _, ok := c.seen[pub]; !ok {
		if len(c.seen) >= c.maxSeen {
			clear(c.seen)
		}
		c.seen[pub] = struct{}{}
		c.mu.Unlock()
		return nil
	}
	delete(c.seen, pub)
	c.mu.Unlock()

	k, err := New(pub[:])
	if err != nil {
		return nil // not a point: ed25519.Verify rejects every signature
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if el, ok := c.keys[pub]; ok { // built meanwhile by another caller
		return el.Value.(*Key)
	}
	c.keys[pub] = c.order.PushFront(k)
	for c.order.Len() > c.maxKeys {
		old := c.order.Remove(c.order.Back()).(*Key)
		delete(c.keys, old.pub)
	}
	return k
}
