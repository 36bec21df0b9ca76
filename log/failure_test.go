package log_test

import (
	"bytes"
	"context"
	"errors"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/attestlog/attestlog/client"
	"github.com/attestlog/attestlog/log"
	"github.com/attestlog/attestlog/log/logtest"
	bolt "go.etcd.io/bbolt"
	"golang.org/x/mod/sumdb/note"
)

// faultyStore fails Commit on demand, either before anything is written or
// after the transaction committed (as when a durable write reports an error).
type faultyStore struct {
	log.Store
	failBefore, failAfter atomic.Int32 // number of commits still to fail
}

var errInjected = errors.New("injected store failure")

func (s *faultyStore) Commit(b *log.Batch) error {
	if s.failBefore.Add(-1) >= 0 {
		return errInjected
	}
	if err := s.Store.Commit(b); err != nil {
		return err
	}
	if s.failAfter.Add(-1) >= 0 {
		return errInjected
	}
	return nil
}

// openFaulty opens a log on a faultyStore and runs it until the test ends.
func openFaulty(t *testing.T, cfg log.Config, run bool) (*log.Log, *faultyStore) {
	t.Helper()
	skey, _ := logtest.Keys(logtest.Origin)
	signer, err := note.NewSigner(skey)
	if err != nil {
		t.Fatal(err)
	}
	bolt, err := log.OpenBolt(filepath.Join(t.TempDir(), "log.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { bolt.Close() })
	fs := &faultyStore{Store: bolt}
	cfg.Origin, cfg.Signer, cfg.Store = logtest.Origin, signer, fs
	l, err := log.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if run {
		logtest.Run(t, l)
	}
	return l, fs
}

func add(l *log.Log, e []byte) (int64, error) { return l.Add(e)(context.Background()) }

func TestCommitFailureLeavesNoTrace(t *testing.T) {
	l, fs := openFaulty(t, log.Config{}, true)
	for i := range 10 {
		if _, err := add(l, entry(i)); err != nil {
			t.Fatal(err)
		}
	}
	before := l.Checkpoint()
	fs.failBefore.Store(1)
	if _, err := add(l, entry(10)); !errors.Is(err, errInjected) {
		t.Fatalf("append during a failing commit: err %v, want the store's error", err)
	}
	if string(l.Checkpoint().Note) != string(before.Note) {
		t.Fatalf("a failed commit changed the checkpoint")
	}
	// The tree continues where the store left it; the failed entry gets the next index.
	if idx, err := add(l, entry(10)); err != nil || idx != 10 {
		t.Fatalf("retry after failure: index %d, err %v; want 10", idx, err)
	}
	checkFetcher(t, l)
}

func TestCommitErrorAfterWrite(t *testing.T) {
	l, fs := openFaulty(t, log.Config{}, true)
	fs.failAfter.Store(1)
	if _, err := add(l, entry(0)); !errors.Is(err, errInjected) {
		t.Fatalf("err %v, want the store's error", err)
	}
	// The entry was stored after all: a retry is answered by deduplication.
	if idx, err := add(l, entry(0)); err != nil || idx != 0 {
		t.Fatalf("retry: index %d, err %v; want 0", idx, err)
	}
	if idx, err := add(l, entry(1)); err != nil || idx != 1 {
		t.Fatalf("next entry: index %d, err %v; want 1", idx, err)
	}
	checkFetcher(t, l)
}

func TestPushback(t *testing.T) {
	l, _ := openFaulty(t, log.Config{QueueSize: 2}, false) // no sequencer: the queue fills
	l.Add(entry(0))
	l.Add(entry(1))
	if _, err := add(l, entry(2)); !errors.Is(err, log.ErrPushback) {
		t.Fatalf("third append to a queue of 2: err %v, want ErrPushback", err)
	}
}

func TestAddAfterStop(t *testing.T) {
	l, _ := openFaulty(t, log.Config{}, false)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := l.Run(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := add(l, entry(0)); !errors.Is(err, log.ErrClosed) {
		t.Fatalf("append after Run returned: err %v, want ErrClosed", err)
	}
}

func TestConfigErrors(t *testing.T) {
	skey, _ := logtest.Keys("other.test/log")
	other, _ := note.NewSigner(skey)
	bolt, err := log.OpenBolt(filepath.Join(t.TempDir(), "log.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer bolt.Close()
	for _, cfg := range []log.Config{
		{Signer: other, Store: bolt},
		{Origin: logtest.Origin, Store: bolt},
		{Origin: logtest.Origin, Signer: other, Store: bolt},
		{Origin: "other.test/log", Signer: other},
		{Origin: "other.test/log", Signer: other, Store: bolt, QueueSize: -1},
	} {
		if _, err := log.New(cfg); err == nil {
			t.Errorf("New(%+v) succeeded", cfg)
		}
	}
}

func TestReopenChecks(t *testing.T) {
	path := filepath.Join(t.TempDir(), "log.db")
	open := func(origin string) (*log.Log, error) {
		skey, _ := logtest.Keys(origin)
		signer, _ := note.NewSigner(skey)
		store, err := log.OpenBolt(path)
		if err != nil {
			t.Fatal(err)
		}
		defer store.Close()
		return log.New(log.Config{Origin: origin, Signer: signer, Store: store})
	}
	func() {
		tl := logtest.New(t, filepath.Dir(path), log.Config{})
		var es [][]byte
		for i := range 600 {
			es = append(es, entry(i))
		}
		tl.Append(t, es...)
		tl.Store.Close() // release the file lock before the cleanup does
	}()
	if _, err := open(logtest.Origin); err != nil {
		t.Fatalf("reopening: %v", err)
	}
	if _, err := open("other.test/log"); err == nil || !strings.Contains(err.Error(), "configured origin") {
		t.Fatalf("reopening under another origin: err %v", err)
	}
	// Flip a bit of the partial level-0 tile: the reopened tree no longer
	// hashes to the stored checkpoint, and New refuses to serve it.
	editBolt(t, path, func(tx *bolt.Tx) error {
		b := tx.Bucket([]byte("tiles"))
		key := []byte{0, 0, 0, 0, 0, 0, 0, 0, 2}
		v := bytes.Clone(b.Get(key))
		v[5] ^= 1
		return b.Put(key, v)
	})
	if _, err := open(logtest.Origin); !errors.Is(err, log.ErrCorrupt) {
		t.Fatalf("reopening a corrupted store: err %v, want ErrCorrupt", err)
	}
}

func checkFetcher(t *testing.T, l *log.Log) {
	t.Helper()
	_, vkey := logtest.Keys(logtest.Origin)
	v, _ := note.NewVerifier(vkey)
	if _, err := client.CheckLog(context.Background(), l, v); err != nil {
		t.Fatalf("CheckLog: %v", err)
	}
}

// editBolt changes the closed bbolt store at path in one transaction of
// fn, as an attacker or a damaged disk would, behind the log's back.
func editBolt(t *testing.T, path string, fn func(*bolt.Tx) error) {
	t.Helper()
	db, err := bolt.Open(path, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Update(fn); err != nil {
		db.Close()
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
}
