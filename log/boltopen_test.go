package log

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	berrors "go.etcd.io/bbolt/errors"
)

// TestOpenBoltInUse opens one store twice: bbolt's lock makes the second
// open time out, which is "in use by another process", not corruption.
func TestOpenBoltInUse(t *testing.T) {
	path := filepath.Join(t.TempDir(), "log.db")
	s, err := OpenBolt(path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	_, err = OpenBolt(path)
	if err == nil {
		t.Fatal("second OpenBolt of one file succeeded")
	}
	if errors.Is(err, ErrCorrupt) || !strings.Contains(err.Error(), "in use by another process") || !strings.Contains(err.Error(), path) {
		t.Errorf("second OpenBolt = %v, want an error naming %s as in use by another process, not ErrCorrupt", err, path)
	}
}

// TestOpenBoltUnreadable opens a store its user may not read or write.
// Root ignores file modes, so as root the case cannot happen and is skipped
// (TestOpenError checks the same classification with the error open returns).
func TestOpenBoltUnreadable(t *testing.T) {
	if os.Geteuid() == 0 {
		t.Skip("running as root, which may open a mode 000 file: see TestOpenError for the classification")
	}
	path := filepath.Join(t.TempDir(), "log.db")
	s, err := OpenBolt(path)
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
	if err := os.Chmod(path, 0); err != nil {
		t.Fatal(err)
	}
	_, err = OpenBolt(path)
	if err == nil || errors.Is(err, ErrCorrupt) || !strings.Contains(err.Error(), "needs read and write permission") {
		t.Errorf("OpenBolt of a mode 000 file = %v, want the missing read and write permission, not ErrCorrupt", err)
	}
}

// TestOpenError classifies the errors bbolt and os return at open.
func TestOpenError(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "log.db")
	if err := os.WriteFile(path, nil, 0o400); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		name    string
		err     error
		want    string
		corrupt bool
	}{
		{"lock timeout", berrors.ErrTimeout, "in use by another process (another attestlog serve?)", false},
		{"EACCES on the file", &fs.PathError{Op: "open", Path: path, Err: syscall.EACCES}, "needs write permission on it (mode -r--------", false},
		{"EACCES on the directory", &fs.PathError{Op: "open", Path: filepath.Join(dir, "missing", "log.db"), Err: syscall.EACCES}, "must be searchable (x)", false},
		{"checksum", berrors.ErrChecksum, "store is corrupt", true},
		{"invalid", berrors.ErrInvalid, "store is corrupt", true},
		{"I/O error", &fs.PathError{Op: "read", Path: path, Err: syscall.EIO}, "input/output error", false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			p := path
			if pe := (*fs.PathError)(nil); errors.As(tt.err, &pe) {
				p = pe.Path
			}
			err := openError(p, tt.err)
			if !strings.Contains(err.Error(), tt.want) || !strings.Contains(err.Error(), p) {
				t.Errorf("openError = %q, want it to name %s and contain %q", err, p, tt.want)
			}
			if got := errors.Is(err, ErrCorrupt); got != tt.corrupt {
				t.Errorf("openError(%v) wraps ErrCorrupt: %v, want %v", tt.err, got, tt.corrupt)
			}
		})
	}
}
