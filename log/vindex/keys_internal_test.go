package vindex

import (
	"slices"
	"testing"
)

// TestDedupKeys checks that dedupKeys keeps the first of each key in
// order, on both sides of the size where it switches to a map.
func TestDedupKeys(t *testing.T) {
	for _, n := range []int{0, 1, 6, 32, 33, 100} {
		var keys, want []Key
		seen := map[Key]bool{}
		for i := range n {
			k := Key{byte(i % 7), byte(i * 13 % n)}
			keys = append(keys, k)
			if !seen[k] {
				seen[k], want = true, append(want, k)
			}
		}
		if got := dedupKeys(keys); !slices.Equal(got, want) {
			t.Errorf("%d keys: dedupKeys = %x, want %x", n, got, want)
		}
	}
}
