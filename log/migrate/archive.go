package migrate

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"sync"

	"github.com/attestlog/attestlog/log/archive"
	"golang.org/x/sync/errgroup"
)

// A localBinary is an artifact of the local archive.
type localBinary struct {
	path   string
	digest archive.Digest
	size   int64
}

// listArchive lists the artifacts of the local archive in dir (layout:
// objects/<2 hex>/<2 hex>/<64 hex>; see package archive), in digest order.
// A missing archive is empty. Anything else in objects/ is an error: the
// copy would otherwise leave it behind unnoticed.
func listArchive(dir string) ([]localBinary, error) {
	if dir == "" {
		return nil, nil
	}
	root := filepath.Join(dir, "objects")
	var out []localBinary
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if errors.Is(err, fs.ErrNotExist) && path == root {
			return fs.SkipAll
		}
		if err != nil {
			return err
		}
		if d.IsDir() {
			return nil
		}
		digest, derr := archive.ParseDigest(d.Name())
		rel, _ := filepath.Rel(root, path)
		if derr != nil || rel != filepath.Join(d.Name()[:2], d.Name()[2:4], d.Name()) || !d.Type().IsRegular() {
			return fmt.Errorf("migrate: %s is not an archived artifact (objects/<2 hex>/<2 hex>/<sha256>): move it out of the archive", path)
		}
		fi, err := d.Info()
		if err != nil {
			return err
		}
		out = append(out, localBinary{path: path, digest: digest, size: fi.Size()})
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("migrate: listing the archive %s: %w", dir, err)
	}
	return out, nil
}

// copyArchive uploads every binary of the local archive that the archive
// bucket lacks. The bucket's Put verifies each upload's SHA-256 before it
// makes the object visible, and the local Object verifies the bytes it
// reads, so a damaged local copy fails the migration instead of being
// uploaded.
func (m *migration) copyArchive(ctx context.Context) error {
	if m.cfg.Archive == nil {
		return nil
	}
	bins, err := listArchive(m.cfg.ArchiveDir)
	if err != nil {
		return err
	}
	m.report.Binaries = len(bins)
	var mu sync.Mutex // guards the report's upload counts
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(m.cfg.Uploads)
	for _, b := range bins {
		g.Go(func() error {
			size, ok, err := m.cfg.Archive.Stat(b.digest.String())
			if err != nil {
				return fmt.Errorf("migrate: looking for %s in the archive bucket: %w", b.digest, err)
			}
			if ok && size == b.size {
				return nil
			}
			if err := m.upload(gctx, b); err != nil {
				return err
			}
			mu.Lock()
			m.report.Uploaded++
			m.report.BinaryBytes += b.size
			n := m.report.Uploaded
			mu.Unlock()
			m.log.Debug("uploaded a binary", slog.String("sha256", b.digest.String()), slog.Int64("bytes", b.size), slog.Int("uploaded", n))
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return err
	}
	m.log.Info("copied the archive", slog.Int("binaries", len(bins)), slog.Int("uploaded", m.report.Uploaded), slog.Int64("bytes_uploaded", m.report.BinaryBytes))
	return nil
}

func (m *migration) upload(ctx context.Context, b localBinary) error {
	f, err := os.Open(b.path)
	if err != nil {
		return fmt.Errorf("migrate: opening archived %s: %w", b.digest, err)
	}
	obj := archive.NewObject(f, b.digest, b.size)
	defer obj.Close()
	if _, err := m.cfg.Archive.Put(ctx, b.digest.String(), b.size, obj); err != nil {
		return fmt.Errorf("migrate: uploading archived %s (%d bytes): %w", b.digest, b.size, err)
	}
	return nil
}

// checkArchive checks that every binary of the local archive is in the
// archive bucket with its size.
func (m *migration) checkArchive() error {
	if m.cfg.Archive == nil {
		return nil
	}
	bins, err := listArchive(m.cfg.ArchiveDir)
	if err != nil {
		return err
	}
	for _, b := range bins {
		size, ok, err := m.cfg.Archive.Stat(b.digest.String())
		switch {
		case err != nil:
			return fmt.Errorf("migrate: checking %s in the archive bucket: %w", b.digest, err)
		case !ok || size != b.size:
			return fmt.Errorf("migrate: check: the archive bucket lacks %s (%d bytes; found %v, %d bytes)", b.digest, b.size, ok, size)
		}
	}
	m.report.Binaries = len(bins)
	return nil
}
