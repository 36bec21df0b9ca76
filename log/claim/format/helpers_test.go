package format_test

import (
	"bytes"
	"errors"
	"github.com/attestlog/attestlog/internal/tooltest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/attestlog/attestlog/log/claim/format"
	"github.com/attestlog/attestlog/log/claim/scheme"
)

// testdata returns the path of a file under the repository's testdata/formats.
func testdata(parts ...string) string {
	return filepath.Join(append([]string{"..", "..", "..", "testdata", "formats"}, parts...)...)
}

func readFile(t testing.TB, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// needTool skips t when a signing tool is not installed ([tooltest.Need]).
func needTool(t *testing.T, name, pkg string) { t.Helper(); tooltest.Need(t, name, pkg) }

// runTool runs a tool in dir with extra environment ([tooltest.Run]).
func runTool(t *testing.T, dir string, env []string, name string, args ...string) []byte {
	t.Helper()
	return tooltest.Run(t, dir, env, "", name, args...)
}

// wantError checks that err is not nil and contains every one of words.
func wantError(t *testing.T, what string, err error, words ...string) {
	t.Helper()
	if err == nil {
		t.Fatalf("%s: no error, want one mentioning %q", what, words)
	}
	for _, w := range words {
		if !strings.Contains(err.Error(), w) {
			t.Fatalf("%s: error %q does not mention %q", what, err, w)
		}
	}
}

// wantVerify checks that err is a verification failure naming words.
func wantVerify(t *testing.T, what string, err error, words ...string) {
	t.Helper()
	wantError(t, what, err, words...)
	if !errors.Is(err, scheme.ErrVerify) {
		t.Fatalf("%s: error %q does not wrap scheme.ErrVerify", what, err)
	}
}

// wantMalformed checks that err is a malformed-document error naming words.
func wantMalformed(t *testing.T, what string, err error, words ...string) {
	t.Helper()
	wantError(t, what, err, words...)
	if !errors.Is(err, format.ErrMalformed) {
		t.Fatalf("%s: error %q does not wrap format.ErrMalformed", what, err)
	}
}

// flip returns a copy of b with the byte at i changed.
func flip(b []byte, i int) []byte {
	c := bytes.Clone(b)
	c[i] ^= 0x01
	return c
}

// replaceOnce returns b with the first old replaced by new, failing t if
// there is none.
func replaceOnce(t *testing.T, b []byte, old, new string) []byte {
	t.Helper()
	if !bytes.Contains(b, []byte(old)) {
		t.Fatalf("%q not found", old)
	}
	return bytes.Replace(b, []byte(old), []byte(new), 1)
}

func openPGPKey(t *testing.T, path string) *scheme.OpenPGPKey {
	t.Helper()
	keys, err := scheme.ReadOpenPGPKeyring(readFile(t, path))
	if err != nil {
		t.Fatal(err)
	}
	if len(keys) != 1 {
		t.Fatalf("%s: %d certificates, want 1", path, len(keys))
	}
	return keys[0]
}

// clearsignedText returns the text a clearsigned document signs.
func clearsignedText(t testing.TB, doc []byte) []byte {
	t.Helper()
	text, _, err := scheme.ParseClearsigned(doc)
	if err != nil {
		t.Fatal(err)
	}
	return text
}
