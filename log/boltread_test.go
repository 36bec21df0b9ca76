package log_test

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/attestlog/attestlog/log"
	"github.com/attestlog/attestlog/log/logtest"
)

// TestOpenBoltReadOnly: a read-only open is refused while a writer holds
// the store, reads what the writer left, lists its index spaces, refuses
// writes, and leaves the file byte for byte as it was.
func TestOpenBoltReadOnly(t *testing.T) {
	dir := t.TempDir()
	l := logtest.New(t, dir, log.Config{})
	l.Append(t, []byte("not a claim, but an entry\n"))
	if _, err := log.OpenBoltReadOnly(l.Path); err == nil || !strings.Contains(err.Error(), "in use by another process") {
		t.Fatalf("OpenBoltReadOnly of a store in use = %v, want it refused", err)
	}
	want, _ := l.Store.Checkpoint()
	if err := l.Store.Close(); err != nil {
		t.Fatal(err)
	}
	before, err := os.ReadFile(l.Path)
	if err != nil {
		t.Fatal(err)
	}
	s, err := log.OpenBoltReadOnly(l.Path)
	if err != nil {
		t.Fatal(err)
	}
	if got, err := s.Checkpoint(); err != nil || !bytes.Equal(got, want) {
		t.Errorf("Checkpoint = %q, %v; want %q", got, err, want)
	}
	if spaces, err := s.IndexSpaces(); err != nil || len(spaces) != 0 {
		t.Errorf("IndexSpaces of a log without an indexer = %q, %v; want none", spaces, err)
	}
	if err := s.SetWitnessed([]byte("x")); err == nil {
		t.Error("SetWitnessed on a read-only store succeeded")
	}
	s.Close()
	if after, _ := os.ReadFile(l.Path); !bytes.Equal(after, before) {
		t.Error("the read-only open changed the file")
	}
	if _, err := log.OpenBoltReadOnly(filepath.Join(dir, "missing.db")); err == nil {
		t.Error("OpenBoltReadOnly of a missing file succeeded")
	}
}
