package datadir

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"
)

func TestCheckKeyName(t *testing.T) {
	for _, name := range []string{"example.com/attestlog", "localhost/attestlog", "w1.example", "例え.jp/log", "a"} {
		if err := CheckKeyName(name); err != nil {
			t.Errorf("CheckKeyName(%q) = %v, want nil", name, err)
		}
	}
	for _, name := range []string{"", "a b", "a\tb", "a\nb", "a+b", "a\x00b", "a\x7fb", "a\u0085b", "a\u009bb", "a\u202eb", "a\u2066b", "a\u00a0b", "\xff"} {
		if err := CheckKeyName(name); err == nil {
			t.Errorf("CheckKeyName(%q) = nil, want an error", name)
		}
	}
}

// TestDataDirRemovesOnlyWhatItCreated checks Create and
// RemoveCreated directly on the cases serve cannot reach easily: a data
// path under a parent that exists.
func TestDataDirRemovesOnlyWhatItCreated(t *testing.T) {
	dir := t.TempDir()
	d, err := Create(filepath.Join(dir, "a", "b"))
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(dir, "a", "b", "log.db"), []byte("x"))
	if err := d.RemoveCreated(); err != nil {
		t.Fatal(err)
	}
	if ents, _ := os.ReadDir(dir); len(ents) != 0 {
		t.Errorf("after RemoveCreated, %s holds %d entries, want none", dir, len(ents))
	}
	existing := filepath.Join(dir, "x")
	writeFile(t, filepath.Join(existing, "keep"), []byte("keep"))
	d, err = Create(existing)
	if err != nil {
		t.Fatal(err)
	}
	for i := range 3 {
		writeFile(t, filepath.Join(existing, fmt.Sprint(i), "f"), []byte("new"))
	}
	if err := d.RemoveCreated(); err != nil {
		t.Fatal(err)
	}
	if ents, _ := os.ReadDir(existing); len(ents) != 1 || ents[0].Name() != "keep" {
		t.Errorf("after RemoveCreated, %s holds %v, want only keep", existing, ents)
	}
}

func writeFile(t *testing.T, path string, b []byte) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
}
