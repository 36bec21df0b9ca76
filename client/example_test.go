package client_test

import (
	"bytes"
	"fmt"

	"github.com/attestlog/attestlog/client"
	"golang.org/x/mod/sumdb/note"
)

func ExampleParsePolicy() {
	vkey := func(name string, seed byte) string {
		_, v, err := note.GenerateKey(bytes.NewReader(bytes.Repeat([]byte{seed}, 32)), name)
		if err != nil {
			panic(err)
		}
		return v
	}
	policy := fmt.Sprintf(`log %s
quorum none
# two keys, one identity, one vote
builder ci %s
builder ci %s
builder alice %s
builder bob %s
builder carol %s
builders rebuilders 2 alice bob carol
builders release all ci rebuilders
agree release
`, vkey("example.org/log", 1), vkey("ci-2025.example", 2), vkey("ci-2026.example", 3), vkey("alice.example", 4), vkey("bob.example", 5), vkey("carol.example", 6))
	p, err := client.ParsePolicy([]byte(policy))
	if err != nil {
		panic(err)
	}
	for _, b := range p.Builders {
		fmt.Printf("builder %s: %d key(s)\n", b.Name, len(b.Keys))
	}
	for _, g := range p.Groups {
		fmt.Printf("group %s: %d of %v\n", g.Name, g.K, g.Members)
	}
	fmt.Println("agree:", p.Agree)
	name, _, ok := p.Builder(vkey("renamed", 3)) // the raw key counts, not the name
	fmt.Println(name, ok)
	// Output:
	// builder ci: 2 key(s)
	// builder alice: 1 key(s)
	// builder bob: 1 key(s)
	// builder carol: 1 key(s)
	// group rebuilders: 2 of [alice bob carol]
	// group release: 2 of [ci rebuilders]
	// agree: release
	// ci true
}

func ExampleVerdict_ExitCode() {
	v := client.Verdict{QuorumMet: false, Disagreed: []client.Conflict{{Builder: "carol"}}}
	fmt.Println(v.ExitCode(), v.ExitCode()&client.ExitConflict != 0)
	// Output: 6 true
}
