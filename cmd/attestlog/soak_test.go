package main

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/attestlog/attestlog/cmd/attestlog/internal/loadgen"
	"golang.org/x/mod/sumdb/note"
)

// envSoak sets how long TestSoak runs, e.g. "5m"; unset, it is skipped.
const envSoak = "ATTESTLOG_SOAK"

// TestSoak runs `attestlog bench` against a `serve` process for the
// duration in ATTESTLOG_SOAK while `attestlog monitor` re-verifies the log
// every few seconds, samples the server's resident memory, and fails if the
// monitor finds anything or memory grows without bound. Run it with, e.g.:
//
//	ATTESTLOG_SOAK=5m go test ./cmd/attestlog -run TestSoak -v -timeout 30m
func TestSoak(t *testing.T) {
	d, err := time.ParseDuration(os.Getenv(envSoak))
	if err != nil {
		t.Skipf("set %s to a duration to soak", envSoak)
	}
	dir := t.TempDir()
	p := startProc(t, []string{"log vkey:", "http listening on", "grpc listening on"}, "serve", "--data", filepath.Join(dir, "log"),
		"--http", "127.0.0.1:0", "--grpc", "127.0.0.1:0", "--log-level", "error")
	grpcAddr, httpAddr := p.get("grpc listening on"), p.get("http listening on")
	policy := filepath.Join(dir, "policy")
	// The monitor needs no builders, but a client policy names whose agreement counts.
	_, builderVKey, err := note.GenerateKey(rand.Reader, "soak.example/builder")
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(policy, []byte(fmt.Sprintf("log %s http://%s/\nquorum none\nbuilder b %s\nagree b\n", p.get("log vkey:"), httpAddr, builderVKey)), 0o644)

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var mu sync.Mutex
	var samples, anon []int64 // server RSS and its anonymous part (heap, stacks) in KiB, every second
	var wg sync.WaitGroup
	wg.Go(func() {
		for ctx.Err() == nil {
			if kb, err := procStatusKiB(p.cmd.Process.Pid, "VmRSS:"); err == nil {
				a, _ := procStatusKiB(p.cmd.Process.Pid, "RssAnon:")
				mu.Lock()
				samples, anon = append(samples, kb), append(anon, a)
				mu.Unlock()
			}
			select {
			case <-ctx.Done():
			case <-time.After(time.Second):
			}
		}
	})
	monitorPasses, monitorFailures := 0, 0
	wg.Go(func() {
		for ctx.Err() == nil {
			var out strings.Builder
			err := run(ctx, []string{"monitor", "--once", "--policy", policy, "--log", grpcAddr, "--http", "http://" + httpAddr, "--state", filepath.Join(dir, "monitor"), "--max-age", "0"}, &out, &out)
			mu.Lock()
			if ctx.Err() == nil {
				monitorPasses++
				if err != nil {
					monitorFailures++
					t.Errorf("monitor pass %d: %v\n%s", monitorPasses, err, out.String())
				}
			}
			mu.Unlock()
			select {
			case <-ctx.Done():
			case <-time.After(5 * time.Second):
			}
		}
	})
	var benchOut strings.Builder
	err = run(ctx, []string{"bench", "--log", grpcAddr, "--mode", "add", "--duration", d.String(), "--builders", "64", "--requests", "5000", "--json"}, &benchOut, os.Stderr)
	if err != nil {
		t.Fatalf("bench: %v", err)
	}
	time.Sleep(6 * time.Second) // a last monitor pass over everything appended
	cancel()
	wg.Wait()
	var r loadgen.Report
	json.Unmarshal([]byte(benchOut.String()), &r)
	mu.Lock()
	defer mu.Unlock()
	if len(samples) < 4 {
		t.Fatalf("only %d memory samples", len(samples))
	}
	peak, peakAnon := int64(0), int64(0)
	for i := range samples {
		peak, peakAnon = max(peak, samples[i]), max(peakAnon, anon[i])
	}
	q, l := len(samples)/4, len(samples)-1
	t.Logf("soak %v: %d claims appended (%.0f/s, %v errors), %d monitor passes (%d failed); server RSS: peak %d MiB (%d at a quarter, %d at the end), of which anonymous (heap, stacks): peak %d MiB (%d at a quarter, %d at the end); the rest is bbolt's file mapping",
		d, r.OK, r.PerSecond, r.Errors, monitorPasses, monitorFailures, peak/1024, samples[q]/1024, samples[l]/1024, peakAnon/1024, anon[q]/1024, anon[l]/1024)
	if peakAnon > 512<<10 { // 512 MiB of heap would be a leak: the tile cache and queues are bounded far below
		t.Errorf("server anonymous memory peaked at %d MiB", peakAnon/1024)
	}
}

// procStatusKiB reads a "<field> <n> kB" line of a process's /proc status.
func procStatusKiB(pid int, field string) (int64, error) {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), field); ok {
			return strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
		}
	}
	return 0, fmt.Errorf("no %s for %d", field, pid)
}
