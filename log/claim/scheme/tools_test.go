package scheme_test

import (
	"bytes"
	"errors"
	"github.com/attestlog/attestlog/internal/tooltest"
	"os"
	"strings"
	"testing"

	"github.com/attestlog/attestlog/log/claim/scheme"
)

// needTool skips t when a signing tool is not installed ([tooltest.Need]).
func needTool(t *testing.T, name, pkg string) { t.Helper(); tooltest.Need(t, name, pkg) }

// runTool runs a tool in dir with extra environment and stdin ([tooltest.Run]).
func runTool(t *testing.T, dir string, env []string, stdin string, name string, args ...string) []byte {
	t.Helper()
	return tooltest.Run(t, dir, env, stdin, name, args...)
}

func readFile(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// flip returns a copy of b with the byte at i (from the end if negative)
// changed.
func flip(b []byte, i int) []byte {
	c := bytes.Clone(b)
	if i < 0 {
		i += len(c)
	}
	c[i] ^= 0x01
	return c
}

// wantVerify checks that err is a verification failure (wrapping
// scheme.ErrVerify) whose message contains every one of words.
func wantVerify(t *testing.T, what string, err error, words ...string) {
	t.Helper()
	if err == nil {
		t.Fatalf("%s: verified, want an error", what)
	}
	if !errors.Is(err, scheme.ErrVerify) {
		t.Fatalf("%s: error %q does not wrap ErrVerify", what, err)
	}
	wantWords(t, what, err, words...)
}

// wantError checks that err is not nil and contains every one of words.
func wantError(t *testing.T, what string, err error, words ...string) {
	t.Helper()
	if err == nil {
		t.Fatalf("%s: no error, want one", what)
	}
	wantWords(t, what, err, words...)
}

func wantWords(t *testing.T, what string, err error, words ...string) {
	t.Helper()
	for _, w := range words {
		if !strings.Contains(err.Error(), w) {
			t.Fatalf("%s: error %q does not mention %q", what, err, w)
		}
	}
}

// roundTrip checks that v's text parses back to a verifier with the same
// scheme, key ID and text, and returns it.
func roundTrip(t *testing.T, v scheme.Verifier) scheme.Verifier {
	t.Helper()
	text := scheme.Format(v)
	w, err := scheme.ParseVerifier(text)
	if err != nil {
		t.Fatalf("ParseVerifier(Format(%s key %s)): %v", v.Scheme(), v.KeyID(), err)
	}
	if w.Scheme() != v.Scheme() || w.KeyID() != v.KeyID() || scheme.Format(w) != text {
		t.Fatalf("ParseVerifier(%q) = %s %s %q, want the same key", text, w.Scheme(), w.KeyID(), scheme.Format(w))
	}
	return w
}
