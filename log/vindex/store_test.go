package vindex

import (
	"errors"
	"fmt"
	"strings"
	"testing"
)

// faultyStore is a MemStore whose Get or Put fails from the n-th call on,
// or that loses the nodes at some positions (a corrupt store).
type faultyStore struct {
	MemStore
	failGet, failPut int // fail from this call on (1-based); 0 never
	gets, puts       int
	lost             func(Position) bool
}

var errDisk = errors.New("disk on fire")

func (f *faultyStore) Get(p Position) (Node, bool, error) {
	if f.gets++; f.failGet > 0 && f.gets >= f.failGet {
		return Node{}, false, errDisk
	}
	if f.lost != nil && f.lost(p) {
		return Node{}, false, nil
	}
	return f.MemStore.Get(p)
}

func (f *faultyStore) GetMany(ps []Position) ([]Node, []bool, error) {
	nodes, ok := make([]Node, len(ps)), make([]bool, len(ps))
	for i, p := range ps {
		var err error
		if nodes[i], ok[i], err = f.Get(p); err != nil {
			return nil, nil, err
		}
	}
	return nodes, ok, nil
}

func (f *faultyStore) Put(p Position, n Node) error {
	if f.puts++; f.failPut > 0 && f.puts >= f.failPut {
		return errDisk
	}
	return f.MemStore.Put(p, n)
}

func TestStoreErrors(t *testing.T) {
	var adds []Addition
	for i := range int64(50) {
		adds = append(adds, Addition{DigestKey(string(rune('a' + i))), i})
	}
	k := adds[7].Key
	fresh := func() *faultyStore {
		f := &faultyStore{}
		if _, err := Update(f, adds); err != nil {
			t.Fatal(err)
		}
		f.gets, f.puts = 0, 0
		return f
	}
	more := []Addition{{k, 100}, {DigestKey("new"), 101}}
	for _, tc := range []struct {
		desc string
		set  func(*faultyStore)
		op   func(Store) error
		want string
	}{
		{"update: root unreadable", func(f *faultyStore) { f.failGet = 1 }, update(more), "vindex: reading the root: disk on fire"},
		{"update: node unreadable", func(f *faultyStore) { f.failGet = 3 }, update(more), "vindex: reading node "},
		{"update: node unwritable", func(f *faultyStore) { f.failPut = 1 }, update(more), "vindex: writing node "},
		{"update: node lost", func(f *faultyStore) { f.lost = func(p Position) bool { return p.Depth == 2 } }, update(more), "is missing below an inner node: the store is corrupt"},
		{"prove: root unreadable", func(f *faultyStore) { f.failGet = 1 }, prove(k, []int64{7}), "vindex: reading node 0/: disk on fire"},
		{"prove: node unreadable", func(f *faultyStore) { f.failGet = 3 }, prove(k, []int64{7}), "vindex: reading node "},
		{"prove: node lost", func(f *faultyStore) { f.lost = func(p Position) bool { return p.Depth == 2 } }, prove(k, []int64{7}), "is missing below an inner node: the store is corrupt"},
		{"root: unreadable", func(f *faultyStore) { f.failGet = 1 }, func(s Store) error { _, err := Root(s); return err }, "disk on fire"},
	} {
		t.Run(tc.desc, func(t *testing.T) {
			f := fresh()
			tc.set(f)
			if err := tc.op(f); err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error = %v, want one containing %q", err, tc.want)
			}
		})
	}
}

func update(adds []Addition) func(Store) error {
	return func(s Store) error { _, err := Update(s, adds); return err }
}

func prove(k Key, indexes []int64) func(Store) error {
	return func(s Store) error { _, err := Prove(s, k, indexes); return err }
}

// TestCorruptDeepInnerNode: an inner node at depth 256, which no map holds,
// is reported instead of read past the key's last bit.
func TestCorruptDeepInnerNode(t *testing.T) {
	k := DigestKey("k")
	s := &MemStore{}
	p := Position{}
	for p.Depth < MaxDepth {
		var h [2]Hash
		h[k.bit(int(p.Depth))] = Hash{1}
		s.Put(p, Node{Children: h})
		p = p.child(k.bit(int(p.Depth)))
	}
	s.Put(p, Node{Children: [2]Hash{{1}, {2}}})
	if _, err := Prove(s, k, nil); err == nil || !strings.Contains(err.Error(), "inner node at 256/") {
		t.Errorf("Prove = %v, want the corrupt inner node at depth 256 reported", err)
	}
	if _, err := Update(s, []Addition{{k, 1}}); err == nil || !strings.Contains(err.Error(), "inner node at 256/") {
		t.Errorf("Update = %v, want the corrupt inner node at depth 256 reported", err)
	}
}

// countingStore is a MemStore that counts its reads.
type countingStore struct {
	MemStore
	gets, getManys, positions int
}

func (c *countingStore) Get(p Position) (Node, bool, error) {
	c.gets++
	return c.MemStore.Get(p)
}

func (c *countingStore) GetMany(ps []Position) ([]Node, []bool, error) {
	c.getManys++
	c.positions += len(ps)
	return c.MemStore.GetMany(ps)
}

// TestUpdateReadsByLevel checks that Update on a store other than a
// MemStore reads the nodes below the root with one GetMany per level of
// the batch's paths and no single Get, and gives the MemStore's root.
func TestUpdateReadsByLevel(t *testing.T) {
	var first, second []Addition
	for i := range int64(2000) {
		first = append(first, Addition{DigestKey(fmt.Sprint("first", i)), i})
	}
	for i := range int64(300) {
		k := first[i*5].Key
		if i%3 == 0 {
			k = DigestKey(fmt.Sprint("second", i))
		}
		second = append(second, Addition{k, 2000 + i})
	}
	var mem MemStore
	var cs countingStore
	for _, batch := range [][]Addition{first, second} {
		want, err := Update(&mem, batch)
		if err != nil {
			t.Fatal(err)
		}
		cs.gets, cs.getManys, cs.positions = 0, 0, 0
		got, err := Update(&cs, batch)
		if err != nil || got != want {
			t.Fatalf("Update through GetMany = %s, %v; a MemStore gives %s", got, err, want)
		}
	}
	// 2,300 keys: leaves about 12 levels deep, none deeper than 40.
	if cs.gets != 1 || cs.getManys < 8 || cs.getManys > 40 || cs.positions < len(second) {
		t.Errorf("second batch: %d Gets (want 1, the root), %d GetManys of %d positions in all (want one per level, 8 to 40)", cs.gets, cs.getManys, cs.positions)
	}
}
