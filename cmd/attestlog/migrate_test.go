package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/attestlog/attestlog/client"
	"github.com/attestlog/attestlog/client/report"
	"github.com/attestlog/attestlog/cmd/attestlog/internal/datadir"
	"github.com/attestlog/attestlog/log"
	"github.com/attestlog/attestlog/log/objstore/s3test"
	"github.com/attestlog/attestlog/log/pgstore"
	"github.com/attestlog/attestlog/log/pgstore/pgtest"
	"golang.org/x/mod/sumdb/note"
)

// claimedLog runs a bbolt log in a new data directory with four claims
// about two binaries that disagree (a mismatch), both binaries archived,
// and index commitments, then stops it. It returns the data directory and
// the log's gRPC lookups and mismatches as its serve answered them.
func claimedLog(t *testing.T) (data string, answers []string, good []byte) {
	t.Helper()
	clearClientEnv(t)
	repo, _ := gitRepo(t)
	work := t.TempDir()
	at := func(p string) string { return filepath.Join(work, p) }
	good = bytes.Repeat([]byte("honest binary "), 50_000)
	evil := bytes.Clone(good)
	evil[4321] ^= 0xff
	writeFile(t, at("a/hello"), good)
	writeFile(t, at("b/hello"), evil)
	os.Mkdir(at("claims"), 0o755)
	var claims []string
	for i, name := range []string{"author.example/alice", "ci.example/ci", "rebuilder.example/bob", "rebuilder.example/eve"} {
		runOK(t, "keygen", "-o", at(fmt.Sprint(i)), name)
		bin := at("a/hello")
		if i == 3 {
			bin = at("b/hello")
		}
		claims = append(claims, at(fmt.Sprintf("claims/%d.json", i)))
		runOK(t, "attest", "--dir", repo, "--recipe", filepath.Join(repo, "go.sum"), "--key", at(fmt.Sprintf("%d.key", i)), "-o", claims[i], bin)
	}
	data = filepath.Join(t.TempDir(), "data")
	s := startServe(t, []string{"serve", "--data", data, "--http", "127.0.0.1:0", "--grpc", "127.0.0.1:0", "--origin", "example.test/migrate",
		"--index-entries", "2", "--index-age", "100ms", "--log-level", "error"})
	logArgs := []string{"--log", s.grpcAddr, "--log-vkey", filepath.Join(data, datadir.LogVKey)}
	runOK(t, append(append(append([]string{"submit"}, logArgs...), "--artifact", at("a/hello"), "--artifact", at("b/hello")), claims...)...)
	size := func() int {
		resp, err := http.Get("http://" + s.httpAddr + "/checkpoint")
		if err != nil {
			return -1
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		lines := strings.Split(string(b), "\n")
		n, _ := strconv.Atoi(lines[min(1, len(lines)-1)])
		return n
	}
	waitFor(t, "index commitments after the claims, and no more", func() bool {
		n := size()
		time.Sleep(500 * time.Millisecond) // several rounds of the committer (--index-age 100ms)
		return n >= 5 && size() == n
	})
	answers = migratedAnswers(t, s.grpcAddr, data, good)
	s.stop(t)
	return data, answers, good
}

// migratedAnswers returns what a log answers to lookups and mismatches.
func migratedAnswers(t *testing.T, grpcAddr, data string, good []byte) []string {
	t.Helper()
	logArgs := []string{"--log", grpcAddr, "--log-vkey", filepath.Join(data, datadir.LogVKey)}
	return []string{
		runOK(t, append(append([]string{"lookup"}, logArgs...), "--json", "--digest", sha256Hex(good))...),
		runOK(t, "mismatches", "--log", grpcAddr, "--json"),
	}
}

// servingData makes a data directory for serve --store on the copy: the
// log's key, and no bbolt file.
func servingData(t *testing.T, data string) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "copy")
	os.Mkdir(dir, 0o700)
	for _, f := range []string{datadir.LogKey, datadir.LogVKey} {
		b := readBytes(t, filepath.Join(data, f))
		if err := os.WriteFile(filepath.Join(dir, f), b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// treeDigest returns the names, sizes and bytes of every file under dir.
func treeDigest(t *testing.T, dir string) string {
	t.Helper()
	var b strings.Builder
	filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			t.Fatal(err)
		}
		fi, _ := d.Info()
		fmt.Fprintf(&b, "%s %v %d", path, fi.Mode(), fi.Size())
		if d.Type().IsRegular() {
			fmt.Fprintf(&b, " %s", sha256Hex(readBytes(t, path)))
		}
		b.WriteString("\n")
		return nil
	})
	return b.String()
}

// TestMigrate copies a bbolt log with claims, a mismatch, archived
// binaries and index commitments into PostgreSQL and Ceph RGW buckets.
// The source is left byte for byte as it was; a second run changes
// nothing; serve --store --objects on the copy serves the same checkpoint
// (and the bucket does too), the same lookups and mismatches, and the
// binaries from the archive bucket.
func TestMigrate(t *testing.T) {
	if testing.Short() {
		t.Skip("runs PostgreSQL and Ceph RGW")
	}
	data, want, good := claimedLog(t)
	url := pgtest.Start(t, false).NewDatabase(t)
	objects, anon := objectsURL(t, pgtestS3(t))
	before := treeDigest(t, data)
	srcCheckpoint := readCheckpointOf(t, data)

	var out bytes.Buffer
	if err := run(t.Context(), []string{"migrate", "--data", data, "--store", url, "--objects", objects, "--log-level", "warn"}, &out, testWriter{t}); err != nil {
		t.Fatalf("migrate: %v\n%s", err, out.String())
	}
	t.Logf("migrate:\n%s", out.String())
	for _, w := range []string{"migrated: copied the log example.test/migrate", "2 of 2 binaries", "checked: the tiles bucket over anonymous HTTP at " + anon} {
		if !strings.Contains(out.String(), w) {
			t.Errorf("migrate printed\n%s\nwant %q", out.String(), w)
		}
	}
	out.Reset()
	if err := run(t.Context(), []string{"migrate", "--data", data, "--store", url, "--objects", objects, "--log-level", "warn"}, &out, testWriter{t}); err != nil {
		t.Fatalf("migrate again: %v", err)
	}
	if w := "this run: 0 entries (0.0 MiB), 0 index records"; !strings.Contains(out.String(), "already copied") || !strings.Contains(out.String(), w) {
		t.Errorf("migrate again printed\n%s\nwant \"already copied\" and %q", out.String(), w)
	}
	if after := treeDigest(t, data); after != before {
		t.Errorf("migrate changed its source:\nbefore:\n%s\nafter:\n%s", before, after)
	}

	s := startServe(t, []string{"serve", "--data", servingData(t, data), "--store", url, "--objects", objects, "--origin", "example.test/migrate",
		"--http", "127.0.0.1:0", "--grpc", "127.0.0.1:0", "--log-level", "error"})
	if got := httpGet(t, "http://"+s.httpAddr+"/checkpoint", http.StatusOK, ""); !bytes.Equal(got, srcCheckpoint) {
		t.Errorf("serve on the copy: checkpoint\n%s\nwant the source's\n%s", got, srcCheckpoint)
	}
	bucketCP, err := client.HTTPFetcher{Base: anon}.Fetch(t.Context(), "checkpoint")
	if err != nil || !bytes.Equal(bucketCP, srcCheckpoint) {
		t.Errorf("the bucket's checkpoint: %q, %v; want the source's", bucketCP, err)
	}
	if got := migratedAnswers(t, s.grpcAddr, data, good); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("serve on the copy answers\n%s\nwant the source's\n%s", got, want)
	}
	var ms []report.Mismatch
	if err := json.Unmarshal([]byte(want[1]), &ms); err != nil || len(ms) != 1 || len(ms[0].Digests) != 2 || !ms[0].Digests[0].Archived {
		t.Fatalf("the source's mismatches: %s (%v), want one with archived binaries", want[1], err)
	}
	ev := filepath.Join(t.TempDir(), "evidence")
	runOK(t, "evidence", "pull", "--log", s.grpcAddr, "--log-vkey", filepath.Join(data, datadir.LogVKey), ms[0].ID, "-o", ev)
	if got := readBytes(t, filepath.Join(ev, "artifacts", sha256Hex(good), ms[0].Artifact)); !bytes.Equal(got, good) {
		t.Error("evidence pull from the copy fetched another binary than the source archived")
	}
}

// pgtestS3 starts (or reuses) the test binary's Ceph RGW.
func pgtestS3(t *testing.T) *s3test.Server { return s3test.Start(t) }

// readCheckpointOf returns the checkpoint stored in the bbolt log of data.
func readCheckpointOf(t *testing.T, data string) []byte {
	t.Helper()
	s, err := log.OpenBoltReadOnly(filepath.Join(data, datadir.LogDB))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	cp, err := s.Checkpoint()
	if err != nil {
		t.Fatal(err)
	}
	return cp
}

// plainLog makes a bbolt log of n plain entries in a new data directory.
func plainLog(t *testing.T, origin string, n int) string {
	t.Helper()
	data := filepath.Join(t.TempDir(), "data")
	startServe(t, []string{"serve", "--data", data, "--http", "127.0.0.1:0", "--grpc", "127.0.0.1:0", "--origin", origin, "--log-level", "error"}).stop(t)
	appendEntries(t, data, origin, n)
	return data
}

// TestMigrateKilledResumes kills a migrate process (SIGKILL) mid-copy: the
// database then holds a progress marker, not a checkpoint, so serve
// refuses the half copy; migrate run again finishes the copy from where
// the killed one stopped, and checks it.
func TestMigrateKilledResumes(t *testing.T) {
	if testing.Short() {
		t.Skip("kills processes")
	}
	const origin, n = "example.test/resume", 5000
	data := plainLog(t, origin, n)
	url := pgtest.Start(t, false).NewDatabase(t)

	cmd := exec.Command(os.Args[0], "migrate", "--data", data, "--store", url, "--batch", "8")
	cmd.Env = append(os.Environ(), envRunMain+"=1")
	var stderr lockedBuffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "migrate to copy a few batches", func() bool { return strings.Count(stderr.String(), "copied entries") >= 20 })
	cmd.Process.Kill()
	cmd.Wait()
	if strings.Contains(stderr.String(), "stored the checkpoint") {
		t.Fatalf("migrate finished before it was killed; make the log larger\n%s", stderr.String())
	}

	err := run(t.Context(), []string{"serve", "--data", servingData(t, data), "--store", url, "--origin", origin,
		"--http", "127.0.0.1:0", "--grpc", "127.0.0.1:0", "--log-level", "error"}, io.Discard, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "stored checkpoint") {
		t.Errorf("serve on a half copy = %v, want it refused for its stored checkpoint", err)
	}

	var out bytes.Buffer
	if err := run(t.Context(), []string{"migrate", "--data", data, "--store", url, "--log-level", "warn"}, &out, testWriter{t}); err != nil {
		t.Fatalf("migrate after the kill: %v", err)
	}
	t.Logf("migrate after the kill:\n%s", out.String())
	var copied int
	if _, err := fmt.Sscanf(out.String()[strings.Index(out.String(), "this run: "):], "this run: %d entries", &copied); err != nil ||
		!strings.Contains(out.String(), "finished an interrupted copy of the log "+origin+" at tree size 5000") || copied <= 0 || copied >= n {
		t.Errorf("migrate after the kill printed\n%s\nwant an interrupted copy finished, with fewer than %d entries copied (%v)", out.String(), n, err)
	}
	s := startServe(t, []string{"serve", "--data", servingData(t, data), "--store", url, "--origin", origin,
		"--http", "127.0.0.1:0", "--grpc", "127.0.0.1:0", "--log-level", "error"})
	v, err := note.NewVerifier(s.vkey)
	if err != nil {
		t.Fatal(err)
	}
	r, err := client.CheckLog(t.Context(), client.HTTPFetcher{Base: "http://" + s.httpAddr}, v)
	if err != nil || r.Checkpoint.Size != n || !bytes.Equal(r.Note, readCheckpointOf(t, data)) {
		t.Errorf("CheckLog of serve on the resumed copy: size %d, %v; want the source's checkpoint of size %d", r.Checkpoint.Size, err, n)
	}
}

// lockedBuffer is a bytes.Buffer safe for one writer and one reader.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

// TestMigrateRefusesNonEmpty: migrate refuses a database that a serve of
// the same log already used, and one of another log, before writing
// anything to it; and a tiles bucket holding another tree's checkpoint.
func TestMigrateRefusesNonEmpty(t *testing.T) {
	if testing.Short() {
		t.Skip("runs PostgreSQL")
	}
	const origin = "example.test/refuse"
	data := plainLog(t, origin, 10)
	srv := pgtest.Start(t, false)

	used := srv.NewDatabase(t)
	s := startServe(t, []string{"serve", "--data", servingData(t, data), "--store", used, "--origin", origin, "--http", "127.0.0.1:0", "--grpc", "127.0.0.1:0", "--log-level", "error"})
	s.stop(t)
	other := srv.NewDatabase(t)
	startServe(t, []string{"serve", "--data", filepath.Join(t.TempDir(), "other"), "--store", other, "--origin", origin, "--http", "127.0.0.1:0", "--grpc", "127.0.0.1:0", "--log-level", "error"}).stop(t)

	for _, tc := range []struct {
		name, url string
		want      []string
	}{
		{"a database serve used", used, []string{"the target store is not empty", "it holds a log", "migrate only into an empty database"}},
		{"another log's database", other, []string{"the database holds another log"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := dumpStore(t, tc.url, origin, data)
			err := run(t.Context(), []string{"migrate", "--data", data, "--store", tc.url, "--log-level", "error"}, io.Discard, io.Discard)
			if err == nil {
				t.Fatal("migrate succeeded")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("migrate = %v, want an error saying %q", err, w)
				}
			}
			if after := dumpStore(t, tc.url, origin, data); after != before {
				t.Errorf("the refused migration changed the database:\nbefore: %s\nafter:  %s", before, after)
			}
		})
	}

	t.Run("a bucket of another tree", func(t *testing.T) {
		s3 := s3test.Start(t)
		objects, _ := objectsURL(t, s3)
		otherData := plainLog(t, origin+"2", 3)
		var out bytes.Buffer
		if err := run(t.Context(), []string{"migrate", "--data", otherData, "--store", srv.NewDatabase(t), "--objects", objects, "--log-level", "error"}, &out, testWriter{t}); err != nil {
			t.Fatalf("migrating the other log: %v", err)
		}
		target := srv.NewDatabase(t)
		err := run(t.Context(), []string{"migrate", "--data", data, "--store", target, "--objects", objects, "--log-level", "error"}, io.Discard, io.Discard)
		if err == nil || !strings.Contains(err.Error(), "holds a checkpoint not signed by this log's key: use an empty bucket") {
			t.Errorf("migrate into a bucket of another log = %v, want it refused", err)
		}
		if got := dumpStore(t, target, origin, data); !strings.HasPrefix(got, "checkpoint \"\" witnessed \"\" entry 0:") {
			t.Errorf("the refused migration wrote to the database: %s", got)
		}
	})
}

// dumpStore describes what the database at url holds for the log of data.
func dumpStore(t *testing.T, url, origin, data string) string {
	t.Helper()
	vkey := strings.TrimSpace(readFile(t, filepath.Join(data, datadir.LogVKey)))
	s, err := pgstore.Open(t.Context(), pgstore.Config{URL: url, Origin: origin, VKey: vkey})
	if err != nil {
		return "(" + err.Error() + ")"
	}
	defer s.Close()
	cp, err1 := s.Checkpoint()
	w, err2 := s.Witnessed()
	es, err3 := s.Entries(0, 1)
	return fmt.Sprintf("checkpoint %q witnessed %q entry 0: %q %v %v %v", cp, w, es, err1, err2, err3)
}
