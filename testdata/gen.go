//go:build ignore

// gen writes the shared test vectors: the tlog-tiles resources of a fixed
// log of 600 entries (testdata/log/) and inclusion and consistency proofs in
// it (testdata/proofs.json), and a verifiable-index map with its proofs
// (testdata/vindex.json). Everything is deterministic: fixed entries, the
// fixed logtest key, deterministic Ed25519. Run from the repository root:
//
//	go run ./testdata/gen.go
//
// CI runs it and fails if the output differs from what is committed.
package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"

	"github.com/attestlog/attestlog/log"
	"github.com/attestlog/attestlog/log/logtest"
	"github.com/attestlog/attestlog/log/vindex"
	"github.com/attestlog/attestlog/tiles"
	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"
)

const size = 600

type inclusion struct {
	Desc  string      `json:"desc"`
	Index int64       `json:"index"`
	Size  int64       `json:"size"`
	Leaf  tlog.Hash   `json:"leaf_hash"`
	Root  tlog.Hash   `json:"root"`
	Proof []tlog.Hash `json:"proof"`
}

type consistency struct {
	Desc  string      `json:"desc"`
	Size1 int64       `json:"size1"`
	Size2 int64       `json:"size2"`
	Root1 tlog.Hash   `json:"root1"`
	Root2 tlog.Hash   `json:"root2"`
	Proof []tlog.Hash `json:"proof"`
}

func main() {
	err := run()
	if err == nil {
		err = vindexVectors()
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "gen:", err)
		os.Exit(1)
	}
}

func run() error {
	tmp, err := os.MkdirTemp("", "attestlog-gen")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	store, err := log.OpenBolt(filepath.Join(tmp, "log.db"))
	if err != nil {
		return err
	}
	defer store.Close()
	skey, vkey := logtest.Keys(logtest.Origin)
	signer, err := note.NewSigner(skey)
	if err != nil {
		return err
	}
	l, err := log.New(log.Config{Origin: logtest.Origin, Signer: signer, Store: store})
	if err != nil {
		return err
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- l.Run(ctx) }()
	defer func() { cancel(); <-done }()
	for i := range size {
		if _, err := l.Add([]byte(fmt.Sprintf("entry %d\n", i)))(ctx); err != nil {
			return err
		}
	}

	out := filepath.Join("testdata", "log")
	if err := os.RemoveAll(out); err != nil {
		return err
	}
	paths := []string{log.CheckpointPath}
	for _, t := range tiles.NewTiles(0, size) {
		paths = append(paths, tiles.Path(t))
	}
	for _, p := range paths {
		data, err := l.Fetch(ctx, p)
		if err != nil {
			return err
		}
		if err := write(filepath.Join(out, p), data); err != nil {
			return err
		}
	}
	if err := write(filepath.Join(out, "vkey"), []byte(vkey+"\n")); err != nil {
		return err
	}

	var vectors struct {
		Inclusion   []inclusion   `json:"inclusion"`
		Consistency []consistency `json:"consistency"`
	}
	for _, c := range [][2]int64{{0, 1}, {0, 2}, {1, 2}, {0, 256}, {255, 256}, {255, 257}, {256, 257}, {0, 600}, {255, 600}, {256, 600}, {511, 600}, {599, 600}} {
		p, err := l.InclusionProof(c[0], c[1])
		if err != nil {
			return err
		}
		root, err := l.TreeHash(c[1])
		if err != nil {
			return err
		}
		leaf := tlog.RecordHash([]byte(fmt.Sprintf("entry %d\n", c[0])))
		vectors.Inclusion = append(vectors.Inclusion, inclusion{fmt.Sprintf("entry %d in tree size %d", c[0], c[1]), c[0], c[1], leaf, root, p})
	}
	for _, c := range [][2]int64{{1, 2}, {1, 600}, {2, 3}, {3, 7}, {255, 256}, {256, 257}, {256, 512}, {257, 600}, {511, 512}, {512, 600}, {599, 600}, {600, 600}} {
		p, err := l.ConsistencyProof(c[0], c[1])
		if err != nil {
			return err
		}
		r1, err := l.TreeHash(c[0])
		if err != nil {
			return err
		}
		r2, err := l.TreeHash(c[1])
		if err != nil {
			return err
		}
		vectors.Consistency = append(vectors.Consistency, consistency{fmt.Sprintf("tree size %d to %d", c[0], c[1]), c[0], c[1], r1, r2, p})
	}
	js, err := json.MarshalIndent(vectors, "", "  ")
	if err != nil {
		return err
	}
	return write(filepath.Join("testdata", "proofs.json"), append(js, '\n'))
}

func write(path string, data []byte) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	return os.WriteFile(path, data, 0o644)
}

// The vectors of testdata/vindex.json: how search keys derive from key
// strings, a small map (its contents and root) and proofs in it, valid and
// tampered. An independent verifier can check its key derivation, root
// computation, proof parser and verifier against them.
type vindexFile struct {
	Keys   []vindexKey   `json:"keys"`
	Map    []vindexEntry `json:"map"`
	Root   string        `json:"root"`
	Proofs []vindexProof `json:"proofs"`
}

type vindexKey struct {
	Kind   string   `json:"kind"`
	Fields []string `json:"fields"`
	Key    string   `json:"key"`
}

type vindexEntry struct {
	Key     string  `json:"key"`
	Indexes []int64 `json:"indexes"`
}

type vindexProof struct {
	Desc    string  `json:"desc"`
	Key     string  `json:"key"`
	Root    string  `json:"root"`
	Proof   string  `json:"proof"`
	Indexes []int64 `json:"indexes"`
	WantErr string  `json:"want_err"`
}

func vindexVectors() error {
	var v vindexFile
	digest := func(i int) string {
		h := sha256.Sum256([]byte(fmt.Sprint("artifact ", i)))
		return hex.EncodeToString(h[:])
	}
	src, commit := "git+https://example.org/hello", "0123456789abcdef0123456789abcdef01234567"
	add := func(kind string, key vindex.Key, fields ...string) {
		v.Keys = append(v.Keys, vindexKey{kind, fields, key.String()})
	}
	add("digest", vindex.DigestKey(digest(0)), digest(0))
	add("source", vindex.SourceKey(src, commit), src, commit)
	add("build", vindex.BuildKey(src, commit, "linux/amd64"), src, commit, "linux/amd64")
	add("builder", vindex.BuilderKey("ci+01020304+AQ"), "ci+01020304+AQ")

	// 24 entries: each names its own digest, every third one a shared
	// digest, and all are signed by one builder; two keys differ only in
	// their last bit, so one leaf sits at depth 256.
	builder, shared := vindex.BuilderKey("ci+01020304+AQ"), vindex.DigestKey(digest(1000))
	twin := shared
	twin[vindex.HashSize-1] ^= 1
	var adds []vindex.Addition
	for i := range int64(24) {
		adds = append(adds, vindex.Addition{Key: vindex.DigestKey(digest(int(i))), Index: i}, vindex.Addition{Key: builder, Index: i})
		if i%3 == 0 {
			adds = append(adds, vindex.Addition{Key: shared, Index: i})
		}
	}
	adds = append(adds, vindex.Addition{Key: twin, Index: 23})
	s := &vindex.MemStore{}
	root, err := vindex.Update(s, adds)
	if err != nil {
		return err
	}
	v.Root = root.String()
	lists := map[vindex.Key][]int64{}
	var order []vindex.Key
	for _, a := range adds {
		if lists[a.Key] == nil {
			order = append(order, a.Key)
		}
		lists[a.Key] = append(lists[a.Key], a.Index)
	}
	for _, k := range order {
		v.Map = append(v.Map, vindexEntry{k.String(), lists[k]})
	}

	proof := func(desc string, k vindex.Key, tamper func(*vindex.Proof, []byte) []byte, wantErr string) error {
		p, err := vindex.Prove(s, k, lists[k])
		if err != nil {
			return err
		}
		b, err := p.AppendBinary(nil)
		if err != nil {
			return err
		}
		r := root
		want := lists[k]
		if tamper != nil {
			b, want = tamper(p, b), nil
			if desc == "wrong root" {
				r[0] ^= 1
			}
		}
		v.Proofs = append(v.Proofs, vindexProof{desc, k.String(), r.String(), hex.EncodeToString(b), want, wantErr})
		return nil
	}
	reencode := func(p *vindex.Proof, _ []byte) []byte { b, _ := p.AppendBinary(nil); return b }
	absent, near := vindex.DigestKey(digest(5000)), vindex.DigestKey(digest(7))
	near[vindex.HashSize-1] ^= 1
	for _, c := range []struct {
		desc    string
		key     vindex.Key
		tamper  func(*vindex.Proof, []byte) []byte
		wantErr string
	}{
		{"presence, one index", vindex.DigestKey(digest(7)), nil, ""},
		{"presence, the builder's 24 indexes", builder, nil, ""},
		{"presence, a leaf at depth 256", twin, nil, ""},
		{"absence at an empty subtree", absent, nil, ""},
		{"absence at another key's leaf", near, nil, ""},
		{"dropped index", builder, func(p *vindex.Proof, _ []byte) []byte { p.Indexes = p.Indexes[1:]; return reencode(p, nil) }, "do not lead to map root"},
		{"added index", shared, func(p *vindex.Proof, _ []byte) []byte { p.Indexes = append(p.Indexes, 30); return reencode(p, nil) }, "do not lead to map root"},
		{"wrong root", shared, func(_ *vindex.Proof, b []byte) []byte { return b }, "do not lead to map root"},
		{"presence turned into absence", shared, func(p *vindex.Proof, _ []byte) []byte { p.Indexes = nil; return reencode(p, nil) }, "is absent does not lead to map root"},
		{"flipped sibling byte", shared, func(_ *vindex.Proof, b []byte) []byte { b[len(b)-10-32] ^= 1; return b }, "do not lead to map root"},
		{"trailing byte", shared, func(_ *vindex.Proof, b []byte) []byte { return append(b, 0) }, "malformed proof"},
		{"non-minimal uvarint", vindex.DigestKey(digest(7)), func(_ *vindex.Proof, b []byte) []byte { return append(b[:len(b)-1], b[len(b)-1]|0x80, 0) }, "malformed proof"},
	} {
		if err := proof(c.desc, c.key, c.tamper, c.wantErr); err != nil {
			return err
		}
	}
	// A proof for one key, checked for another.
	p := v.Proofs[0]
	p.Desc, p.Key, p.Indexes, p.WantErr = "proof of another key", vindex.DigestKey(digest(8)).String(), nil, "do not lead to map root"
	v.Proofs = append(v.Proofs, p)

	js, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	return write(filepath.Join("testdata", "vindex.json"), append(js, '\n'))
}
