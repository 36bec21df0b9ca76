package pgstore_test

import (
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

// TestSecondWriterStops runs two logs on one database: the one whose view
// of the tree is stale when it commits gets ErrStaleBatch, its Run stops,
// and the tree in the database is the other's, intact.
func TestSecondWriterStops(t *testing.T) {
	url := pgtest.Start(t, false).NewDatabase(t)
	signer, vkey := testKeys(t)
	verifier, _ := note.NewVerifier(vkey)
	var logs [2]*log.Log
	for i := range logs {
		s := openStore(t, url)
		t.Cleanup(func() { s.Close() })
		l, err := log.New(log.Config{Origin: logtest.Origin, Signer: signer, Store: s})
		if err != nil {
			t.Fatal(err)
		}
		logs[i] = l
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := [2]chan error{make(chan error, 1), make(chan error, 1)}
	for i, l := range logs {
		go func() { done[i] <- l.Run(ctx) }()
	}
	if _, err := logs[0].Add([]byte("first writer"))(ctx); err != nil {
		t.Fatal(err)
	}
	_, err := logs[1].Add([]byte("second writer"))(ctx)
	if !errors.Is(err, log.ErrStaleBatch) {
		t.Fatalf("append through the stale writer: %v, want ErrStaleBatch", err)
	}
	select {
	case err := <-done[1]:
		if !errors.Is(err, log.ErrStaleBatch) {
			t.Errorf("stale writer's Run returned %v, want ErrStaleBatch", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the stale writer's Run did not stop")
	}
	if _, err := logs[0].Add([]byte("first writer again"))(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := client.CheckLog(ctx, logs[0], verifier); err != nil {
		t.Fatal(err)
	}
	if got := logs[0].Checkpoint().Size; got != 2 {
		t.Errorf("tree size %d, want 2", got)
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
