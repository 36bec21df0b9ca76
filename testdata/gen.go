//go:build ignore

// gen writes the shared test vectors: the tlog-tiles resources of a fixed
// log of 600 entries (testdata/log/) and inclusion and consistency proofs in
// it (testdata/proofs.json). Everything is deterministic: fixed entries, the
// fixed logtest key, deterministic Ed25519. Run from the repository root:
//
//	go run ./testdata/gen.go
//
// CI runs it and fails if the output differs from what is committed.
package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"

	"github.com/attestlog/attestlog/log"
	"github.com/attestlog/attestlog/log/logtest"
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
	if err := run(); err != nil {
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
