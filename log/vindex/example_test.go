package vindex_test

import (
	"fmt"

	"github.com/attestlog/attestlog/log/vindex"
)

func Example() {
	// The log's side: entries 0, 5 and 9 name one digest.
	s := &vindex.MemStore{}
	digest := vindex.DigestKey("9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08")
	root, err := vindex.Update(s, []vindex.Addition{
		{Key: digest, Index: 0}, {Key: digest, Index: 5}, {Key: vindex.BuilderKey("ci+01020304+AQ"), Index: 5}, {Key: digest, Index: 9},
	})
	if err != nil {
		panic(err)
	}
	p, err := vindex.Prove(s, digest, []int64{0, 5, 9})
	if err != nil {
		panic(err)
	}
	proof, _ := p.AppendBinary(nil)

	// The client's side: the root comes from a commitment in the witnessed
	// log, the proof from the lookup's answer.
	indexes, err := vindex.VerifyProof(root, digest, proof)
	fmt.Println(indexes, err)
	indexes, err = vindex.VerifyProof(root, vindex.DigestKey("something else"), proof)
	fmt.Println(indexes, err != nil)
	// Output:
	// [0 5 9] <nil>
	// [] true
}
