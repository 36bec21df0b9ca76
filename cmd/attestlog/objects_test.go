package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/attestlog/attestlog/client"
	"github.com/attestlog/attestlog/log/objstore/s3test"
	"github.com/attestlog/attestlog/log/pgstore/pgtest"
	"github.com/attestlog/attestlog/tiles"
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

// A bucketWatch polls a tiles bucket's checkpoint over anonymous HTTP and
// records every tree size it saw, and every time it moved back.
type bucketWatch struct {
	mu    sync.Mutex
	sizes []int64  // distinct sizes, in the order first seen
	back  []string // "N after M" for each checkpoint smaller than one seen before
	polls int
	done  chan struct{}
}

// watchBucketCheckpoint polls anon+"/checkpoint" until ctx is done.
func watchBucketCheckpoint(ctx context.Context, anon string) *bucketWatch {
	w := &bucketWatch{done: make(chan struct{})}
	go func() {
		defer close(w.done)
		var max int64 = -1
		for ctx.Err() == nil {
			if size, ok := bucketCheckpointSize(ctx, anon); ok {
				w.mu.Lock()
				w.polls++
				switch {
				case size < max:
					w.back = append(w.back, fmt.Sprintf("%d after %d", size, max))
				case size > max:
					w.sizes = append(w.sizes, size)
					max = size
				}
				w.mu.Unlock()
			}
			time.Sleep(5 * time.Millisecond)
		}
	}()
	return w
}

// bucketCheckpointSize returns the tree size of the bucket's checkpoint.
func bucketCheckpointSize(ctx context.Context, anon string) (int64, bool) {
	b, err := client.HTTPFetcher{Base: anon}.Fetch(ctx, "checkpoint")
	if err != nil {
		return 0, false
	}
	i := bytes.Index(b, []byte("\n\n"))
	if i < 0 {
		return 0, false
	}
	cp, err := tiles.ParseCheckpoint(b[:i+1])
	if err != nil {
		return 0, false
	}
	return cp.Size, true
}

// TestFrontendsObjectsOneTree runs two, then four `serve` frontends of one
// log on one PostgreSQL database, every one with the same --objects (one
// tiles bucket, one Object Lock archive bucket on Ceph RGW), with builders
// appending claims and uploading binaries through every one at once, while
// the bucket's checkpoint is polled over anonymous HTTP. The bucket's
// checkpoint never moves back while the frontends race to publish; every
// frontend stays up; every binary uploaded through any frontend is served
// by every other; and at the end the bucket holds the checkpoint every
// frontend serves, and CheckLog over the bucket's anonymous HTTP proves
// its tree.
func TestFrontendsObjectsOneTree(t *testing.T) {
	if testing.Short() {
		t.Skip("starts PostgreSQL, Ceph and several serve processes")
	}
	pg := pgtest.Start(t, false)
	s3 := s3test.Start(t)
	for _, n := range []int{2, 4} {
		t.Run(fmt.Sprintf("frontends=%d", n), func(t *testing.T) {
			objects, anon := objectsURL(t, s3)
			fes := startFrontendClients(t, frontendData(t, n), repeat(pg.NewDatabase(t), n), "--objects", objects)
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			watch := watchBucketCheckpoint(ctx, anon)
			wg := loadFrontends(ctx, t, fes)
			// Past the first full tile (256 entries), with every frontend
			// acknowledging claims and uploads.
			for deadline := time.Now().Add(3 * time.Minute); ; time.Sleep(100 * time.Millisecond) {
				total, each := 0, true
				for _, fe := range fes {
					fe.rec.mu.Lock()
					total += len(fe.rec.claims)
					each = each && len(fe.rec.claims) > 20 && len(fe.rec.uploads) > 5
					fe.rec.mu.Unlock()
				}
				if total > 300 && each {
					break
				}
				if time.Now().After(deadline) {
					t.Fatalf("after 3 minutes the frontends acknowledged %d claims, want over 300, and each over 20 and 5 uploads", total)
				}
			}
			cancel()
			wg.Wait()
			<-watch.done
			for f, fe := range fes {
				select {
				case <-fe.done:
					t.Fatalf("frontend %d exited:\n%s", f, fe.stderr())
				default:
				}
			}
			r := checkOneTree(t, fes)

			// A binary uploaded through any frontend is served by every one.
			all := &faultRecord{claims: map[int64][]byte{}, uploads: map[string][]byte{}, checkpoints: map[string]bool{}}
			for _, fe := range fes {
				all.merge(&faultRecord{uploads: fe.rec.uploads})
			}
			for _, fe := range fes {
				checkNothingLost(t, fe.lc, fe.http, fe.verifier, &faultRecord{uploads: all.uploads})
			}

			// The bucket ends up with the checkpoint every frontend serves,
			// backed by the whole tree.
			fetch := client.HTTPFetcher{Base: anon}
			waitFor(t, "the bucket has the frontends' checkpoint", func() bool {
				got, err := fetch.Fetch(context.Background(), "checkpoint")
				return err == nil && bytes.Equal(got, r.Note)
			})
			br, err := client.CheckLog(context.Background(), fetch, fes[0].verifier)
			if err != nil {
				t.Fatalf("CheckLog over the bucket: %v", err)
			}
			if br.Checkpoint.Size != r.Checkpoint.Size {
				t.Errorf("CheckLog over the bucket checked a tree of size %d, the frontends serve %d", br.Checkpoint.Size, r.Checkpoint.Size)
			}
			watch.mu.Lock()
			defer watch.mu.Unlock()
			if len(watch.back) > 0 {
				t.Errorf("the bucket's checkpoint moved back %d times while the frontends raced: %v", len(watch.back), watch.back)
			}
			if len(watch.sizes) < 5 {
				t.Errorf("the poller saw only %d checkpoint sizes in %d polls: the race was not exercised", len(watch.sizes), watch.polls)
			}
			t.Logf("%d frontends: one tree of %d entries in the bucket (%d tiles, %d bundles); %d binaries, each served by every frontend; %d polls saw %d sizes, never a smaller one",
				n, br.Checkpoint.Size, br.Tiles, br.Bundles, len(all.uploads), watch.polls, len(watch.sizes))
		})
	}
}

// TestFaultKillFrontendsObjects is TestFaultKillFrontends with both
// frontends publishing to one tiles bucket and archiving in one Object
// Lock bucket: SIGKILL of a frontend mid-batch, possibly while it holds
// the bucket's publication lock or between a commit and its uploads,
// loses no acknowledged claim or binary, and once the restarted
// frontends have published, the bucket holds the checkpoint they serve and
// CheckLog over its anonymous HTTP proves the tree.
func TestFaultKillFrontendsObjects(t *testing.T) {
	if testing.Short() {
		t.Skip("kills processes")
	}
	srv := s3test.Start(t)
	url, anon := objectsURL(t, srv)
	procs := faultKillFrontends(t, 2, "--store", pgtest.Start(t, true).NewDatabase(t), "--objects", url)
	var want []byte
	waitFor(t, "both frontends serve one checkpoint", func() bool {
		want = httpCheckpoint(procs[0].get("http listening on"))
		return want != nil && bytes.Equal(want, httpCheckpoint(procs[1].get("http listening on")))
	})
	fetch := client.HTTPFetcher{Base: anon}
	ctx := context.Background()
	waitFor(t, "the bucket has the frontends' checkpoint", func() bool {
		got, err := fetch.Fetch(ctx, "checkpoint")
		return err == nil && bytes.Equal(got, want)
	})
	v, err := note.NewVerifier(procs[0].get("log vkey:"))
	if err != nil {
		t.Fatal(err)
	}
	r, err := client.CheckLog(ctx, fetch, v)
	if err != nil {
		t.Fatalf("CheckLog over the bucket: %v", err)
	}
	t.Logf("after the kills the bucket holds the tree of %d entries: %d tiles and %d bundles verified", r.Checkpoint.Size, r.Tiles, r.Bundles)
}
