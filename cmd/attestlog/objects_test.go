package main

import (
	"bytes"
	"context"
	"errors"
	"io"
	"io/fs"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/attestlog/attestlog/client"
	"github.com/attestlog/attestlog/log/objstore/s3test"
	"golang.org/x/mod/sumdb/note"
)

// objectsURL returns the --objects URL of a fresh tiles bucket, readable
// anonymously, and a fresh archive bucket with Object Lock on srv, and
// gives this test's processes srv's keys through the SDK's environment
// variables. It returns the tiles bucket's anonymous base URL too.
func objectsURL(t *testing.T, srv *s3test.Server) (url, anonBase string) {
	t.Helper()
	for _, kv := range srv.Env() {
		k, v, _ := strings.Cut(kv, "=")
		t.Setenv(k, v)
	}
	tiles := srv.NewBucket(t, false)
	srv.AllowAnonymousRead(t, tiles)
	archive := srv.NewBucket(t, true)
	return "s3://" + tiles + "?endpoint=" + srv.Endpoint + "&archive=" + archive + "&retention_days=1", srv.Endpoint + "/" + tiles
}

// TestFaultKillLogObjects is TestFaultKillLog with --objects: the tiles
// published to a bucket and the binaries archived in an Object Lock bucket
// on Ceph RGW. SIGKILL between a commit and its uploads loses nothing: the
// last serve repairs the bucket from its checkpoint, and CheckLog over the
// bucket's anonymous HTTP then proves the log's tree, checkpoint for
// checkpoint the one serve publishes itself.
func TestFaultKillLogObjects(t *testing.T) {
	if testing.Short() {
		t.Skip("kills processes")
	}
	srv := s3test.Start(t)
	url, anon := objectsURL(t, srv)
	p := faultKillLog(t, "--objects", url)

	resp, err := http.Get("http://" + p.get("http listening on") + "/checkpoint")
	if err != nil {
		t.Fatal(err)
	}
	want, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	fetch := client.HTTPFetcher{Base: anon}
	ctx := context.Background()
	waitFor(t, "the bucket has the log's checkpoint", func() bool {
		got, err := fetch.Fetch(ctx, "checkpoint")
		return err == nil && bytes.Equal(got, want)
	})
	v, err := note.NewVerifier(p.get("log vkey:"))
	if err != nil {
		t.Fatal(err)
	}
	r, err := client.CheckLog(ctx, fetch, v)
	if err != nil {
		t.Fatalf("CheckLog over the bucket: %v", err)
	}
	t.Logf("the bucket holds the log's tree of %d entries: %d tiles and %d bundles verified", r.Checkpoint.Size, r.Tiles, r.Bundles)
}

// TestServeObjectsBadConfig: a bad --objects fails the start with an error
// that says what is wrong, before serve writes anything: no data
// directory is created.
func TestServeObjectsBadConfig(t *testing.T) {
	srv := s3test.Start(t)
	good, _ := objectsURL(t, srv)
	loc, _, _ := strings.Cut(strings.TrimPrefix(good, "s3://"), "?")
	plain := srv.NewBucket(t, false)
	locked := srv.NewBucket(t, true)

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	dead := "http://" + ln.Addr().String()
	ln.Close()
	ignoring := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	defer ignoring.Close()

	for _, tc := range []struct {
		name, objects string
		extra         []string
		want          []string
	}{
		{"malformed URL", "s3://" + loc + "/prefix", nil, []string{"--objects", "no path"}},
		{"missing bucket", "s3://attestlog-missing?endpoint=" + srv.Endpoint, nil,
			[]string{"no such bucket: s3://attestlog-missing", "create it first"}},
		{"missing archive bucket", "s3://" + plain + "?endpoint=" + srv.Endpoint + "&archive=attestlog-missing", nil,
			[]string{"archive", "no such bucket: s3://attestlog-missing"}},
		{"archive without Object Lock", "s3://" + plain + "?endpoint=" + srv.Endpoint + "&archive=" + srv.NewBucket(t, false), nil,
			[]string{"has no Object Lock", "--archive-no-lock"}},
		{"unreachable endpoint", "s3://" + plain + "?endpoint=" + dead, nil,
			[]string{"checking bucket s3://" + plain, "connection refused"}},
		{"endpoint without create-only writes", "s3://" + plain + "?endpoint=" + ignoring.URL, nil,
			[]string{"does not support create-only writes", "accepted a second create"}},
		{"versioned tiles bucket on Ceph RGW", "s3://" + locked + "?endpoint=" + srv.Endpoint, nil,
			[]string{"does not support create-only writes"}},
		{"--archive-no-lock without an archive", "s3://" + plain + "?endpoint=" + srv.Endpoint, []string{"--archive-no-lock"},
			[]string{"names no archive bucket"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			data := filepath.Join(t.TempDir(), "log")
			args := append([]string{"serve", "--data", data, "--http", "127.0.0.1:0", "--grpc", "127.0.0.1:0", "--objects", tc.objects}, tc.extra...)
			ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
			defer cancel()
			err := run(ctx, args, io.Discard, io.Discard)
			if err == nil {
				t.Fatal("serve started")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("serve = %v, want an error saying %q", err, w)
				}
			}
			if _, err := os.Stat(data); !errors.Is(err, fs.ErrNotExist) {
				t.Errorf("the failed start created %s (%v)", data, err)
			}
		})
	}

	// An archive bucket without Object Lock is accepted with
	// --archive-no-lock, and then no local archive is made.
	data := filepath.Join(t.TempDir(), "log")
	nolock := "s3://" + plain + "?endpoint=" + srv.Endpoint + "&archive=" + srv.NewBucket(t, false)
	s := startServe(t, []string{"serve", "--data", data, "--http", "127.0.0.1:0", "--grpc", "127.0.0.1:0", "--objects", nolock, "--archive-no-lock"})
	s.stop(t)
	if _, err := os.Stat(filepath.Join(data, "archive")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("serve with an archive bucket created a local archive (%v)", err)
	}
}
