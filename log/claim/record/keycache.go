package record

import (
	"container/list"
	"crypto/sha256"
	"strings"
	"sync"

	"github.com/attestlog/attestlog/log/claim/scheme"
)

// Parsing an entry's OpenPGP certificate is most of what decoding an
// OpenPGP entry costs (BENCHMARKS.md: checking that it is minimised
// verifies every self-signature it keeps), and a log holds many entries
// of few certificates (a guix.sigs release: one per builder). Decode keeps
// the certificates it parsed in a bounded cache, least recently used first
// out, keyed by the sha256 of the key line's text; a hit must be that text
// byte for byte, and hands out [scheme.OpenPGPKey.Fresh] (2 to 12% of
// the parse: the certificate is read again, but not checked again), so
// that every Decode verifies exactly as with a newly parsed key. Keys that
// fail to parse are not kept.
const (
	certCacheEntries = 256     // certificates kept
	certCacheBytes   = 8 << 20 // of key text kept, in all
)

// certs is the cache Decode uses.
var certs = newCertCache(certCacheEntries, certCacheBytes)

// certCache is a bounded LRU cache of parsed OpenPGP keys by key text. It
// is safe for concurrent use.
type certCache struct {
	maxEntries, maxBytes int

	mu    sync.Mutex
	bytes int                        // sum of the texts' lengths
	order *list.List                 // of *certEntry, most recently used first
	byKey map[[32]byte]*list.Element // sha256 of the text -> element of order
}

type certEntry struct {
	sum  [32]byte
	text string
	key  *scheme.OpenPGPKey
}

func newCertCache(maxEntries, maxBytes int) *certCache {
	return &certCache{maxEntries: maxEntries, maxBytes: maxBytes, order: list.New(), byKey: map[[32]byte]*list.Element{}}
}

// get returns the key of text, parsed before, or nil.
func (c *certCache) get(sum [32]byte, text string) *scheme.OpenPGPKey {
	c.mu.Lock()
	defer c.mu.Unlock()
	el, ok := c.byKey[sum]
	if !ok {
		return nil
	}
	e := el.Value.(*certEntry)
	if e.text != text {
		return nil // another text of the same sha256: never use it
	}
	c.order.MoveToFront(el)
	return e.key
}

// put keeps k as the key of text, dropping the least recently used keys
// past the bounds. A text larger than the byte bound is not kept.
func (c *certCache) put(sum [32]byte, text string, k *scheme.OpenPGPKey) {
	if len(text) > c.maxBytes || c.maxEntries <= 0 {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.byKey[sum]; ok {
		return
	}
	c.byKey[sum] = c.order.PushFront(&certEntry{sum: sum, text: text, key: k})
	c.bytes += len(text)
	for c.order.Len() > c.maxEntries || c.bytes > c.maxBytes {
		old := c.order.Remove(c.order.Back()).(*certEntry)
		delete(c.byKey, old.sum)
		c.bytes -= len(old.text)
	}
}

// len returns the number of keys kept.
func (c *certCache) len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.order.Len()
}

// parseKey parses the key text of a v2 entry's key line, as
// scheme.ParseVerifier does, an OpenPGP certificate through the cache.
func parseKey(text string) (scheme.Verifier, error) {
	if !strings.HasPrefix(text, string(scheme.OpenPGP)+" ") {
		return scheme.ParseVerifier(text)
	}
	sum := sha256.Sum256([]byte(text))
	if k := certs.get(sum, text); k != nil {
		return k.Fresh()
	}
	v, err := scheme.ParseVerifier(text)
	if err != nil {
		return nil, err
	}
	k, ok := v.(*scheme.OpenPGPKey)
	if !ok {
		return v, nil
	}
	// k itself verifies this entry: what its certificate keeps of this
	// verification never reaches a later Decode, which gets a Fresh copy
	// of the bytes.
	certs.put(sum, text, k)
	return k, nil
}
