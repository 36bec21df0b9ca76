package forensics

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/attestlog/attestlog/client/bindiff"
	"github.com/attestlog/attestlog/client/report"
)

// ErrNotArchived means the log's archive does not hold an artifact.
var ErrNotArchived = errors.New("not in the archive")

// An ArtifactSource reads binaries from a log's archive. Implementations
// MUST be safe for concurrent use.
type ArtifactSource interface {
	// Artifact returns the size the log announced for the binary with the
	// given sha256 and a reader of its bytes, which fails if the log sends
	// more or fewer bytes than that; or an error wrapping [ErrNotArchived]
	// if the archive does not hold it. The caller closes the reader.
	Artifact(ctx context.Context, sha256 string) (size int64, r io.ReadCloser, err error)
}

// A Puller downloads the binaries of a mismatch, verifying each one's
// digest.
type Puller struct {
	Source ArtifactSource
	Out    io.Writer // a line per binary downloaded or not archived
	Warn   io.Writer // a line per binary that could not be pulled
	// Progress, if not nil, is called as each download starts; the bytes
	// downloaded are written to w, and done is called at its end.
	Progress func(name string, size int64) (w io.Writer, done func())
}

// Pull downloads every digest of m that the archive holds into
// dir/artifacts/<sha256>/<artifact>, and reports the others on p.Out. It
// goes on past an artifact that fails to download, says so on p.Warn, and
// returns the paths written with an error naming every failed digest: a
// bad artifact does not stop the others, since evidence is worth having
// even when one binary of it cannot be had.
func (p Puller) Pull(ctx context.Context, dir string, m report.Mismatch) ([]string, error) {
	if filepath.Base(m.Artifact) != m.Artifact || m.Artifact == "." || m.Artifact == ".." {
		return nil, fmt.Errorf("artifact name %q is not a file name", m.Artifact) // checked by claim.ParseStatement too
	}
	var paths, failed []string
	for _, d := range m.Digests {
		dst := filepath.Join(dir, "artifacts", d.SHA256, m.Artifact)
		n, err := p.Download(ctx, d.SHA256, dst)
		if errors.Is(err, ErrNotArchived) {
			fmt.Fprintf(p.Out, "not in the archive: sha256 %s\n", report.TermSafe(d.SHA256))
			continue
		} else if err != nil {
			if ctx.Err() != nil {
				return paths, fmt.Errorf("downloading sha256 %s: %w", d.SHA256, err)
			}
			fmt.Fprintf(p.Warn, "attestlog: could not pull sha256 %s (kept nothing of it): %s\n", report.TermSafe(d.SHA256), report.TermSafeText(err.Error()))
			failed = append(failed, d.SHA256)
			continue
		}
		fmt.Fprintf(p.Out, "downloaded %s (%d bytes, sha256 verified)\n", report.TermSafe(dst), n)
		paths = append(paths, dst)
	}
	if len(failed) > 0 {
		return paths, fmt.Errorf("%d of %d artifacts could not be pulled: sha256 %s", len(failed), len(m.Digests), strings.Join(failed, ", "))
	}
	return paths, nil
}

// Download writes the binary with the given sha256 to dst, verifying its
// digest; on any failure it leaves nothing at dst.
func (p Puller) Download(ctx context.Context, digest, dst string) (n int64, err error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	size, r, err := p.Source.Artifact(ctx, digest)
	if err != nil {
		return 0, err
	}
	defer r.Close()
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return 0, err
	}
	f, err := os.CreateTemp(filepath.Dir(dst), "."+filepath.Base(dst)+".tmp*")
	if err != nil {
		return 0, err
	}
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(f.Name())
		}
	}()
	h := sha256.New()
	w := io.MultiWriter(f, h)
	if p.Progress != nil {
		pw, done := p.Progress(filepath.Base(dst), size)
		defer done()
		w = io.MultiWriter(f, h, pw)
	}
	if n, err = io.Copy(w, r); err != nil {
		return 0, err
	}
	if got := hex.EncodeToString(h.Sum(nil)); got != digest {
		return 0, fmt.Errorf("the log sent bytes with sha256 %s; deleted them", got)
	}
	if err = f.Close(); err == nil {
		err = os.Rename(f.Name(), dst)
	}
	return n, err
}

// Diff compares two binaries: with diffoscope if it is in PATH, streaming
// its report to stdout and stderr, else by size and first differing byte.
func Diff(ctx context.Context, a, b string, stdout, stderr io.Writer) error {
	if err := bindiff.Diffoscope(ctx, a, b, stdout, stderr); !errors.Is(err, bindiff.ErrNoDiffoscope) {
		return err
	}
	c, err := bindiff.CompareFiles(a, b)
	if err != nil {
		return err
	}
	fmt.Fprint(stdout, c.Describe(report.TermSafe(a), report.TermSafe(b)))
	return nil
}
