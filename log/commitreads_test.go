package log_test

import (
	"context"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/attestlog/attestlog/log"
	"github.com/attestlog/attestlog/log/archive"
	"github.com/attestlog/attestlog/log/logtest"
	pb "github.com/attestlog/attestlog/proto/attestlog/v1"
	"golang.org/x/mod/sumdb/note"
)

// entryCounter is a BoltStore that counts the entries read from it.
type entryCounter struct {
	*log.BoltStore
	read atomic.Int64
}

func (s *entryCounter) Entries(start int64, n int) ([][]byte, error) {
	s.read.Add(int64(n))
	return s.BoltStore.Entries(start, n)
}

// TestIndexCommitterReadsNoCachedEntry checks that the committer reads from
// the store only the entries whose keys the sequencer did not leave it
// (those appended before it started, and commitments), and names the rest
// by their leaf hashes in the tiles: a claim of 78 KB costs it 32 bytes.
// The roots must be those the entries give.
func TestIndexCommitterReadsNoCachedEntry(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	bs, err := log.OpenBolt(filepath.Join(dir, "log.db"))
	if err != nil {
		t.Fatal(err)
	}
	store := &entryCounter{BoltStore: bs}
	skey, _ := logtest.Keys(logtest.Origin)
	signer, err := note.NewSigner(skey)
	if err != nil {
		t.Fatal(err)
	}
	l, err := log.New(log.Config{Origin: logtest.Origin, Signer: signer, Store: store, Indexer: log.ClaimIndex{}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { bs.Close() })
	logtest.Run(t, l)
	a, err := archive.Open(filepath.Join(dir, "archive"), archive.Config{})
	if err != nil {
		t.Fatal(err)
	}
	svc, err := log.NewService(l, a, log.ServiceConfig{})
	if err != nil {
		t.Fatal(err)
	}
	add := func(builder string) {
		t.Helper()
		env := envelope(t, buildClaim([]byte("the binary "+builder), builder), testBuilder(t, builder))
		if _, err := svc.AddClaim(ctx, &pb.AddClaimRequest{Envelope: env}); err != nil {
			t.Fatal(err)
		}
	}
	add("a.example") // before the committer: its keys are not cached
	ic, err := log.NewIndexCommitter(l, log.IndexConfig{Entries: 3, Age: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	for _, b := range []string{"b.example", "c.example", "d.example"} {
		add(b)
	}
	store.read.Store(0)
	at, err := ic.Step(ctx)
	if err != nil || at != 4 {
		t.Fatalf("Step() = %d, %v, want 4", at, err)
	}
	if got := store.read.Load(); got != 1 {
		t.Errorf("the first commitment read %d entries, want 1 (entry 0, appended before the committer)", got)
	}
	if c, want := latestCommitment(t, l, at), mapOf(t, l, 4); c.Root != want {
		t.Fatalf("commitment root %s, the entries give %s", c.Root, want)
	}
	for _, b := range []string{"e.example", "f.example", "g.example"} {
		add(b)
	}
	store.read.Store(0)
	if at, err = ic.Step(ctx); err != nil || at != 8 {
		t.Fatalf("Step() = %d, %v, want 8", at, err)
	}
	if got := store.read.Load(); got != 1 {
		t.Errorf("the second commitment read %d entries, want 1 (the first commitment, at 4)", got)
	}
	if c, want := latestCommitment(t, l, at), mapOf(t, l, 8); c.Root != want {
		t.Fatalf("commitment root %s, the entries give %s", c.Root, want)
	}
}
