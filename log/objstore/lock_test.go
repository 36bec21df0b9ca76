package objstore_test

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/attestlog/attestlog/client"
	"github.com/attestlog/attestlog/log"
	"github.com/attestlog/attestlog/log/logtest"
	"github.com/attestlog/attestlog/log/objstore"
	"github.com/attestlog/attestlog/log/objstore/s3test"
	"github.com/attestlog/attestlog/log/pgstore"
	"github.com/attestlog/attestlog/log/pgstore/pgtest"
	"github.com/attestlog/attestlog/tiles"
	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"
)

// openLock opens a PostgreSQL store of the test log on a fresh database,
// as the publication lock of the frontends of one log.
func openLock(t *testing.T, pg *pgtest.Server) *pgstore.Store {
	t.Helper()
	_, vkey := logtest.Keys(logtest.Origin)
	s, err := pgstore.Open(context.Background(), pgstore.Config{URL: pg.NewDatabase(t), Origin: logtest.Origin, VKey: vkey})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// newLockedPublisher returns a publisher to b that shares lock.
func newLockedPublisher(t *testing.T, b *objstore.Bucket, lock objstore.PublishLock) *objstore.Publisher {
	t.Helper()
	pub, err := objstore.NewPublisher(objstore.PublisherConfig{Bucket: b, Lock: lock, PollInterval: 50 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	return pub
}

// waitRecorded waits until lock records want as b's checkpoint.
func waitRecorded(t *testing.T, lock *pgstore.Store, b *objstore.Bucket, want []byte) {
	t.Helper()
	for deadline := time.Now().Add(time.Minute); ; time.Sleep(20 * time.Millisecond) {
		got, err := lock.PublishedCheckpoint(context.Background(), b.Name())
		if err == nil && bytes.Equal(got, want) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("recorded checkpoint %q (%v) after a minute, want %q", got, err, want)
		}
	}
}

func appendN(t *testing.T, l *logtest.Log, from, to int) {
	t.Helper()
	var es [][]byte
	for i := from; i < to; i++ {
		es = append(es, entry(i))
	}
	l.Append(t, es...)
}

// TestPublishLockResume covers how a publisher with a PublishLock
// reconciles, at its start, the bucket's checkpoint with the one the
// log's database records as written to it.
func TestPublishLockResume(t *testing.T) {
	srv := s3test.Start(t)
	pg := pgtest.Start(t, false)
	ctx := context.Background()

	// A bucket published to by a sole publisher (before the database
	// recorded checkpoints, or by attestlog migrate): its checkpoint is
	// taken as the record, and publishing goes on from it.
	t.Run("adopts the bucket's checkpoint", func(t *testing.T) {
		b := openBucket(t, srv, false)
		p := startPublishing(t, srv, b, "")
		appendN(t, p.l, 0, 300)
		waitPublished(t, b, p.l.Checkpoint().Note)
		p.run.stop()
		lock := openLock(t, pg)
		pub := newLockedPublisher(t, b, lock)
		runPublisher(t, pub, p.l.Log)
		waitRecorded(t, lock, b, p.l.Checkpoint().Note)
		appendN(t, p.l, 300, 400)
		pub.Committed(400)
		waitPublished(t, b, p.l.Checkpoint().Note)
		waitRecorded(t, lock, b, p.l.Checkpoint().Note)
	})

	// The bucket's checkpoint is older than the recorded one: a write of a
	// frontend that lost the lock landed after a newer one. The next
	// publisher to start writes the recorded one again.
	t.Run("rewrites the recorded checkpoint", func(t *testing.T) {
		b := openBucket(t, srv, false)
		lock := openLock(t, pg)
		pub := newLockedPublisher(t, b, lock)
		l := logtest.New(t, "", log.Config{Publisher: pub})
		run := runPublisher(t, pub, l.Log)
		appendN(t, l, 0, 300)
		at300 := l.Checkpoint()
		waitRecorded(t, lock, b, at300.Note)
		appendN(t, l, 300, 350)
		waitRecorded(t, lock, b, l.Checkpoint().Note)
		waitPublished(t, b, l.Checkpoint().Note)
		run.stop()
		if err := b.Put(ctx, objstore.CheckpointKey, at300.Note, objstore.CacheCheckpoint, "text/plain"); err != nil {
			t.Fatal(err)
		}
		runPublisher(t, newLockedPublisher(t, b, lock), l.Log)
		waitPublished(t, b, l.Checkpoint().Note)
	})

	// The bucket has no checkpoint, but one is recorded: it was emptied or
	// replaced. The record is cleared and the whole tree uploaded again,
	// not only what lies beyond the recorded tree.
	t.Run("clears the record of an emptied bucket", func(t *testing.T) {
		b := openBucket(t, srv, false)
		lock := openLock(t, pg)
		l := logtest.New(t, "", log.Config{})
		appendN(t, l, 0, 300)
		_, record, _, err := lock.LockPublished(ctx, b.Name())
		if err != nil {
			t.Fatal(err)
		}
		if err := record(l.Checkpoint().Note); err != nil {
			t.Fatal(err)
		}
		appendN(t, l, 300, 310)
		runPublisher(t, newLockedPublisher(t, b, lock), l.Log)
		waitPublished(t, b, l.Checkpoint().Note)
		waitRecorded(t, lock, b, l.Checkpoint().Note)
		if r, err := client.CheckLog(ctx, b, l.Verifier); err != nil || r.Checkpoint.Size != 310 {
			t.Fatalf("CheckLog of the refilled bucket: %+v, %v", r, err)
		}
	})

	// The bucket's checkpoint is beyond the log's tree. If the record does
	// not cover it either, the database was restored from an older copy
	// (or the bucket is another log's): an alarm. If it does, another
	// frontend published it and this one has not yet followed the store:
	// the publisher waits, writing nothing.
	t.Run("bucket beyond the log", func(t *testing.T) {
		l := logtest.New(t, "", log.Config{})
		appendN(t, l, 0, 10)
		skey, _ := logtest.Keys(logtest.Origin)
		signer, _ := note.NewSigner(skey)
		ahead, err := note.Sign(&note.Note{Text: string(tiles.Checkpoint{Origin: logtest.Origin, Size: 1000, Hash: tlog.RecordHash([]byte("x"))}.Format())}, signer)
		if err != nil {
			t.Fatal(err)
		}
		for _, recorded := range []bool{false, true} {
			b := openBucket(t, srv, false)
			lock := openLock(t, pg)
			if err := b.Put(ctx, objstore.CheckpointKey, ahead, objstore.CacheCheckpoint, "text/plain"); err != nil {
				t.Fatal(err)
			}
			if recorded {
				_, record, _, err := lock.LockPublished(ctx, b.Name())
				if err != nil {
					t.Fatal(err)
				}
				if err := record(ahead); err != nil {
					t.Fatal(err)
				}
			}
			run := runPublisher(t, newLockedPublisher(t, b, lock), l.Log)
			var alarm *objstore.AlarmError
			if !recorded {
				if err := run.wait(t); !errors.As(err, &alarm) || !strings.Contains(err.Error(), "beyond the log's 10") {
					t.Errorf("Run with an unrecorded bucket checkpoint beyond the log: %v, want an alarm", err)
				}
				continue
			}
			time.Sleep(time.Second)
			if err := run.stop(); err != nil {
				t.Errorf("Run with a recorded bucket checkpoint beyond the log: %v, want it to wait", err)
			}
			if _, err := b.Fetch(ctx, "tile/entries/000.p/10"); err == nil {
				t.Errorf("the waiting publisher uploaded tiles")
			}
			if got, _ := b.Fetch(ctx, objstore.CheckpointKey); !bytes.Equal(got, ahead) {
				t.Errorf("the waiting publisher wrote the checkpoint %q", got)
			}
		}
	})
}

// failingLock is a PublishLock whose next record, once armed, lets go of
// the lock and runs lost (another frontend's turn) instead of recording,
// then fails: the lock was lost after this publisher's checkpoint write.
type failingLock struct {
	*pgstore.Store
	mu   sync.Mutex
	lost func() // armed: called once by the next record
}

func (f *failingLock) LockPublished(ctx context.Context, bucket string) ([]byte, func([]byte) error, func(), error) {
	recorded, record, unlock, err := f.Store.LockPublished(ctx, bucket)
	if err != nil {
		return nil, nil, nil, err
	}
	return recorded, func(note []byte) error {
		f.mu.Lock()
		lost := f.lost
		f.lost = nil
		f.mu.Unlock()
		if lost == nil {
			return record(note)
		}
		unlock()
		lost()
		return errors.New("test: the publication lock was lost")
	}, unlock, nil
}

// TestPublishLockLost: a publisher writes the checkpoint of size 10, and
// loses its lock before recording it, while another frontend writes and
// records the checkpoint of size 20, after which the first write lands.
// The bucket's checkpoint has moved back; the first publisher, which did
// not record its write, writes the recorded one again.
func TestPublishLockLost(t *testing.T) {
	srv := s3test.Start(t)
	pg := pgtest.Start(t, false)
	ctx := context.Background()
	b := openBucket(t, srv, false)
	lock := &failingLock{Store: openLock(t, pg)}
	l := logtest.New(t, "", log.Config{})
	appendN(t, l, 0, 10)
	at10 := l.Checkpoint()
	appendN(t, l, 10, 20)
	at20 := l.Checkpoint()
	other := newLockedPublisher(t, b, lock.Store)
	fired := make(chan struct{})
	lock.lost = func() {
		defer close(fired)
		// The other frontend publishes the tree of 20 meanwhile.
		if err := other.Sync(ctx, l.Log); err != nil {
			t.Error(err)
		}
		if got, _ := lock.PublishedCheckpoint(ctx, b.Name()); !bytes.Equal(got, at20.Note) {
			t.Errorf("the other frontend recorded %q", got)
		}
		// The lost write lands now.
		if err := b.Put(ctx, objstore.CheckpointKey, at10.Note, objstore.CacheCheckpoint, "text/plain"); err != nil {
			t.Error(err)
		}
	}
	runPublisher(t, newLockedPublisher(t, b, lock), laggingSource{l, at10})
	select {
	case <-fired:
	case <-time.After(time.Minute):
		t.Fatal("the publisher never recorded a checkpoint")
	}
	waitPublished(t, b, at20.Note)
}
