package objstore

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"time"

	"github.com/attestlog/attestlog/log"
	"github.com/attestlog/attestlog/tiles"
	"golang.org/x/mod/sumdb/tlog"
	"golang.org/x/sync/errgroup"
)

// Defaults of [PublisherConfig].
const (
	// DefaultPollInterval is how often a Publisher looks for a newly
	// witnessed checkpoint when no commit woke it.
	DefaultPollInterval = time.Second
	// DefaultUploads is how many objects a Publisher uploads at once.
	DefaultUploads = 8
	// maxRetryDelay bounds the wait between two failed publishing passes.
	maxRetryDelay = time.Minute
	// checkpointWriteTimeout bounds a checkpoint write under a
	// [PublishLock], well below the time a lock's holder may take before
	// its database passes the lock on (two minutes for pgstore).
	checkpointWriteTimeout = 30 * time.Second
)

// CheckpointKey is the key of the checkpoint in the bucket.
const CheckpointKey = log.CheckpointPath

// A Source is what a Publisher publishes: a [*log.Log].
type Source interface {
	// Checkpoint returns the latest committed checkpoint.
	Checkpoint() *log.Signed
	// Published returns the checkpoint to publish, or nil if there is none yet.
	Published() *log.Signed
	// Fetch returns a tlog-tiles resource of the committed tree.
	Fetch(ctx context.Context, path string) ([]byte, error)
	// TreeHash returns the root hash of the tree of the given size.
	TreeHash(size int64) (tlog.Hash, error)
}

// A PublishLock lets the Publishers of several frontends of one log share
// one bucket: it serialises their writes of the bucket's checkpoint and
// records the last one written, so that the bucket's checkpoint never moves
// back (see the package documentation). The log's PostgreSQL store
// (log/pgstore) implements it, since S3 offers no compare-and-swap that
// every store honours.
// Implementations MUST be safe for concurrent use by many processes.
type PublishLock interface {
	// PublishedCheckpoint returns the checkpoint note recorded as bucket's,
	// or nil if none is, without taking the lock.
	PublishedCheckpoint(ctx context.Context, bucket string) ([]byte, error)
	// LockPublished blocks until the caller holds bucket's lock and
	// returns the checkpoint note recorded as bucket's (nil if none).
	// record stores a note as bucket's (nil clears the record), only if
	// its tree is larger than the recorded one's, and lets go of the
	// lock; it fails if the lock was lost, and then records nothing.
	// unlock lets go without recording; after record it does nothing.
	LockPublished(ctx context.Context, bucket string) (recorded []byte, record func(note []byte) error, unlock func(), err error)
}

// PublisherConfig configures a [Publisher]. Bucket is required; every other
// zero value means the documented default.
type PublisherConfig struct {
	Bucket *Bucket
	// Lock, if set, is shared by the Publishers of every frontend of the
	// log that publish to Bucket. Nil means this Publisher is the bucket's
	// only one.
	Lock PublishLock
	// PollInterval is how often the Publisher looks for a newly witnessed
	// checkpoint when no commit woke it. Default DefaultPollInterval.
	PollInterval time.Duration
	// Uploads is how many objects it uploads at once. Default DefaultUploads.
	Uploads int
	// Logger receives logs; nil discards them.
	Logger *slog.Logger
}

// A Publisher uploads a log's tiles, entry bundles and checkpoint to a
// bucket after each commit; see the package documentation for the order
// and the repair after a crash. Give it to the log as
// [log.Config.Publisher] and run [Publisher.Run] beside [log.Log.Run].
type Publisher struct {
	cfg     PublisherConfig
	log     *slog.Logger
	metrics *metrics
	kick    chan struct{} // Committed's wake-up call to Run; buffered, 1

	// Owned by Run.
	uploaded    int64  // every resource of the tree of this size is in the bucket
	written     []byte // the checkpoint note last written to the bucket (with a Lock: or recorded as its)
	writtenSize int64
	// dirty is set, with a Lock, while a checkpoint write of this
	// Publisher may have reached the bucket without being recorded: if its
	// lock was lost meanwhile, the write may have moved the bucket's
	// checkpoint back, and the next pass writes the recorded one again.
	dirty bool
}

var _ log.Publisher = (*Publisher)(nil)

// NewPublisher returns a Publisher to cfg.Bucket.
func NewPublisher(cfg PublisherConfig) (*Publisher, error) {
	switch {
	case cfg.Bucket == nil:
		return nil, errors.New("objstore: publisher config: no bucket")
	case cfg.PollInterval < 0 || cfg.Uploads < 0:
		return nil, errors.New("objstore: publisher config: negative PollInterval or Uploads")
	}
	if cfg.PollInterval == 0 {
		cfg.PollInterval = DefaultPollInterval
	}
	if cfg.Uploads == 0 {
		cfg.Uploads = DefaultUploads
	}
	p := &Publisher{cfg: cfg, log: cfg.Logger, metrics: newMetrics(), kick: make(chan struct{}, 1)}
	if p.log == nil {
		p.log = slog.New(slog.DiscardHandler)
	}
	return p, nil
}

// Committed implements [log.Publisher]: it wakes Run, without blocking.
func (p *Publisher) Committed(int64) {
	select {
	case p.kick <- struct{}{}:
	default:
	}
}

var _ log.FollowingPublisher = (*Publisher)(nil)

// Followed implements [log.FollowingPublisher]. With a Lock, the frontend
// that committed the tree publishes it: this Publisher is not woken, and
// its next periodic pass (PollInterval) takes the recorded checkpoint as
// its mark and publishes only what is still missing, so that the
// frontends do not all upload every tile and write partial tiles at every
// size. Without a Lock it wakes Run, as Committed does.
func (p *Publisher) Followed(size int64) {
	if p.cfg.Lock == nil {
		p.Committed(size)
	}
}

// Run publishes src to the bucket until ctx is done. It first takes the
// bucket's checkpoint as its mark (after checking that src holds the same
// tree at that size), then publishes after each commit and whenever src
// publishes a new checkpoint. It retries failed uploads with a growing
// delay. It returns nil when ctx is done, or an error wrapping an
// [*AlarmError] if the bucket holds bytes other than the log's: the caller
// must stop the log.
func (p *Publisher) Run(ctx context.Context, src Source) error {
	delay := time.Duration(0)
	resumed := false
	t := time.NewTicker(p.cfg.PollInterval)
	defer t.Stop()
	for {
		err := p.step(ctx, src, &resumed)
		var alarm *AlarmError
		switch {
		case ctx.Err() != nil:
			return nil
		case errors.As(err, &alarm):
			p.metrics.alarm.Set(1)
			p.log.ErrorContext(ctx, "object store alarm: stopping", slog.String("bucket", alarm.Bucket), slog.String("key", alarm.Key), slog.Any("err", err))
			return fmt.Errorf("objstore: stopping the publisher: %w", err)
		case err != nil:
			p.metrics.failures.Inc()
			delay = min(max(2*delay, time.Second), maxRetryDelay)
			p.log.ErrorContext(ctx, "publishing to the object store; retrying", slog.String("bucket", p.cfg.Bucket.name), slog.Duration("retry_in", delay), slog.Any("err", err))
			select {
			case <-ctx.Done():
				return nil
			case <-time.After(delay):
			}
			continue
		}
		delay = 0
		select {
		case <-ctx.Done():
			return nil
		case <-p.kick:
		case <-t.C:
		}
	}
}

// Sync makes one publishing pass, as Run does after a start: it resumes
// from the bucket's checkpoint (an [*AlarmError] if the bucket holds
// another tree), uploads every resource of src's latest tree that the
// bucket lacks, and then src's published checkpoint. It is for a one-off
// copy of a log that nothing appends to (attestlog migrate); a serving log
// uses Run. It must not run concurrently with Run or another Sync.
func (p *Publisher) Sync(ctx context.Context, src Source) error {
	resumed := false
	return p.step(ctx, src, &resumed)
}

// step resumes from the bucket's checkpoint once, then makes one pass.
func (p *Publisher) step(ctx context.Context, src Source, resumed *bool) error {
	if !*resumed {
		err := p.resume(ctx, src)
		if errors.Is(err, errBucketAhead) {
			p.log.DebugContext(ctx, "the bucket's checkpoint is ahead of this frontend's tree; resuming once it follows the store", slog.Any("err", err))
			return nil
		}
		if err != nil {
			return err
		}
		*resumed = true
	}
	return p.pass(ctx, src)
}

// errBucketAhead means, with a Lock, that the bucket's checkpoint is of a
// tree that another frontend published and this one has not yet followed.
var errBucketAhead = errors.New("objstore: the bucket's checkpoint is ahead of this log's tree")

// resume sets the mark from the checkpoint in the bucket: every resource of
// its tree was uploaded before it was written.
func (p *Publisher) resume(ctx context.Context, src Source) error {
	if p.cfg.Lock != nil {
		return p.resumeLocked(ctx, src)
	}
	msg, err := p.fetchCheckpoint(ctx)
	if err != nil || msg == nil {
		return err
	}
	cp, err := p.checkBucketCheckpoint(src, msg, -1)
	if err != nil {
		return err
	}
	p.resumeFrom(ctx, src, cp, msg)
	return nil
}

// resumeLocked is resume with a Lock, under which it also reconciles the
// bucket's checkpoint with the recorded one: it records a checkpoint
// written before the log's database recorded them (by a sole Publisher, or
// attestlog migrate), writes the recorded one again if the bucket's is
// older (a write of a frontend that lost the lock landed late), and clears
// the record of a bucket found without a checkpoint, emptied or replaced,
// which then gets the whole tree again.
func (p *Publisher) resumeLocked(ctx context.Context, src Source) error {
	b := p.cfg.Bucket
	recorded, record, unlock, err := p.cfg.Lock.LockPublished(ctx, b.name)
	if err != nil {
		return err
	}
	defer unlock()
	recSize, err := recordedSize(recorded)
	if err != nil {
		return err
	}
	msg, err := p.fetchCheckpoint(ctx)
	if err != nil {
		return err
	}
	if msg == nil {
		if recorded == nil {
			return nil
		}
		p.log.WarnContext(ctx, "the bucket has no checkpoint, but the log's database records one written to it: it was emptied or replaced; publishing the whole tree to it again",
			slog.String("bucket", b.name), slog.Int64("recorded_size", recSize))
		return record(nil)
	}
	cp, err := p.checkBucketCheckpoint(src, msg, recSize)
	if err != nil {
		return err
	}
	switch {
	case cp.Size > recSize:
		if err := record(msg); err != nil {
			return err
		}
	case cp.Size < recSize:
		p.log.WarnContext(ctx, "the bucket's checkpoint is older than the one recorded as written to it (a frontend's write landed after it lost the lock); writing the recorded one again",
			slog.String("bucket", b.name), slog.Int64("bucket_size", cp.Size), slog.Int64("recorded_size", recSize))
		if err := p.putCheckpoint(ctx, recorded); err != nil {
			return err
		}
	}
	p.resumeFrom(ctx, src, cp, msg)
	if recSize > cp.Size {
		p.written, p.writtenSize = recorded, recSize
		p.metrics.publishedSize.Set(float64(recSize))
	}
	return nil
}

// fetchCheckpoint returns the bucket's checkpoint, or nil if it has none.
func (p *Publisher) fetchCheckpoint(ctx context.Context) ([]byte, error) {
	msg, err := p.cfg.Bucket.Fetch(ctx, CheckpointKey)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	return msg, err
}

// checkBucketCheckpoint parses the bucket's checkpoint msg and checks that
// src holds its tree: an [*AlarmError] if not, or errBucketAhead if src
// has not yet followed the store to it but a checkpoint at least as large
// is recorded (recSize; -1 for none).
func (p *Publisher) checkBucketCheckpoint(src Source, msg []byte, recSize int64) (tiles.Checkpoint, error) {
	latest := src.Checkpoint()
	alarm := func(why string) error {
		return &AlarmError{Bucket: p.cfg.Bucket.name, Key: CheckpointKey, Stored: msg, Want: latest.Note, Reason: why}
	}
	cp, err := parseNoteBody(msg)
	if err != nil {
		return cp, alarm(fmt.Sprintf("it is not a checkpoint (%v)", err))
	}
	if cp.Origin != latest.Origin {
		return cp, alarm(fmt.Sprintf("it is of the log %q, not %q", cp.Origin, latest.Origin))
	}
	if cp.Size > latest.Size && cp.Size <= recSize {
		return cp, fmt.Errorf("%w: its tree is of size %d, this log's of %d", errBucketAhead, cp.Size, latest.Size)
	}
	if cp.Size > latest.Size {
		return cp, alarm(fmt.Sprintf("its tree of size %d is beyond the log's %d (a store restored from an older copy?)", cp.Size, latest.Size))
	}
	root, err := src.TreeHash(cp.Size)
	if err != nil {
		return cp, fmt.Errorf("objstore: root of the log at the bucket's size %d: %w", cp.Size, err)
	}
	if root != cp.Hash {
		return cp, alarm(fmt.Sprintf("its root at size %d differs from the log's", cp.Size))
	}
	return cp, nil
}

// resumeFrom takes cp, the checked checkpoint msg in the bucket, as the mark.
func (p *Publisher) resumeFrom(ctx context.Context, src Source, cp tiles.Checkpoint, msg []byte) {
	p.uploaded, p.writtenSize, p.written = cp.Size, cp.Size, msg
	p.metrics.uploadedSize.Set(float64(cp.Size))
	p.metrics.publishedSize.Set(float64(cp.Size))
	p.log.InfoContext(ctx, "resuming uploads from the bucket's checkpoint", slog.String("bucket", p.cfg.Bucket.name),
		slog.Int64("uploaded_size", cp.Size), slog.Int64("tree_size", src.Checkpoint().Size))
}

// recordedSize returns the tree size of a checkpoint note recorded by the
// Lock, or -1 for none.
func recordedSize(note []byte) (int64, error) {
	if note == nil {
		return -1, nil
	}
	cp, err := parseNoteBody(note)
	if err != nil {
		return 0, fmt.Errorf("objstore: the checkpoint recorded as the bucket's in the log's database: %w", err)
	}
	return cp.Size, nil
}

// parseNoteBody parses the body of a signed checkpoint note, without
// checking its signatures.
func parseNoteBody(msg []byte) (tiles.Checkpoint, error) {
	i := bytes.LastIndex(msg, []byte("\n\n"))
	if i < 0 {
		return tiles.Checkpoint{}, errors.New("not a signed note")
	}
	return tiles.ParseCheckpoint(msg[:i+1])
}

// pass uploads every resource of the latest tree that the bucket lacks,
// then the partial tiles of the published checkpoint and the checkpoint.
func (p *Publisher) pass(ctx context.Context, src Source) error {
	latest := src.Checkpoint()
	if p.cfg.Lock != nil && !p.dirty {
		if err := p.followRecorded(ctx, latest.Size); err != nil {
			return err
		}
	}
	done := map[string]bool{}
	if latest.Size > p.uploaded {
		t0 := time.Now()
		ts := tiles.NewTiles(p.uploaded, latest.Size)
		if err := p.upload(ctx, src, ts, done); err != nil {
			return err
		}
		p.log.DebugContext(ctx, "uploaded tiles", slog.Int64("from_size", p.uploaded), slog.Int64("tree_size", latest.Size),
			slog.Int("objects", len(ts)), slog.Duration("took", time.Since(t0)))
		p.uploaded = latest.Size
		p.metrics.uploadedSize.Set(float64(latest.Size))
	}
	pub := src.Published()
	if p.cfg.Lock != nil {
		return p.publishLocked(ctx, src, pub, done)
	}
	if pub == nil || pub.Size > p.uploaded || pub.Size < p.writtenSize || bytes.Equal(pub.Note, p.written) {
		// Nothing new, or a checkpoint newer than the uploads, which the
		// next pass takes; never move the bucket's checkpoint back.
		return nil
	}
	// The tree of pub may lie between two commits this publisher uploaded
	// together: its partial tiles are not there yet.
	if err := p.upload(ctx, src, edgeTiles(pub.Size), done); err != nil {
		return err
	}
	if err := p.cfg.Bucket.Put(ctx, CheckpointKey, pub.Note, CacheCheckpoint, "text/plain; charset=utf-8"); err != nil {
		return err
	}
	p.written, p.writtenSize = pub.Note, pub.Size
	p.metrics.publishedSize.Set(float64(pub.Size))
	p.log.DebugContext(ctx, "published checkpoint", slog.String("bucket", p.cfg.Bucket.name), slog.Int64("tree_size", pub.Size))
	return nil
}

// followRecorded takes the checkpoint recorded as the bucket's, which
// another frontend may have written, as the mark of what is in the bucket,
// so that this Publisher neither uploads that tree's resources again nor
// writes an older checkpoint; a tree beyond latestSize, the log's, waits
// until the log has followed the store to it.
func (p *Publisher) followRecorded(ctx context.Context, latestSize int64) error {
	rec, err := p.cfg.Lock.PublishedCheckpoint(ctx, p.cfg.Bucket.name)
	if err != nil {
		return err
	}
	size, err := recordedSize(rec)
	if err != nil {
		return err
	}
	if size > p.writtenSize {
		p.written, p.writtenSize = rec, size
		p.metrics.publishedSize.Set(float64(size))
	}
	if size > p.uploaded && size <= latestSize {
		p.uploaded = size
		p.metrics.uploadedSize.Set(float64(size))
	}
	return nil
}

// publishLocked is the end of a pass with a Lock: under the lock, it writes
// pub to the bucket and records it, if pub's tree is larger than the
// recorded one's, or else, if an earlier write of this Publisher may have
// moved the bucket's checkpoint back, writes the recorded one again.
func (p *Publisher) publishLocked(ctx context.Context, src Source, pub *log.Signed, done map[string]bool) error {
	ready := pub != nil && pub.Size <= p.uploaded && pub.Size > p.writtenSize
	if !ready && !p.dirty {
		return nil
	}
	if ready {
		if err := p.upload(ctx, src, edgeTiles(pub.Size), done); err != nil {
			return err
		}
	}
	recorded, record, unlock, err := p.cfg.Lock.LockPublished(ctx, p.cfg.Bucket.name)
	if err != nil {
		return err
	}
	defer unlock()
	recSize, err := recordedSize(recorded)
	if err != nil {
		return err
	}
	note, size := recorded, recSize
	switch {
	case ready && pub.Size > recSize:
		note, size = pub.Note, pub.Size
	case !p.dirty:
		// Another frontend wrote a checkpoint at least as large.
		p.written, p.writtenSize = recorded, recSize
		p.metrics.publishedSize.Set(float64(recSize))
		return nil
	}
	if note == nil {
		p.dirty = false
		return nil
	}
	p.dirty = true
	if err := p.putCheckpoint(ctx, note); err != nil {
		return err
	}
	if size > recSize {
		if err := record(note); err != nil {
			return err
		}
	}
	p.dirty = false
	p.written, p.writtenSize = note, size
	p.metrics.publishedSize.Set(float64(size))
	p.log.DebugContext(ctx, "published checkpoint", slog.String("bucket", p.cfg.Bucket.name), slog.Int64("tree_size", size))
	return nil
}

// putCheckpoint writes note as the bucket's checkpoint, under a Lock:
// bounded, so that the write ends well before the lock can pass on.
func (p *Publisher) putCheckpoint(ctx context.Context, note []byte) error {
	ctx, cancel := context.WithTimeout(ctx, checkpointWriteTimeout)
	defer cancel()
	return p.cfg.Bucket.Put(ctx, CheckpointKey, note, CacheCheckpoint, "text/plain; charset=utf-8")
}

// edgeTiles returns the partial tiles and entry bundle of the tree of size n.
func edgeTiles(n int64) []tlog.Tile {
	var ts []tlog.Tile
	for l := 0; l <= tiles.MaxLevel; l++ {
		hashes := n >> (tiles.Height * l)
		if hashes == 0 {
			break
		}
		if w := int(hashes % tiles.Width); w != 0 {
			t := tlog.Tile{H: tiles.Height, L: l, N: hashes / tiles.Width, W: w}
			ts = append(ts, t)
			if l == 0 {
				t.L = tiles.EntriesLevel
				ts = append(ts, t)
			}
		}
	}
	return ts
}

// upload creates the objects of ts that are not in done, reading them from
// src, Uploads at a time, and adds them to done.
func (p *Publisher) upload(ctx context.Context, src Source, ts []tlog.Tile, done map[string]bool) error {
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(p.cfg.Uploads)
	for _, t := range ts {
		path := tiles.Path(t)
		if done[path] {
			continue
		}
		done[path] = true
		g.Go(func() error {
			data, err := src.Fetch(gctx, path)
			if err != nil {
				return fmt.Errorf("objstore: reading %s from the log: %w", path, err)
			}
			cache := CacheFull
			if t.W < tiles.Width {
				cache = CachePartial
			}
			created, err := p.cfg.Bucket.Create(gctx, path, data, cache, "application/octet-stream")
			switch {
			case err != nil:
				return err
			case created:
				p.metrics.created.Inc()
			default:
				p.metrics.existing.Inc()
			}
			return nil
		})
	}
	return g.Wait()
}
