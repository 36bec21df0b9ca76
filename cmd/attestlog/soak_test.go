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
	var samples []int64 // server RSS in KiB, every second
	var wg sync.WaitGroup
	wg.Go(func() {
		for ctx.Err() == nil {
			if kb, err := rssKiB(p.cmd.Process.Pid); err == nil {
				mu.Lock()
				samples = append(samples, kb)
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
			err := run(ctx, []string{"monitor", "--once", "--policy", policy, "--log", grpcAddr, "--http", "http://" + httpAddr, "--state", filepath.Join(dir, "monitor")}, &out, &out)
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
	var r benchReport
	json.Unmarshal([]byte(benchOut.String()), &r)
	mu.Lock()
	defer mu.Unlock()
	if len(samples) < 4 {
		t.Fatalf("only %d memory samples", len(samples))
	}
	peak, quarter, last := int64(0), samples[len(samples)/4], samples[len(samples)-1]
	for _, s := range samples {
		peak = max(peak, s)
	}
	t.Logf("soak %v: %d claims appended (%.0f/s, %v errors), %d monitor passes (%d failed); server RSS: peak %d MiB, at a quarter %d MiB, at the end %d MiB",
		d, r.OK, r.PerSecond, r.Errors, monitorPasses, monitorFailures, peak/1024, quarter/1024, last/1024)
	if peak > 1<<20 { // 1 GiB
		t.Errorf("server RSS peaked at %d MiB", peak/1024)
	}
}

// rssKiB reads a process's resident set size from /proc.
func rssKiB(pid int) (int64, error) {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "VmRSS:"); ok {
			return strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
		}
	}
	return 0, fmt.Errorf("no VmRSS for %d", pid)
}
