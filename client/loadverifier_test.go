package client_test

import (
	"crypto/rand"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/attestlog/attestlog/client"
	"golang.org/x/mod/sumdb/note"
)

func TestLoadVerifier(t *testing.T) {
	_, vkey, err := note.GenerateKey(rand.Reader, "example.com/log")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	file, bad := filepath.Join(dir, "log.vkey"), filepath.Join(dir, "bad.vkey")
	if err := os.WriteFile(file, []byte("\n"+vkey+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(bad, []byte("not a key\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{vkey, file} {
		if v, err := client.LoadVerifier(s); err != nil || v.Name() != "example.com/log" {
			t.Errorf("LoadVerifier(%q) = %v, %v, want the verifier of example.com/log", s, v, err)
		}
	}
	for s, want := range map[string]string{filepath.Join(dir, "none"): "neither a verifier key nor a readable file", bad: bad + ": "} {
		if _, err := client.LoadVerifier(s); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("LoadVerifier(%q) = %v, want an error containing %q", s, err, want)
		}
	}
}
