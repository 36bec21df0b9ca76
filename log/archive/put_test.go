package archive_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/attestlog/attestlog/log/archive"
)

// malformedDigests returns spellings of the digest good that ParseDigest
// must refuse.
func malformedDigests(good string) map[string]string {
	return map[string]string{
		"uppercase":     strings.ToUpper(good),
		"one uppercase": "A" + good[1:],
		"63 digits":     good[:63],
		"65 digits":     good + "0",
		"sha256 prefix": "sha256:" + good,
		"non-hex":       "g" + good[1:],
		"space":         " " + good[1:],
		"empty":         "",
	}
}

// cancelAfterRead cancels a context once its first Read has returned.
type cancelAfterRead struct {
	r      io.Reader
	cancel context.CancelFunc
}

func (c *cancelAfterRead) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.cancel()
	return n, err
}

func TestPutRefused(t *testing.T) {
	const maxSize = 1 << 20
	data := randomBytes(300<<10, 10) // more than one read buffer
	other := randomBytes(300<<10, 11)
	huge := randomBytes(maxSize+1, 12)
	errReset := errors.New("connection reset")
	whole := func(b []byte) func(context.CancelFunc) io.Reader {
		return func(context.CancelFunc) io.Reader { return bytes.NewReader(b) }
	}
	type testCase struct {
		name   string
		stored bool // the good artifact is stored before the failed Put
		digest string
		size   int64
		body   func(cancel context.CancelFunc) io.Reader
		want   error
	}
	tests := []testCase{
		{"wrong digest", false, hexDigest(other), int64(len(data)), whole(data), archive.ErrDigestMismatch},
		{"wrong digest, unknown size", false, hexDigest(other), -1, whole(data), archive.ErrDigestMismatch},
		{"wrong digest, already stored", true, hexDigest(data), int64(len(other)), whole(other), archive.ErrDigestMismatch},
		{"over MaxSize", false, hexDigest(huge), -1, whole(huge), archive.ErrTooLarge},
		{"over MaxSize declared", false, hexDigest(huge), int64(len(huge)), whole(huge), archive.ErrTooLarge},
		{"over MaxSize declared, short body", false, hexDigest(data), maxSize + 1, whole(data), archive.ErrTooLarge},
		{"truncated", false, hexDigest(data), int64(len(data)) + 1, whole(data), archive.ErrTruncated},
		{"truncated, already stored", true, hexDigest(data), int64(len(data)) + 1, whole(data), archive.ErrTruncated},
		{"empty body", false, hexDigest(data), int64(len(data)), whole(nil), archive.ErrTruncated},
		{"longer than declared", false, hexDigest(data), int64(len(data)) - 1, whole(data), archive.ErrSizeMismatch},
		{"longer than declared zero", false, hexDigest(data), 0, whole(data), archive.ErrSizeMismatch},
		{"longer than declared, already stored", true, hexDigest(data), int64(len(data)) - 1, whole(data), archive.ErrSizeMismatch},
		{"invalid declared size", false, hexDigest(data), -2, whole(data), archive.ErrInvalidSize},
		{"reader error mid-stream", false, hexDigest(data), int64(len(data)), func(context.CancelFunc) io.Reader {
			return io.MultiReader(bytes.NewReader(data[:200<<10]), iotest.ErrReader(errReset))
		}, errReset},
		{"reader error mid-stream, already stored", true, hexDigest(data), int64(len(data)), func(context.CancelFunc) io.Reader {
			return io.MultiReader(bytes.NewReader(data[:200<<10]), iotest.ErrReader(errReset))
		}, errReset},
		{"reader error with the last bytes", false, hexDigest(data), int64(len(data)), func(context.CancelFunc) io.Reader {
			return iotest.DataErrReader(io.MultiReader(bytes.NewReader(data), iotest.ErrReader(errReset)))
		}, errReset},
		{"ctx cancelled mid-stream", false, hexDigest(data), int64(len(data)), func(cancel context.CancelFunc) io.Reader {
			return &cancelAfterRead{bytes.NewReader(data), cancel}
		}, context.Canceled},
		{"ctx cancelled mid-stream, already stored", true, hexDigest(data), int64(len(data)), func(cancel context.CancelFunc) io.Reader {
			return &cancelAfterRead{bytes.NewReader(data), cancel}
		}, context.Canceled},
		{"ctx cancelled before", false, hexDigest(data), int64(len(data)), func(cancel context.CancelFunc) io.Reader {
			cancel()
			return bytes.NewReader(data)
		}, context.Canceled},
	}
	for name, s := range malformedDigests(hexDigest(data)) {
		tests = append(tests, testCase{"malformed digest: " + name, false, s, int64(len(data)), whole(data), archive.ErrMalformedDigest})
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			a := openArchive(t, dir, archive.Config{MaxSize: maxSize})
			if tc.stored {
				put(t, a, data)
			}
			before := tree(t, dir)
			ctx, cancel := context.WithCancel(t.Context())
			defer cancel()
			res, err := a.Put(ctx, tc.digest, tc.size, tc.body(cancel))
			if !errors.Is(err, tc.want) {
				t.Errorf("Put = %v, want %v", err, tc.want)
			}
			if err != nil && !strings.HasPrefix(err.Error(), "archive: ") {
				t.Errorf("error %q does not start with %q", err, "archive: ")
			}
			if res != (archive.Result{}) {
				t.Errorf("Put returned %+v with its error, want a zero Result", res)
			}
			assertSameTree(t, before, tree(t, dir))
		})
	}
}

func TestDigestMismatchNamesBothDigests(t *testing.T) {
	a := openArchive(t, t.TempDir(), archive.Config{})
	claimed, sent := hexDigest([]byte("claimed")), []byte("sent")
	_, err := a.Put(t.Context(), claimed, -1, bytes.NewReader(sent))
	if !errors.Is(err, archive.ErrDigestMismatch) {
		t.Fatalf("Put = %v, want ErrDigestMismatch", err)
	}
	for _, d := range []string{claimed, hexDigest(sent)} {
		if !strings.Contains(err.Error(), d) {
			t.Errorf("error %q does not name %s", err, d)
		}
	}
}

// TestPutRepairsCorrupt damages a stored object in several ways: uploading
// the wrong bytes again must not touch it, and uploading the right bytes
// must replace it, where it used to answer "already stored" and keep the
// damaged file for ever.
func TestPutRepairsCorrupt(t *testing.T) {
	data := randomBytes(300<<10, 11)
	for _, tc := range []struct {
		name   string
		tamper func(path string) error
	}{
		{"flipped byte", func(path string) error {
			b, err := os.ReadFile(path)
			if err != nil {
				return err
			}
			b[len(b)/2] ^= 0x01
			return os.WriteFile(path, b, 0o444)
		}},
		{"truncated", func(path string) error { return os.Truncate(path, 100) }},
		{"replaced by a directory", func(path string) error { return errors.Join(os.Remove(path), os.Mkdir(path, 0o700)) }},
		{"replaced by a symlink", func(path string) error {
			other := filepath.Join(filepath.Dir(path), "other")
			return errors.Join(os.WriteFile(other, []byte("other"), 0o444), os.Remove(path), os.Symlink(other, path))
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			var logs bytes.Buffer
			a := openArchive(t, dir, archive.Config{Logger: slog.New(slog.NewTextHandler(&logs, nil))})
			put(t, a, data)
			path := filepath.Join(dir, "objects", objectFiles(t, dir)[0])
			if err := os.Chmod(path, 0o644); err != nil {
				t.Fatal(err)
			}
			if err := tc.tamper(path); err != nil {
				t.Fatal(err)
			}
			damaged := tree(t, dir)
			wrong := bytes.Clone(data)
			wrong[0] ^= 0xff
			if _, err := a.Put(t.Context(), hexDigest(data), int64(len(wrong)), bytes.NewReader(wrong)); !errors.Is(err, archive.ErrDigestMismatch) {
				t.Fatalf("Put of other bytes = %v, want ErrDigestMismatch", err)
			}
			assertSameTree(t, damaged, tree(t, dir))

			res := put(t, a, data)
			if !res.Repaired || res.AlreadyStored {
				t.Fatalf("re-upload of the right bytes: %+v, want Repaired and not AlreadyStored", res)
			}
			if got := readObject(t, a, hexDigest(data)); !bytes.Equal(got, data) {
				t.Fatalf("repaired object reads back %d other bytes", len(got))
			}
			fi, err := os.Lstat(path)
			if err != nil || !fi.Mode().IsRegular() || fi.Mode().Perm() != 0o444 {
				t.Fatalf("repaired object: %v, %v; want a regular file, mode 0444", fi.Mode(), err)
			}
			assertTmpEmpty(t, dir)
			if !strings.Contains(logs.String(), "level=WARN msg=\"replaced a corrupt archived object") || !strings.Contains(logs.String(), hexDigest(data)) {
				t.Errorf("no WARN naming the repaired object in the logs:\n%s", logs.String())
			}
			if res := put(t, a, data); !res.AlreadyStored || res.Repaired {
				t.Errorf("upload after the repair: %+v, want AlreadyStored", res)
			}
		})
	}
}

// TestPutKeepsIntactObject checks that an upload of an intact object's
// bytes never replaces its file.
func TestPutKeepsIntactObject(t *testing.T) {
	dir := t.TempDir()
	a := openArchive(t, dir, archive.Config{})
	data := randomBytes(100<<10, 12)
	put(t, a, data)
	path := filepath.Join(dir, "objects", objectFiles(t, dir)[0])
	before, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if res := put(t, a, data); !res.AlreadyStored || res.Repaired {
		t.Fatalf("second upload: %+v, want AlreadyStored", res)
	}
	after, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if !os.SameFile(before, after) {
		t.Errorf("an upload replaced an intact object's file")
	}
}

// TestConcurrentRepairs races uploads of the right bytes for a corrupt
// object: all succeed, exactly one replaces it, and the object ends intact.
func TestConcurrentRepairs(t *testing.T) {
	dir := t.TempDir()
	a := openArchive(t, dir, archive.Config{})
	data := randomBytes(200<<10, 13)
	put(t, a, data)
	path := filepath.Join(dir, "objects", objectFiles(t, dir)[0])
	if err := errors.Join(os.Chmod(path, 0o644), os.Truncate(path, 10)); err != nil {
		t.Fatal(err)
	}
	results := make(chan archive.Result, 8)
	for range cap(results) {
		go func() {
			res, err := a.Put(t.Context(), hexDigest(data), int64(len(data)), bytes.NewReader(data))
			if err != nil {
				t.Error(err)
			}
			results <- res
		}()
	}
	repaired := 0
	for range cap(results) {
		if res := <-results; res.Repaired {
			repaired++
		} else if !res.AlreadyStored {
			t.Errorf("a concurrent upload neither repaired nor found the object: %+v", res)
		}
	}
	if repaired != 1 {
		t.Errorf("%d uploads replaced the object, want exactly 1", repaired)
	}
	if got := readObject(t, a, hexDigest(data)); !bytes.Equal(got, data) {
		t.Errorf("object reads back %d other bytes", len(got))
	}
	assertTmpEmpty(t, dir)
}
