package forensics

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/attestlog/attestlog/client/report"
)

// fakeArchive serves binaries by digest; a digest mapped to other bytes
// is a log that sends the wrong ones.
type fakeArchive map[string][]byte

func (f fakeArchive) Artifact(_ context.Context, digest string) (int64, io.ReadCloser, error) {
	b, ok := f[digest]
	if !ok {
		return 0, nil, ErrNotArchived
	}
	return int64(len(b)), io.NopCloser(bytes.NewReader(b)), nil
}

func TestPull(t *testing.T) {
	good, other := hexSum("good"), hexSum("other")
	missing := hexSum("missing")
	src := fakeArchive{good: []byte("good"), other: []byte("not other")}
	m := report.Mismatch{Artifact: "hello", Digests: []report.MismatchDigest{{SHA256: good}, {SHA256: other}, {SHA256: missing}}}
	dir := t.TempDir()
	var out, warn bytes.Buffer
	var progressed int
	p := Puller{Source: src, Out: &out, Warn: &warn, Progress: func(name string, size int64) (io.Writer, func()) {
		return io.Discard, func() { progressed++ }
	}}
	paths, err := p.Pull(t.Context(), dir, m)
	if err == nil || !strings.Contains(err.Error(), "1 of 3 artifacts could not be pulled: sha256 "+other) {
		t.Errorf("Pull = %v, want an error naming the bad artifact", err)
	}
	want := filepath.Join(dir, "artifacts", good, "hello")
	if len(paths) != 1 || paths[0] != want {
		t.Errorf("Pull wrote %q, want only %s", paths, want)
	}
	if b, err := os.ReadFile(want); err != nil || string(b) != "good" {
		t.Errorf("%s = %q, %v", want, b, err)
	}
	if ents, err := os.ReadDir(filepath.Join(dir, "artifacts", other)); err != nil || len(ents) != 0 {
		t.Errorf("the bad artifact left %v (%v), want nothing", ents, err)
	}
	if !strings.Contains(out.String(), "not in the archive: sha256 "+missing) || !strings.Contains(warn.String(), "could not pull sha256 "+other) {
		t.Errorf("Pull printed\n%s\nand warned\n%s", out.String(), warn.String())
	}
	if progressed != 2 {
		t.Errorf("progress ended %d times, want 2 (one per download started)", progressed)
	}
	if _, err := p.Pull(t.Context(), dir, report.Mismatch{Artifact: "../x"}); err == nil {
		t.Errorf("Pull of an artifact named ../x succeeded")
	}
	if _, err := (Puller{Source: src}).Download(t.Context(), missing, filepath.Join(dir, "m")); !errors.Is(err, ErrNotArchived) {
		t.Errorf("Download of a binary not archived = %v, want ErrNotArchived", err)
	}
}
