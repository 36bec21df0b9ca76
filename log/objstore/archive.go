package objstore

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net/http"
	"time"

	"github.com/attestlog/attestlog/log/archive"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
)

const (
	// DefaultRetentionDays is how long an archived artifact is locked by
	// default: a century. Artifacts are evidence kept for ever; COMPLIANCE
	// retention can be extended later, never shortened.
	DefaultRetentionDays = 36525
	maxRetentionDays     = 100000
	// DefaultPartSize is the size of the parts of a multipart upload, and
	// the largest artifact sent in one PUT.
	DefaultPartSize = 16 << 20
	// minPartSize is S3's smallest part but the last.
	minPartSize = 5 << 20
	// statTimeout bounds Stat, whose interface carries no context.
	statTimeout = 30 * time.Second
	// archivePrefix is the key prefix of artifacts: "sha256/<hex>".
	archivePrefix = "sha256/"
)

// ArchiveConfig configures an [Archive]. Bucket is required; every other
// zero value means the documented default.
type ArchiveConfig struct {
	Bucket *Bucket
	// MaxSize is the largest artifact accepted; default archive.DefaultMaxSize.
	MaxSize int64
	// RetentionDays is how long each artifact is locked in COMPLIANCE mode;
	// default DefaultRetentionDays.
	RetentionDays int
	// NoLock accepts a bucket without Object Lock: artifacts are then
	// create-only but deletable by whoever holds the bucket's credentials.
	NoLock bool
	// PartSize is the part size of multipart uploads, at least 5 MiB;
	// default DefaultPartSize.
	PartSize int64
	// Now is the clock of retention dates; nil means time.Now.
	Now func() time.Time
	// Logger receives logs; nil discards them.
	Logger *slog.Logger
}

// An Archive is an [archive.Store] in an S3 bucket of its own; see the
// package documentation. It is safe for concurrent use.
type Archive struct {
	cfg    ArchiveConfig
	b      *Bucket
	log    *slog.Logger
	locked bool // the bucket has Object Lock: uploads carry a retention date
}

var _ archive.Store = (*Archive)(nil)

// OpenArchive checks that cfg.Bucket has S3 Object Lock enabled (unless
// cfg.NoLock) and returns the archive it holds. The error wraps
// [ErrNoObjectLock] for a bucket without it.
func OpenArchive(ctx context.Context, cfg ArchiveConfig) (*Archive, error) {
	switch {
	case cfg.Bucket == nil:
		return nil, errors.New("objstore: archive config: no bucket")
	case cfg.MaxSize < 0 || cfg.RetentionDays < 0 || cfg.RetentionDays > maxRetentionDays:
		return nil, fmt.Errorf("objstore: archive config: MaxSize %d or RetentionDays %d out of range", cfg.MaxSize, cfg.RetentionDays)
	case cfg.PartSize != 0 && cfg.PartSize < minPartSize:
		return nil, fmt.Errorf("objstore: archive config: PartSize %d is below S3's 5 MiB", cfg.PartSize)
	}
	if cfg.MaxSize == 0 {
		cfg.MaxSize = archive.DefaultMaxSize
	}
	if cfg.RetentionDays == 0 {
		cfg.RetentionDays = DefaultRetentionDays
	}
	if cfg.PartSize == 0 {
		cfg.PartSize = DefaultPartSize
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	a := &Archive{cfg: cfg, b: cfg.Bucket, log: cfg.Logger}
	if a.log == nil {
		a.log = slog.New(slog.DiscardHandler)
	}
	out, err := a.b.client.GetObjectLockConfiguration(ctx, &s3.GetObjectLockConfigurationInput{Bucket: &a.b.name})
	switch {
	case err == nil && out.ObjectLockConfiguration != nil && out.ObjectLockConfiguration.ObjectLockEnabled == types.ObjectLockEnabledEnabled:
		a.locked = true
	case err != nil && status(err) != http.StatusNotFound:
		return nil, fmt.Errorf("objstore: reading the Object Lock configuration of s3://%s: %w", a.b.name, err)
	case !cfg.NoLock:
		return nil, fmt.Errorf("%w: s3://%s; create it with Object Lock enabled (aws s3api create-bucket --object-lock-enabled-for-bucket), or pass --archive-no-lock to keep deletable artifacts", ErrNoObjectLock, a.b.name)
	default:
		a.log.WarnContext(ctx, "the archive bucket has no Object Lock: its credentials can delete artifacts", slog.String("bucket", a.b.name))
	}
	return a, nil
}

// Bucket returns the archive's bucket.
func (a *Archive) Bucket() *Bucket { return a.b }

// Locked reports whether the archive's bucket has Object Lock.
func (a *Archive) Locked() bool { return a.locked }

func key(d archive.Digest) string { return archivePrefix + d.String() }

// Stat implements [archive.Store]: a HEAD of the artifact's key.
func (a *Archive) Stat(sha256Hex string) (size int64, ok bool, err error) {
	d, err := archive.ParseDigest(sha256Hex)
	if err != nil {
		return 0, false, err
	}
	ctx, cancel := context.WithTimeout(context.Background(), statTimeout)
	defer cancel()
	return a.stat(ctx, d)
}

func (a *Archive) stat(ctx context.Context, d archive.Digest) (int64, bool, error) {
	k := key(d)
	out, err := a.b.client.HeadObject(ctx, &s3.HeadObjectInput{Bucket: &a.b.name, Key: &k})
	if status(err) == http.StatusNotFound {
		v, err := a.hiddenVersion(ctx, k)
		if v == nil || err != nil {
			return 0, false, err
		}
		return aws.ToInt64(v.Size), true, nil
	}
	if err != nil {
		return 0, false, fmt.Errorf("objstore: stat of s3://%s/%s: %w", a.b.name, k, err)
	}
	return aws.ToInt64(out.ContentLength), true, nil
}

// hiddenVersion returns the newest stored version of key when a plain
// DELETE has hidden it behind a delete marker, or nil. In a bucket with
// Object Lock such a DELETE succeeds, but the locked version stays: the
// artifact is still archived, and still served.
func (a *Archive) hiddenVersion(ctx context.Context, k string) (*types.ObjectVersion, error) {
	if !a.locked {
		return nil, nil
	}
	out, err := a.b.client.ListObjectVersions(ctx, &s3.ListObjectVersionsInput{Bucket: &a.b.name, Prefix: &k})
	if err != nil {
		return nil, fmt.Errorf("objstore: listing the versions of s3://%s/%s: %w", a.b.name, k, err)
	}
	var newest *types.ObjectVersion
	for i, v := range out.Versions {
		if aws.ToString(v.Key) == k && (newest == nil || aws.ToTime(v.LastModified).After(aws.ToTime(newest.LastModified))) {
			newest = &out.Versions[i]
		}
	}
	if newest != nil {
		a.log.WarnContext(ctx, "an archived artifact is hidden by a delete marker; serving its locked version", slog.String("bucket", a.b.name), slog.String("key", k))
	}
	return newest, nil
}

// Get implements [archive.Store]. An artifact that a plain DELETE hid
// behind a delete marker in a bucket with Object Lock is still served, from
// its locked version. The returned Object verifies the bytes
// as they stream out, and reports [archive.ErrCorrupt] at the end if they
// do not hash to their name. The download is not bound to a context: it
// ends when the caller closes the Object.
func (a *Archive) Get(sha256Hex string) (*archive.Object, error) {
	d, err := archive.ParseDigest(sha256Hex)
	if err != nil {
		return nil, err
	}
	k := key(d)
	ctx := context.Background()
	out, err := a.b.client.GetObject(ctx, &s3.GetObjectInput{Bucket: &a.b.name, Key: &k})
	if status(err) == http.StatusNotFound {
		v, verr := a.hiddenVersion(ctx, k)
		if verr != nil {
			return nil, verr
		}
		if v == nil {
			return nil, fmt.Errorf("%w: object %s (%w)", archive.ErrNotFound, d, fs.ErrNotExist)
		}
		out, err = a.b.client.GetObject(ctx, &s3.GetObjectInput{Bucket: &a.b.name, Key: &k, VersionId: v.VersionId})
	}
	if err != nil {
		return nil, fmt.Errorf("objstore: reading s3://%s/%s: %w", a.b.name, k, err)
	}
	return archive.NewObject(out.Body, d, aws.ToInt64(out.ContentLength)), nil
}

// Put implements [archive.Store]. It streams r into the bucket, in one PUT
// if it fits in a part and in a multipart upload otherwise, hashing as it
// goes, and makes the object visible (the PUT, or completing the multipart
// upload) only once the bytes hash to sha256Hex and their count matches
// size. An artifact already stored is kept: Put still reads and verifies r,
// so that the uploader proves it has the bytes. A failed multipart upload
// is aborted. Errors wrap the sentinels of package archive, as
// [archive.Archive.Put] documents.
func (a *Archive) Put(ctx context.Context, sha256Hex string, size int64, r io.Reader) (archive.Result, error) {
	want, err := archive.ParseDigest(sha256Hex)
	if err != nil {
		return archive.Result{}, err
	}
	switch {
	case size < -1:
		return archive.Result{}, fmt.Errorf("objstore: archive: invalid declared size %d", size)
	case size > a.cfg.MaxSize:
		return archive.Result{}, fmt.Errorf("%w: declared %d bytes, the limit is %d", archive.ErrTooLarge, size, a.cfg.MaxSize)
	}
	_, stored, err := a.stat(ctx, want)
	if err != nil {
		return archive.Result{}, err
	}
	rc := &receiver{r: r, size: size, limit: size, h: sha256.New(), want: want}
	if size < 0 {
		rc.limit = a.cfg.MaxSize
	}
	if stored {
		if err := rc.drain(ctx); err != nil {
			return archive.Result{}, err
		}
		return archive.Result{Digest: want, Size: rc.n, AlreadyStored: true}, nil
	}
	buf := make([]byte, a.cfg.PartSize)
	m, err := rc.fill(ctx, buf)
	if err != nil {
		return archive.Result{}, err
	}
	var created bool
	if rc.eof {
		if err := rc.verify(); err != nil {
			return archive.Result{}, err
		}
		created, err = a.putSmall(ctx, want, buf[:m])
	} else {
		created, err = a.putMultipart(ctx, want, rc, buf, m)
	}
	if err != nil {
		return archive.Result{}, err
	}
	res := archive.Result{Digest: want, Size: rc.n, AlreadyStored: !created}
	a.log.DebugContext(ctx, "stored artifact", slog.String("sha256", want.String()), slog.Int64("size", rc.n), slog.Bool("already_stored", res.AlreadyStored))
	return res, nil
}

// lock returns the Object Lock fields of a new object, or nil ones.
func (a *Archive) lock() (types.ObjectLockMode, *time.Time) {
	if !a.locked {
		return "", nil
	}
	until := a.cfg.Now().UTC().Add(time.Duration(a.cfg.RetentionDays) * 24 * time.Hour).Truncate(time.Second)
	return types.ObjectLockModeCompliance, &until
}

// putSmall stores a verified artifact in one create-only PUT. It reports
// whether this PUT created it; a concurrent upload of the same artifact may
// have won.
func (a *Archive) putSmall(ctx context.Context, d archive.Digest, data []byte) (bool, error) {
	k := key(d)
	mode, until := a.lock()
	_, err := a.b.client.PutObject(ctx, &s3.PutObjectInput{Bucket: &a.b.name, Key: &k, Body: bytes.NewReader(data),
		ContentLength: aws.Int64(int64(len(data))), ContentType: aws.String("application/octet-stream"),
		IfNoneMatch: aws.String("*"), ObjectLockMode: mode, ObjectLockRetainUntilDate: until})
	switch {
	case err == nil:
		return true, nil
	case status(err) == http.StatusPreconditionFailed, status(err) == http.StatusConflict:
		return false, nil
	}
	return false, fmt.Errorf("objstore: storing s3://%s/%s: %w", a.b.name, k, err)
}

// putMultipart streams an artifact whose first part, m bytes, is in buf,
// and completes the upload only once the whole stream has verified.
func (a *Archive) putMultipart(ctx context.Context, d archive.Digest, rc *receiver, buf []byte, m int) (created bool, err error) {
	k := key(d)
	mode, until := a.lock()
	up, err := a.b.client.CreateMultipartUpload(ctx, &s3.CreateMultipartUploadInput{Bucket: &a.b.name, Key: &k,
		ContentType: aws.String("application/octet-stream"), ObjectLockMode: mode, ObjectLockRetainUntilDate: until})
	if err != nil {
		return false, fmt.Errorf("objstore: starting upload of s3://%s/%s: %w", a.b.name, k, err)
	}
	defer func() {
		if err != nil {
			// Parts of a refused or failed upload must not linger (S3
			// bills them); the abort must run even if ctx is done.
			actx, cancel := context.WithTimeout(context.WithoutCancel(ctx), statTimeout)
			defer cancel()
			if _, aerr := a.b.client.AbortMultipartUpload(actx, &s3.AbortMultipartUploadInput{Bucket: &a.b.name, Key: &k, UploadId: up.UploadId}); aerr != nil {
				a.log.WarnContext(ctx, "aborting a failed multipart upload", slog.String("key", k), slog.Any("err", aerr))
			}
		}
	}()
	var parts []types.CompletedPart
	for n := int32(1); ; n++ {
		out, err := a.b.client.UploadPart(ctx, &s3.UploadPartInput{Bucket: &a.b.name, Key: &k, UploadId: up.UploadId,
			PartNumber: aws.Int32(n), Body: bytes.NewReader(buf[:m]), ContentLength: aws.Int64(int64(m))})
		if err != nil {
			return false, fmt.Errorf("objstore: uploading part %d of s3://%s/%s: %w", n, a.b.name, k, err)
		}
		parts = append(parts, types.CompletedPart{PartNumber: aws.Int32(n), ETag: out.ETag,
			ChecksumCRC32: out.ChecksumCRC32, ChecksumCRC32C: out.ChecksumCRC32C, ChecksumSHA1: out.ChecksumSHA1, ChecksumSHA256: out.ChecksumSHA256})
		if rc.eof {
			break
		}
		if m, err = rc.fill(ctx, buf); err != nil {
			return false, err
		}
		if m == 0 {
			break
		}
	}
	if err := rc.verify(); err != nil {
		return false, err
	}
	_, err = a.b.client.CompleteMultipartUpload(ctx, &s3.CompleteMultipartUploadInput{Bucket: &a.b.name, Key: &k,
		UploadId: up.UploadId, MultipartUpload: &types.CompletedMultipartUpload{Parts: parts}, IfNoneMatch: aws.String("*")})
	switch {
	case err == nil:
		return true, nil
	case status(err) == http.StatusPreconditionFailed:
		return false, nil // a concurrent upload of the same bytes won; this one is aborted
	}
	return false, fmt.Errorf("objstore: completing upload of s3://%s/%s: %w", a.b.name, k, err)
}

// A receiver reads an upload, refusing more than limit bytes as soon as
// they arrive, and hashing them.
type receiver struct {
	r           io.Reader
	size, limit int64 // size is the declared size or -1; limit what may arrive
	n           int64
	h           interface {
		io.Writer
		Sum([]byte) []byte
	}
	want archive.Digest
	eof  bool
}

// fill reads into buf until it is full or r ends, and returns how many
// bytes it read.
func (rc *receiver) fill(ctx context.Context, buf []byte) (int, error) {
	m := 0
	for m < len(buf) && !rc.eof {
		if err := ctx.Err(); err != nil {
			return m, fmt.Errorf("objstore: upload stopped after %d bytes: %w", rc.n, err)
		}
		// Read at most one byte past the limit: enough to know it is exceeded.
		k, err := rc.r.Read(buf[m:min(int64(len(buf)), int64(m)+rc.limit-rc.n+1)])
		if rc.n += int64(k); rc.n > rc.limit {
			if rc.size < 0 {
				return m, fmt.Errorf("%w: more than %d bytes", archive.ErrTooLarge, rc.limit)
			}
			return m, fmt.Errorf("%w: more than the declared %d bytes", archive.ErrSizeMismatch, rc.size)
		}
		rc.h.Write(buf[m : m+k])
		m += k
		switch {
		case err == io.EOF:
			rc.eof = true
		case err != nil:
			return m, fmt.Errorf("objstore: reading upload after %d bytes: %w", rc.n, err)
		}
	}
	return m, nil
}

// drain reads the rest of r, hashing it, and verifies it.
func (rc *receiver) drain(ctx context.Context) error {
	buf := make([]byte, 128<<10)
	for !rc.eof {
		if _, err := rc.fill(ctx, buf); err != nil {
			return err
		}
	}
	return rc.verify()
}

// verify checks the count and digest of a finished upload.
func (rc *receiver) verify() error {
	if rc.size >= 0 && rc.n < rc.size {
		return fmt.Errorf("%w: received %d of the declared %d bytes", archive.ErrTruncated, rc.n, rc.size)
	}
	var got archive.Digest
	rc.h.Sum(got[:0])
	if got != rc.want {
		return fmt.Errorf("%w: claimed %s, received bytes hash to %s", archive.ErrDigestMismatch, rc.want, got)
	}
	return nil
}
