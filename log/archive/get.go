package archive

import (
	"crypto/sha256"
	"errors"
	"fmt"
	"hash"
	"io"
	"io/fs"
	"os"
)

// An Object is a stored artifact opened for reading. Its Read verifies the
// bytes it serves against the digest: the caller MUST read to the end and
// check the final error, and a caller that has already passed bytes on (an
// HTTP or gRPC stream) MUST abort, rather than end, its response when Read
// fails, so that the receiver does not take a truncated or tampered artifact
// for a complete one. An Object is not safe for concurrent use.
type Object struct {
	f      io.ReadCloser
	digest Digest
	size   int64
	h      hash.Hash
	err    error // sticky: io.EOF once verified, or the error that ended reading
}

// Get opens the object stored under the digest sha256Hex for reading. The
// caller must Close it. The error wraps [ErrMalformedDigest], [ErrNotFound]
// (and [io/fs.ErrNotExist]) if nothing is stored under the digest, or
// [ErrCorrupt] if the stored file is not a regular file.
func (a *Archive) Get(sha256Hex string) (*Object, error) {
	d, err := ParseDigest(sha256Hex)
	if err != nil {
		return nil, err
	}
	f, err := os.Open(a.objectPath(d))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("%w: object %s (%w)", ErrNotFound, d, fs.ErrNotExist)
	}
	if err != nil {
		return nil, fmt.Errorf("archive: opening object %s: %w", d, err)
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("archive: stat of object %s: %w", d, err)
	}
	if !fi.Mode().IsRegular() {
		f.Close()
		return nil, fmt.Errorf("%w: object %s is a %v, not a regular file", ErrCorrupt, d, fi.Mode().Type())
	}
	return NewObject(f, d, fi.Size()), nil
}

// NewObject returns an Object that reads the artifact stored under d from r,
// as another [Store] implementation opened it, and verifies it as it goes.
// size is the stored size in bytes, as the backend reports it; Close closes r.
func NewObject(r io.ReadCloser, d Digest, size int64) *Object {
	return &Object{f: r, digest: d, size: size, h: sha256.New()}
}

// Digest returns the digest the object is stored under.
func (o *Object) Digest() Digest { return o.digest }

// Size returns the object's size in bytes, as found when it was opened.
func (o *Object) Size() int64 { return o.size }

// Read implements [io.Reader]. At the end of the object it returns [io.EOF]
// if the bytes read hash to the object's digest, and otherwise an error
// wrapping [ErrCorrupt].
func (o *Object) Read(p []byte) (int, error) {
	if o.err != nil {
		return 0, o.err
	}
	n, err := o.f.Read(p)
	o.h.Write(p[:n])
	switch {
	case err == io.EOF:
		o.err = io.EOF
		if got := sum(o.h); got != o.digest {
			o.err = fmt.Errorf("%w: object %s hashes to %s", ErrCorrupt, o.digest, got)
		}
	case err != nil:
		o.err = fmt.Errorf("archive: reading object %s: %w", o.digest, err)
	}
	return n, o.err
}

// Close closes the object's file (or the reader given to [NewObject]).
func (o *Object) Close() error { return o.f.Close() }
