package archive

import "errors"

// Sentinel errors. Every error that Put, Get and Stat return for one of these
// conditions wraps the matching sentinel, so callers (the gRPC layer maps them
// to status codes) branch with [errors.Is]. Other errors are internal: I/O
// failures of the archive's own files, or the upload reader's own error.
var (
	// ErrMalformedDigest means a digest string is not exactly 64 lowercase
	// hex digits (no "sha256:" prefix, no upper case).
	ErrMalformedDigest = errors.New("archive: malformed sha256 digest")
	// ErrDigestMismatch means an upload's bytes do not hash to the digest
	// claimed for it. The message names both digests.
	ErrDigestMismatch = errors.New("archive: digest mismatch")
	// ErrTooLarge means an upload is, or declares itself, larger than the
	// archive's MaxSize.
	ErrTooLarge = errors.New("archive: artifact too large")
	// ErrTruncated means an upload ended before its declared size.
	ErrTruncated = errors.New("archive: upload truncated")
	// ErrSizeMismatch means an upload carried more bytes than its declared size.
	ErrSizeMismatch = errors.New("archive: upload longer than its declared size")
	// ErrNotFound means no object is stored under a digest. Errors wrapping it
	// also wrap [io/fs.ErrNotExist].
	ErrNotFound = errors.New("archive: not found")
	// ErrCorrupt means a stored object's bytes no longer hash to its digest,
	// or its file is not a regular file: the disk was tampered with or has
	// rotted. The object must not be served as valid.
	ErrCorrupt = errors.New("archive: stored object is corrupt")
)

// errInvalidSize means a declared size below -1: a bug in the caller, which
// should have converted and range-checked the size at its edge.
var errInvalidSize = errors.New("archive: invalid declared size")
