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

	"github.com/attestlog/attestlog/cmd/attestlog/internal/progress"
)

func TestProgressBarOnlyOnTerminal(t *testing.T) {
	var buf bytes.Buffer
	if p := progress.New(&buf, "uploading", "x", 1); p != nil {
		t.Error("progress.New on a buffer is not nil")
	}
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	defer w.Close()
	if p := progress.New(w, "uploading", "x", 1); p != nil {
		t.Error("progress.New on a pipe is not nil")
	}
	_, tty := openPTY(t)
	p := progress.New(tty, "uploading", "x", 1)
	if p == nil {
		t.Fatal("progress.New on a terminal is nil")
	}
	var nilBar *progress.Bar
	nilBar.Update(1) // no-ops
	nilBar.Clear()
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
