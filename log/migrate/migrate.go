package migrate

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"time"

	"github.com/attestlog/attestlog/log"
	"github.com/attestlog/attestlog/log/objstore"
	"github.com/attestlog/attestlog/tiles"
	"github.com/transparency-dev/merkle/rfc6962"
	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"
)

const (
	// DefaultBatchEntries is the default most entries copied in one commit.
	DefaultBatchEntries = 4096
	// DefaultBatchBytes is the default most bytes of entries, or of index
	// records, copied in one commit.
	DefaultBatchBytes = 16 << 20
	// DefaultUploads is the default number of binaries uploaded at once.
	DefaultUploads = 4
)

// ErrNotEmpty means the target store already holds something: a log, or
// the copy of another source. Nothing was written.
var ErrNotEmpty = errors.New("migrate: the target store is not empty")

// Config configures [Run]. Source, Target, Signer and Verifier are
// required; every other zero value means the documented default.
type Config struct {
	// Source is the bbolt store to copy, opened with [log.OpenBoltReadOnly].
	Source *log.BoltStore
	// ArchiveDir is the local archive of the log (<data>/archive), whose
	// binaries go to Archive; "" or a missing directory means none.
	ArchiveDir string
	// Target is the store to copy into, e.g. a [pgstore.Store] opened with
	// the source log's origin and verifier key. It must be empty, or hold
	// an interrupted copy of the same source.
	Target log.Store
	// Signer and Verifier are the log's key. The signer is only used to
	// open the finished copy as a [log.Log], which signs nothing then.
	Signer   note.Signer
	Verifier note.Verifier
	// Bucket, if set, is the tiles bucket the copy's resources and
	// checkpoint are uploaded to.
	Bucket *objstore.Bucket
	// PublicURL, if set with Bucket, is the base URL at which the bucket
	// is read anonymously (e.g. "http://127.0.0.1:7480/tiles"): the copy
	// is checked once more through it.
	PublicURL string
	// Archive, if set, is the archive bucket the binaries of ArchiveDir are
	// uploaded to. nil leaves them in ArchiveDir.
	Archive *objstore.Archive
	// BatchEntries bounds the entries per commit; default DefaultBatchEntries.
	BatchEntries int
	// BatchBytes bounds the bytes per commit; default DefaultBatchBytes.
	BatchBytes int
	// Uploads is how many binaries are uploaded at once; default DefaultUploads.
	Uploads int
	// Logger receives progress; nil discards it.
	Logger *slog.Logger
}

// A Report says what a Run copied and checked.
type Report struct {
	Checkpoint   tiles.Checkpoint // the tree copied
	Resumed      bool             // the run continued an interrupted copy
	Finished     bool             // the target already held the whole copy
	Entries      int64            // entries this run copied
	EntryBytes   int64            // their bytes
	IndexRecords int64            // index records this run copied
	Spaces       int              // index spaces in the source
	Binaries     int              // binaries in the local archive
	Uploaded     int              // binaries this run uploaded (the others were there)
	BinaryBytes  int64            // bytes this run uploaded
	Tiles        int              // hash tiles CheckLog authenticated in the copy
	Bundles      int              // entry bundles it re-hashed
	BucketCheck  bool             // CheckLog passed over the bucket's anonymous HTTP too
	Copy, Check  time.Duration    // time spent copying (entries, indexes, binaries) and checking
}

// migration is the state of one Run.
type migration struct {
	cfg     Config
	log     *slog.Logger
	src     tiles.Checkpoint
	srcNote []byte
	hr      tlog.HashReader // over the source's tiles
	report  Report
}

// Run copies cfg.Source into cfg.Target (and the buckets), or finishes an
// interrupted copy, and checks the copy; see the package documentation.
func Run(ctx context.Context, cfg Config) (Report, error) {
	m, err := newMigration(cfg)
	if err != nil {
		return Report{}, err
	}
	at, err := m.plan()
	if err != nil {
		return m.report, err
	}
	if err := m.checkBucket(ctx); err != nil {
		return m.report, err
	}
	t0 := time.Now()
	if err := m.copyArchive(ctx); err != nil {
		return m.report, err
	}
	if at != nil {
		if err := m.copyEntries(ctx, at); err != nil {
			return m.report, err
		}
		if err := m.copyIndexes(ctx, at); err != nil {
			return m.report, err
		}
		if err := m.finish(); err != nil {
			return m.report, err
		}
	}
	m.report.Copy = time.Since(t0)
	t0 = time.Now()
	err = m.check(ctx)
	m.report.Check = time.Since(t0)
	return m.report, err
}

func newMigration(cfg Config) (*migration, error) {
	switch {
	case cfg.Source == nil || cfg.Target == nil:
		return nil, errors.New("migrate: config: source and target stores are required")
	case cfg.Signer == nil || cfg.Verifier == nil:
		return nil, errors.New("migrate: config: the log's signer and verifier are required")
	case cfg.BatchEntries < 0 || cfg.BatchBytes < 0 || cfg.Uploads < 0:
		return nil, errors.New("migrate: config: negative batch size or uploads")
	}
	if cfg.BatchEntries == 0 {
		cfg.BatchEntries = DefaultBatchEntries
	}
	if cfg.BatchBytes == 0 {
		cfg.BatchBytes = DefaultBatchBytes
	}
	if cfg.Uploads == 0 {
		cfg.Uploads = DefaultUploads
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	m := &migration{cfg: cfg, log: cfg.Logger, hr: tileHashReader{cfg.Source}}
	msg, err := cfg.Source.Checkpoint()
	if err != nil {
		return nil, fmt.Errorf("migrate: reading the source's checkpoint: %w", err)
	}
	if msg == nil {
		return nil, errors.New("migrate: the source store holds no checkpoint: nothing to migrate (start serve on an empty database instead)")
	}
	n, err := note.Open(msg, note.VerifierList(cfg.Verifier))
	if err != nil {
		return nil, fmt.Errorf("migrate: the source's checkpoint is not signed by the log's key %s: %w", cfg.Verifier.Name(), err)
	}
	if m.src, err = tiles.ParseCheckpoint([]byte(n.Text)); err != nil {
		return nil, fmt.Errorf("migrate: the source's checkpoint: %w", err)
	}
	m.srcNote = msg
	m.report.Checkpoint = m.src
	return m, nil
}

// plan decides from what the target holds where the copy starts: a fresh
// marker, the marker of an interrupted copy, or nil for a finished copy.
// It refuses anything else, before writing.
func (m *migration) plan() (*marker, error) {
	fresh := &marker{Origin: m.src.Origin, Size: m.src.Size, Root: m.src.Hash}
	cp, err := m.cfg.Target.Checkpoint()
	if err != nil {
		return nil, fmt.Errorf("migrate: reading the target's checkpoint: %w", err)
	}
	switch {
	case cp == nil:
		return fresh, m.checkEmpty()
	case bytes.Equal(cp, m.srcNote):
		m.report.Finished = true
		m.log.Info("the target already holds the copy; checking it", slog.Int64("tree_size", m.src.Size))
		return nil, nil
	}
	at, err := parseMarker(cp)
	if err != nil {
		return nil, fmt.Errorf("%w: it holds a log (checkpoint %.60q...): migrate only into an empty database, or schema", ErrNotEmpty, cp)
	}
	if at.Origin != fresh.Origin || at.Size != fresh.Size || at.Root != fresh.Root {
		return nil, fmt.Errorf("%w: it holds an interrupted copy of the log %q at tree size %d, and the source is now %q at tree size %d (did a serve append to it meanwhile?): drop the target's tables and migrate again",
			ErrNotEmpty, at.Origin, at.Size, m.src.Origin, m.src.Size)
	}
	m.report.Resumed = true
	m.log.Info("resuming an interrupted copy", slog.Int64("entries_copied", at.Entries), slog.Int64("tree_size", at.Size), slog.String("index_space", at.Space))
	return &at, nil
}

// checkEmpty checks that a target without a checkpoint holds nothing else.
func (m *migration) checkEmpty() error {
	t := m.cfg.Target
	if w, err := t.Witnessed(); err != nil || w != nil {
		return errors.Join(err, fmt.Errorf("%w: it holds a witnessed checkpoint but no checkpoint", ErrNotEmpty))
	}
	if _, err := t.Entries(0, 1); !errors.Is(err, log.ErrNotFound) {
		return errors.Join(err, fmt.Errorf("%w: it holds entries but no checkpoint", ErrNotEmpty))
	}
	return nil
}

// checkBucket refuses a tiles bucket whose checkpoint is not of the
// source's tree, before anything is written.
func (m *migration) checkBucket(ctx context.Context) error {
	if m.cfg.Bucket == nil {
		return nil
	}
	msg, err := m.cfg.Bucket.Fetch(ctx, objstore.CheckpointKey)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("migrate: reading the tiles bucket's checkpoint: %w", err)
	}
	n, err := note.Open(msg, note.VerifierList(m.cfg.Verifier))
	if err != nil {
		return fmt.Errorf("%w: the tiles bucket %s holds a checkpoint not signed by this log's key: use an empty bucket", ErrNotEmpty, m.cfg.Bucket.Name())
	}
	cp, err := tiles.ParseCheckpoint([]byte(n.Text))
	if err != nil {
		return fmt.Errorf("%w: the tiles bucket %s: its checkpoint: %w", ErrNotEmpty, m.cfg.Bucket.Name(), err)
	}
	if cp.Size > m.src.Size {
		return fmt.Errorf("%w: the tiles bucket %s holds a tree of size %d, beyond the source's %d: use an empty bucket", ErrNotEmpty, m.cfg.Bucket.Name(), cp.Size, m.src.Size)
	}
	if root, err := m.treeHash(cp.Size); err != nil || root != cp.Hash {
		return errors.Join(err, fmt.Errorf("%w: the tiles bucket %s holds another tree of size %d than the source's: use an empty bucket", ErrNotEmpty, m.cfg.Bucket.Name(), cp.Size))
	}
	return nil
}

// treeHash returns the source's root hash at size n.
func (m *migration) treeHash(n int64) (tlog.Hash, error) {
	if n == 0 {
		return tlog.Hash(rfc6962.DefaultHasher.EmptyRoot()), nil
	}
	h, err := tlog.TreeHash(n, m.hr)
	if err != nil {
		return tlog.Hash{}, fmt.Errorf("migrate: the source's root at size %d: %w", n, err)
	}
	return h, nil
}

// commit stores b, with at as its checkpoint, extending the copied tree at
// size.
func (m *migration) commit(b *log.Batch, at *marker) error {
	b.Checkpoint = at.format()
	if err := m.cfg.Target.Commit(b); err != nil {
		return fmt.Errorf("migrate: storing in the target: %w", err)
	}
	return nil
}

// finish stores the witnessed checkpoint and then the source's signed
// checkpoint, which turns the marker into the copied log.
func (m *migration) finish() error {
	w, err := m.cfg.Source.Witnessed()
	if err != nil {
		return fmt.Errorf("migrate: reading the source's witnessed checkpoint: %w", err)
	}
	if w != nil {
		if err := m.cfg.Target.SetWitnessed(w); err != nil {
			return fmt.Errorf("migrate: storing the witnessed checkpoint: %w", err)
		}
	}
	root := m.src.Hash
	err = m.cfg.Target.Commit(&log.Batch{Start: m.src.Size, PrevRoot: root, Root: root, Checkpoint: m.srcNote})
	if err != nil {
		return fmt.Errorf("migrate: storing the checkpoint: %w", err)
	}
	m.log.Info("stored the checkpoint: the copy is a log", slog.Int64("tree_size", m.src.Size))
	return nil
}
