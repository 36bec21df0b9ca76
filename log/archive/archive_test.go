package archive_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"testing"

	"github.com/attestlog/attestlog/log/archive"
)

// randomBytes returns n deterministic pseudo-random bytes.
func randomBytes(n int, seed byte) []byte {
	b := make([]byte, n)
	rand.NewChaCha8([32]byte{seed}).Read(b)
	return b
}

func hexDigest(b []byte) string {
	d := sha256.Sum256(b)
	return hex.EncodeToString(d[:])
}

func openArchive(t testing.TB, dir string, cfg archive.Config) *archive.Archive {
	t.Helper()
	a, err := archive.Open(dir, cfg)
	if err != nil {
		t.Fatalf("Open(%s): %v", dir, err)
	}
	return a
}

func put(t testing.TB, a *archive.Archive, data []byte) archive.Result {
	t.Helper()
	res, err := a.Put(context.Background(), hexDigest(data), int64(len(data)), bytes.NewReader(data))
	if err != nil {
		t.Fatalf("Put(%d bytes): %v", len(data), err)
	}
	return res
}

// tree lists every path under dir, with its mode, and for files its size and
// sha256, so that tests can assert a tree is unchanged byte for byte.
func tree(t testing.TB, dir string) map[string]string {
	t.Helper()
	out := make(map[string]string)
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		fi, err := d.Info()
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, path)
		desc := fi.Mode().String()
		if fi.Mode().IsRegular() {
			b, err := os.ReadFile(path)
			if err != nil {
				return err
			}
			desc += fmt.Sprintf(" %d %s", fi.Size(), hexDigest(b))
		}
		out[rel] = desc
		return nil
	})
	if err != nil {
		t.Fatalf("listing %s: %v", dir, err)
	}
	return out
}

func assertSameTree(t testing.TB, before, after map[string]string) {
	t.Helper()
	for _, p := range slices.Sorted(maps.Keys(after)) {
		if b, ok := before[p]; !ok {
			t.Errorf("new path %s (%s)", p, after[p])
		} else if b != after[p] {
			t.Errorf("%s changed: %s -> %s", p, b, after[p])
		}
	}
	for _, p := range slices.Sorted(maps.Keys(before)) {
		if _, ok := after[p]; !ok {
			t.Errorf("removed path %s (%s)", p, before[p])
		}
	}
}

// objectFiles returns the regular files under dir/objects.
func objectFiles(t testing.TB, dir string) []string {
	t.Helper()
	var files []string
	for p, desc := range tree(t, filepath.Join(dir, "objects")) {
		if desc[0] == '-' {
			files = append(files, p)
		}
	}
	return files
}

func assertTmpEmpty(t testing.TB, dir string) {
	t.Helper()
	entries, err := os.ReadDir(filepath.Join(dir, "tmp"))
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 0 {
		t.Errorf("tmp/ holds %d entries, want none", len(entries))
	}
}

func readObject(t testing.TB, a *archive.Archive, digest string) []byte {
	t.Helper()
	o, err := a.Get(digest)
	if err != nil {
		t.Fatalf("Get(%s): %v", digest, err)
	}
	defer o.Close()
	b, err := io.ReadAll(o)
	if err != nil {
		t.Fatalf("reading %s: %v", digest, err)
	}
	if o.Size() != int64(len(b)) {
		t.Errorf("Size() = %d, read %d bytes", o.Size(), len(b))
	}
	return b
}

func TestRoundTrip(t *testing.T) {
	for _, tc := range []struct {
		name string
		size int
		seed byte
		// declare passes the size to Put; otherwise Put is told -1.
		declare bool
	}{
		{"empty", 0, 1, true},
		{"empty unknown size", 0, 1, false},
		{"one byte", 1, 2, true},
		{"1 MiB", 1 << 20, 3, true},
		{"1 MiB unknown size", 1 << 20, 3, false},
		{"3 MiB and 17 bytes", 3<<20 + 17, 4, true},
		{"5 MiB unknown size", 5 << 20, 5, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			a := openArchive(t, dir, archive.Config{})
			data := randomBytes(tc.size, tc.seed)
			digest := hexDigest(data)
			size := int64(-1)
			if tc.declare {
				size = int64(len(data))
			}
			res, err := a.Put(t.Context(), digest, size, bytes.NewReader(data))
			if err != nil {
				t.Fatalf("Put: %v", err)
			}
			if want := (archive.Result{Digest: sha256.Sum256(data), Size: int64(len(data))}); res != want {
				t.Errorf("Put = %+v, want %+v", res, want)
			}
			if got := readObject(t, a, digest); !bytes.Equal(got, data) {
				t.Errorf("Get returned %d bytes that differ from the %d uploaded", len(got), len(data))
			}
			if n, ok, err := a.Stat(digest); err != nil || !ok || n != int64(len(data)) {
				t.Errorf("Stat = %d, %v, %v; want %d, true, nil", n, ok, err, len(data))
			}
			want := filepath.Join(digest[0:2], digest[2:4], digest)
			if files := objectFiles(t, dir); !slices.Equal(files, []string{want}) {
				t.Errorf("objects/ holds %q, want %q", files, want)
			}
			assertTmpEmpty(t, dir)
		})
	}
}

func TestObjectDigest(t *testing.T) {
	a := openArchive(t, t.TempDir(), archive.Config{})
	data := []byte("artifact")
	put(t, a, data)
	o, err := a.Get(hexDigest(data))
	if err != nil {
		t.Fatal(err)
	}
	defer o.Close()
	if got := o.Digest().String(); got != hexDigest(data) {
		t.Errorf("Digest() = %s, want %s", got, hexDigest(data))
	}
}

func TestModes(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data", "archive")
	a := openArchive(t, dir, archive.Config{})
	for i := range 3 {
		put(t, a, randomBytes(100, byte(i)))
	}
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		fi, err := d.Info()
		if err != nil {
			return err
		}
		want := fs.ModeDir | 0o700
		if fi.Mode().IsRegular() {
			want = 0o444
		}
		if fi.Mode() != want {
			t.Errorf("%s has mode %v, want %v", path, fi.Mode(), want)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestStoredOnce(t *testing.T) {
	dir := t.TempDir()
	a := openArchive(t, dir, archive.Config{})
	data := randomBytes(300<<10, 7)
	if res := put(t, a, data); res.AlreadyStored {
		t.Errorf("first Put: AlreadyStored = true")
	}
	path := filepath.Join(dir, "objects", objectFiles(t, dir)[0])
	first, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	before := tree(t, dir)
	for _, size := range []int64{int64(len(data)), -1} {
		res, err := a.Put(t.Context(), hexDigest(data), size, bytes.NewReader(data))
		if err != nil {
			t.Fatalf("Put again (size %d): %v", size, err)
		}
		if want := (archive.Result{Digest: sha256.Sum256(data), Size: int64(len(data)), AlreadyStored: true}); res != want {
			t.Errorf("Put again (size %d) = %+v, want %+v", size, res, want)
		}
	}
	assertSameTree(t, before, tree(t, dir))
	again, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if !os.SameFile(first, again) {
		t.Errorf("the stored object was replaced")
	}
}

// gate blocks each reader's first Read until every reader has reached it.
type gate struct {
	arrive sync.WaitGroup
	open   chan struct{}
}

type gatedReader struct {
	g    *gate
	once sync.Once
	r    io.Reader
}

func (r *gatedReader) Read(p []byte) (int, error) {
	r.once.Do(func() {
		r.g.arrive.Done()
		<-r.g.open
	})
	return r.r.Read(p)
}

func TestConcurrentPuts(t *testing.T) {
	const n = 8
	dir := t.TempDir()
	a := openArchive(t, dir, archive.Config{})
	data := randomBytes(1<<20+5, 8)
	// Every Put is past its check for an existing object before any of them
	// reads a byte, so all of them race to link the object into place.
	g := &gate{open: make(chan struct{})}
	g.arrive.Add(n)
	go func() { g.arrive.Wait(); close(g.open) }()
	results := make([]archive.Result, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			r := &gatedReader{g: g, r: bytes.NewReader(data)}
			results[i], errs[i] = a.Put(t.Context(), hexDigest(data), int64(len(data)), r)
			r.once.Do(g.arrive.Done) // a Put that never read must not hold the others
		})
	}
	wg.Wait()
	stored := 0
	for i := range n {
		if errs[i] != nil {
			t.Errorf("Put %d: %v", i, errs[i])
		}
		if !results[i].AlreadyStored {
			stored++
		}
	}
	if stored != 1 {
		t.Errorf("%d Puts stored the object, want exactly 1", stored)
	}
	if files := objectFiles(t, dir); len(files) != 1 {
		t.Errorf("objects/ holds %q, want one object", files)
	}
	assertTmpEmpty(t, dir)
	if got := readObject(t, a, hexDigest(data)); !bytes.Equal(got, data) {
		t.Errorf("stored object differs from the upload")
	}
}

func TestOpenRemovesUnfinishedUploads(t *testing.T) {
	dir := t.TempDir()
	a := openArchive(t, dir, archive.Config{})
	data := []byte("kept")
	put(t, a, data)
	objects := tree(t, filepath.Join(dir, "objects"))
	tmp := filepath.Join(dir, "tmp")
	for name, mode := range map[string]os.FileMode{"abc.123": 0o600, "abc.456": 0o444} {
		if err := os.WriteFile(filepath.Join(tmp, name), []byte("partial"), mode); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.MkdirAll(filepath.Join(tmp, "stray", "dir"), 0o700); err != nil {
		t.Fatal(err)
	}
	a = openArchive(t, dir, archive.Config{})
	assertTmpEmpty(t, dir)
	assertSameTree(t, objects, tree(t, filepath.Join(dir, "objects")))
	if got := readObject(t, a, hexDigest(data)); !bytes.Equal(got, data) {
		t.Errorf("Get after reopening = %q, want %q", got, data)
	}
}

func TestOpenNegativeMaxSize(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "archive")
	if _, err := archive.Open(dir, archive.Config{MaxSize: -1}); err == nil {
		t.Errorf("Open with MaxSize -1 succeeded")
	}
}

func TestGetCorrupt(t *testing.T) {
	data := randomBytes(200<<10, 9)
	for _, tc := range []struct {
		name   string
		tamper func(path string) error
		// atOpen is true if Get itself fails, not the object's reader.
		atOpen bool
	}{
		{"flipped byte", func(path string) error {
			b, err := os.ReadFile(path)
			if err != nil {
				return err
			}
			b[len(b)/2] ^= 0x01
			return os.WriteFile(path, b, 0o444)
		}, false},
		{"truncated", func(path string) error { return os.Truncate(path, int64(len(data)-1)) }, false},
		{"emptied", func(path string) error { return os.Truncate(path, 0) }, false},
		{"extended", func(path string) error {
			f, err := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
			if err != nil {
				return err
			}
			_, err = f.Write([]byte{0})
			return errors.Join(err, f.Close())
		}, false},
		{"replaced by a directory", func(path string) error {
			return errors.Join(os.Remove(path), os.Mkdir(path, 0o700))
		}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			a := openArchive(t, dir, archive.Config{})
			put(t, a, data)
			path := filepath.Join(dir, "objects", objectFiles(t, dir)[0])
			if err := os.Chmod(path, 0o644); err != nil {
				t.Fatal(err)
			}
			if err := tc.tamper(path); err != nil {
				t.Fatal(err)
			}
			o, err := a.Get(hexDigest(data))
			if tc.atOpen {
				if !errors.Is(err, archive.ErrCorrupt) {
					t.Fatalf("Get = %v, want ErrCorrupt", err)
				}
				return
			}
			if err != nil {
				t.Fatalf("Get: %v", err)
			}
			defer o.Close()
			_, err = io.Copy(io.Discard, o)
			if !errors.Is(err, archive.ErrCorrupt) {
				t.Fatalf("reading a tampered object: %v, want ErrCorrupt", err)
			}
			if _, again := o.Read(make([]byte, 1)); !errors.Is(again, archive.ErrCorrupt) {
				t.Errorf("Read after ErrCorrupt = %v, want ErrCorrupt again", again)
			}
		})
	}
}

func TestNotFound(t *testing.T) {
	a := openArchive(t, t.TempDir(), archive.Config{})
	missing := hexDigest([]byte("never uploaded"))
	_, err := a.Get(missing)
	if !errors.Is(err, archive.ErrNotFound) || !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("Get(missing) = %v, want ErrNotFound and fs.ErrNotExist", err)
	}
	if n, ok, err := a.Stat(missing); n != 0 || ok || err != nil {
		t.Errorf("Stat(missing) = %d, %v, %v; want 0, false, nil", n, ok, err)
	}
}

func TestGetStatMalformedDigest(t *testing.T) {
	a := openArchive(t, t.TempDir(), archive.Config{})
	data := []byte("x")
	put(t, a, data)
	for _, s := range malformedDigests(hexDigest(data)) {
		if _, err := a.Get(s); !errors.Is(err, archive.ErrMalformedDigest) {
			t.Errorf("Get(%q) = %v, want ErrMalformedDigest", s, err)
		}
		if _, _, err := a.Stat(s); !errors.Is(err, archive.ErrMalformedDigest) {
			t.Errorf("Stat(%q) = %v, want ErrMalformedDigest", s, err)
		}
	}
}
