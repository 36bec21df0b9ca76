// Package pgtest gives tests a PostgreSQL database: on the server named by
// the environment variable ATTESTLOG_TEST_POSTGRES (a postgres:// URL of a
// role that may create databases), or else on a throwaway server that it
// starts from the PostgreSQL binaries installed here (initdb and pg_ctl
// under /usr/lib/postgresql/*/bin, or on PATH) and stops when the test
// ends. A test skips, saying so, only when neither is available.
// Import it only from _test.go files.
package pgtest

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net"
	"net/url"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// EnvURL names the environment variable with the URL of an existing server.
const EnvURL = "ATTESTLOG_TEST_POSTGRES"

// A Server is a PostgreSQL server for tests.
type Server struct {
	// URL is the server's URL, for its "postgres" database.
	URL string
	// Durable is whether the server syncs commits to disk.
	Durable bool
	// Port is the server's TCP port on 127.0.0.1; 0 for a server from EnvURL.
	Port    int
	dir     string     // the data directory's parent; "" for a server from EnvURL
	bin     string     // the directory of pg_ctl and its kin
	owner   *user.User // who runs the server; nil: ourselves
	stopped bool       // set by Stop, so that the cleanups leave it alone
}

// Start returns a server for the test: the one from EnvURL, or a new one
// that lives until the test ends. A durable server runs with PostgreSQL's
// defaults; a server that is not durable runs with fsync=off and
// synchronous_commit=off, which is faster but loses commits in a crash of
// the machine, so durability tests must ask for durable.
func Start(t testing.TB, durable bool) *Server {
	t.Helper()
	if u := os.Getenv(EnvURL); u != "" {
		return &Server{URL: u, Durable: true}
	}
	bin, err := binDir()
	if err != nil {
		t.Skipf("no PostgreSQL server: set %s to a server's URL, or install PostgreSQL (apt-get install postgresql): %v", EnvURL, err)
	}
	s, err := newServer(bin, durable)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(s.dir) })
	data := filepath.Join(s.dir, "data")
	if err := s.prepare(data); err != nil {
		t.Fatal(err)
	}
	if out, err := s.command(filepath.Join(bin, "initdb"), "-D", data, "-A", "trust", "-U", "postgres", "-E", "UTF8", "--locale=C.UTF-8", "--no-sync").CombinedOutput(); err != nil {
		t.Fatalf("initdb: %v\n%s", err, out)
	}
	s.start(t, data)
	return s
}

// newServer makes the directory of a new server.
func newServer(bin string, durable bool) (*Server, error) {
	// The server runs as the postgres user when we are root (initdb refuses
	// root), so its directory must not be under t.TempDir, which is 0700.
	dir, err := os.MkdirTemp("", "attestlog-pgtest-")
	if err != nil {
		return nil, err
	}
	if err := os.Chmod(dir, 0o755); err != nil {
		return nil, err
	}
	return &Server{Durable: durable, dir: dir, bin: bin}, nil
}

// start starts the server on the data directory data, on a free port, and
// stops it when the test ends.
func (s *Server) start(t testing.TB, data string) {
	t.Helper()
	opts := "-c listen_addresses=127.0.0.1 -k " + s.dir
	if !s.Durable {
		opts += " -c fsync=off -c synchronous_commit=off -c full_page_writes=off"
	}
	// Ports below 32768, outside the ephemeral range, so that no outgoing
	// connection holds the one we pick; retried if another test took it.
	var lastOut []byte
	for range 10 {
		port := 20000 + rand.IntN(12000)
		if !portFree(port) {
			continue
		}
		out, err := s.command(filepath.Join(s.bin, "pg_ctl"), "-D", data, "-l", filepath.Join(s.dir, "server.log"), "-w", "-t", "60",
			"-o", opts+" -p "+strconv.Itoa(port), "start").CombinedOutput()
		if err != nil {
			lastOut, _ = os.ReadFile(filepath.Join(s.dir, "server.log"))
			lastOut = append(out, lastOut...)
			continue
		}
		t.Cleanup(func() {
			if s.stopped {
				return
			}
			if out, err := s.command(filepath.Join(s.bin, "pg_ctl"), "-D", data, "-m", "immediate", "-w", "stop").CombinedOutput(); err != nil {
				t.Errorf("stopping the test PostgreSQL server: %v\n%s", err, out)
			}
		})
		s.Port = port
		s.URL = fmt.Sprintf("postgres://postgres@127.0.0.1:%d/postgres?sslmode=disable", port)
		return
	}
	t.Fatalf("starting a test PostgreSQL server in %s failed 10 times; last output:\n%s", s.dir, lastOut)
}

// StartReplica starts a streaming replica of s, a server that Start
// started: a base backup taken with pg_basebackup -R -X stream (with a
// fast checkpoint: a spread one takes minutes on an idle server), started
// as a hot standby on a port of its own. It stops when the test ends.
func (s *Server) StartReplica(t testing.TB) *Server {
	t.Helper()
	if s.dir == "" {
		t.Skipf("a replica needs a server started by pgtest, not one from %s", EnvURL)
	}
	r, err := newServer(s.bin, s.Durable)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(r.dir) })
	data := filepath.Join(r.dir, "data")
	if err := r.prepare(data); err != nil {
		t.Fatal(err)
	}
	out, err := r.command(filepath.Join(s.bin, "pg_basebackup"), "-D", data, "-R", "-X", "stream", "--checkpoint=fast", "--no-sync",
		"-h", "127.0.0.1", "-p", strconv.Itoa(s.Port), "-U", "postgres").CombinedOutput()
	if err != nil {
		t.Fatalf("pg_basebackup: %v\n%s", err, out)
	}
	r.start(t, data)
	return r
}

// Stop stops s with a fast shutdown, which first sends every WAL record
// to its streaming replicas. The test's cleanups then leave it alone.
func (s *Server) Stop(t testing.TB) {
	t.Helper()
	out, err := s.command(filepath.Join(s.bin, "pg_ctl"), "-D", filepath.Join(s.dir, "data"), "-m", "fast", "-w", "stop").CombinedOutput()
	if err != nil {
		t.Fatalf("stopping the test PostgreSQL server: %v\n%s", err, out)
	}
	s.stopped = true
}

// Promote makes the replica s a primary (pg_ctl promote) and waits until
// it accepts writes.
func (s *Server) Promote(t testing.TB) {
	t.Helper()
	out, err := s.command(filepath.Join(s.bin, "pg_ctl"), "-D", filepath.Join(s.dir, "data"), "-w", "promote").CombinedOutput()
	if err != nil {
		t.Fatalf("promoting the test PostgreSQL replica: %v\n%s", err, out)
	}
}

// prepare creates data for the server's user, and sets s.owner: the
// postgres user when we are root, else nil (ourselves).
func (s *Server) prepare(data string) error {
	if err := os.Mkdir(data, 0o700); err != nil {
		return err
	}
	if os.Geteuid() != 0 {
		return nil
	}
	u, err := user.Lookup("postgres")
	if err != nil {
		return fmt.Errorf("running as root, the test server needs the postgres user: %w", err)
	}
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)
	for _, p := range []string{s.dir, data} {
		if err := os.Chown(p, uid, gid); err != nil {
			return err
		}
	}
	s.owner = u
	return nil
}

// command runs name as the server's owner.
func (s *Server) command(name string, args ...string) *exec.Cmd {
	if s.owner != nil {
		args = append([]string{"-u", s.owner.Username, "--", name}, args...)
		name = "runuser"
	}
	cmd := exec.Command(name, args...)
	cmd.Dir = s.dir
	return cmd
}

var dbSeq atomic.Int64

// NewDatabase creates an empty database on s, dropped when the test ends,
// and returns its URL.
func (s *Server) NewDatabase(t testing.TB) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	conn, err := pgx.Connect(ctx, s.URL)
	if err != nil {
		t.Fatalf("connecting to the test PostgreSQL server: %v", err)
	}
	defer conn.Close(ctx)
	name := fmt.Sprintf("attestlog_test_%d_%d_%d", os.Getpid(), time.Now().UnixNano()%1e9, dbSeq.Add(1))
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+name); err != nil {
		t.Fatalf("creating test database: %v", err)
	}
	t.Cleanup(func() {
		if s.stopped {
			return
		}
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		conn, err := pgx.Connect(ctx, s.URL)
		if err != nil {
			t.Errorf("connecting to drop test database %s: %v", name, err)
			return
		}
		defer conn.Close(ctx)
		if _, err := conn.Exec(ctx, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)"); err != nil {
			t.Errorf("dropping test database %s: %v", name, err)
		}
	})
	u, err := url.Parse(s.URL)
	if err != nil {
		t.Fatal(err)
	}
	u.Path = "/" + name
	return u.String()
}

// binDir finds the directory of initdb and pg_ctl: the newest
// /usr/lib/postgresql/<version>/bin (Debian's layout), or PATH.
func binDir() (string, error) {
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	sort.Slice(dirs, func(i, j int) bool { return version(dirs[i]) > version(dirs[j]) })
	for _, d := range dirs {
		if _, err := os.Stat(filepath.Join(d, "initdb")); err == nil {
			return d, nil
		}
	}
	p, err := exec.LookPath("initdb")
	if err != nil {
		return "", fmt.Errorf("no initdb under /usr/lib/postgresql/*/bin or on PATH")
	}
	return filepath.Dir(p), nil
}

func version(binDir string) int {
	v, _ := strconv.Atoi(filepath.Base(filepath.Dir(binDir)))
	return v
}

func portFree(port int) bool {
	ln, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(port))
	if err != nil {
		return false
	}
	ln.Close()
	return true
}
