package objstore_test

import (
	"bytes"
	"context"
	"errors"
	"io/fs"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/attestlog/attestlog/log/objstore"
	"github.com/attestlog/attestlog/log/objstore/s3test"
	"github.com/aws/aws-sdk-go-v2/service/s3"
)

func TestMain(m *testing.M) { os.Exit(s3test.Main(m)) }

func openBucket(t *testing.T, srv *s3test.Server, lock bool) *objstore.Bucket {
	t.Helper()
	b, err := objstore.OpenBucket(context.Background(), srv.Config(), srv.NewBucket(t, lock))
	if err != nil {
		t.Fatalf("OpenBucket: %v", err)
	}
	return b
}

// TestCreateOnlyConcurrent has 16 writers create one key at once: exactly
// one PUT creates it, and all of them succeed, since their bytes are the
// same; the object carries its Cache-Control.
func TestCreateOnlyConcurrent(t *testing.T) {
	srv := s3test.Start(t)
	b := openBucket(t, srv, false)
	ctx := context.Background()
	data := []byte("tile bytes")
	const writers = 16
	var wg sync.WaitGroup
	created := make([]bool, writers)
	errs := make([]error, writers)
	start := make(chan struct{})
	for i := range writers {
		wg.Go(func() {
			<-start
			created[i], errs[i] = b.Create(ctx, "tile/0/000", data, objstore.CacheFull, "application/octet-stream")
		})
	}
	close(start)
	wg.Wait()
	n := 0
	for i := range writers {
		if errs[i] != nil {
			t.Errorf("writer %d: %v", i, errs[i])
		}
		if created[i] {
			n++
		}
	}
	if n != 1 {
		t.Errorf("%d of %d writers created the object, want exactly 1", n, writers)
	}
	key := "tile/0/000"
	name := b.Name()
	out, err := b.Client().HeadObject(ctx, &s3.HeadObjectInput{Bucket: &name, Key: &key})
	if err != nil {
		t.Fatal(err)
	}
	if got := *out.CacheControl; got != objstore.CacheFull {
		t.Errorf("Cache-Control %q, want %q", got, objstore.CacheFull)
	}
}

// TestCreateDifferentIsAlarm: of 16 writers of different bytes under one
// key, exactly one wins and every other gets an AlarmError that keeps both
// versions; the winner's bytes stay.
func TestCreateDifferentIsAlarm(t *testing.T) {
	srv := s3test.Start(t)
	b := openBucket(t, srv, false)
	ctx := context.Background()
	const writers = 16
	var wg sync.WaitGroup
	created := make([]bool, writers)
	errs := make([]error, writers)
	start := make(chan struct{})
	for i := range writers {
		wg.Go(func() {
			<-start
			created[i], errs[i] = b.Create(ctx, "tile/entries/000", []byte{byte(i)}, objstore.CacheFull, "application/octet-stream")
		})
	}
	close(start)
	wg.Wait()
	winner := -1
	for i := range writers {
		var alarm *objstore.AlarmError
		switch {
		case created[i] && errs[i] == nil:
			if winner >= 0 {
				t.Errorf("writers %d and %d both created the object", winner, i)
			}
			winner = i
		case errors.As(errs[i], &alarm):
			if !bytes.Equal(alarm.Want, []byte{byte(i)}) || len(alarm.Stored) != 1 || alarm.Key != "tile/entries/000" {
				t.Errorf("writer %d: alarm %+v", i, alarm)
			}
		default:
			t.Errorf("writer %d: created %v, err %v; want an AlarmError", i, created[i], errs[i])
		}
	}
	if winner < 0 {
		t.Fatal("no writer created the object")
	}
	got, err := b.Fetch(ctx, "tile/entries/000")
	if err != nil || !bytes.Equal(got, []byte{byte(winner)}) {
		t.Errorf("stored %x (%v), want the winner's %x", got, err, winner)
	}
	if _, err := b.Fetch(ctx, "tile/entries/001"); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("Fetch of a missing object: %v, want fs.ErrNotExist", err)
	}
}

// TestOpenBucketBadConfig: a missing bucket, an unreachable endpoint and a
// store that ignores If-None-Match (a versioned bucket on Ceph RGW 16, and
// an endpoint that answers 200 to everything) are refused with errors that
// say so.
func TestOpenBucketBadConfig(t *testing.T) {
	srv := s3test.Start(t)
	ctx := context.Background()

	_, err := objstore.OpenBucket(ctx, srv.Config(), "attestlog-no-such-bucket")
	if !errors.Is(err, objstore.ErrNoBucket) || !strings.Contains(err.Error(), "s3://attestlog-no-such-bucket") {
		t.Errorf("missing bucket: %v, want ErrNoBucket naming it", err)
	}

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := "http://" + ln.Addr().String()
	ln.Close()
	cfg := srv.Config()
	cfg.Endpoint = closed
	tctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	_, err = objstore.OpenBucket(tctx, cfg, "attestlog-anything")
	if err == nil || !strings.Contains(err.Error(), "connection refused") || !strings.Contains(err.Error(), "s3://attestlog-anything") {
		t.Errorf("unreachable endpoint: %v", err)
	}

	// Ceph RGW 16 ignores If-None-Match in a versioned bucket, as one
	// with Object Lock is: a real store without create-only writes.
	_, err = objstore.OpenBucket(ctx, srv.Config(), srv.NewBucket(t, true))
	if !errors.Is(err, objstore.ErrNoCreateOnly) {
		t.Logf("a versioned bucket: %v (this store honours If-None-Match there)", err)
	}

	// A wrong endpoint: an HTTP server that answers every request 200,
	// as a store (or proxy) that ignores If-None-Match would.
	var puts int
	var mu sync.Mutex
	ignoring := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPut {
			mu.Lock()
			puts++
			mu.Unlock()
		}
	}))
	defer ignoring.Close()
	cfg.Endpoint = ignoring.URL
	_, err = objstore.OpenBucket(ctx, cfg, "attestlog-anything")
	if !errors.Is(err, objstore.ErrNoCreateOnly) {
		t.Errorf("store without create-only writes: %v, want ErrNoCreateOnly", err)
	}
	if puts != 2 {
		t.Errorf("%d PUTs to the store without create-only writes, want the 2 of the probe", puts)
	}
}
