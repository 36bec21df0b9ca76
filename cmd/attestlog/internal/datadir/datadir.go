// Package datadir holds the state directories of serve and witness: the
// creation of a data directory that a failed start removes again, the
// files in it, their signing keys (signed-note Ed25519, readable by their
// owner only), and the atomic file writes every command uses.
//
// Its functions are safe for concurrent use on different directories.
package datadir

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// A Dir is the state directory of a serve or witness that is starting.
// It remembers what was there before, so that a start that fails after
// creating something can remove exactly what this run created: no
// half-made directory is left behind, and nothing that was there before is
// touched.
type Dir struct {
	path string
	// root is the topmost directory this run created, path or one of its
	// parents; "" if path existed.
	root string
	// before holds the names in path before this run, if path existed.
	before map[string]bool
}

// Create creates the directory path (mode 0700, with any missing
// parents) unless it exists, and notes what it held.
func Create(path string) (*Dir, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, fmt.Errorf("data directory %s: %w", path, err)
	}
	d := &Dir{path: path}
	for p := abs; ; p = filepath.Dir(p) {
		_, err := os.Lstat(p)
		if err == nil {
			break
		}
		if !errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("data directory %s: %w", path, err)
		}
		d.root = p
		if filepath.Dir(p) == p {
			break
		}
	}
	if d.root == "" {
		ents, err := os.ReadDir(path)
		if err != nil {
			return nil, fmt.Errorf("reading data directory: %w", err)
		}
		d.before = make(map[string]bool, len(ents))
		for _, e := range ents {
			d.before[e.Name()] = true
		}
		return d, nil
	}
	if err := os.MkdirAll(path, 0o700); err != nil {
		os.RemoveAll(d.root) // MkdirAll may have made some parents
		return nil, fmt.Errorf("creating data directory: %w", err)
	}
	return d, nil
}

// RemoveCreated removes what this run created: the directories it made,
// or else every entry of path that was not there before. Call it only
// after closing every file in path.
func (d *Dir) RemoveCreated() error {
	if d.root != "" {
		return os.RemoveAll(d.root)
	}
	ents, err := os.ReadDir(d.path)
	if err != nil {
		return err
	}
	var errs []error
	for _, e := range ents {
		if !d.before[e.Name()] {
			errs = append(errs, os.RemoveAll(filepath.Join(d.path, e.Name())))
		}
	}
	return errors.Join(errs...)
}

// CleanUpFailedStart removes what d's run created if the start failed
// (*err is set and started is false), and adds any failure to do so to
// *err. Defer it before anything that opens files in d, so that it runs
// after they are closed.
func (d *Dir) CleanUpFailedStart(err *error, started *bool) {
	if *err == nil || *started {
		return
	}
	if rerr := d.RemoveCreated(); rerr != nil {
		*err = fmt.Errorf("%w (and removing what this start created in %s: %v)", *err, d.path, rerr)
	}
}
