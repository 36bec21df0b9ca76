// Package logtest runs an in-process log for other packages' tests: bbolt in
// t.TempDir, a fixed checkpoint key, the sequencer running until the test ends.
// Import it only from _test.go files.
package logtest

import (
	"bytes"
	"context"
	"path/filepath"
	"testing"

	"github.com/attestlog/attestlog/log"
	"golang.org/x/mod/sumdb/note"
)

// Origin is the origin, and checkpoint key name, of every test log.
const Origin = "example.test/attestlog"

// Keys returns the fixed signed-note key pair of test logs named name.
func Keys(name string) (skey, vkey string) {
	skey, vkey, err := note.GenerateKey(bytes.NewReader(bytes.Repeat([]byte{42}, 32)), name)
	if err != nil {
		panic(err)
	}
	return skey, vkey
}

// A Log is a running test log.
type Log struct {
	*log.Log
	Store    *log.BoltStore
	Verifier note.Verifier // verifies the log's checkpoints
	Path     string        // the bbolt file
}

// New opens (or reopens) a log in dir, or in a new t.TempDir() if dir is
// empty, and runs its sequencer until the test ends. cfg may set queue and
// batch sizes; Origin, Signer and Store are filled in.
func New(t testing.TB, dir string, cfg log.Config) *Log {
	t.Helper()
	if dir == "" {
		dir = t.TempDir()
	}
	skey, vkey := Keys(Origin)
	signer, err := note.NewSigner(skey)
	if err != nil {
		t.Fatal(err)
	}
	verifier, err := note.NewVerifier(vkey)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "log.db")
	store, err := log.OpenBolt(path)
	if err != nil {
		t.Fatal(err)
	}
	cfg.Origin, cfg.Signer, cfg.Store = Origin, signer, store
	l, err := log.New(cfg)
	if err != nil {
		store.Close()
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() }) // registered first, so it runs after the sequencer stopped
	Run(t, l)
	return &Log{Log: l, Store: store, Verifier: verifier, Path: path}
}

// Run runs l's sequencer until the test ends, and fails the test if it
// returns an error.
func Run(t testing.TB, l *log.Log) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- l.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("log.Run: %v", err)
		}
	})
}

// Append adds entries concurrently, so that they share sequencing batches,
// and returns their indexes. It fails the test on any error.
func (l *Log) Append(t testing.TB, entries ...[]byte) []int64 {
	t.Helper()
	waits := make([]func(context.Context) (int64, error), len(entries))
	for i, e := range entries {
		waits[i] = l.Add(e)
	}
	out := make([]int64, len(entries))
	for i, w := range waits {
		idx, err := w(context.Background())
		if err != nil {
			t.Fatalf("appending entry %d: %v", i, err)
		}
		out[i] = idx
	}
	return out
}
