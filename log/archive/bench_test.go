package archive_test

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/attestlog/attestlog/log/archive"
)

// BenchmarkPut measures uploads of 64 MiB: "new" stores them (hash, write,
// fsync, link), "stored" only verifies a stream whose object already exists.
func BenchmarkPut(b *testing.B) {
	data := randomBytes(64<<20, 13)
	digest := hexDigest(data)
	b.Run("new", func(b *testing.B) {
		b.SetBytes(int64(len(data)))
		root := b.TempDir()
		for b.Loop() {
			b.StopTimer()
			dir := filepath.Join(root, "archive")
			a := openArchive(b, dir, archive.Config{})
			b.StartTimer()
			if _, err := a.Put(b.Context(), digest, int64(len(data)), bytes.NewReader(data)); err != nil {
				b.Fatal(err)
			}
			b.StopTimer()
			if err := os.RemoveAll(dir); err != nil {
				b.Fatal(err)
			}
			b.StartTimer()
		}
	})
	b.Run("stored", func(b *testing.B) {
		b.SetBytes(int64(len(data)))
		a := openArchive(b, b.TempDir(), archive.Config{})
		put(b, a, data)
		for b.Loop() {
			if _, err := a.Put(b.Context(), digest, int64(len(data)), bytes.NewReader(data)); err != nil {
				b.Fatal(err)
			}
		}
	})
}
