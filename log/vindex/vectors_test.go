package vindex

import (
	"encoding/hex"
	"encoding/json"
	"os"
	"slices"
	"strings"
	"testing"
)

// TestVectors checks the shared vectors in testdata/vindex.json (written
// by testdata/gen.go): key derivation, the root of the map they list, by
// Update and by the reference, and each proof's verdict.
func TestVectors(t *testing.T) {
	b, err := os.ReadFile("../../testdata/vindex.json")
	if err != nil {
		t.Fatal(err)
	}
	var v struct {
		Keys []struct {
			Kind   string   `json:"kind"`
			Fields []string `json:"fields"`
			Key    string   `json:"key"`
		} `json:"keys"`
		Map []struct {
			Key     string  `json:"key"`
			Indexes []int64 `json:"indexes"`
		} `json:"map"`
		Root   string `json:"root"`
		Proofs []struct {
			Desc    string  `json:"desc"`
			Key     string  `json:"key"`
			Root    string  `json:"root"`
			Proof   string  `json:"proof"`
			Indexes []int64 `json:"indexes"`
			WantErr string  `json:"want_err"`
		} `json:"proofs"`
	}
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatal(err)
	}
	unhex := func(s string) (h [HashSize]byte) {
		t.Helper()
		d, err := hex.DecodeString(s)
		if err != nil || len(d) != HashSize {
			t.Fatalf("bad hash %q", s)
		}
		return [HashSize]byte(d)
	}
	for _, k := range v.Keys {
		if got := searchKey(k.Kind, k.Fields...); got != Key(unhex(k.Key)) {
			t.Errorf("key of %s %q = %s, vector says %s", k.Kind, k.Fields, got, k.Key)
		}
	}
	m := map[Key][]int64{}
	var adds []Addition
	for _, e := range v.Map {
		m[Key(unhex(e.Key))] = e.Indexes
		for _, i := range e.Indexes {
			adds = append(adds, Addition{Key(unhex(e.Key)), i})
		}
	}
	root, err := Update(&MemStore{}, adds)
	if err != nil || root != Hash(unhex(v.Root)) || refRoot(m) != root {
		t.Fatalf("root = %s, %v; reference %s; vector %s", root, err, refRoot(m), v.Root)
	}
	if len(v.Proofs) == 0 {
		t.Fatal("no proof vectors")
	}
	for _, p := range v.Proofs {
		proof, err := hex.DecodeString(p.Proof)
		if err != nil {
			t.Fatal(err)
		}
		got, err := VerifyProof(Hash(unhex(p.Root)), Key(unhex(p.Key)), proof)
		switch {
		case p.WantErr == "" && (err != nil || !slices.Equal(got, p.Indexes)):
			t.Errorf("%s: VerifyProof = %v, %v; want %v", p.Desc, got, err, p.Indexes)
		case p.WantErr != "" && (err == nil || !strings.Contains(err.Error(), p.WantErr)):
			t.Errorf("%s: VerifyProof = %v, %v; want an error containing %q", p.Desc, got, err, p.WantErr)
		}
	}
}
