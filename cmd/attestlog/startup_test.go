package main

import (
	"errors"
	"github.com/attestlog/attestlog/cmd/attestlog/internal/usage"
	"io"
	"io/fs"
	"maps"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// dirSnapshot maps every path under dir to its mode and, for files, bytes.
func dirSnapshot(t *testing.T, dir string) map[string]string {
	t.Helper()
	snap := map[string]string{}
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		fi, err := d.Info()
		if err != nil {
			return err
		}
		v := fi.Mode().String()
		if fi.Mode().IsRegular() {
			b, err := os.ReadFile(path)
			if err != nil {
				return err
			}
			v += " " + string(b)
		}
		snap[strings.TrimPrefix(path, dir)] = v
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return snap
}

// checkStartFails runs args, which must fail with an error containing
// want, and then checks the data directory data: if it did not exist
// before, that neither it nor its missing parents exist after; else that
// it holds the same files with the same bytes and modes.
func checkStartFails(t *testing.T, args []string, data, want string) {
	t.Helper()
	var before map[string]string
	top := data // the topmost of data and its parents that does not exist
	if _, err := os.Stat(data); err == nil {
		before = dirSnapshot(t, data)
	} else {
		for p := filepath.Dir(data); !exists(p); p = filepath.Dir(p) {
			top = p
		}
	}
	err := run(t.Context(), args, io.Discard, io.Discard)
	if err == nil || !strings.Contains(err.Error(), want) {
		t.Fatalf("run %q = %v, want an error containing %q", args, err, want)
	}
	if before == nil {
		if exists(top) {
			t.Errorf("after the failed start, %s exists; want it not created", top)
		}
		return
	}
	if after := dirSnapshot(t, data); !maps.Equal(before, after) {
		t.Errorf("the failed start changed the existing data directory:\nbefore %q\nafter  %q", slices.Sorted(maps.Keys(before)), slices.Sorted(maps.Keys(after)))
	}
}

func exists(path string) bool {
	_, err := os.Lstat(path)
	return !errors.Is(err, fs.ErrNotExist)
}

// busyAddr returns the address of a port in use until the test ends.
func busyAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	return ln.Addr().String()
}

// TestServeStartFailures checks that each way serve can fail at start is
// refused with a clear error, leaves no new data directory (nor missing
// parent directories) behind, and leaves an existing one as it was.
func TestServeStartFailures(t *testing.T) {
	dir := t.TempDir()
	at := func(p string) string { return filepath.Join(dir, p) }
	const origin = "example.test/start"
	base := []string{"serve", "--http", "127.0.0.1:0", "--grpc", "127.0.0.1:0", "--origin", origin}

	// A log that ran once, a directory an operator made, and one holding
	// only a key made by keygen.
	existing := at("existing")
	startServe(t, append(slices.Clone(base), "--data", existing)).stop(t)
	empty := at("empty")
	if err := os.Mkdir(empty, 0o700); err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(empty, "NOTES"), []byte("the operator's file\n"))
	keyOnly := at("key-only")
	if err := os.Mkdir(keyOnly, 0o700); err != nil {
		t.Fatal(err)
	}
	runOK(t, "keygen", "-o", filepath.Join(keyOnly, "log"), origin)

	ca := newTestCA(t, dir, "ca")
	cert, key := ca.issue(t, dir, "server", time.Now().Add(time.Hour))
	expired, expiredKey := ca.issue(t, dir, "expired", time.Now().Add(-time.Hour))
	_, otherKey := ca.issue(t, dir, "other", time.Now().Add(time.Hour))
	_, otherVKey := keyPair(t, "example.test/other")
	writeFile(t, at("other-policy"), []byte("log "+otherVKey+"\nquorum none\n"))

	for _, tt := range []struct {
		name string
		args []string
		want string
	}{
		{"missing policy file", []string{"--policy", at("no-such-policy")}, "reading witness policy"},
		{"http port in use", []string{"--http", busyAddr(t)}, "http: listen tcp"},
		{"grpc port in use", []string{"--grpc", busyAddr(t)}, "grpc: listen tcp"},
		{"pprof port in use", []string{"--pprof", busyAddr(t)}, "--pprof: listen tcp"},
		{"origin with a space", []string{"--origin", "example.test/my log"}, `a valid name is like "example.com/attestlog"`},
		{"origin with a plus", []string{"--origin", "example.test/a+b"}, "contains '+'"},
		{"empty origin", []string{"--origin", ""}, "key name is empty"},
		{"origin with a control character", []string{"--origin", "example.test/\x1b[2J"}, "U+001B at byte 13 is a control character"},
		{"origin with a bidi override", []string{"--origin", "example.test/\u202egol"}, "U+202E at byte 13 is a bidi control"},
		{"origin not UTF-8", []string{"--origin", "example.test/\xff"}, "not valid UTF-8"},
		{"TLS cert without key", []string{"--tls-cert", cert}, "--tls-cert and --tls-key go together"},
		{"TLS key without cert", []string{"--tls-key", key}, "--tls-cert and --tls-key go together"},
		{"TLS cert missing", []string{"--tls-cert", at("no-such.pem"), "--tls-key", key}, "loading TLS certificate"},
		{"TLS key of another cert", []string{"--tls-cert", cert, "--tls-key", otherKey}, "private key does not match public key"},
		{"TLS cert not PEM", []string{"--tls-cert", at("other-policy"), "--tls-key", key}, "failed to find any PEM data"},
		{"TLS cert expired", []string{"--tls-cert", expired, "--tls-key", expiredKey}, "expired at"},
		{"witness CA missing", []string{"--witness-tls-ca", at("no-such-ca.pem")}, "--witness-tls-ca: reading CA bundle"},
		{"witness CA not PEM", []string{"--witness-tls-ca", key}, "holds no PEM certificate"},
		{"builders file missing", []string{"--builders", at("no-such-builders")}, "reading builder allowlist"},
		// Fails after the data directory is made and the key written.
		{"policy of another log", []string{"--policy", at("other-policy")}, "but this log's key is"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			for _, data := range []string{at("parent/new/data"), existing, empty, keyOnly} {
				args := append(slices.Clone(base), tt.args...)
				args = append(args, "--data", data)
				checkStartFails(t, args, data, tt.want)
			}
		})
	}
}

// TestWitnessStartFailures is TestServeStartFailures for witness.
func TestWitnessStartFailures(t *testing.T) {
	dir := t.TempDir()
	at := func(p string) string { return filepath.Join(dir, p) }
	_, logVKey := keyPair(t, "example.test/log")
	writeFile(t, at("logs"), []byte("log "+logVKey+"\n"))
	const name = "example.test/witness"
	base := []string{"witness", "--http", "127.0.0.1:0", "--name", name, "--logs", at("logs")}
	existing := at("existing")
	startWitness(t, append(slices.Clone(base), "--data", existing)).stop(t)
	empty := at("empty")
	if err := os.Mkdir(empty, 0o700); err != nil {
		t.Fatal(err)
	}
	ca := newTestCA(t, dir, "ca")
	cert, key := ca.issue(t, dir, "server", time.Now().Add(time.Hour))

	for _, tt := range []struct {
		name string
		args []string
		want string
	}{
		{"missing logs file", []string{"--logs", at("no-such-logs")}, "reading logs file"},
		{"port in use", []string{"--http", busyAddr(t)}, "http: listen tcp"},
		{"name with a space", []string{"--name", "my witness"}, `a valid name is like "example.com/attestlog"`},
		{"TLS cert without key", []string{"--tls-cert", cert}, "--tls-cert and --tls-key go together"},
		{"TLS key missing", []string{"--tls-cert", cert, "--tls-key", at("no-such.key")}, "loading TLS certificate"},
		{"TLS key not PEM", []string{"--tls-cert", key, "--tls-key", cert}, "loading TLS certificate"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			for _, data := range []string{at("parent/new/data"), existing, empty} {
				args := append(slices.Clone(base), tt.args...)
				args = append(args, "--data", data)
				checkStartFails(t, args, data, tt.want)
			}
		})
	}
}

// TestServePprof checks that --pprof serves profiles on its own loopback
// listener and nowhere else, and refuses any other address.
func TestServePprof(t *testing.T) {
	s := startServe(t, []string{"serve", "--data", t.TempDir(), "--http", "127.0.0.1:0", "--grpc", "127.0.0.1:0", "--pprof", "127.0.0.1:0"})
	if s.pprofAddr == "" || s.pprofAddr == s.httpAddr {
		t.Fatalf("serve --pprof printed pprof address %q (http %s), want its own listener", s.pprofAddr, s.httpAddr)
	}
	if b := httpGet(t, "http://"+s.pprofAddr+"/debug/pprof/", http.StatusOK, ""); !strings.Contains(string(b), "goroutine") {
		t.Errorf("/debug/pprof/ on the pprof listener lists no goroutine profile:\n%s", b)
	}
	httpGet(t, "http://"+s.pprofAddr+"/debug/pprof/symbol", http.StatusOK, "")
	httpGet(t, "http://"+s.httpAddr+"/debug/pprof/", http.StatusNotFound, "")
	s.stop(t)

	for _, addr := range []string{"0.0.0.0:0", ":0", "[::]:0", "192.0.2.1:6060", "example.com:6060", "127.0.0.1"} {
		t.Run(addr, func(t *testing.T) {
			data := filepath.Join(t.TempDir(), "data")
			want := "is not a loopback address"
			if addr == "127.0.0.1" {
				want = "missing port"
			}
			checkStartFails(t, []string{"serve", "--data", data, "--http", "127.0.0.1:0", "--grpc", "127.0.0.1:0", "--pprof", addr}, data, want)
			if err := run(t.Context(), []string{"serve", "--data", data, "--pprof", addr}, io.Discard, io.Discard); !errors.As(err, new(usage.Error)) {
				t.Errorf("serve --pprof %s = %v, want a usage error", addr, err)
			}
		})
	}
}

// TestTLSFlagsFromEnv checks the environment fallbacks of the TLS and
// pprof flags of serve and witness.
func TestTLSFlagsFromEnv(t *testing.T) {
	t.Setenv("ATTESTLOG_TLS_CERT", "/env/cert.pem")
	t.Setenv("ATTESTLOG_TLS_KEY", "/env/key.pem")
	t.Setenv("ATTESTLOG_WITNESS_TLS_CA", "/env/ca.pem")
	t.Setenv("ATTESTLOG_PPROF", "127.0.0.1:6060")
	c, err := parseServeFlags([]string{"--tls-key", "/flag/key.pem"}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if c.TLSCert != "/env/cert.pem" || c.TLSKey != "/flag/key.pem" || c.WitnessCA != "/env/ca.pem" || c.Pprof != "127.0.0.1:6060" {
		t.Errorf("parseServeFlags = %+v, want the TLS and pprof settings from the environment, --tls-key from the flag", c)
	}
	t.Setenv("ATTESTLOG_WITNESS_TLS_CERT", "/env/wcert.pem")
	t.Setenv("ATTESTLOG_WITNESS_TLS_KEY", "/env/wkey.pem")
	w, err := parseWitnessFlags([]string{"--logs", "l"}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if w.TLSCert != "/env/wcert.pem" || w.TLSKey != "/env/wkey.pem" {
		t.Errorf("parseWitnessFlags = %+v, want the TLS files from the environment", w)
	}
}
