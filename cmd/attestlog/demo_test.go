package main

import (
	"context"
	"errors"
	"github.com/attestlog/attestlog/cmd/attestlog/internal/usage"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"
)

// A demoOutput collects the demo's standard output and calls onLine, if
// set, after each write.
type demoOutput struct {
	mu     sync.Mutex
	b      strings.Builder
	onLine func(string)
}

func (o *demoOutput) Write(p []byte) (int, error) {
	o.mu.Lock()
	o.b.Write(p)
	s := o.b.String()
	o.mu.Unlock()
	if o.onLine != nil {
		o.onLine(s)
	}
	return len(p), nil
}

func (o *demoOutput) String() string {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.b.String()
}

// demoDir returns the directory the demo said it works in.
func demoDir(t *testing.T, out string) string {
	t.Helper()
	first, _, _ := strings.Cut(out, "\n")
	_, dir, ok := strings.Cut(first, "on loopback, in ")
	if !ok || dir == "" {
		t.Fatalf("the demo did not say where it works: %q", first)
	}
	return dir
}

func TestDemo(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a Go program five times")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	var out demoOutput
	start := time.Now()
	err := run(ctx, []string{"demo"}, &out, io.Discard)
	t.Logf("demo took %v; its output:\n%s", time.Since(start), out.String())
	if err != nil {
		t.Fatalf("demo: %v", err)
	}
	for _, want := range []string{
		"The four binaries are identical",
		"The log flagged mismatch 4 the moment the mirror's claim arrived",
		"Honest binary (sha256",
		"TRUSTED, exit code 0. author, ci, rebuilder-a and rebuilder-b agree",
		"NOT TRUSTED, exit code 2 (builder quorum not met)",
		"signed by builder.example/mirror, whose key the policy does not trust",
		"author, ci, rebuilder-a and rebuilder-b claimed sha256",
		"So the log stopped itself",
		"log: store rolled back: witness w",
		"has cosigned tree size 5, this log holds tree size 4",
		"/healthz answers 503",
		"The operator forced it",
		"The witnesses refused it: w1, w2 and w3 each answered 422",
		"equal tree sizes 5 with different root hashes",
		".evidence.json",
		"exit code 10",
		"Summary:",
	} {
		// say wraps lines; compare with the words joined by single spaces.
		if !strings.Contains(strings.Join(strings.Fields(out.String()), " "), want) {
			t.Errorf("the output does not say %q", want)
		}
	}
	if n := strings.Count(out.String(), "sha256 verified)"); n != 2 {
		t.Errorf("the output shows %d binaries pulled from the archive with their digests verified, want 2", n)
	}
	if _, err := exec.LookPath("diffoscope"); err != nil && !strings.Contains(out.String(), "first difference at byte offset") {
		t.Error("without diffoscope, the output does not show where the binaries first differ")
	}
	if _, err := os.Stat(demoDir(t, out.String())); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("the demo's directory is still there: %v", err)
	}
}

// TestDemoInterrupted cancels the demo during its builds, as Ctrl-C does:
// it must fail, stop its servers and remove its directory.
func TestDemoInterrupted(t *testing.T) {
	if testing.Short() {
		t.Skip("starts the demo's servers and go build")
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	out := &demoOutput{onLine: func(s string) {
		if strings.Contains(s, "\n2. ") {
			cancel()
		}
	}}
	err := run(ctx, []string{"demo"}, out, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "interrupted") {
		t.Fatalf("demo cancelled in step 2 returned %v, want an error saying it was interrupted", err)
	}
	if _, err := os.Stat(demoDir(t, out.String())); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("the demo's directory is still there: %v", err)
	}
}

func TestDemoUsage(t *testing.T) {
	err := run(context.Background(), []string{"demo", "extra"}, io.Discard, io.Discard)
	if !errors.As(err, new(usage.Error)) {
		t.Fatalf("demo extra: %v, want a usage error", err)
	}
}
