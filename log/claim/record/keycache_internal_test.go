package record

import (
	"crypto/sha256"
	"fmt"
	"testing"

	"github.com/attestlog/attestlog/log/claim/scheme"
)

// TestCertCacheBounds checks the cache's bounds (entries and bytes), its
// least-recently-used order, and that a text is found only by itself.
func TestCertCacheBounds(t *testing.T) {
	key := func(i int) (string, [32]byte) {
		text := fmt.Sprintf("openpgp key %d", i)
		return text, sha256.Sum256([]byte(text))
	}
	k := &scheme.OpenPGPKey{}
	c := newCertCache(3, 1000)
	for i := range 3 {
		text, sum := key(i)
		c.put(sum, text, k)
	}
	t0, s0 := key(0)
	if c.get(s0, t0) != k { // 0 is now the most recently used
		t.Fatal("key 0 not found")
	}
	t3, s3 := key(3)
	c.put(s3, t3, k) // drops 1, the least recently used
	for i, want := range []bool{true, false, true, true} {
		text, sum := key(i)
		if got := c.get(sum, text) != nil; got != want {
			t.Errorf("key %d kept %v, want %v", i, got, want)
		}
	}
	if c.len() != 3 {
		t.Errorf("%d keys kept, want 3", c.len())
	}
	// Another text under a kept text's sha256 is not that text's key.
	if c.get(s0, t0+" ") != nil {
		t.Error("a text other than the one kept under its sha256 was found")
	}
	// The byte bound: a text past it is not kept, and big texts push out
	// older ones.
	c = newCertCache(10, 100)
	big := string(make([]byte, 101))
	c.put(sha256.Sum256([]byte(big)), big, k)
	if c.len() != 0 {
		t.Error("a text past the byte bound was kept")
	}
	for i := range 3 {
		text := fmt.Sprintf("%040d", i)
		c.put(sha256.Sum256([]byte(text)), text, k)
	}
	if c.len() != 2 || c.bytes != 80 {
		t.Errorf("%d keys of %d bytes kept, want 2 of 80", c.len(), c.bytes)
	}
}
