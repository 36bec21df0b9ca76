//go:build linux

package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
	"unsafe"
)

func TestProgressBarLine(t *testing.T) {
	start := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	p := &progressBar{verb: "uploading", name: "hello", total: 30 << 20, start: start}
	for _, tt := range []struct {
		done    int64
		elapsed time.Duration
		want    string
	}{
		{12 << 20, 3 * time.Second, "uploading hello [=========>              ] 12.0 MiB / 30.0 MiB  4.0 MiB/s  ETA 5s"},
		{0, 0, "uploading hello [>                       ] 0 B / 30.0 MiB  -  ETA -"},
		{30 << 20, 10 * time.Second, "uploading hello [========================] 30.0 MiB / 30.0 MiB  3.0 MiB/s  ETA 0s"},
	} {
		if got := p.line(tt.done, start.Add(tt.elapsed)); got != tt.want {
			t.Errorf("line(%d after %v) =\n%q, want\n%q", tt.done, tt.elapsed, got, tt.want)
		}
	}
	p.name = "evil\x1b[2Jname"
	if got := p.line(0, start); !strings.Contains(got, `evil\x1b[2Jname`) {
		t.Errorf("line shows the name %q unescaped: %q", p.name, got)
	}
}

// TestProgressBarRedraws checks that the bar redraws at most every
// progressRedraw, and always for the last byte.
func TestProgressBarRedraws(t *testing.T) {
	var out bytes.Buffer
	start := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	now := start
	p := &progressBar{w: &out, verb: "downloading", name: "hello", total: 100, start: start, now: func() time.Time { return now }}
	for i, step := range []struct {
		after time.Duration
		done  int64
	}{{10 * time.Millisecond, 10}, {20 * time.Millisecond, 20}, {150 * time.Millisecond, 50}, {160 * time.Millisecond, 100}} {
		now = start.Add(step.after)
		p.update(step.done)
		if got, want := strings.Count(out.String(), "\r\x1b[K"), []int{1, 1, 2, 3}[i]; got != want {
			t.Errorf("after update(%d) at %v: %d redraws, want %d", step.done, step.after, got, want)
		}
	}
}

// TestProgressBarOnlyOnTerminal checks where a bar is shown: on a terminal
// (a pseudo-terminal here), not in a buffer or a pipe.
func TestProgressBarOnlyOnTerminal(t *testing.T) {
	var buf bytes.Buffer
	if p := newProgressBar(&buf, "uploading", "x", 1); p != nil {
		t.Error("newProgressBar on a buffer is not nil")
	}
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	defer w.Close()
	if p := newProgressBar(w, "uploading", "x", 1); p != nil {
		t.Error("newProgressBar on a pipe is not nil")
	}
	_, tty := openPTY(t)
	p := newProgressBar(tty, "uploading", "x", 1)
	if p == nil {
		t.Fatal("newProgressBar on a terminal is nil")
	}
	var nilBar *progressBar
	nilBar.update(1) // no-ops
	nilBar.clear()
}

// openPTY returns both sides of a new Linux pseudo-terminal: what is
// written to tty can be read from master.
func openPTY(t *testing.T) (master, tty *os.File) {
	t.Helper()
	master, err := os.OpenFile("/dev/ptmx", os.O_RDWR, 0)
	if err != nil {
		t.Skipf("no pseudo-terminal: %v", err)
	}
	t.Cleanup(func() { master.Close() })
	const tiocsptlck, tiocgptn = 0x40045431, 0x80045430 // <asm-generic/ioctls.h>
	var unlock, n uint32
	if _, _, e := syscall.Syscall(syscall.SYS_IOCTL, master.Fd(), tiocsptlck, uintptr(unsafe.Pointer(&unlock))); e != 0 {
		t.Skipf("unlocking the pseudo-terminal: %v", e)
	}
	if _, _, e := syscall.Syscall(syscall.SYS_IOCTL, master.Fd(), tiocgptn, uintptr(unsafe.Pointer(&n))); e != 0 {
		t.Skipf("naming the pseudo-terminal: %v", e)
	}
	tty, err = os.OpenFile("/dev/pts/"+strconv.FormatUint(uint64(n), 10), os.O_RDWR|syscall.O_NOCTTY, 0)
	if err != nil {
		t.Skipf("opening the pseudo-terminal: %v", err)
	}
	t.Cleanup(func() { tty.Close() })
	return master, tty
}

// TestTransferProgress uploads and downloads a 3 MiB binary with standard
// error on a terminal, where a progress bar shows, and in a buffer, where
// nothing does.
func TestTransferProgress(t *testing.T) {
	clearClientEnv(t)
	master, tty := openPTY(t)
	repo, _ := gitRepo(t)
	work := t.TempDir()
	bin := filepath.Join(work, "big")
	writeFile(t, bin, bytes.Repeat([]byte("a large binary "), 3<<20/15))
	runOK(t, "keygen", "-o", filepath.Join(work, "k"), "example.test/builder")
	runOK(t, "attest", "--dir", repo, "--recipe", "sha256:"+sha256Hex(nil), "--key", filepath.Join(work, "k.key"), "-o", filepath.Join(work, "c.json"), bin)
	writeFile(t, filepath.Join(work, "evil", "big"), []byte("another binary"))
	runOK(t, "attest", "--dir", repo, "--recipe", "sha256:"+sha256Hex(nil), "--key", filepath.Join(work, "k.key"), "-o", filepath.Join(work, "e.json"), filepath.Join(work, "evil", "big"))
	s := startServe(t, []string{"serve", "--data", t.TempDir(), "--http", "127.0.0.1:0", "--grpc", "127.0.0.1:0"})

	var stdout, stderr bytes.Buffer
	if err := run(t.Context(), []string{"submit", "--log", s.grpcAddr, "--artifact", bin, filepath.Join(work, "c.json"), filepath.Join(work, "e.json")}, &stdout, tty); err != nil {
		t.Fatal(err)
	}
	if err := run(t.Context(), []string{"evidence", "pull", "--log", s.grpcAddr, "1", "-o", filepath.Join(work, "ev")}, &stdout, tty); err != nil {
		t.Fatal(err)
	}
	if err := run(t.Context(), []string{"evidence", "pull", "--log", s.grpcAddr, "1", "-o", filepath.Join(work, "ev2")}, &stdout, &stderr); err != nil {
		t.Fatal(err)
	}
	master.SetReadDeadline(time.Now().Add(5 * time.Second))
	var shown []byte
	buf := make([]byte, 64<<10)
	for !bytes.Contains(shown, []byte("downloading big [")) {
		n, err := master.Read(buf)
		if err != nil {
			t.Fatalf("reading the terminal: %v; read %q", err, shown)
		}
		shown = append(shown, buf[:n]...)
	}
	for _, want := range []string{"uploading " + bin + " [", " / 3.0 MiB  ", "MiB/s  ETA ", "\r\x1b[K"} {
		if !bytes.Contains(shown, []byte(want)) {
			t.Errorf("the terminal shows %q, want %q", shown, want)
		}
	}
	if strings.Contains(stderr.String(), "downloading") {
		t.Errorf("evidence pull showed progress in a buffer: %q", stderr.String())
	}
}
