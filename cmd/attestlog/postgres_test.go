package main

import (
	"errors"
	"io"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/attestlog/attestlog/cmd/attestlog/internal/datadir"
	"github.com/attestlog/attestlog/log/pgstore/pgtest"
)

// TestFaultKillLogPostgres is TestFaultKillLog with the log's state in
// PostgreSQL (a durable server: fsync and synchronous_commit on): SIGKILL
// of `serve --store postgres://...` mid-load loses no acknowledged claim.
func TestFaultKillLogPostgres(t *testing.T) {
	if testing.Short() {
		t.Skip("kills processes")
	}
	faultKillLog(t, "--store", pgtest.Start(t, true).NewDatabase(t))
}

// TestServePostgres restarts serve on a PostgreSQL store, and checks that
// a bad --store fails the start with a clear error and leaves no data
// directory behind: a database holding another log, an unreachable
// database, and a data directory that already holds a bbolt log.
func TestServePostgres(t *testing.T) {
	url := pgtest.Start(t, false).NewDatabase(t)
	data := filepath.Join(t.TempDir(), "log")
	args := []string{"serve", "--data", data, "--store", url, "--http", "127.0.0.1:0", "--grpc", "127.0.0.1:0", "--origin", "example.test/pg"}
	s := startServe(t, args)
	vkey := s.vkey
	s.stop(t)
	s = startServe(t, args)
	if s.vkey != vkey {
		t.Errorf("restarted serve has key %s, want %s", s.vkey, vkey)
	}
	s.stop(t)
	if _, err := os.Stat(filepath.Join(data, datadir.LogDB)); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("serve --store created %s (%v)", datadir.LogDB, err)
	}

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	deadAddr := ln.Addr().String()
	ln.Close()
	bolt := filepath.Join(t.TempDir(), "bolt")
	startServe(t, []string{"serve", "--data", bolt, "--http", "127.0.0.1:0", "--grpc", "127.0.0.1:0", "--origin", "example.test/pg"}).stop(t)
	for _, tc := range []struct {
		name, data, store string
		want              []string
		keepData          bool
	}{
		{"another log's database", filepath.Join(t.TempDir(), "other"), url,
			[]string{"the database holds another log", "signed by the key " + vkey}, false},
		{"unreachable database", filepath.Join(t.TempDir(), "dead"), "postgres://attestlog:pw-not-shown@" + deadAddr + "/db?sslmode=disable&connect_timeout=2",
			[]string{"connecting to PostgreSQL at postgres://attestlog@" + deadAddr + "/db", "check that the server runs"}, false},
		{"bbolt log in the data directory", bolt, url, []string{"holds a log on bbolt"}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			args := replaceArg(replaceArg(args, "--data", tc.data), "--store", tc.store)
			err := run(t.Context(), args, io.Discard, io.Discard)
			if err == nil {
				t.Fatal("serve started")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("serve = %v, want an error saying %q", err, w)
				}
			}
			if strings.Contains(err.Error(), "pw-not-shown") {
				t.Errorf("the error shows the password: %v", err)
			}
			if _, err := os.Stat(tc.data); !tc.keepData && !errors.Is(err, fs.ErrNotExist) {
				t.Errorf("the failed start left %s behind (%v)", tc.data, err)
			}
		})
	}
}
