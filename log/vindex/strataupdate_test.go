package vindex

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
)

// TestStratumNodePosition checks that a node named by its stratum and
// place has the Position that names it in any other Store, at every
// depth of a stratum.
func TestStratumNodePosition(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for range 2000 {
		var p Position
		p.Depth = uint16(r.IntN(MaxDepth))
		for d := range p.Depth {
			p = Position{Depth: d, Prefix: p.Prefix}.child(byte(r.IntN(2)))
		}
		root := StratumOf(p)
		n := stratumNode{root: root, at: place(root, p), depth: p.Depth}
		if got := n.position(); got != p {
			t.Fatalf("stratum %s, place %d: position %s, want %s", root, n.at, got, p)
		}
	}
}

// TestStrataUpdateCorrupt checks that an update on strata reports a store
// that lost the record of a stratum below an inner node, naming the node,
// and that a stratum left out of the prefetch (here: dropped from s after
// it) is read when the walk reaches it, not taken for an empty one.
func TestStrataUpdateCorrupt(t *testing.T) {
	recs := &records{m: map[string][]byte{}}
	var adds []Addition
	for i := range 3000 {
		adds = append(adds, Addition{DigestKey(fmt.Sprint(i)), int64(i)})
	}
	s := NewStrata(recs)
	if _, err := Update(s, adds); err != nil {
		t.Fatal(err)
	}
	recs.write(t, s)
	more := []Addition{{adds[7].Key, 5000}}
	want, err := Update(NewStrata(recs), more)
	if err != nil {
		t.Fatal(err)
	}

	// The stratum at depth 8 on the key's path, read by the walk rather
	// than the prefetch.
	lower := Position{Depth: 8}
	lower.Prefix[0] = adds[7].Key[0]
	s = NewStrata(recs)
	gs, err := groupAdditions(more)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.prefetch(gs); err != nil {
		t.Fatal(err)
	}
	if _, ok := s.strata[lower]; !ok {
		t.Fatalf("prefetch did not read stratum %s", lower)
	}
	delete(s.strata, lower)
	got, err := strataUpdater{s}.update(stratumNode{st: s.strata[Position{}]}, true, gs)
	if err != nil || got != want {
		t.Fatalf("update with stratum %s left to the walk = %s, %v, want %s", lower, got, err, want)
	}

	// The same stratum lost from the store.
	k, _ := lower.AppendBinary(nil)
	delete(recs.m, string(k))
	_, err = Update(NewStrata(recs), more)
	if err == nil || !strings.Contains(err.Error(), fmt.Sprintf("node %s is missing below an inner node: the store is corrupt", lower)) {
		t.Fatalf("update with stratum %s lost = %v, want it named missing", lower, err)
	}
}
