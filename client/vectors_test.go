package client_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/transparency-dev/merkle/proof"
	"github.com/transparency-dev/merkle/rfc6962"
	"golang.org/x/mod/sumdb/tlog"
)

// TestProofVectors checks the proofs of testdata/proofs.json, which our log
// computed from its tiles, with transparency-dev/merkle and with x/mod's tlog,
// and that a tampered proof fails.
func TestProofVectors(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("..", "testdata", "proofs.json"))
	if err != nil {
		t.Fatal(err)
	}
	var v struct {
		Inclusion []struct {
			Desc        string
			Index, Size int64
			Leaf        tlog.Hash `json:"leaf_hash"`
			Root        tlog.Hash
			Proof       []tlog.Hash
		}
		Consistency []struct {
			Desc         string
			Size1, Size2 int64
			Root1, Root2 tlog.Hash
			Proof        []tlog.Hash
		}
	}
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatal(err)
	}
	if len(v.Inclusion) == 0 || len(v.Consistency) == 0 {
		t.Fatal("no vectors")
	}
	for _, c := range v.Inclusion {
		t.Run(c.Desc, func(t *testing.T) {
			if err := proof.VerifyInclusion(rfc6962.DefaultHasher, uint64(c.Index), uint64(c.Size), c.Leaf[:], raw(c.Proof), c.Root[:]); err != nil {
				t.Errorf("merkle: %v", err)
			}
			if err := tlog.CheckRecord(c.Proof, c.Size, c.Root, c.Index, c.Leaf); err != nil {
				t.Errorf("tlog: %v", err)
			}
			if len(c.Proof) > 0 {
				c.Proof[0][0] ^= 1
				if proof.VerifyInclusion(rfc6962.DefaultHasher, uint64(c.Index), uint64(c.Size), c.Leaf[:], raw(c.Proof), c.Root[:]) == nil {
					t.Error("tampered proof verifies")
				}
			}
		})
	}
	for _, c := range v.Consistency {
		t.Run(c.Desc, func(t *testing.T) {
			if err := proof.VerifyConsistency(rfc6962.DefaultHasher, uint64(c.Size1), uint64(c.Size2), raw(c.Proof), c.Root1[:], c.Root2[:]); err != nil {
				t.Errorf("merkle: %v", err)
			}
			if c.Size1 < c.Size2 {
				if err := tlog.CheckTree(c.Proof, c.Size2, c.Root2, c.Size1, c.Root1); err != nil {
					t.Errorf("tlog: %v", err)
				}
			}
			if len(c.Proof) > 0 {
				c.Proof[len(c.Proof)-1][0] ^= 1
				if proof.VerifyConsistency(rfc6962.DefaultHasher, uint64(c.Size1), uint64(c.Size2), raw(c.Proof), c.Root1[:], c.Root2[:]) == nil {
					t.Error("tampered proof verifies")
				}
			}
		})
	}
}

func raw(hs []tlog.Hash) [][]byte {
	out := make([][]byte, len(hs))
	for i := range hs {
		out[i] = hs[i][:]
	}
	return out
}
