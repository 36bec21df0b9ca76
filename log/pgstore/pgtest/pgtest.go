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
	dir     string // the data directory's parent; "" for a server from EnvURL
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
	// The server runs as the postgres user when we are root (initdb refuses
	// root), so its directory must not be under t.TempDir, which is 0700.
	dir, err := os.MkdirTemp("", "attestlog-pgtest-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	s := &Server{Durable: durable, dir: dir}
	data := filepath.Join(dir, "data")
	owner, err := s.prepare(data)
	if err != nil {
		t.Fatal(err)
	}
	if out, err := s.command(owner, filepath.Join(bin, "initdb"), "-D", data, "-A", "trust", "-U", "postgres", "-E", "UTF8", "--locale=C.UTF-8", "--no-sync").CombinedOutput(); err != nil {
		t.Fatalf("initdb: %v\n%s", err, out)
	}
	opts := "-c listen_addresses=127.0.0.1 -k " + dir
	if !durable {
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
		out, err := s.command(owner, filepath.Join(bin, "pg_ctl"), "-D", data, "-l", filepath.Join(dir, "server.log"), "-w", "-t", "60",
			"-o", opts+" -p "+strconv.Itoa(port), "start").CombinedOutput()
		if err != nil {
			lastOut, _ = os.ReadFile(filepath.Join(dir, "server.log"))
			lastOut = append(out, lastOut...)
			continue
		}
		t.Cleanup(func() {
			if out, err := s.command(owner, filepath.Join(bin, "pg_ctl"), "-D", data, "-m", "immediate", "-w", "stop").CombinedOutput(); err != nil {
				t.Errorf("stopping the test PostgreSQL server: %v\n%s", err, out)
			}
		})
		s.URL = fmt.Sprintf("postgres://postgres@127.0.0.1:%d/postgres?sslmode=disable", port)
		return s
	}
	t.Fatalf("starting a test PostgreSQL server in %s failed 10 times; last output:\n%s", dir, lastOut)
	return nil
}

// prepare creates data for the server's user and returns that user: the
// postgres user when we are root, else nil (ourselves).
func (s *Server) prepare(data string) (*user.User, error) {
	if err := os.Mkdir(data, 0o700); err != nil {
		return nil, err
	}
	if os.Geteuid() != 0 {
		return nil, nil
	}
	u, err := user.Lookup("postgres")
	if err != nil {
		return nil, fmt.Errorf("running as root, the test server needs the postgres user: %w", err)
	}
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)
	for _, p := range []string{s.dir, data} {
		if err := os.Chown(p, uid, gid); err != nil {
			return nil, err
		}
	}
	return u, nil
}

// command runs name as owner (nil: ourselves).
func (s *Server) command(owner *user.User, name string, args ...string) *exec.Cmd {
	if owner != nil {
		args = append([]string{"-u", owner.Username, "--", name}, args...)
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
