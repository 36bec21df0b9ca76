// Package atomicfile writes files so that a crash leaves either the old
// contents or the new ones, never a part: the key files of serve and
// witness, claims, receipts and evidence. It is safe for concurrent use on
// different paths.
package atomicfile

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// Write writes data to path with mode perm, so that path holds
// either its old contents or all of data, even after a crash: it writes and
// syncs a temporary file in the same directory, then renames it over path
// (or, without overwrite, hard-links it to path, which fails if path exists),
// then syncs the directory.
func Write(path string, data []byte, perm fs.FileMode, overwrite bool) (err error) {
	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp*")
	if err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	tmp := f.Name()
	defer func() {
		if err != nil || !overwrite {
			os.Remove(tmp)
		}
	}()
	// CreateTemp makes the file 0600, so no one else can read data before Chmod.
	_, err = f.Write(data)
	if err == nil {
		err = f.Chmod(perm)
	}
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		if overwrite {
			err = os.Rename(tmp, path)
		} else {
			err = os.Link(tmp, path)
		}
	}
	if err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	if err := syncDir(dir); err != nil {
		return fmt.Errorf("writing %s: syncing directory: %w", path, err)
	}
	return nil
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}
