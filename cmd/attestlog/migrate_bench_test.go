package main

import (
	"bytes"
	"crypto/rand"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/attestlog/attestlog/cmd/attestlog/internal/datadir"
	"github.com/attestlog/attestlog/log/objstore/s3test"
	"github.com/attestlog/attestlog/log/pgstore/pgtest"
)

// envMigrateBench sets the number of claims of TestMigrateThroughput's
// log, e.g. 100000; unset, it is skipped.
const envMigrateBench = "ATTESTLOG_MIGRATE_BENCH"

// envMigrateBenchData names the data directory of a log that an earlier
// run filled, to measure the migration again without filling it.
const envMigrateBenchData = "ATTESTLOG_MIGRATE_BENCH_DATA"

// TestMigrateThroughput is the measurement behind BENCHMARKS.md's
// migration figures, not a timing assertion: it fills a bbolt log with
// claims through `attestlog bench` against a real serve (so with the claim
// indexes and the index commitments a log has), puts binaries in its
// archive, migrates it into a durable PostgreSQL and Ceph RGW, and logs
// what migrate printed. Run it with, e.g.:
//
//	ATTESTLOG_MIGRATE_BENCH=100000 go test ./cmd/attestlog -run TestMigrateThroughput -v -timeout 60m
func TestMigrateThroughput(t *testing.T) {
	n, err := strconv.Atoi(os.Getenv(envMigrateBench))
	if err != nil {
		t.Skipf("set %s to a number of claims to measure a migration", envMigrateBench)
	}
	data := os.Getenv(envMigrateBenchData)
	if data == "" {
		data = fillBenchLog(t, n)
	}
	fi, err := os.Stat(filepath.Join(data, datadir.LogDB))
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("source: log.db %.1f MiB", float64(fi.Size())/(1<<20))

	url := pgtest.Start(t, true).NewDatabase(t)
	objects, _ := objectsURL(t, s3test.Start(t))
	var out bytes.Buffer
	for _, args := range [][]string{
		{"migrate", "--data", data, "--store", url, "--log-level", "warn"},
		{"migrate", "--data", data, "--store", url, "--objects", objects, "--log-level", "warn"},
	} {
		out.Reset()
		t0 := time.Now()
		if err := run(t.Context(), args, &out, testWriter{t}); err != nil {
			t.Fatalf("%v: %v", args, err)
		}
		t.Logf("%v in %v:\n%s", args[len(args)-3:], time.Since(t0), out.String())
	}
}

// fillBenchLog makes the source log of TestMigrateThroughput: n claims
// through bench, and binaries in its archive.
func fillBenchLog(t *testing.T, n int) string {
	data := filepath.Join(t.TempDir(), "data")
	s := startServe(t, []string{"serve", "--data", data, "--http", "127.0.0.1:0", "--grpc", "127.0.0.1:0", "--origin", "example.test/bench", "--log-level", "error"})
	t0 := time.Now()
	var out bytes.Buffer
	if err := run(t.Context(), []string{"bench", "--log", s.grpcAddr, "--mode", "add", "--builders", "64", "--requests", fmt.Sprint(n)}, &out, testWriter{t}); err != nil {
		t.Fatalf("bench: %v", err)
	}
	t.Logf("filled the log in %v: %s", time.Since(t0), out.String())
	time.Sleep(6 * time.Second) // the index committer's last round (--index-age 5s)
	s.stop(t)
	// Binaries: 256 of 1 MiB (single PUTs) and 4 of 40 MiB (multipart).
	var binBytes int64
	for i := range 260 {
		size := 1 << 20
		if i >= 256 {
			size = 40 << 20
		}
		b := make([]byte, size)
		rand.Read(b)
		d := sha256Hex(b)
		dir := filepath.Join(data, "archive", "objects", d[:2], d[2:4])
		if err := os.MkdirAll(dir, 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, d), b, 0o444); err != nil {
			t.Fatal(err)
		}
		binBytes += int64(size)
	}
	t.Logf("%d binaries of %.1f MiB in the archive", 260, float64(binBytes)/(1<<20))
	return data
}
