package archive

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"hash"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
)

// copyBufferSize is the most Put reads from an upload at once.
const copyBufferSize = 128 << 10

// A Result describes an artifact that Put accepted.
type Result struct {
	Digest Digest // the artifact's sha256, as claimed and verified
	Size   int64  // its size in bytes
	// AlreadyStored is true if identical bytes were stored before, by this
	// upload's predecessors or by a concurrent one; the stored copy was kept.
	AlreadyStored bool
	// Repaired is true if a stored object under the digest no longer hashed
	// to it and this upload replaced it.
	Repaired bool
}

// Put stores the artifact read from r under its digest sha256Hex, which must
// be 64 lowercase hex digits. size is the declared size in bytes, or -1 if
// unknown. Put reads r to EOF, hashing as it goes, and stores the bytes only
// if they hash to sha256Hex and their count matches size; it checks ctx
// between reads. If the object is already stored, Put still reads and
// verifies r, so that the uploader proves it has the bytes, and keeps the
// stored copy if it still hashes to its digest; if it does not (bit rot,
// tampering), Put stores the upload in its place, atomically, and logs a
// warning. A stored object that is intact is never replaced.
//
// The error wraps [ErrMalformedDigest], [ErrTooLarge] (more than MaxSize
// bytes declared or received), [ErrSizeMismatch] (more than size bytes),
// [ErrTruncated] (fewer than size bytes), [ErrDigestMismatch], ctx's error,
// or r's error. Whatever the error, Put removes its temporary file, and
// objects/ is unchanged unless the error came from syncing the shard
// directory after the verified object was linked into it.
func (a *Archive) Put(ctx context.Context, sha256Hex string, size int64, r io.Reader) (Result, error) {
	want, err := ParseDigest(sha256Hex)
	if err != nil {
		return Result{}, err
	}
	switch {
	case size < -1:
		return Result{}, fmt.Errorf("%w: %d", errInvalidSize, size)
	case size > a.maxSize:
		return Result{}, fmt.Errorf("%w: declared %d bytes, the limit is %d", ErrTooLarge, size, a.maxSize)
	}
	final := a.objectPath(want)
	_, err = os.Lstat(final)
	switch {
	case err == nil:
		intact, err := a.intact(final, want)
		if err != nil {
			return Result{}, err
		}
		if intact {
			n, err := a.receive(ctx, want, size, r, io.Discard)
			if err != nil {
				return Result{}, err
			}
			return Result{Digest: want, Size: n, AlreadyStored: true}, nil
		}
	case !errors.Is(err, fs.ErrNotExist):
		return Result{}, fmt.Errorf("archive: checking for object %s: %w", want, err)
	}

	f, err := os.CreateTemp(a.tmp, want.String()+".*")
	if err != nil {
		return Result{}, fmt.Errorf("archive: creating temporary file: %w", err)
	}
	defer func() {
		// Whether the upload failed or was linked into objects/, the
		// temporary name must go. Closing twice is harmless.
		f.Close()
		os.Remove(f.Name())
	}()
	n, err := a.receive(ctx, want, size, r, f)
	if err != nil {
		return Result{}, err
	}
	stored, err := a.commit(f, want)
	if err != nil {
		return Result{}, err
	}
	res := Result{Digest: want, Size: n, AlreadyStored: stored}
	if stored {
		if res.Repaired, err = a.repair(ctx, f.Name(), want); err != nil {
			return Result{}, err
		}
		res.AlreadyStored = !res.Repaired
	}
	a.log.DebugContext(ctx, "stored artifact", slog.String("sha256", want.String()),
		slog.Int64("size", n), slog.Bool("already_stored", res.AlreadyStored), slog.Bool("repaired", res.Repaired))
	return res, nil
}

// intact reports whether the object stored at path is a regular file whose
// bytes hash to d.
func (a *Archive) intact(path string, d Digest) (bool, error) {
	f, err := os.Open(path)
	if err != nil {
		return false, fmt.Errorf("archive: opening object %s to verify it: %w", d, err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return false, fmt.Errorf("archive: stat of object %s: %w", d, err)
	}
	if !fi.Mode().IsRegular() {
		return false, nil
	}
	h := sha256.New()
	if _, err := io.CopyBuffer(h, f, make([]byte, copyBufferSize)); err != nil {
		return false, fmt.Errorf("archive: reading object %s to verify it: %w", d, err)
	}
	return sum(h) == d, nil
}

// repair replaces the object d, if it is still corrupt, by the verified,
// durable, read-only file at verified. It reports whether it replaced it.
// Repairs are serialised, so that of concurrent uploads one replaces the
// corrupt object and the others find it intact.
func (a *Archive) repair(ctx context.Context, verified string, d Digest) (bool, error) {
	a.repairMu.Lock()
	defer a.repairMu.Unlock()
	final := a.objectPath(d)
	if ok, err := a.intact(final, d); err != nil || ok {
		return false, err
	}
	// A rename replaces its target atomically: a reader sees the corrupt
	// file or the good one, never a mixture, and an intact object was
	// never renamed over (checked above, under repairMu). It cannot replace
	// a directory: an empty one planted there is removed first.
	if fi, err := os.Lstat(final); err == nil && fi.IsDir() {
		if err := os.Remove(final); err != nil {
			return false, fmt.Errorf("archive: removing directory in place of object %s: %w", d, err)
		}
	}
	if err := os.Rename(verified, final); err != nil {
		return false, fmt.Errorf("archive: replacing corrupt object %s: %w", d, err)
	}
	a.log.WarnContext(ctx, "replaced a corrupt archived object with a verified upload", slog.String("sha256", d.String()))
	return true, syncDir(filepath.Dir(final))
}

// receive copies r to w, refusing more than size bytes (or MaxSize if size is
// -1) as soon as they arrive, and checks the count and digest at EOF.
func (a *Archive) receive(ctx context.Context, want Digest, size int64, r io.Reader, w io.Writer) (int64, error) {
	limit := size
	if size < 0 {
		limit = a.maxSize
	}
	h := sha256.New()
	buf := make([]byte, copyBufferSize)
	var n int64
	for {
		if err := ctx.Err(); err != nil {
			return n, fmt.Errorf("archive: upload stopped after %d bytes: %w", n, err)
		}
		// Read at most one byte past the limit: enough to know it is exceeded.
		m, rerr := r.Read(buf[:min(int64(len(buf)), limit-n+1)])
		if n += int64(m); n > limit {
			if size < 0 {
				return n, fmt.Errorf("%w: more than %d bytes", ErrTooLarge, a.maxSize)
			}
			return n, fmt.Errorf("%w: more than the declared %d bytes", ErrSizeMismatch, size)
		}
		h.Write(buf[:m])
		if _, err := w.Write(buf[:m]); err != nil {
			return n, fmt.Errorf("archive: writing upload: %w", err)
		}
		if rerr == io.EOF {
			break
		}
		if rerr != nil {
			return n, fmt.Errorf("archive: reading upload after %d bytes: %w", n, rerr)
		}
	}
	if size >= 0 && n < size {
		return n, fmt.Errorf("%w: received %d of the declared %d bytes", ErrTruncated, n, size)
	}
	if got := sum(h); got != want {
		return n, fmt.Errorf("%w: claimed %s, received bytes hash to %s", ErrDigestMismatch, want, got)
	}
	return n, nil
}

// commit makes the verified temporary file f durable and read-only and links
// it into objects/ under d. It reports whether an object d was there already,
// in which case that one is kept.
func (a *Archive) commit(f *os.File, d Digest) (alreadyStored bool, err error) {
	// Chmod before Sync, so that the mode is as durable as the bytes.
	if err := f.Chmod(0o444); err != nil {
		return false, fmt.Errorf("archive: making upload read-only: %w", err)
	}
	if err := f.Sync(); err != nil {
		return false, fmt.Errorf("archive: syncing upload: %w", err)
	}
	if err := f.Close(); err != nil {
		return false, fmt.Errorf("archive: closing upload: %w", err)
	}
	shard, err := a.ensureShard(d)
	if err != nil {
		return false, err
	}
	// A link is a rename that never replaces its target (as git stores
	// objects): of concurrent uploads of one artifact exactly one wins, and a
	// stored object is never rewritten. The caller removes the temporary name.
	err = os.Link(f.Name(), filepath.Join(shard, d.String()))
	if errors.Is(err, fs.ErrExist) {
		return true, nil
	}
	if err != nil {
		return false, fmt.Errorf("archive: linking object %s into place: %w", d, err)
	}
	// If this sync fails the object stays: its bytes are verified, and
	// unlinking it could pull it from under a concurrent Put that has already
	// reported it stored. The caller sees the error and may retry.
	return false, syncDir(shard)
}

func sum(h hash.Hash) Digest {
	var d Digest
	h.Sum(d[:0])
	return d
}
