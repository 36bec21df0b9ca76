package vindex

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
)

// randomAdditions returns additions of n entries over a key space made to
// exercise deep paths: random keys, keys that differ from another only in
// one late bit (down to the last), and a few keys that most entries share,
// as a builder key is. Indexes increase; an entry has 1-6 keys, sometimes
// one twice.
func randomAdditions(r *rand.Rand, n int) []Addition {
	var pool []Key
	for range 1 + n/4 {
		var k Key
		for i := range k {
			k[i] = byte(r.Uint32())
		}
		pool = append(pool, k)
		if r.IntN(4) == 0 {
			twin := k
			bit := 200 + r.IntN(56)
			twin[bit/8] ^= 0x80 >> (bit % 8)
			pool = append(pool, twin)
		}
	}
	var adds []Addition
	for i := range n {
		for range 1 + r.IntN(6) {
			k := pool[0]
			if r.IntN(3) > 0 {
				k = pool[r.IntN(len(pool))]
			}
			adds = append(adds, Addition{Key: k, Index: int64(i)})
		}
	}
	return adds
}

// lists returns every key's list of indexes after adds.
func lists(adds []Addition) map[Key][]int64 {
	m := map[Key][]int64{}
	for _, a := range adds {
		if l := m[a.Key]; len(l) == 0 || l[len(l)-1] != a.Index {
			m[a.Key] = append(l, a.Index)
		}
	}
	return m
}

// cut returns how many of adds to take in the next batch, at least one
// and at most about max, never splitting an entry's additions.
func cut(r *rand.Rand, adds []Addition, max int) int {
	n := min(len(adds), 1+r.IntN(max))
	for n < len(adds) && adds[n].Index == adds[n-1].Index {
		n++
	}
	return n
}

func TestUpdateMatchesReference(t *testing.T) {
	for seed := range uint64(30) {
		r := rand.New(rand.NewPCG(seed, 1))
		adds := randomAdditions(r, r.IntN(200))
		s := &MemStore{}
		done := 0
		for done < len(adds) {
			n := cut(r, adds[done:], 40)
			batch := slices.Clone(adds[done : done+n])
			r.Shuffle(len(batch), func(i, j int) { batch[i], batch[j] = batch[j], batch[i] })
			root, err := Update(s, batch)
			if err != nil {
				t.Fatalf("seed %d: Update: %v", seed, err)
			}
			done += n
			if want := refRoot(lists(adds[:done])); root != want {
				t.Fatalf("seed %d: after %d additions, root = %s, reference = %s", seed, done, root, want)
			}
			if got, _ := Root(s); got != root {
				t.Fatalf("seed %d: Root = %s, Update returned %s", seed, got, root)
			}
		}
	}
}

func TestEmptyMap(t *testing.T) {
	s := &MemStore{}
	if root, err := Update(s, nil); err != nil || root != EmptyHash {
		t.Fatalf("Update(empty, nil) = %s, %v; want EmptyHash", root, err)
	}
	p, err := Prove(s, DigestKey("ab"), nil)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := p.AppendBinary(nil)
	if string(b) != "\x02\x00\x00" {
		t.Errorf("proof of absence in the empty map = %x, want 020000", b)
	}
	if idx, err := VerifyProof(EmptyHash, DigestKey("ab"), b); err != nil || idx != nil {
		t.Errorf("VerifyProof = %v, %v", idx, err)
	}
	if _, err := VerifyProof(Hash{1}, DigestKey("ab"), b); !errors.Is(err, ErrInvalidProof) {
		t.Errorf("absence in the empty map verified against another root: %v", err)
	}
}

// TestBatchSplitDeterminism: the same additions give the same root and the
// same stored nodes however they are cut into batches.
func TestBatchSplitDeterminism(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 7))
	adds := randomAdditions(r, 300)
	var roots []Hash
	var stores []*MemStore
	for _, maxBatch := range []int{1, 3, 50, len(adds)} {
		s := &MemStore{}
		for done := 0; done < len(adds); {
			n := cut(r, adds[done:], maxBatch)
			if _, err := Update(s, adds[done:done+n]); err != nil {
				t.Fatal(err)
			}
			done += n
		}
		root, _ := Root(s)
		roots, stores = append(roots, root), append(stores, s)
	}
	for i := range roots {
		if roots[i] != roots[0] {
			t.Errorf("root with split %d = %s, with split 0 = %s", i, roots[i], roots[0])
		}
		if fmt.Sprint(stores[i].Len()) != fmt.Sprint(stores[0].Len()) {
			a, b := stores[i].Len()
			c, d := stores[0].Len()
			t.Errorf("split %d stores %d inner nodes and %d leaves, split 0 %d and %d", i, a, b, c, d)
		}
	}
}

func TestUpdateRefuses(t *testing.T) {
	k1, k2 := DigestKey("1"), DigestKey("2")
	for _, tc := range []struct {
		desc      string
		batch     []Addition
		want      string
		unchanged bool // refused before anything is written
	}{
		{"negative index", []Addition{{k2, 9}, {k1, -1}}, "negative index -1", true},
		{"replayed index", []Addition{{k2, 9}, {k1, 5}}, "index 5 is not after the key's last index 5", false},
		{"older index", []Addition{{k2, 9}, {k1, 3}}, "index 3 is not after the key's last index 5", false},
	} {
		t.Run(tc.desc, func(t *testing.T) {
			s := &MemStore{}
			before, err := Update(s, []Addition{{k1, 2}, {k1, 5}})
			if err != nil {
				t.Fatal(err)
			}
			inner, leaves := s.Len()
			_, err = Update(s, tc.batch)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Update = %v, want an error containing %q", err, tc.want)
			}
			if !tc.unchanged {
				return
			}
			if root, _ := Root(s); root != before {
				t.Errorf("refused batch changed the root")
			}
			if i, l := s.Len(); i != inner || l != leaves {
				t.Errorf("refused batch changed the store: %d/%d nodes, was %d/%d", i, l, inner, leaves)
			}
		})
	}
}

// mapOf builds a map of adds and returns it with its root and lists.
func mapOf(t *testing.T, adds []Addition) (*MemStore, Hash, map[Key][]int64) {
	t.Helper()
	s := &MemStore{}
	root, err := Update(s, adds)
	if err != nil {
		t.Fatal(err)
	}
	return s, root, lists(adds)
}

func TestProofsVerify(t *testing.T) {
	for seed := range uint64(10) {
		r := rand.New(rand.NewPCG(seed, 2))
		adds := randomAdditions(r, 1+r.IntN(300))
		s, root, m := mapOf(t, adds)
		check := func(k Key, want []int64) {
			t.Helper()
			p, err := Prove(s, k, want)
			if err != nil {
				t.Fatalf("seed %d: Prove(%s): %v", seed, k, err)
			}
			b, err := p.AppendBinary(nil)
			if err != nil {
				t.Fatal(err)
			}
			got, err := VerifyProof(root, k, b)
			if err != nil || !slices.Equal(got, want) {
				t.Fatalf("seed %d: VerifyProof(%s) = %v, %v; want %v", seed, k, got, err, want)
			}
		}
		for k, want := range m {
			check(k, want)
			// An absent key on the same path down to the last bit.
			near := k
			near[HashSize-1] ^= 1
			if _, ok := m[near]; !ok {
				check(near, nil)
			}
		}
		for i := range 20 {
			check(DigestKey(fmt.Sprint("absent", i)), nil)
		}
	}
}

func TestProveRefusesWrongList(t *testing.T) {
	k, other := DigestKey("k"), DigestKey("other")
	s, _, _ := mapOf(t, []Addition{{k, 1}, {k, 4}, {other, 2}})
	for _, tc := range []struct {
		key     Key
		indexes []int64
		want    string
	}{
		{k, []int64{1}, "has 1 indexes in the lookup index, but the map's list has 2 ending at 4"},
		{k, []int64{1, 3}, "has 2 indexes in the lookup index, but the map's list has 2 ending at 4"},
		{k, []int64{0, 4}, "has 2 indexes in the lookup index, but the map's list has 2 ending at 4"},
		{k, nil, "has 0 indexes in the lookup index"},
		{DigestKey("absent"), []int64{3}, "has 1 indexes in the lookup index but none in the map"},
	} {
		if _, err := Prove(s, tc.key, tc.indexes); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Prove(%v) = %v, want an error containing %q", tc.indexes, err, tc.want)
		}
	}
}

func TestParseNode(t *testing.T) {
	l := Leaf{Key: DigestKey("a"), Count: 2, Last: 7, Head: ListHead([]int64{3, 7})}
	for _, n := range []Node{{Children: [2]Hash{{1, 2}}}, {Children: [2]Hash{{}, {3}}}, leafNode(l)} {
		b, _ := n.AppendBinary(nil)
		if got, err := ParseNode(b); err != nil || got != n {
			t.Errorf("ParseNode(%x) = %+v, %v; want %+v", b, got, err, n)
		}
	}
	enc := func(l Leaf) []byte { b, _ := leafNode(l).AppendBinary(nil); return b }
	for _, tc := range []struct {
		desc string
		b    []byte
		want string
	}{
		{"empty", nil, "0 bytes"},
		{"unknown tag", append([]byte{2}, make([]byte, 64)...), "65 bytes starting 0x02"},
		{"inner node too long", append([]byte{0}, make([]byte, 65)...), "66 bytes"},
		{"inner node with no child", append([]byte{0}, make([]byte, 64)...), "inner node with two empty children"},
		{"leaf with no index", enc(Leaf{Key: l.Key, Count: 0, Last: 0}), "has count 0"},
		{"leaf with a negative count", enc(Leaf{Key: l.Key, Count: -1, Last: 0}), "has count -1"},
		{"leaf with too few indexes for its last", enc(Leaf{Key: l.Key, Count: 3, Last: 1, Head: l.Head}), "has 3 distinct indexes but the last is 1"},
		{"one index, another head", enc(Leaf{Key: l.Key, Count: 1, Last: 1, Head: l.Head}), "has one index, 1, but another list head"},
	} {
		if _, err := ParseNode(tc.b); !errors.Is(err, ErrMalformedNode) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: ParseNode = %v, want ErrMalformedNode containing %q", tc.desc, err, tc.want)
		}
	}
}

func TestPositionBinary(t *testing.T) {
	k := Key{0xff, 0xff, 0xff}
	seen := map[string]Position{}
	for _, p := range []Position{{}, {Depth: 1, Prefix: prefix(k, 1)}, {Depth: 8, Prefix: prefix(k, 8)}, {Depth: 9, Prefix: prefix(k, 9)}, {Depth: 1}, {Depth: 256, Prefix: k}} {
		b, _ := p.AppendBinary(nil)
		if q, dup := seen[string(b)]; dup {
			t.Errorf("positions %s and %s share the storage key %x", p, q, b)
		}
		seen[string(b)] = p
	}
	if b, _ := (Position{Depth: 9, Prefix: prefix(k, 9)}).AppendBinary(nil); string(b) != "\x00\x09\xff\x80" {
		t.Errorf("storage key of 9/ff80 = %x, want 0009ff80", b)
	}
}
