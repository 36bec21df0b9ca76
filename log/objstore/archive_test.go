package objstore_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"io/fs"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/attestlog/attestlog/log/archive"
	"github.com/attestlog/attestlog/log/objstore"
	"github.com/attestlog/attestlog/log/objstore/s3test"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
)

func artifact(n int, seed uint64) ([]byte, string) {
	b := make([]byte, n)
	r := rand.NewChaCha8([32]byte{byte(seed), byte(seed >> 8)})
	r.Read(b)
	sum := sha256.Sum256(b)
	return b, hex.EncodeToString(sum[:])
}

func openArchive(t *testing.T, srv *s3test.Server, lock bool, cfg objstore.ArchiveConfig) *objstore.Archive {
	t.Helper()
	b, err := objstore.ConnectBucket(context.Background(), srv.Config(), srv.NewBucket(t, lock))
	if err != nil {
		t.Fatal(err)
	}
	cfg.Bucket = b
	cfg.NoLock = !lock
	if cfg.RetentionDays == 0 {
		cfg.RetentionDays = 1
	}
	a, err := objstore.OpenArchive(context.Background(), cfg)
	if err != nil {
		t.Fatalf("OpenArchive: %v", err)
	}
	if a.Locked() != lock {
		t.Fatalf("Locked() = %v, want %v", a.Locked(), lock)
	}
	return a
}

func readAll(t *testing.T, a archive.Store, digest string) ([]byte, error) {
	t.Helper()
	obj, err := a.Get(digest)
	if err != nil {
		return nil, err
	}
	defer obj.Close()
	return io.ReadAll(obj)
}

// TestArchivePutGet stores a small artifact in one PUT and a large one in
// a multipart upload of three parts, reads both back verified, and stores
// each again (kept, after reading and verifying the new upload).
func TestArchivePutGet(t *testing.T) {
	srv := s3test.Start(t)
	a := openArchive(t, srv, true, objstore.ArchiveConfig{PartSize: 5 << 20})
	ctx := context.Background()
	for _, n := range []int{0, 1000, 12 << 20} {
		data, digest := artifact(n, uint64(n))
		res, err := a.Put(ctx, digest, int64(n), bytes.NewReader(data))
		if err != nil || res.AlreadyStored || res.Size != int64(n) {
			t.Fatalf("Put of %d bytes: %+v, %v", n, res, err)
		}
		got, err := readAll(t, a, digest)
		if err != nil || !bytes.Equal(got, data) {
			t.Fatalf("Get of %d bytes: %d bytes, %v", n, len(got), err)
		}
		if size, ok, err := a.Stat(digest); !ok || err != nil || size != int64(n) {
			t.Errorf("Stat: %d, %v, %v", size, ok, err)
		}
		res, err = a.Put(ctx, digest, -1, bytes.NewReader(data))
		if err != nil || !res.AlreadyStored {
			t.Errorf("second Put of %d bytes: %+v, %v", n, res, err)
		}
		if _, err := a.Put(ctx, digest, -1, strings.NewReader("other bytes")); !errors.Is(err, archive.ErrDigestMismatch) {
			t.Errorf("Put of other bytes under a stored digest: %v, want ErrDigestMismatch", err)
		}
	}
}

// TestArchiveRefusesBadUploads: an upload whose bytes do not hash to its
// name, small or multipart, or that is shorter or longer than declared,
// leaves nothing: no object, and no multipart upload in progress.
func TestArchiveRefusesBadUploads(t *testing.T) {
	srv := s3test.Start(t)
	a := openArchive(t, srv, false, objstore.ArchiveConfig{PartSize: 5 << 20, MaxSize: 20 << 20})
	ctx := context.Background()
	small, smallDigest := artifact(100, 1)
	large, largeDigest := artifact(11<<20, 2)
	_, otherDigest := artifact(100, 3)
	for _, tc := range []struct {
		name   string
		digest string
		size   int64
		body   []byte
		want   error
	}{
		{"small, other digest", otherDigest, 100, small, archive.ErrDigestMismatch},
		{"multipart, other digest", otherDigest, -1, large, archive.ErrDigestMismatch},
		{"multipart, flipped last byte", largeDigest, -1, append(bytes.Clone(large[:len(large)-1]), large[len(large)-1]^1), archive.ErrDigestMismatch},
		{"truncated", smallDigest, 101, small, archive.ErrTruncated},
		{"longer than declared", largeDigest, 6 << 20, large, archive.ErrSizeMismatch},
		{"too large", largeDigest, 21 << 20, large, archive.ErrTooLarge},
		{"malformed digest", "SHA256:" + smallDigest, -1, small, archive.ErrMalformedDigest},
	} {
		if _, err := a.Put(ctx, tc.digest, tc.size, bytes.NewReader(tc.body)); !errors.Is(err, tc.want) {
			t.Errorf("%s: %v, want %v", tc.name, err, tc.want)
		}
	}
	for _, d := range []string{smallDigest, largeDigest, otherDigest} {
		if _, ok, err := a.Stat(d); ok || err != nil {
			t.Errorf("Stat(%s) after refused uploads: %v, %v", d, ok, err)
		}
		if _, err := a.Get(d); !errors.Is(err, archive.ErrNotFound) || !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("Get of a refused upload: %v, want ErrNotFound", err)
		}
	}
	name := a.Bucket().Name()
	ups, err := srv.Client().ListMultipartUploads(ctx, &s3.ListMultipartUploadsInput{Bucket: &name})
	if err != nil {
		t.Fatal(err)
	}
	if len(ups.Uploads) != 0 {
		t.Errorf("%d multipart uploads left in progress, want 0 (aborted)", len(ups.Uploads))
	}
}

// TestArchiveCorruptRead: an object whose bytes no longer hash to its name
// (rewritten behind the log's back, in a bucket without Object Lock) is
// read with ErrCorrupt at the end, never io.EOF.
func TestArchiveCorruptRead(t *testing.T) {
	srv := s3test.Start(t)
	a := openArchive(t, srv, false, objstore.ArchiveConfig{})
	ctx := context.Background()
	data, digest := artifact(5000, 4)
	if _, err := a.Put(ctx, digest, -1, bytes.NewReader(data)); err != nil {
		t.Fatal(err)
	}
	name, key := a.Bucket().Name(), "sha256/"+digest
	data[100] ^= 1
	if _, err := srv.Client().PutObject(ctx, &s3.PutObjectInput{Bucket: &name, Key: &key, Body: bytes.NewReader(data)}); err != nil {
		t.Fatal(err)
	}
	if _, err := readAll(t, a, digest); !errors.Is(err, archive.ErrCorrupt) {
		t.Errorf("reading a tampered object: %v, want ErrCorrupt", err)
	}
}

// TestArchiveObjectLock: in a bucket with Object Lock, an archived artifact
// is stored in COMPLIANCE mode until its retention date, and deleting it
// with the operator's own credentials (the bucket owner's) is refused; it
// stays readable, even behind the delete marker of a plain DELETE.
func TestArchiveObjectLock(t *testing.T) {
	srv := s3test.Start(t)
	now := time.Now()
	a := openArchive(t, srv, true, objstore.ArchiveConfig{RetentionDays: 3, Now: func() time.Time { return now }})
	ctx := context.Background()
	data, digest := artifact(2000, 5)
	if _, err := a.Put(ctx, digest, -1, bytes.NewReader(data)); err != nil {
		t.Fatal(err)
	}
	name, key := a.Bucket().Name(), "sha256/"+digest
	head, err := srv.Client().HeadObject(ctx, &s3.HeadObjectInput{Bucket: &name, Key: &key})
	if err != nil {
		t.Fatal(err)
	}
	if head.ObjectLockMode != "COMPLIANCE" || head.ObjectLockRetainUntilDate == nil ||
		head.ObjectLockRetainUntilDate.Sub(now) < 71*time.Hour || head.VersionId == nil {
		t.Fatalf("stored with lock mode %q until %v (version %v), want COMPLIANCE for 3 days", head.ObjectLockMode, head.ObjectLockRetainUntilDate, aws.ToString(head.VersionId))
	}
	_, err = srv.Client().DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: &name, Key: &key, VersionId: head.VersionId})
	if err == nil {
		t.Fatal("the bucket owner deleted a locked artifact")
	}
	t.Logf("delete refused: %v", err)
	_, err = srv.Client().DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: &name, Key: &key, VersionId: head.VersionId, BypassGovernanceRetention: aws.Bool(true)})
	if err == nil {
		t.Fatal("the bucket owner deleted a locked artifact bypassing governance retention")
	}
	got, err := readAll(t, a, digest)
	if err != nil || !bytes.Equal(got, data) {
		t.Fatalf("reading the artifact after the refused deletes: %d bytes, %v", len(got), err)
	}

	// A plain DELETE succeeds in a versioned bucket, by adding a delete
	// marker; the locked version stays, and the archive still serves it.
	if _, err := srv.Client().DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: &name, Key: &key}); err != nil {
		t.Fatalf("plain DELETE: %v", err)
	}
	if _, err := srv.Client().HeadObject(ctx, &s3.HeadObjectInput{Bucket: &name, Key: &key}); err == nil {
		t.Fatal("the delete marker hides nothing")
	}
	if size, ok, err := a.Stat(digest); !ok || err != nil || size != int64(len(data)) {
		t.Errorf("Stat behind a delete marker: %d, %v, %v", size, ok, err)
	}
	got, err = readAll(t, a, digest)
	if err != nil || !bytes.Equal(got, data) {
		t.Fatalf("reading the artifact behind a delete marker: %d bytes, %v", len(got), err)
	}
}

// TestOpenArchiveNeedsObjectLock: a bucket without Object Lock is refused
// unless NoLock says so.
func TestOpenArchiveNeedsObjectLock(t *testing.T) {
	srv := s3test.Start(t)
	b := openBucket(t, srv, false)
	_, err := objstore.OpenArchive(context.Background(), objstore.ArchiveConfig{Bucket: b})
	if !errors.Is(err, objstore.ErrNoObjectLock) || !strings.Contains(err.Error(), "--archive-no-lock") {
		t.Errorf("OpenArchive of a bucket without Object Lock: %v, want ErrNoObjectLock", err)
	}
	a, err := objstore.OpenArchive(context.Background(), objstore.ArchiveConfig{Bucket: b, NoLock: true})
	if err != nil || a.Locked() {
		t.Errorf("OpenArchive with NoLock: %v", err)
	}
}
