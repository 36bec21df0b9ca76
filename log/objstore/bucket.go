package objstore

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net/http"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/smithy-go/logging"
)

// Cache lifetimes of the objects, sent as Cache-Control.
const (
	// CacheFull is for full tiles and entry bundles, which never change.
	CacheFull = "public, max-age=31536000, immutable"
	// CachePartial is for partial tiles and bundles: immutable under their
	// key too, but superseded by the full one.
	CachePartial = "public, max-age=60"
	// CacheCheckpoint is for the checkpoint, the one object overwritten.
	CacheCheckpoint = "public, max-age=5"
)

// Errors of [OpenBucket] and [OpenArchive] for a store or bucket that cannot
// be used. The messages name the bucket and what to do.
var (
	// ErrNoBucket means the bucket does not exist (or the credentials may
	// not see it).
	ErrNoBucket = errors.New("objstore: no such bucket")
	// ErrNoCreateOnly means the store ignored If-None-Match: * on a PUT:
	// create-only writes cannot be had, and a second writer would silently
	// overwrite objects.
	ErrNoCreateOnly = errors.New("objstore: the object store does not support create-only writes (If-None-Match: *)")
	// ErrNoObjectLock means the archive bucket has no Object Lock enabled.
	ErrNoObjectLock = errors.New("objstore: the archive bucket has no Object Lock")
)

// An AlarmError means an object that is written only once already holds
// other bytes than the ones the log would write: the bucket holds another
// tree, or was damaged or tampered with. It keeps both versions as
// evidence. A [Publisher] stops on it; it must be looked at by a person.
type AlarmError struct {
	Bucket, Key string
	Stored      []byte // what the bucket holds
	Want        []byte // what the log would write
	// Reason says how they differ; empty means "other bytes".
	Reason string
}

func (e *AlarmError) Error() string {
	why := e.Reason
	if why == "" {
		why = fmt.Sprintf("it holds %d bytes that differ from the log's %d", len(e.Stored), len(e.Want))
	}
	return fmt.Sprintf("objstore: ALARM: s3://%s/%s: %s; the bucket holds another tree or was tampered with: stop and investigate, never overwrite it", e.Bucket, e.Key, why)
}

// Config is how to reach an object store. Every zero value means the default.
type Config struct {
	// Endpoint is the base URL of the S3 API; empty means AWS's. With an
	// endpoint, buckets are addressed path-style.
	Endpoint string
	// Region signs requests; empty means the SDK's (AWS_REGION) or else us-east-1.
	Region string
	// Credentials, if set, replace the SDK's default chain (environment
	// variables, shared profile, instance role).
	Credentials aws.CredentialsProvider
	// HTTPClient makes the requests; nil means the SDK's.
	HTTPClient *http.Client
	// Logger receives logs; nil discards them.
	Logger *slog.Logger
}

// A Bucket is one S3 bucket, checked for create-only writes. It is safe for
// concurrent use.
type Bucket struct {
	name   string
	client *s3.Client
	log    *slog.Logger
}

// probePrefix is where OpenBucket writes its probe objects: no tlog-tiles
// path, nor an archive key, starts with it.
const probePrefix = ".attestlog-probe/"

// OpenBucket connects to bucket and checks, before the log writes anything
// there, that the bucket exists and that the store honours create-only
// writes: it creates a probe object under .attestlog-probe/ twice and
// requires 412 Precondition Failed the second time, then deletes it; a
// versioned bucket fails this on some stores (Ceph RGW 16). The
// error wraps [ErrNoBucket] or [ErrNoCreateOnly], or is the store's own
// (unreachable endpoint, refused credentials).
func OpenBucket(ctx context.Context, cfg Config, bucket string) (*Bucket, error) {
	b, err := ConnectBucket(ctx, cfg, bucket)
	if err != nil {
		return nil, err
	}
	if err := b.probe(ctx); err != nil {
		return nil, err
	}
	return b, nil
}

// ConnectBucket connects to bucket and checks that it exists, but not
// that the store honours create-only writes: for the archive's bucket,
// where versioning (which Object Lock implies) makes some stores, Ceph RGW
// 16 among them, ignore If-None-Match, and where a probe object could not
// be deleted. The error wraps [ErrNoBucket], or is the store's own.
func ConnectBucket(ctx context.Context, cfg Config, bucket string) (*Bucket, error) {
	if err := checkBucketName(bucket); err != nil {
		return nil, err
	}
	client, err := newClient(ctx, cfg)
	if err != nil {
		return nil, err
	}
	b := &Bucket{name: bucket, client: client, log: cfg.Logger}
	if b.log == nil {
		b.log = slog.New(slog.DiscardHandler)
	}
	if _, err := b.client.HeadBucket(ctx, &s3.HeadBucketInput{Bucket: &b.name}); err != nil {
		if status(err) == http.StatusNotFound {
			return nil, fmt.Errorf("%w: s3://%s; create it first (see the README)", ErrNoBucket, b.name)
		}
		return nil, fmt.Errorf("objstore: checking bucket s3://%s: %w", b.name, err)
	}
	return b, nil
}

func newClient(ctx context.Context, cfg Config) (*s3.Client, error) {
	var opts []func(*config.LoadOptions) error
	if cfg.Region != "" {
		opts = append(opts, config.WithRegion(cfg.Region))
	}
	if cfg.Credentials != nil {
		opts = append(opts, config.WithCredentialsProvider(cfg.Credentials))
	}
	if cfg.HTTPClient != nil {
		opts = append(opts, config.WithHTTPClient(cfg.HTTPClient))
	}
	awsCfg, err := config.LoadDefaultConfig(ctx, opts...)
	if err != nil {
		return nil, fmt.Errorf("objstore: loading the AWS SDK configuration: %w", err)
	}
	if awsCfg.Region == "" {
		awsCfg.Region = "us-east-1"
	}
	// The SDK's own logs go to ours, as warnings, instead of its default
	// writer, stderr; Ceph RGW sends no response checksums, which the SDK
	// would note on every GET.
	logger := cfg.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	awsCfg.Logger = logging.LoggerFunc(func(c logging.Classification, format string, v ...any) {
		logger.Warn("aws sdk: "+fmt.Sprintf(format, v...), slog.String("class", string(c)))
	})
	return s3.NewFromConfig(awsCfg, func(o *s3.Options) {
		o.DisableLogOutputChecksumValidationSkipped = true
		if cfg.Endpoint != "" {
			o.BaseEndpoint = aws.String(cfg.Endpoint)
			o.UsePathStyle = true
		}
	}), nil
}

// probe checks that the store honours create-only writes in the bucket.
func (b *Bucket) probe(ctx context.Context) error {
	var r [16]byte
	rand.Read(r[:])
	key := probePrefix + hex.EncodeToString(r[:])
	probe := []byte("attestlog create-only probe\n")
	for i := range 2 {
		_, err := b.client.PutObject(ctx, &s3.PutObjectInput{Bucket: &b.name, Key: &key,
			Body: bytes.NewReader(probe), IfNoneMatch: aws.String("*")})
		switch {
		case i == 0 && err != nil:
			return fmt.Errorf("objstore: writing probe object s3://%s/%s: %w", b.name, key, err)
		case i == 1 && err == nil:
			b.deleteProbe(ctx, key)
			return fmt.Errorf("%w: s3://%s accepted a second create of %s; use a store that answers 412 to If-None-Match: * (AWS S3; Ceph RGW 16 or later, in a bucket without versioning)", ErrNoCreateOnly, b.name, key)
		case i == 1 && status(err) != http.StatusPreconditionFailed:
			b.deleteProbe(ctx, key)
			return fmt.Errorf("%w: s3://%s: a second create of %s gave %w, want 412 Precondition Failed", ErrNoCreateOnly, b.name, key, err)
		}
	}
	b.deleteProbe(ctx, key)
	return nil
}

// deleteProbe removes a probe object; failing that, it is only litter.
func (b *Bucket) deleteProbe(ctx context.Context, key string) {
	if _, err := b.client.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: &b.name, Key: &key}); err != nil {
		b.log.WarnContext(ctx, "deleting probe object", slog.String("bucket", b.name), slog.String("key", key), slog.Any("err", err))
	}
}

// Name returns the bucket's name.
func (b *Bucket) Name() string { return b.name }

// Client returns the bucket's S3 client, for tests and tools.
func (b *Bucket) Client() *s3.Client { return b.client }

// status returns the HTTP status of an S3 error, or 0.
func status(err error) int {
	var re *awshttp.ResponseError
	if errors.As(err, &re) {
		return re.HTTPStatusCode()
	}
	return 0
}

// maxCreateAttempts bounds the retries of a create that meets 409
// Conflict, which S3 answers to a create racing another one for the key.
const maxCreateAttempts = 5

// Create writes data under key only if nothing is stored there. If an
// object is, Create reads it back: identical bytes are success with
// created false; different bytes are an [*AlarmError]. cacheControl and
// contentType are stored with the object.
func (b *Bucket) Create(ctx context.Context, key string, data []byte, cacheControl, contentType string) (created bool, err error) {
	for attempt := 1; ; attempt++ {
		_, err = b.client.PutObject(ctx, &s3.PutObjectInput{Bucket: &b.name, Key: &key, Body: bytes.NewReader(data),
			IfNoneMatch: aws.String("*"), CacheControl: &cacheControl, ContentType: &contentType})
		if status(err) != http.StatusConflict || attempt == maxCreateAttempts {
			break
		}
		select { // let the racing create finish, then ask again
		case <-ctx.Done():
			return false, fmt.Errorf("objstore: creating s3://%s/%s: %w", b.name, key, ctx.Err())
		case <-time.After(time.Duration(attempt) * 50 * time.Millisecond):
		}
	}
	switch {
	case err == nil:
		return true, nil
	case status(err) != http.StatusPreconditionFailed:
		return false, fmt.Errorf("objstore: creating s3://%s/%s: %w", b.name, key, err)
	}
	stored, err := b.Fetch(ctx, key)
	if err != nil {
		return false, fmt.Errorf("objstore: reading back s3://%s/%s after 412: %w", b.name, key, err)
	}
	if !bytes.Equal(stored, data) {
		return false, &AlarmError{Bucket: b.name, Key: key, Stored: stored, Want: bytes.Clone(data)}
	}
	return false, nil
}

// Put writes data under key, replacing what is there. Only the checkpoint
// is written so.
func (b *Bucket) Put(ctx context.Context, key string, data []byte, cacheControl, contentType string) error {
	_, err := b.client.PutObject(ctx, &s3.PutObjectInput{Bucket: &b.name, Key: &key, Body: bytes.NewReader(data),
		CacheControl: &cacheControl, ContentType: &contentType})
	if err != nil {
		return fmt.Errorf("objstore: writing s3://%s/%s: %w", b.name, key, err)
	}
	return nil
}

// maxFetchSize bounds what Fetch reads: a full entry bundle of 256 entries
// of 65,535 bytes, with their length prefixes, is just over 16 MiB.
const maxFetchSize = 17 << 20

// Fetch returns the object at key, for example a tlog-tiles path, or an
// error wrapping [fs.ErrNotExist] if there is none, as a client.Fetcher
// does. The caller owns the returned slice.
func (b *Bucket) Fetch(ctx context.Context, key string) ([]byte, error) {
	out, err := b.client.GetObject(ctx, &s3.GetObjectInput{Bucket: &b.name, Key: &key})
	if status(err) == http.StatusNotFound {
		return nil, fmt.Errorf("objstore: s3://%s/%s: %w", b.name, key, fs.ErrNotExist)
	}
	if err != nil {
		return nil, fmt.Errorf("objstore: reading s3://%s/%s: %w", b.name, key, err)
	}
	defer out.Body.Close()
	data, err := io.ReadAll(io.LimitReader(out.Body, maxFetchSize+1))
	if err != nil {
		return nil, fmt.Errorf("objstore: reading s3://%s/%s: %w", b.name, key, err)
	}
	if len(data) > maxFetchSize {
		return nil, fmt.Errorf("objstore: s3://%s/%s holds more than %d bytes, more than any tlog-tiles resource", b.name, key, maxFetchSize)
	}
	return data, nil
}
