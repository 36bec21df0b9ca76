package bindiff_test

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/attestlog/attestlog/client/bindiff"
)

func TestFirstDifference(t *testing.T) {
	big := bytes.Repeat([]byte{7}, 200_000)
	changed := bytes.Clone(big)
	changed[70_000] = 8
	for _, tt := range []struct {
		name      string
		a, b      []byte
		wantOff   int64
		wantEqual bool
	}{
		{"both empty", nil, nil, 0, true},
		{"equal", big, big, 200_000, true},
		{"first byte", []byte("a"), []byte("b"), 0, false},
		{"past a buffer", big, changed, 70_000, false},
		{"prefix", big[:100_000], big, 100_000, false},
		{"empty prefix", nil, []byte("x"), 0, false},
		{"longer first", big, big[:65536], 65536, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			off, equal, err := bindiff.FirstDifference(bytes.NewReader(tt.a), bytes.NewReader(tt.b))
			if err != nil || off != tt.wantOff || equal != tt.wantEqual {
				t.Errorf("FirstDifference = %d, %v, %v, want %d, %v", off, equal, err, tt.wantOff, tt.wantEqual)
			}
		})
	}
}

func TestFirstDifferenceReadError(t *testing.T) {
	bad := errors.New("disk on fire")
	_, _, err := bindiff.FirstDifference(bytes.NewReader([]byte("abc")), iotest.ErrReader(bad))
	if !errors.Is(err, bad) {
		t.Errorf("FirstDifference with a failing reader = %v, want %v", err, bad)
	}
}

// FuzzFirstDifference checks FirstDifference against a byte-by-byte loop,
// with readers that return one byte or half a buffer at a time.
func FuzzFirstDifference(f *testing.F) {
	f.Add([]byte("hello world"), []byte("hello"))
	f.Add([]byte(""), []byte(""))
	f.Add([]byte("abc"), []byte("abd"))
	f.Fuzz(func(t *testing.T, a, b []byte) {
		want := int64(0)
		for want < int64(min(len(a), len(b))) && a[want] == b[want] {
			want++
		}
		wantEqual := bytes.Equal(a, b)
		off, equal, err := bindiff.FirstDifference(iotest.OneByteReader(bytes.NewReader(a)), iotest.HalfReader(bytes.NewReader(b)))
		if err != nil || off != want || equal != wantEqual {
			t.Errorf("FirstDifference(%q, %q) = %d, %v, %v, want %d, %v", a, b, off, equal, err, want, wantEqual)
		}
	})
}

func writeFiles(t *testing.T, a, b string) (string, string) {
	t.Helper()
	dir := t.TempDir()
	pa, pb := filepath.Join(dir, "a"), filepath.Join(dir, "b")
	if err := os.WriteFile(pa, []byte(a), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(pb, []byte(b), 0o644); err != nil {
		t.Fatal(err)
	}
	return pa, pb
}

func TestCompareFilesPrefix(t *testing.T) {
	a, b := writeFiles(t, "hello world", "hello")
	c, err := bindiff.CompareFiles(a, b)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := c.Describe(a, b), a+": 11 bytes\n"+b+": 5 bytes\n"+b+" is a prefix of "+a+"\n"; got != want {
		t.Errorf("Describe = %q, want %q", got, want)
	}
}

func TestCompareFiles(t *testing.T) {
	for _, tt := range []struct{ a, b, want string }{
		{"hello", "hello", "A: 5 bytes\nB: 5 bytes\nthe files are identical\n"},
		{"hel", "hello", "A: 3 bytes\nB: 5 bytes\nA is a prefix of B\n"},
		{"hello", "help!", "A: 5 bytes\nB: 5 bytes\nfirst difference at byte offset 3 (0x3)\n"},
		{"", "x", "A: 0 bytes\nB: 1 bytes\nA is a prefix of B\n"},
	} {
		a, b := writeFiles(t, tt.a, tt.b)
		c, err := bindiff.CompareFiles(a, b)
		if err != nil {
			t.Fatal(err)
		}
		if got := c.Describe("A", "B"); got != tt.want {
			t.Errorf("CompareFiles(%q, %q).Describe = %q, want %q", tt.a, tt.b, got, tt.want)
		}
	}
}

func TestCompareFilesMissing(t *testing.T) {
	a, _ := writeFiles(t, "x", "y")
	missing := filepath.Join(t.TempDir(), "missing")
	if _, err := bindiff.CompareFiles(a, missing); !errors.Is(err, os.ErrNotExist) || !strings.Contains(err.Error(), missing) {
		t.Errorf("CompareFiles with a missing file = %v, want an error naming it", err)
	}
}

func TestDiffoscopeNotInstalled(t *testing.T) {
	t.Setenv("PATH", t.TempDir())
	a, b := writeFiles(t, "x", "y")
	if err := bindiff.Diffoscope(context.Background(), a, b, new(bytes.Buffer), new(bytes.Buffer)); !errors.Is(err, bindiff.ErrNoDiffoscope) {
		t.Errorf("Diffoscope without diffoscope in PATH = %v, want ErrNoDiffoscope", err)
	}
}

// TestDiffoscopeExitCodes runs a stand-in diffoscope that exits with the
// code in its environment, as the real one does: 0 for equal files, 1 for
// different ones, 2 when it cannot compare them.
func TestDiffoscopeExitCodes(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("the stand-in diffoscope is a shell script")
	}
	bin := t.TempDir()
	script := "#!/bin/sh\necho \"--- $1\"\necho \"+++ $2\"\necho trouble >&2\nexit $DIFFOSCOPE_EXIT\n"
	if err := os.WriteFile(filepath.Join(bin, "diffoscope"), []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Setenv("PATH", bin)
	a, b := writeFiles(t, "x", "y")
	for _, tt := range []struct {
		exit    string
		wantErr string
	}{{"0", ""}, {"1", ""}, {"2", "diffoscope: exit status 2"}} {
		t.Setenv("DIFFOSCOPE_EXIT", tt.exit)
		var stdout, stderr bytes.Buffer
		err := bindiff.Diffoscope(context.Background(), a, b, &stdout, &stderr)
		if (err == nil) != (tt.wantErr == "") || err != nil && err.Error() != tt.wantErr {
			t.Errorf("exit %s: Diffoscope = %v, want %q", tt.exit, err, tt.wantErr)
		}
		if want := "--- " + a + "\n+++ " + b + "\n"; stdout.String() != want || stderr.String() != "trouble\n" {
			t.Errorf("exit %s: diffoscope's output came through as %q and %q", tt.exit, stdout.String(), stderr.String())
		}
	}
}
