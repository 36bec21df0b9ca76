package pgstore_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/attestlog/attestlog/client"
	"github.com/attestlog/attestlog/log"
	"github.com/attestlog/attestlog/log/logtest"
	"github.com/attestlog/attestlog/log/pgstore"
	"github.com/attestlog/attestlog/log/pgstore/pgtest"
	"github.com/attestlog/attestlog/log/storetest"
	"github.com/jackc/pgx/v5"
	"golang.org/x/mod/sumdb/note"
)

// testKeys returns the signer and verifier key of the test log.
func testKeys(t testing.TB) (note.Signer, string) {
	skey, vkey := logtest.Keys(logtest.Origin)
	signer, err := note.NewSigner(skey)
	if err != nil {
		t.Fatal(err)
	}
	return signer, vkey
}

func openStore(t testing.TB, url string) *pgstore.Store {
	t.Helper()
	_, vkey := testKeys(t)
	s, err := pgstore.Open(context.Background(), pgstore.Config{URL: url, Origin: logtest.Origin, VKey: vkey})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestConformance(t *testing.T) {
	srv := pgtest.Start(t, false)
	storetest.Run(t, storetest.Backend{
		New:  func(t *testing.T) string { return srv.NewDatabase(t) },
		Open: func(t *testing.T, url string) log.Store { return openStore(t, url) },
	})
}

// TestCheckLog runs a log on PostgreSQL, appends a few thousand entries in
// batches of varying size, and runs the invariant checker over it, then
// again after reopening the store.
func TestCheckLog(t *testing.T) {
	n := 3000
	if testing.Short() {
		n = 600
	}
	url := pgtest.Start(t, false).NewDatabase(t)
	signer, vkey := testKeys(t)
	verifier, err := note.NewVerifier(vkey)
	if err != nil {
		t.Fatal(err)
	}
	for round := range 2 {
		s := openStore(t, url)
		l, err := log.New(log.Config{Origin: logtest.Origin, Signer: signer, Store: s})
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() { done <- l.Run(ctx) }()
		for i := 0; i < n; {
			var waits []func(context.Context) (int64, error)
			for j := 0; j < 1+i%97 && i < n; j++ {
				waits = append(waits, l.Add(fmt.Appendf(nil, "round %d entry %d", round, i)))
				i++
			}
			for _, w := range waits {
				if _, err := w(ctx); err != nil {
					t.Fatal(err)
				}
			}
		}
		// The duplicates of entries already logged get their indexes back.
		if idx, err := l.Add(fmt.Appendf(nil, "round %d entry %d", round, 7))(ctx); err != nil || idx != int64(round*n+7) {
			t.Errorf("duplicate of entry %d got index %d, %v", round*n+7, idx, err)
		}
		r, err := client.CheckLog(ctx, l, verifier)
		if err != nil {
			t.Fatalf("CheckLog: %v", err)
		}
		if got := l.Checkpoint().Size; got != int64((round+1)*n) {
			t.Errorf("tree size %d, want %d", got, (round+1)*n)
		}
		t.Logf("round %d: CheckLog authenticated %d tiles and %d entry bundles", round, r.Tiles, r.Bundles)
		cancel()
		if err := <-done; err != nil {
			t.Fatal(err)
		}
		s.Close()
	}
}

// startWriters opens n logs, each on a Store (a pool) of its own, on the
// database at url, and runs them until the test ends.
func startWriters(t *testing.T, url string, n int, wrap func(i int, s *pgstore.Store) log.Store) ([]*log.Log, []chan error) {
	t.Helper()
	signer, _ := testKeys(t)
	ctx, cancel := context.WithCancel(context.Background())
	logs, done := make([]*log.Log, n), make([]chan error, n)
	for i := range logs {
		s := openStore(t, url)
		t.Cleanup(func() { s.Close() })
		var store log.Store = s
		if wrap != nil {
			store = wrap(i, s)
		}
		l, err := log.New(log.Config{Origin: logtest.Origin, Signer: signer, Store: store, FollowInterval: 20 * time.Millisecond})
		if err != nil {
			t.Fatal(err)
		}
		logs[i], done[i] = l, make(chan error, 1)
		go func() { done[i] <- l.Run(ctx) }()
	}
	t.Cleanup(func() {
		cancel()
		for i := range done {
			if err := <-done[i]; err != nil && wrap == nil {
				t.Errorf("writer %d: Run: %v", i, err)
			}
		}
	})
	return logs, done
}

// TestSharedWriters runs four logs on one database, each on its own
// connection pool, appending concurrently, with every tenth entry appended
// through two writers at once: one tree results, with contiguous indexes,
// each entry once (the duplicate gets the first's index, across writers),
// and every writer ends up publishing the same checkpoint, which the
// invariant checker verifies through each.
func TestSharedWriters(t *testing.T) {
	url := pgtest.Start(t, false).NewDatabase(t)
	_, vkey := testKeys(t)
	verifier, _ := note.NewVerifier(vkey)
	logs, _ := startWriters(t, url, 4, nil)
	perWriter := 400
	if testing.Short() {
		perWriter = 100
	}
	ctx := context.Background()
	var mu sync.Mutex
	byIndex := map[int64]string{}
	record := func(idx int64, e string) {
		mu.Lock()
		defer mu.Unlock()
		if old, ok := byIndex[idx]; ok && old != e {
			t.Errorf("index %d given to %q and %q", idx, old, e)
		}
		byIndex[idx] = e
	}
	var wg sync.WaitGroup
	for w, l := range logs {
		for a := range 8 {
			wg.Go(func() {
				for i := a; i < perWriter; i += 8 {
					e := fmt.Sprintf("writer %d entry %d", w, i)
					if i%10 == 0 {
						e = fmt.Sprintf("shared entry %d", i) // also appended by every other writer
					}
					idx, err := l.Add([]byte(e))(ctx)
					if err != nil {
						t.Errorf("writer %d: %v", w, err)
						return
					}
					record(idx, e)
				}
			})
		}
	}
	wg.Wait()
	distinct := len(logs)*perWriter - (len(logs)-1)*perWriter/10
	if len(byIndex) != distinct {
		t.Errorf("%d distinct indexes acknowledged, want %d", len(byIndex), distinct)
	}
	for i := range int64(distinct) {
		if _, ok := byIndex[i]; !ok {
			t.Errorf("no entry acknowledged at index %d", i)
		}
	}
	deadline := time.Now().Add(10 * time.Second)
	for w, l := range logs {
		for l.Checkpoint().Size != int64(distinct) && time.Now().Before(deadline) {
			time.Sleep(10 * time.Millisecond)
		}
		r, err := client.CheckLog(ctx, l, verifier)
		if err != nil {
			t.Fatalf("writer %d: CheckLog: %v", w, err)
		}
		if r.Checkpoint.Size != int64(distinct) || !bytes.Equal(r.Note, logs[0].Checkpoint().Note) {
			t.Errorf("writer %d publishes a checkpoint of size %d, want writer 0's of size %d", w, r.Checkpoint.Size, distinct)
		}
		es, err := l.Entries(0, distinct)
		if err != nil {
			t.Fatal(err)
		}
		for i, e := range es {
			if want := byIndex[int64(i)]; string(e) != want {
				t.Fatalf("writer %d: entry %d is %q, acknowledged as %q", w, i, e, want)
			}
		}
	}
}

// interloper is a shared store whose writer lock is lost, and at the worst
// moment: after the writer adopted the stored tree and before it commits,
// another writer (the test's hook) commits. That is also what a dead
// holder's last commit does when the database finishes it after the lock
// passed on.
type interloper struct {
	*pgstore.Store
	beforeCommit func()
}

// LockWriter takes no lock, as if the lock's session had died at once, so
// that the other writer may commit.
func (s *interloper) LockWriter(context.Context) (func() error, error) {
	return func() error { return nil }, nil
}

func (s *interloper) Commit(b *log.Batch) error {
	if s.beforeCommit != nil && len(b.Entries) > 0 {
		s.beforeCommit()
	}
	return s.Store.Commit(b)
}

// lostSwap starts two writers on one database, the first (the loser) an
// interloper whose hook appends to the second (the winner) before each of
// the loser's commits, as long as interlope says so.
func lostSwap(t *testing.T, interlope func(commit int) bool) (loser, winner *log.Log, loserDone chan error) {
	url := pgtest.Start(t, false).NewDatabase(t)
	commits := 0
	logs, done := startWriters(t, url, 2, func(i int, s *pgstore.Store) log.Store {
		if i == 0 {
			return &interloper{Store: s, beforeCommit: func() {
				commits++
				if !interlope(commits) {
					return
				}
				if _, err := winner.Add(fmt.Appendf(nil, "winner %d", commits))(context.Background()); err != nil {
					t.Errorf("winner: %v", err)
				}
			}}
		}
		return s
	})
	loser, winner = logs[0], logs[1]
	return loser, winner, done[0]
}

// TestLostSwapAssignsAgain makes a writer lose the checkpoint swap once:
// another writer commits between its reading the tree and its commit. The
// loser discards the checkpoint it signed, adopts the winner's tree and
// commits its entry after the winner's; both go on, on one tree.
func TestLostSwapAssignsAgain(t *testing.T) {
	_, vkey := testKeys(t)
	verifier, _ := note.NewVerifier(vkey)
	loser, winner, loserDone := lostSwap(t, func(commit int) bool { return commit == 1 })
	ctx := context.Background()
	idx, err := loser.Add([]byte("loser"))(ctx)
	if err != nil || idx != 1 {
		t.Fatalf("append through the writer that lost the swap: index %d, %v; want 1 (after the winner's entry)", idx, err)
	}
	if _, err := winner.Add([]byte("winner again"))(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := loser.Add([]byte("loser again"))(ctx); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-loserDone:
		t.Fatalf("the loser's Run stopped: %v", err)
	default:
	}
	want := []string{"winner 1", "loser", "winner again", "loser again"}
	for name, l := range map[string]*log.Log{"loser": loser, "winner": winner} {
		deadline := time.Now().Add(10 * time.Second)
		for l.Checkpoint().Size != int64(len(want)) && time.Now().Before(deadline) {
			time.Sleep(10 * time.Millisecond)
		}
		r, err := client.CheckLog(ctx, l, verifier)
		if err != nil {
			t.Fatalf("%s: CheckLog: %v", name, err)
		}
		es, err := l.Entries(0, len(want))
		if err != nil || r.Checkpoint.Size != int64(len(want)) {
			t.Fatalf("%s publishes a tree of size %d (%v), want %d", name, r.Checkpoint.Size, err, len(want))
		}
		for i, e := range es {
			if string(e) != want[i] {
				t.Errorf("%s: entry %d is %q, want %q", name, i, e, want[i])
			}
		}
	}
}

// TestLostSwapStops makes a writer lose the checkpoint swap on every
// attempt, as a writer that ignores the writer lock would make it: its
// append fails with ErrStaleBatch, its Run stops, it never publishes a
// checkpoint it signed for a losing batch, and the tree in the database is
// the winner's, which goes on.
func TestLostSwapStops(t *testing.T) {
	_, vkey := testKeys(t)
	verifier, _ := note.NewVerifier(vkey)
	loser, winner, loserDone := lostSwap(t, func(int) bool { return true })
	ctx := context.Background()
	if _, err := loser.Add([]byte("loser"))(ctx); !errors.Is(err, log.ErrStaleBatch) {
		t.Fatalf("append through the writer that lost the swap: %v, want ErrStaleBatch", err)
	}
	select {
	case err := <-loserDone:
		if !errors.Is(err, log.ErrStaleBatch) {
			t.Errorf("the loser's Run returned %v, want ErrStaleBatch", err)
		}
		loserDone <- nil // for the cleanup
	case <-time.After(10 * time.Second):
		t.Fatal("the loser's Run did not stop")
	}
	if _, err := client.CheckLog(ctx, loser, verifier); err != nil {
		t.Errorf("the loser publishes a checkpoint the database's tree does not prove: %v", err)
	}
	if _, err := winner.Add([]byte("winner again"))(ctx); err != nil {
		t.Fatal(err)
	}
	r, err := client.CheckLog(ctx, winner, verifier)
	if err != nil {
		t.Fatal(err)
	}
	es, err := winner.Entries(0, int(r.Checkpoint.Size))
	if err != nil || len(es) == 0 || string(es[len(es)-1]) != "winner again" {
		t.Fatalf("the database holds %q (%v), want the winner's entries", es, err)
	}
	for i, e := range es {
		if string(e) == "loser" {
			t.Errorf("the losing entry is in the tree, at %d", i)
		}
	}
}

// restoredUnderWriter starts a writer on a new database, appends two
// entries, and moves the database's tree back to the first, as a restore
// from an older copy does. It returns the writer, its Run's channel, and
// the checkpoint it published before the move.
func restoredUnderWriter(t *testing.T) (*log.Log, chan error, *log.Signed) {
	t.Helper()
	url := pgtest.Start(t, false).NewDatabase(t)
	logs, done := startWriters(t, url, 1, func(_ int, s *pgstore.Store) log.Store { return s })
	l := logs[0]
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	if _, err := l.Add([]byte("one"))(ctx); err != nil {
		t.Fatal(err)
	}
	var size int64
	var root, cp []byte
	if err := conn.QueryRow(ctx, `SELECT tree_size, root, checkpoint FROM attestlog_meta`).Scan(&size, &root, &cp); err != nil {
		t.Fatal(err)
	}
	if _, err := l.Add([]byte("two"))(ctx); err != nil {
		t.Fatal(err)
	}
	before := l.Checkpoint()
	if _, err := conn.Exec(ctx, `UPDATE attestlog_meta SET tree_size = $1, root = $2, checkpoint = $3`, size, root, cp); err != nil {
		t.Fatal(err)
	}
	return l, done[0], before
}

// waitStale waits for the writer's Run to return ErrStaleBatch.
func waitStale(t *testing.T, done chan error) {
	t.Helper()
	select {
	case err := <-done:
		if !errors.Is(err, log.ErrStaleBatch) {
			t.Errorf("Run returned %v, want ErrStaleBatch", err)
		}
		done <- nil // for the cleanup
	case <-time.After(10 * time.Second):
		t.Fatal("Run did not stop")
	}
}

// TestRestoredUnderWriterStops moves the database's tree back under a
// running writer, as a restore from an older copy does: the writer's next
// batch must fail with ErrStaleBatch naming the store's tree as the one
// that does not extend the log's (whether the batch or the writer's idle
// follow tick finds it first), and its Run must stop, still publishing
// its own last tree.
func TestRestoredUnderWriterStops(t *testing.T) {
	l, done, before := restoredUnderWriter(t)
	_, err := l.Add([]byte("three"))(context.Background())
	if !errors.Is(err, log.ErrStaleBatch) || !strings.Contains(err.Error(), "does not extend this log's") {
		t.Fatalf("append after the database moved back: %v, want ErrStaleBatch saying the store's tree does not extend the log's", err)
	}
	waitStale(t, done)
	if got := l.Checkpoint(); got != before {
		t.Errorf("the writer publishes a checkpoint of size %d, want its own of size %d", got.Size, before.Size)
	}
}

// TestRestoredUnderIdleWriterStops moves the database's tree back under
// an idle writer, whose follow tick finds it first and stops its Run: an
// append after that must fail naming why the sequencer stopped
// (ErrStaleBatch, the store's tree that does not extend the log's), not
// only that it stopped.
func TestRestoredUnderIdleWriterStops(t *testing.T) {
	l, done, _ := restoredUnderWriter(t)
	waitStale(t, done)
	_, err := l.Add([]byte("three"))(context.Background())
	if !errors.Is(err, log.ErrClosed) || !errors.Is(err, log.ErrStaleBatch) {
		t.Fatalf("append after Run stopped on a moved-back store: %v, want ErrClosed with the ErrStaleBatch that stopped it", err)
	}
}

// TestWitnessedNeverMovesBack checks that SetWitnessed is a swap: a note
// of a smaller tree than the stored one is refused with
// ErrStaleWitnessed and changes nothing, one of the same or a larger tree
// replaces it, and a note that names no tree size is an error.
func TestWitnessedNeverMovesBack(t *testing.T) {
	s := openStore(t, pgtest.Start(t, false).NewDatabase(t))
	defer s.Close()
	cp := func(size int64, sig string) []byte { return fmt.Appendf(nil, "o\n%d\nAAAA\n\n— o %s\n", size, sig) }
	for _, step := range []struct {
		note  []byte
		stale bool
		want  []byte
	}{
		{cp(5, "a"), false, cp(5, "a")},
		{cp(3, "b"), true, cp(5, "a")},
		{cp(5, "c"), false, cp(5, "c")},
		{cp(12, "d"), false, cp(12, "d")},
		{cp(11, "e"), true, cp(12, "d")},
	} {
		err := s.SetWitnessed(step.note)
		if step.stale != errors.Is(err, log.ErrStaleWitnessed) || !step.stale && err != nil {
			t.Errorf("SetWitnessed(%q) = %v, want stale %v", step.note, err, step.stale)
		}
		if got, err := s.Witnessed(); err != nil || !bytes.Equal(got, step.want) {
			t.Errorf("after SetWitnessed(%q): Witnessed() = %q, %v; want %q", step.note, got, err, step.want)
		}
	}
	if err := s.SetWitnessed([]byte("not a checkpoint")); err == nil || !strings.Contains(err.Error(), "not a checkpoint note") {
		t.Errorf("SetWitnessed of a note without a size: %v", err)
	}
}

// TestOpenOtherLog checks that a database holding another log, by origin
// or by key, is refused and left as it was.
func TestOpenOtherLog(t *testing.T) {
	url := pgtest.Start(t, false).NewDatabase(t)
	s := openStore(t, url)
	signer, vkey := testKeys(t)
	l, err := log.New(log.Config{Origin: logtest.Origin, Signer: signer, Store: s})
	if err != nil {
		t.Fatal(err)
	}
	cp := l.Checkpoint().Note
	s.Close()

	_, otherVKey, _ := note.GenerateKey(nil, logtest.Origin)
	_, otherOriginVKey, _ := note.GenerateKey(nil, "example.test/other")
	for _, tc := range []struct{ origin, vkey, want string }{
		{logtest.Origin, otherVKey, "signed by the key"},
		{"example.test/other", otherOriginVKey, `its origin is "example.test/attestlog"`},
	} {
		_, err := pgstore.Open(context.Background(), pgstore.Config{URL: url, Origin: tc.origin, VKey: tc.vkey})
		if !errors.Is(err, pgstore.ErrOtherLog) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Open as %s: %v, want ErrOtherLog saying %q", tc.vkey, err, tc.want)
		}
	}
	s = openStore(t, url)
	defer s.Close()
	if got, err := s.Checkpoint(); err != nil || string(got) != string(cp) {
		t.Errorf("checkpoint after refused opens = %q, %v; want %q", got, err, cp)
	}
	_ = vkey
}

// TestOpenNewerSchema checks that a database of a newer layout is refused.
func TestOpenNewerSchema(t *testing.T) {
	url := pgtest.Start(t, false).NewDatabase(t)
	openStore(t, url).Close()
	conn, err := pgx.Connect(context.Background(), url)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	if _, err := conn.Exec(context.Background(), `UPDATE attestlog_meta SET schema_version = 99`); err != nil {
		t.Fatal(err)
	}
	_, vkey := testKeys(t)
	_, err = pgstore.Open(context.Background(), pgstore.Config{URL: url, Origin: logtest.Origin, VKey: vkey})
	if err == nil || !strings.Contains(err.Error(), "schema version 99") {
		t.Errorf("Open of a database of schema version 99: %v", err)
	}
}

// TestOpenConcurrently opens one new database from several goroutines at
// once, as frontends starting together would: the tables are created once.
func TestOpenConcurrently(t *testing.T) {
	url := pgtest.Start(t, false).NewDatabase(t)
	var wg sync.WaitGroup
	for range 6 {
		wg.Go(func() {
			_, vkey := testKeys(t)
			s, err := pgstore.Open(context.Background(), pgstore.Config{URL: url, Origin: logtest.Origin, VKey: vkey})
			if err != nil {
				t.Error(err)
				return
			}
			s.Close()
		})
	}
	wg.Wait()
}

// TestOpenUnreachable checks the error for a database nobody listens for:
// it names the URL without the password and says what to check.
func TestOpenUnreachable(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	url := "postgres://attestlog:s3cret-pw@" + addr + "/logdb?sslmode=disable"
	_, vkey := testKeys(t)
	_, err = pgstore.Open(context.Background(), pgstore.Config{URL: url, Origin: logtest.Origin, VKey: vkey, ConnectTimeout: 2 * time.Second})
	if err == nil {
		t.Fatal("Open of an unreachable database succeeded")
	}
	msg := err.Error()
	if strings.Contains(msg, "s3cret-pw") {
		t.Errorf("error shows the password: %s", msg)
	}
	for _, want := range []string{"postgres://attestlog@" + addr + "/logdb", "check that the server runs"} {
		if !strings.Contains(msg, want) {
			t.Errorf("error %q does not say %q", msg, want)
		}
	}
}

// TestPublishedRestrictedRole: serve running as a role with the README's
// grants (no CREATE, no DELETE) opens a database that has
// attestlog_published, and takes, records and reads the publication lock;
// on a database of an earlier version, without the table, the open fails
// saying what to do, and the owner's open adds the table.
func TestPublishedRestrictedRole(t *testing.T) {
	srv := pgtest.Start(t, false)
	url := srv.NewDatabase(t)
	openStore(t, url).Close()
	ctx := context.Background()
	owner, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer owner.Close(ctx)
	role := fmt.Sprintf("attestlog_serve_%d", time.Now().UnixNano())
	for _, stmt := range []string{
		`CREATE ROLE ` + role + ` LOGIN`,
		`GRANT USAGE ON SCHEMA public TO ` + role,
		`GRANT SELECT, INSERT, UPDATE ON attestlog_meta, attestlog_entries, attestlog_tiles, attestlog_dedup, attestlog_index, attestlog_published TO ` + role,
	} {
		if _, err := owner.Exec(ctx, stmt); err != nil {
			t.Fatalf("%s: %v", stmt, err)
		}
	}
	t.Cleanup(func() {
		owner.Exec(ctx, `DROP OWNED BY `+role)
		owner.Exec(ctx, `DROP ROLE `+role)
	})
	restricted := strings.Replace(url, "postgres://postgres@", "postgres://"+role+"@", 1)
	if restricted == url {
		t.Fatalf("cannot make a URL for another role from %s", url)
	}

	s := openStore(t, restricted)
	const bucket = "tiles"
	note := []byte("example.test/attestlog\n5\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n\n— example.test/attestlog AAAA\n")
	recorded, record, unlock, err := s.LockPublished(ctx, bucket)
	if err != nil || recorded != nil {
		t.Fatalf("LockPublished as %s: %q, %v", role, recorded, err)
	}
	if err := record(note); err != nil {
		t.Fatalf("record as %s: %v", role, err)
	}
	unlock()
	if got, err := s.PublishedCheckpoint(ctx, bucket); err != nil || !bytes.Equal(got, note) {
		t.Fatalf("PublishedCheckpoint as %s: %q, %v", role, got, err)
	}
	// A record never moves to a smaller tree.
	_, record, _, err = s.LockPublished(ctx, bucket)
	if err != nil {
		t.Fatal(err)
	}
	if err := record(bytes.Replace(note, []byte("\n5\n"), []byte("\n4\n"), 1)); err == nil {
		t.Error("record of a smaller tree succeeded")
	}
	s.Close()

	if _, err := owner.Exec(ctx, `DROP TABLE attestlog_published`); err != nil {
		t.Fatal(err)
	}
	_, vkey := testKeys(t)
	_, err = pgstore.Open(ctx, pgstore.Config{URL: restricted, Origin: logtest.Origin, VKey: vkey})
	if err == nil || !strings.Contains(err.Error(), "attestlog_published") || !strings.Contains(err.Error(), "owns the log's tables") {
		t.Errorf("Open as %s of a database without attestlog_published: %v, want an error saying how to add it", role, err)
	}
	openStore(t, url).Close()
	if _, err := owner.Exec(ctx, `SELECT 1 FROM attestlog_published`); err != nil {
		t.Errorf("the owner's Open did not add attestlog_published: %v", err)
	}
}
