package client

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"time"

	"github.com/attestlog/attestlog/log/vindex"
	"github.com/attestlog/attestlog/tiles"
	"golang.org/x/mod/sumdb/tlog"
)

// errConsistencyProof wraps a Source's failure to give a consistency proof
// that State needs; Verify reports it as a problem, not an error.
var errConsistencyProof = errors.New("client: no consistency proof")

// A State is what a client remembers of the logs it verified, in a
// directory: per log, the latest verified checkpoint note with its
// signatures, in the file "<lowercase hex SHA-256 of the origin>.checkpoint"
// (the name the c2sp.org/tlog-witness monitoring endpoint uses), and the
// evidence files of any inconsistency found, named
// "<same hex>.<UTC time>.evidence.json". [MonitorLog] keeps its position
// and index of builds in "<same hex>.monitor.json", also replaced
// atomically.
//
// A State is safe for concurrent use within one process. Two processes
// sharing a directory never see a partly written file, but one may replace
// a checkpoint the other just remembered with a smaller consistent one.
type State struct {
	// Now is the clock of evidence files; nil means time.Now.
	Now func() time.Time

	dir string
	mu  sync.Mutex // serialises Update

	replayMu sync.Mutex
	// replays are the monitor's recomputed maps, by origin, between the
	// passes of this process; guarded by replayMu.
	replays map[string]*vindex.Replay
}

// OpenState returns the state kept in dir, creating the directory (mode
// 0700) if it does not exist.
func OpenState(dir string) (*State, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("client: opening state: %w", err)
	}
	return &State{dir: dir}, nil
}

// DefaultStateDir returns the user's state directory for attestlog:
// $XDG_STATE_HOME/attestlog, else ~/.local/state/attestlog; "" if there is
// no home directory.
func DefaultStateDir() string {
	if d := os.Getenv("XDG_STATE_HOME"); filepath.IsAbs(d) {
		return filepath.Join(d, "attestlog")
	}
	if h, err := os.UserHomeDir(); err == nil {
		return filepath.Join(h, ".local", "state", "attestlog")
	}
	return ""
}

// Dir returns the state's directory.
func (s *State) Dir() string { return s.dir }

func (s *State) path(origin string) string {
	return filepath.Join(s.dir, originHash(origin)+".checkpoint")
}

func originHash(origin string) string {
	h := sha256.Sum256([]byte(origin))
	return hex.EncodeToString(h[:])
}

// Checkpoint returns the remembered checkpoint note for origin, or nil if
// there is none. The caller owns the returned slice.
func (s *State) Checkpoint(origin string) ([]byte, error) {
	b, err := os.ReadFile(s.path(origin))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("client: reading remembered checkpoint of %s: %w", origin, err)
	}
	return b, nil
}

// Update checks vc, a checkpoint verified under a policy, against the one
// remembered for its origin, and remembers the larger:
//
//   - nothing remembered: vc is remembered;
//   - vc is larger: a consistency proof from the remembered size, which
//     src gives, must verify against both root hashes; vc is remembered;
//   - equal sizes: the root hashes must be equal; the remembered note stays;
//   - vc is smaller: a consistency proof from vc's size to the remembered
//     one must verify; the remembered note stays.
//
// When the two notes and the proof prove a fork, by the rule of
// [CheckEvidence], Update writes an evidence file ([Evidence]) and returns
// an error wrapping an [*InconsistencyError]. A proof that fails without
// proving a fork (junk, or from a tree size that is a power of two) shows
// only that src could not prove consistency: the error then blames src,
// and no evidence is written. Either error, and src failing to give a
// proof, leave the remembered note as it was. The remembered note must
// verify with vc's log key: after a log key rotation, remove the file.
func (s *State) Update(ctx context.Context, vc *tiles.VerifiedCheckpoint, src Source) error {
	_, err := s.update(ctx, vc, src)
	return err
}

// update is Update, also returning the checkpoint remembered before it
// (the zero Checkpoint if none).
func (s *State) update(ctx context.Context, vc *tiles.VerifiedCheckpoint, src Source) (tiles.Checkpoint, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	path := s.path(vc.Origin)
	msg, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return tiles.Checkpoint{}, s.write(path, vc.Note)
	}
	if err != nil {
		return tiles.Checkpoint{}, fmt.Errorf("client: reading remembered checkpoint: %w", err)
	}
	old, err := OpenCheckpoint(msg, vc.Log.Verifier)
	if err != nil {
		return tiles.Checkpoint{}, fmt.Errorf("client: remembered checkpoint %s: %w (if the log's key changed, remove the file)", path, err)
	}
	if vc.Size < old.Size {
		return old, s.compare(ctx, src, vc.Note, msg, vc.Checkpoint, old)
	}
	if err := s.compare(ctx, src, msg, vc.Note, old, vc.Checkpoint); err != nil {
		return old, err
	}
	if vc.Size > old.Size {
		return old, s.write(path, vc.Note)
	}
	return old, nil
}

// compare checks two checkpoints of one log, older's size no larger than
// newer's, with their verified notes, asking src for the consistency proof
// between them if one is needed. It returns nil if they are consistent; an
// error wrapping an [*InconsistencyError], with the evidence written, if
// they prove a fork ([checkConsistency]); otherwise an error wrapping
// errConsistencyProof (and, for a proof that shows nothing, a
// [*consistencyError]).
func (s *State) compare(ctx context.Context, src Source, olderNote, newerNote []byte, older, newer tiles.Checkpoint) error {
	var p []tlog.Hash
	if older.Size > 0 && older.Size < newer.Size {
		var err error
		if p, err = src.ConsistencyProof(ctx, older.Size, newer.Size); err != nil {
			return fmt.Errorf("%w from tree size %d to %d: %w", errConsistencyProof, older.Size, newer.Size, err)
		}
	}
	err := checkConsistency(older, newer, p)
	switch {
	case err == nil:
		return nil
	case isFork(err):
		return s.inconsistent(older.Origin, olderNote, newerNote, p, err)
	}
	return fmt.Errorf("%w that holds: %w (the source is wrong or lying; this is no evidence against the log)", errConsistencyProof, err)
}

// inconsistent writes the evidence of a fork that checkConsistency proved
// and returns the error.
func (s *State) inconsistent(origin string, older, newer []byte, p []tlog.Hash, reason error) error {
	now := time.Now
	if s.Now != nil {
		now = s.Now
	}
	t := now().UTC()
	ie := &InconsistencyError{Origin: origin, Older: older, Newer: newer, Proof: p, Reason: reason.Error()}
	ocp, _ := NoteCheckpoint(older)
	ncp, _ := NoteCheckpoint(newer)
	e := &Evidence{Format: EvidenceFormat, Description: reason.Error(), Time: t, Origin: origin,
		OlderSize: ocp.Size, NewerSize: ncp.Size, Older: string(older), Newer: string(newer), Proof: p}
	b, err := e.Marshal()
	if err != nil {
		return errors.Join(ie, err)
	}
	path, err := s.writeEvidence(origin, t, b)
	if err != nil {
		return errors.Join(ie, err)
	}
	ie.Evidence = path
	return ie
}

// writeEvidence writes a new evidence file of origin's log, made at t, in
// the state directory, and returns its path.
func (s *State) writeEvidence(origin string, t time.Time, b []byte) (string, error) {
	stem := originHash(origin) + "." + t.Format("20060102T150405.000000000Z")
	for n := 0; ; n++ {
		name := stem + ".evidence.json"
		if n > 0 {
			name = stem + "-" + strconv.Itoa(n) + ".evidence.json"
		}
		path := filepath.Join(s.dir, name)
		err := writeNew(path, b)
		if errors.Is(err, fs.ErrExist) && n < 100 {
			continue
		}
		if err != nil {
			return "", fmt.Errorf("client: writing evidence: %w", err)
		}
		return path, nil
	}
}

// NoteCheckpoint parses the checkpoint body of a signed note without
// verifying its signatures.
func NoteCheckpoint(msg []byte) (tiles.Checkpoint, error) {
	text, _, ok := cutNote(msg)
	if !ok {
		return tiles.Checkpoint{}, errors.New("not a signed note")
	}
	return tiles.ParseCheckpoint(text)
}

// cutNote splits a signed note into its text and its signature lines, as
// golang.org/x/mod/sumdb/note does: at the last blank line.
func cutNote(msg []byte) (text, sigs []byte, ok bool) {
	i := bytes.LastIndex(msg, []byte("\n\n"))
	if i < 0 {
		return nil, nil, false
	}
	return msg[:i+1], msg[i+2:], true
}

// write replaces the file at path with b atomically and durably: a
// temporary file in the same directory, fsync, rename, fsync of the directory.
func (s *State) write(path string, b []byte) error {
	f, err := os.CreateTemp(s.dir, ".checkpoint-*")
	if err != nil {
		return fmt.Errorf("client: writing state: %w", err)
	}
	tmp := f.Name()
	_, err = f.Write(b)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err != nil {
		os.Remove(tmp)
		return fmt.Errorf("client: writing state: %w", err)
	}
	return syncDir(s.dir)
}

// writeNew writes b to a new file at path, failing with fs.ErrExist if there is one.
func writeNew(path string, b []byte) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	_, err = f.Write(b)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(path)
		return err
	}
	return syncDir(filepath.Dir(path))
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("client: syncing %s: %w", dir, err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("client: syncing %s: %w", dir, err)
	}
	return nil
}
