package edkey

import (
	"crypto/ed25519"
	"fmt"
	"sync"
	"testing"
	"unsafe"
)

// tables returns the number of tables c holds.
func (c *Cache) tables() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.order.Len()
}

type signer struct {
	pub  ed25519.PublicKey
	priv ed25519.PrivateKey
}

func signers(n int, tag byte) []signer {
	out := make([]signer, n)
	for i := range out {
		seed := make([]byte, 32)
		seed[0], seed[1], seed[2] = tag, byte(i), byte(i>>8)
		priv := ed25519.NewKeyFromSeed(seed)
		out[i] = signer{priv.Public().(ed25519.PublicKey), priv}
	}
	return out
}

// check verifies a good and a bad signature by s through c.
func (s signer) check(t *testing.T, c *Cache, n int) {
	t.Helper()
	msg := fmt.Appendf(nil, "claim %d", n)
	sig := ed25519.Sign(s.priv, msg)
	if !c.Verify(s.pub, msg, sig) {
		t.Fatalf("valid signature %d rejected", n)
	}
	sig[5] ^= 1
	if c.Verify(s.pub, msg, sig) {
		t.Fatalf("forged signature %d accepted", n)
	}
}

func TestCacheAdmitsRepeatSigners(t *testing.T) {
	c := NewCache(4, 16)
	builders := signers(4, 1)
	for i, b := range builders {
		b.check(t, c, i) // first signature and the forgery: the second sighting builds the table
	}
	if c.tables() != 4 {
		t.Fatalf("%d tables after four keys signed twice, want 4", c.tables())
	}
	// A flood of keys that each sign once evicts no table.
	for i, s := range signers(100, 2) {
		msg := fmt.Appendf(nil, "flood %d", i)
		if !c.Verify(s.pub, msg, ed25519.Sign(s.priv, msg)) {
			t.Fatal("flood signature rejected")
		}
	}
	c.mu.Lock()
	for _, b := range builders {
		if _, ok := c.keys[[32]byte(b.pub)]; !ok {
			t.Errorf("builder %x lost its table to keys that signed once", b.pub[:4])
		}
	}
	if len(c.seen) > 16 {
		t.Errorf("%d keys remembered, bound 16", len(c.seen))
	}
	c.mu.Unlock()
	// Keys that sign twice take the least recently used places.
	builders[0].check(t, c, 9)
	for i, s := range signers(3, 3) {
		s.check(t, c, i)
	}
	if c.tables() != 4 {
		t.Fatalf("%d tables, bound 4", c.tables())
	}
	c.mu.Lock()
	_, kept := c.keys[[32]byte(builders[0].pub)]
	_, evicted := c.keys[[32]byte(builders[1].pub)]
	c.mu.Unlock()
	if !kept || evicted {
		t.Errorf("most recently used key kept %v, least recently used kept %v", kept, evicted)
	}
}

func TestCacheKeyNotAPoint(t *testing.T) {
	c := NewCache(4, 16)
	bad := make([]byte, 32)
	bad[0] = 2
	for range 3 {
		if c.Verify(bad, []byte("m"), make([]byte, 64)) {
			t.Fatal("a key that is not a point verified a signature")
		}
	}
	if c.tables() != 0 {
		t.Fatal("a key that is not a point got a table")
	}
}

func TestCacheConcurrent(t *testing.T) {
	c := NewCache(8, 32)
	ss := signers(12, 4)
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Go(func() {
			for i := range 60 {
				ss[(g+i)%len(ss)].check(t, c, i)
			}
		})
	}
	wg.Wait()
	if c.tables() > 8 {
		t.Fatalf("%d tables, bound 8", c.tables())
	}
}

// The package doc's 30 KiB a table, 7.5 MiB for the default cache.
func TestTableSize(t *testing.T) {
	if n := unsafe.Sizeof(table{}); n != 30720 {
		t.Fatalf("a table is %d bytes, the docs say 30 KiB", n)
	}
	if n := unsafe.Sizeof(wideTable{}); n != 480<<10 {
		t.Fatalf("a wide table is %d bytes, the docs say 480 KiB", n)
	}
}
