package objstore_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/attestlog/attestlog/client"
	"github.com/attestlog/attestlog/log"
	"github.com/attestlog/attestlog/log/logtest"
	"github.com/attestlog/attestlog/log/objstore"
	"github.com/attestlog/attestlog/log/objstore/s3test"
	"github.com/attestlog/attestlog/tiles"
	"github.com/prometheus/client_golang/prometheus/testutil"
	fmtlog "github.com/transparency-dev/formats/log"
	"github.com/transparency-dev/merkle/proof"
	"github.com/transparency-dev/merkle/rfc6962"
	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"
)

func entry(i int) []byte { return fmt.Appendf(nil, "entry %d\n", i) }

// publishing is a test log publishing to a fresh bucket.
type publishing struct {
	srv    *s3test.Server
	bucket *objstore.Bucket
	pub    *objstore.Publisher
	l      *logtest.Log
	run    *running
}

// startPublishing starts a test log in dir (a new one if empty) publishing
// to b, after appending entries.
func startPublishing(t *testing.T, srv *s3test.Server, b *objstore.Bucket, dir string, entries ...[]byte) *publishing {
	t.Helper()
	pub, err := objstore.NewPublisher(objstore.PublisherConfig{Bucket: b, PollInterval: 50 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	l := logtest.New(t, dir, log.Config{Publisher: pub})
	p := &publishing{srv: srv, bucket: b, pub: pub, l: l}
	if len(entries) > 0 {
		l.Append(t, entries...)
	}
	p.run = runPublisher(t, pub, l.Log)
	return p
}

// A running publisher, as runPublisher started it.
type running struct {
	cancel context.CancelFunc
	done   chan error
	err    error
	ended  bool
}

// runPublisher runs pub until stop is called (or the test ends).
func runPublisher(t *testing.T, pub *objstore.Publisher, src objstore.Source) *running {
	ctx, cancel := context.WithCancel(context.Background())
	r := &running{cancel: cancel, done: make(chan error, 1)}
	go func() { r.done <- pub.Run(ctx, src) }()
	t.Cleanup(func() { r.stop() })
	return r
}

// stop stops the publisher and returns what Run returned.
func (r *running) stop() error {
	r.cancel()
	return r.wait(nil)
}

// wait waits for Run to return, by itself unless stop is called, and
// returns its error; it fails t if that takes more than a minute.
func (r *running) wait(t *testing.T) error {
	if r.ended {
		return r.err
	}
	select {
	case r.err = <-r.done:
		r.ended = true
	case <-time.After(time.Minute):
		if t != nil {
			t.Fatal("the publisher did not stop within a minute")
		}
	}
	return r.err
}

// waitPublished waits until the bucket's checkpoint is want.
func waitPublished(t *testing.T, b *objstore.Bucket, want []byte) {
	t.Helper()
	ctx := context.Background()
	deadline := time.Now().Add(time.Minute)
	for {
		got, err := b.Fetch(ctx, objstore.CheckpointKey)
		if err == nil && bytes.Equal(got, want) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("bucket checkpoint %q (%v) after a minute, want %q", got, err, want)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestPublishReadOverAnonymousHTTP grows a log across tile boundaries, so
// that it has partial tiles at levels 0 and 1 through several checkpoints, publishing to a bucket, and
// checks the bucket through anonymous HTTP GETs (the bucket policy grants
// s3:GetObject), as a client behind a CDN would: CheckLog, every tile
// authenticated by x/mod's tlog.TileHashReader at every published size,
// the checkpoint with transparency-dev's parser, inclusion proofs with
// transparency-dev's merkle, and each object's Cache-Control.
func TestPublishReadOverAnonymousHTTP(t *testing.T) {
	srv := s3test.Start(t)
	b := openBucket(t, srv, false)
	srv.AllowAnonymousRead(t, b.Name())
	p := startPublishing(t, srv, b, "")
	ctx := context.Background()
	anon := client.HTTPFetcher{Base: srv.Endpoint + "/" + b.Name()}

	var entries [][]byte
	var published []*log.Signed
	// Level 2 would take 65,536 entries: too many GETs for CI on a loaded
	// machine; log's TestInteroperability covers it for the paths.
	for _, size := range []int{1, 255, 256, 257, 1000, 3000} {
		var chunk [][]byte
		for i := len(entries); i < size; i++ {
			chunk = append(chunk, entry(i))
		}
		p.l.Append(t, chunk...)
		entries = append(entries, chunk...)
		cp := p.l.Checkpoint()
		waitPublished(t, b, cp.Note)
		published = append(published, cp)
	}
	last := published[len(published)-1]
	for _, cp := range published {
		c, _, _, err := fmtlog.ParseCheckpoint(cp.Note, logtest.Origin, p.l.Verifier)
		if err != nil || c.Size != uint64(cp.Size) {
			t.Fatalf("formats ParseCheckpoint(%d): %+v, %v", cp.Size, c, err)
		}
		authenticateTiles(t, ctx, anon, cp, entries)
	}
	r, err := client.CheckLog(ctx, anon, p.l.Verifier)
	if err != nil {
		t.Fatalf("CheckLog over the bucket: %v", err)
	}
	if r.Checkpoint.Size != last.Size || r.Bundles != (len(entries)+255)/256 {
		t.Errorf("CheckLog: size %d, %d bundles; want %d, %d", r.Checkpoint.Size, r.Bundles, last.Size, (len(entries)+255)/256)
	}
	for _, i := range []int64{0, 255, 256, 2999, last.Size - 1} {
		pr, err := p.l.InclusionProof(i, last.Size)
		if err != nil {
			t.Fatal(err)
		}
		if err := proof.VerifyInclusion(rfc6962.DefaultHasher, uint64(i), uint64(last.Size), rfc6962.DefaultHasher.HashLeaf(entries[i]), raw(pr), last.Hash[:]); err != nil {
			t.Errorf("inclusion of %d: %v", i, err)
		}
	}
	for path, want := range map[string]string{
		"checkpoint":             objstore.CacheCheckpoint,
		"tile/0/000":             objstore.CacheFull,
		"tile/entries/000":       objstore.CacheFull,
		"tile/0/011.p/184":       objstore.CachePartial, // of size 3000
		"tile/1/000.p/11":        objstore.CachePartial,
		"tile/entries/003.p/232": objstore.CachePartial, // of size 1000
	} {
		resp, err := http.Get(anon.Base + "/" + path)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK || resp.Header.Get("Cache-Control") != want {
			t.Errorf("anonymous GET %s: %s, Cache-Control %q; want 200, %q", path, resp.Status, resp.Header.Get("Cache-Control"), want)
		}
	}
	if err := p.run.stop(); err != nil {
		t.Errorf("Publisher.Run: %v", err)
	}
}

// authenticateTiles reads every leaf hash of the tree of cp through
// tlog.TileHashReader, which authenticates each tile it reads (partial
// ones of that size included) against cp's root, and compares the leaves
// with the entries, and the bundles with them too up to a size (CheckLog
// reads those of larger trees).
func authenticateTiles(t *testing.T, ctx context.Context, f client.Fetcher, cp *log.Signed, entries [][]byte) {
	t.Helper()
	hr := tlog.TileHashReader(tlog.Tree{N: cp.Size, Hash: cp.Hash}, tileReader{ctx, f})
	var indexes []int64
	for i := int64(0); i < cp.Size; i++ {
		indexes = append(indexes, tlog.StoredHashIndex(0, i))
	}
	hashes, err := hr.ReadHashes(indexes)
	if err != nil {
		t.Fatalf("tree size %d: TileHashReader: %v", cp.Size, err)
	}
	for i, h := range hashes {
		if h != tlog.RecordHash(entries[i]) {
			t.Fatalf("tree size %d: leaf %d is not the hash of its entry", cp.Size, i)
		}
	}
	for n := int64(0); n*tiles.Width < cp.Size && cp.Size <= 3000; n++ {
		w := tiles.TileWidth(tiles.EntriesLevel, n, cp.Size)
		data, err := f.Fetch(ctx, tiles.Path(tlog.Tile{H: tiles.Height, L: tiles.EntriesLevel, N: n, W: w}))
		if err != nil {
			t.Fatalf("tree size %d: bundle %d: %v", cp.Size, n, err)
		}
		got, err := tiles.ParseEntryBundle(data)
		if err != nil || len(got) != w || !bytes.Equal(got[0], entries[n*tiles.Width]) {
			t.Fatalf("tree size %d: bundle %d does not hold its entries (%v)", cp.Size, n, err)
		}
	}
}

type tileReader struct {
	ctx context.Context
	f   client.Fetcher
}

func (tileReader) Height() int { return tiles.Height }

func (r tileReader) ReadTiles(ts []tlog.Tile) ([][]byte, error) {
	out := make([][]byte, len(ts))
	for i, t := range ts {
		d, err := r.f.Fetch(r.ctx, tiles.Path(t))
		if err != nil {
			return nil, err
		}
		out[i] = d
	}
	return out, nil
}

func (tileReader) SaveTiles([]tlog.Tile, [][]byte) {}

func raw(hs []tlog.Hash) [][]byte {
	out := make([][]byte, len(hs))
	for i := range hs {
		out[i] = hs[i][:]
	}
	return out
}

// TestPublishRepairAfterCrash: entries committed while no publisher ran (a
// crash between the database commit and the uploads) are uploaded by the
// next publisher, which resumes from the bucket's checkpoint; the bucket's
// checkpoint never named a tree whose tiles were missing.
func TestPublishRepairAfterCrash(t *testing.T) {
	srv := s3test.Start(t)
	b := openBucket(t, srv, false)
	dir := t.TempDir()
	ctx := context.Background()

	// A first run publishes 300 entries, then "crashes": its publisher is
	// gone while 700 more entries commit.
	pub, err := objstore.NewPublisher(objstore.PublisherConfig{Bucket: b, PollInterval: 50 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	l := logtest.New(t, dir, log.Config{Publisher: pub})
	run := runPublisher(t, pub, l.Log)
	var entries [][]byte
	for i := range 300 {
		entries = append(entries, entry(i))
	}
	l.Append(t, entries...)
	waitPublished(t, b, l.Checkpoint().Note)
	if err := run.stop(); err != nil {
		t.Fatal(err)
	}
	for i := 300; i < 1000; i++ {
		entries = append(entries, entry(i))
	}
	l.Append(t, entries[300:]...)
	if _, err := b.Fetch(ctx, "tile/entries/003.p/232"); err == nil {
		t.Fatal("the stopped publisher uploaded a bundle")
	}

	// The next start: a new publisher of the same log repairs the bucket.
	pub2, err := objstore.NewPublisher(objstore.PublisherConfig{Bucket: b, PollInterval: 50 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	run2 := runPublisher(t, pub2, l.Log)
	waitPublished(t, b, l.Checkpoint().Note)
	if err := run2.stop(); err != nil {
		t.Fatal(err)
	}
	r, err := client.CheckLog(ctx, b, l.Verifier)
	if err != nil || r.Checkpoint.Size != 1000 {
		t.Fatalf("CheckLog after the repair: %+v, %v", r, err)
	}
	// It resumed from the bucket's checkpoint: it created exactly what the
	// tree of 1000 has and that of 300 lacks, and met nothing already there.
	m := pub2.Metrics() // uploaded size, checkpoint size, created, existing, ...
	if got, want := testutil.ToFloat64(m[2]), float64(len(tiles.NewTiles(300, 1000))); got != want {
		t.Errorf("the repairing publisher created %v objects, want %v", got, want)
	}
	if got := testutil.ToFloat64(m[3]); got != 0 {
		t.Errorf("the repairing publisher met %v objects already stored, want 0", got)
	}
	if got := testutil.ToFloat64(m[0]); got != 1000 {
		t.Errorf("uploaded size metric %v, want 1000", got)
	}
	authenticateTiles(t, ctx, b, l.Checkpoint(), entries)
}

// TestPublishAlarm: a publisher stops with an AlarmError, and never writes
// the checkpoint, when the bucket holds another tree: a tile of other bytes
// at a path the log writes, or a checkpoint of another log.
func TestPublishAlarm(t *testing.T) {
	srv := s3test.Start(t)
	ctx := context.Background()

	t.Run("tile", func(t *testing.T) {
		b := openBucket(t, srv, false)
		if _, err := b.Create(ctx, "tile/entries/000.p/3", []byte("not our bundle"), objstore.CachePartial, "application/octet-stream"); err != nil {
			t.Fatal(err)
		}
		p := startPublishing(t, srv, b, "", entry(0), entry(1), entry(2))
		err := p.run.wait(t)
		var alarm *objstore.AlarmError
		if !errors.As(err, &alarm) || alarm.Key != "tile/entries/000.p/3" || string(alarm.Stored) != "not our bundle" {
			t.Fatalf("Run: %v, want an AlarmError for tile/entries/000.p/3", err)
		}
		if got, err := b.Fetch(ctx, objstore.CheckpointKey); err == nil {
			t.Errorf("the publisher wrote a checkpoint over a bucket holding another tree:\n%s", got)
		}
	})
	t.Run("checkpoint", func(t *testing.T) {
		b := openBucket(t, srv, false)
		skey, _ := logtest.Keys(logtest.Origin)
		signer, _ := note.NewSigner(skey)
		other := tiles.Checkpoint{Origin: logtest.Origin, Size: 1, Hash: tlog.RecordHash([]byte("another tree"))}
		msg, err := note.Sign(&note.Note{Text: string(other.Format())}, signer)
		if err != nil {
			t.Fatal(err)
		}
		if err := b.Put(ctx, objstore.CheckpointKey, msg, objstore.CacheCheckpoint, "text/plain"); err != nil {
			t.Fatal(err)
		}
		p := startPublishing(t, srv, b, "", entry(0), entry(1))
		err = p.run.wait(t)
		var alarm *objstore.AlarmError
		if !errors.As(err, &alarm) || alarm.Key != objstore.CheckpointKey || !strings.Contains(err.Error(), "root at size 1 differs") {
			t.Fatalf("Run: %v, want an AlarmError for the checkpoint", err)
		}
		if got, _ := b.Fetch(ctx, objstore.CheckpointKey); !bytes.Equal(got, msg) {
			t.Error("the publisher overwrote the other tree's checkpoint")
		}
		if _, err := b.Fetch(ctx, "tile/entries/000.p/2"); err == nil {
			t.Error("the publisher uploaded into a bucket holding another tree")
		}
	})
}

// laggingSource publishes a checkpoint older than the latest commit, as a
// log with witnesses does until the quorum cosigns the newest one.
type laggingSource struct {
	*logtest.Log
	published *log.Signed
}

func (s laggingSource) Published() *log.Signed { return s.published }

// TestPublishWitnessedBetweenCommits: the published checkpoint is of a
// size between two commits that one pass uploads together (10 entries,
// then 20 more, published at 10): its partial tiles are uploaded before
// it, so that the bucket serves its whole tree.
func TestPublishWitnessedBetweenCommits(t *testing.T) {
	srv := s3test.Start(t)
	b := openBucket(t, srv, false)
	l := logtest.New(t, "", log.Config{})
	var entries [][]byte
	for i := range 30 {
		entries = append(entries, entry(i))
	}
	l.Append(t, entries[:10]...)
	at10 := l.Checkpoint()
	l.Append(t, entries[10:]...)
	pub, err := objstore.NewPublisher(objstore.PublisherConfig{Bucket: b, PollInterval: 50 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	run := runPublisher(t, pub, laggingSource{l, at10})
	waitPublished(t, b, at10.Note)
	if err := run.stop(); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if _, err := client.CheckLog(ctx, b, l.Verifier); err != nil {
		t.Fatalf("CheckLog of the published tree of size 10: %v", err)
	}
	authenticateTiles(t, ctx, b, at10, entries)
	if _, err := b.Fetch(ctx, "tile/entries/000.p/30"); err != nil {
		t.Errorf("the latest tree's bundle: %v", err)
	}
}
