//go:build unix

package log_test

import (
	"crypto/ed25519"
	"crypto/sha256"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"
)

// The benchmarks in this file measure the machine, not the log: the
// physical limits BENCHMARKS.md compares the log's figures with. Each also
// reports the process's CPU time (user + system) per operation, which, on a
// machine shared with other work, says more than the wall time per
// operation.

// processCPU returns the CPU time (user + system) the process has used.
func processCPU(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// reportCPU reports the CPU time per operation since start.
func reportCPU(b *testing.B, start time.Duration) {
	b.ReportMetric(float64((processCPU(b)-start).Nanoseconds())/float64(b.N), "cpu-ns/op")
}

// BenchmarkFsync measures a 4 KiB write followed by fdatasync on the disk
// holding the test's temporary directory (set TMPDIR to measure another):
// the most commits per second a store that syncs each one can make.
func BenchmarkFsync(b *testing.B) {
	f, err := os.Create(filepath.Join(b.TempDir(), "fsync"))
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	buf := make([]byte, 4096)
	cpu := processCPU(b)
	for i := 0; b.Loop(); i++ {
		if _, err := f.WriteAt(buf, int64(i%256)*4096); err != nil {
			b.Fatal(err)
		}
		if err := f.Sync(); err != nil {
			b.Fatal(err)
		}
	}
	reportCPU(b, cpu)
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "fsyncs/s")
}

// BenchmarkEd25519Verify measures one Ed25519 verification of a 300-byte
// message on one core.
func BenchmarkEd25519Verify(b *testing.B) {
	pub, priv, err := ed25519.GenerateKey(nil)
	if err != nil {
		b.Fatal(err)
	}
	msg := make([]byte, 300)
	sig := ed25519.Sign(priv, msg)
	cpu := processCPU(b)
	for b.Loop() {
		if !ed25519.Verify(pub, msg, sig) {
			b.Fatal("signature does not verify")
		}
	}
	reportCPU(b, cpu)
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "verifies/s")
}

// BenchmarkSHA256 measures SHA-256 over 300-byte entries and 64 KiB blocks
// on one core.
func BenchmarkSHA256(b *testing.B) {
	for _, size := range []int{300, 64 << 10} {
		b.Run(map[int]string{300: "300B", 64 << 10: "64KiB"}[size], func(b *testing.B) {
			buf := make([]byte, size)
			b.SetBytes(int64(size))
			cpu := processCPU(b)
			for b.Loop() {
				sha256.Sum256(buf)
			}
			reportCPU(b, cpu)
		})
	}
}
