package archive

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
)

// DefaultMaxSize is the default largest artifact the archive accepts: 2 GiB.
const DefaultMaxSize int64 = 2 << 30

// Config configures an Archive. Every zero value means the default.
type Config struct {
	MaxSize int64        // largest accepted artifact in bytes; default DefaultMaxSize
	Logger  *slog.Logger // nil discards logs
}

// A Store is what the log needs of an archive: [Archive] on the local file
// system, or another backend (log/objstore keeps artifacts in an S3 bucket).
// Implementations MUST give the guarantees of the package documentation
// that concern callers: Put verifies the bytes before anything is stored
// and never replaces an intact object; Get returns an [Object] that
// verifies the bytes as they are read; and their errors wrap the package's
// sentinel errors. They MUST be safe for concurrent use.
type Store interface {
	Put(ctx context.Context, sha256Hex string, size int64, r io.Reader) (Result, error)
	Stat(sha256Hex string) (size int64, ok bool, err error)
	Get(sha256Hex string) (*Object, error)
}

var _ Store = (*Archive)(nil)

// An Archive is a content-addressed store of artifacts in one directory; see
// the package documentation for its layout and guarantees. It is safe for
// concurrent use.
type Archive struct {
	objects string // <dir>/objects
	tmp     string // <dir>/tmp
	maxSize int64
	log     *slog.Logger

	// repairMu serialises the replacement of corrupt objects.
	repairMu sync.Mutex

	// durable holds the shard directories (string paths) known to exist with
	// their directory entries fsynced, so that each is synced once per Open
	// rather than once per Put. It is safe for concurrent use on its own.
	durable sync.Map
}

// Open opens the archive in dir, creating dir (mode 0700), dir/objects and
// dir/tmp if they are missing, and removing uploads left unfinished in
// dir/tmp by a crash. The caller must ensure that no other process has dir
// open.
func Open(dir string, cfg Config) (*Archive, error) {
	if cfg.MaxSize < 0 {
		return nil, fmt.Errorf("archive: negative MaxSize %d", cfg.MaxSize)
	}
	a := &Archive{
		objects: filepath.Join(dir, "objects"),
		tmp:     filepath.Join(dir, "tmp"),
		maxSize: cfg.MaxSize,
		log:     cfg.Logger,
	}
	if a.maxSize == 0 {
		a.maxSize = DefaultMaxSize
	}
	if a.log == nil {
		a.log = slog.New(slog.DiscardHandler)
	}
	for _, d := range []string{a.objects, a.tmp} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			return nil, fmt.Errorf("archive: creating %s: %w", d, err)
		}
	}
	// objects/ must survive a crash, or every object in it vanishes with it.
	if err := syncDir(dir); err != nil {
		return nil, err
	}
	if err := a.removeUnfinished(); err != nil {
		return nil, err
	}
	return a, nil
}

// removeUnfinished empties tmp/. Nothing there can be finished: an upload is
// only complete once linked into objects/.
func (a *Archive) removeUnfinished() error {
	entries, err := os.ReadDir(a.tmp)
	if err != nil {
		return fmt.Errorf("archive: listing unfinished uploads: %w", err)
	}
	for _, e := range entries {
		p := filepath.Join(a.tmp, e.Name())
		if err := os.RemoveAll(p); err != nil {
			return fmt.Errorf("archive: removing unfinished upload: %w", err)
		}
		a.log.Info("removed unfinished upload", slog.String("path", p))
	}
	return nil
}

// Stat reports whether an object is stored under the digest sha256Hex, and
// its size. It does not verify the object's bytes; [Archive.Get] does. The
// error wraps [ErrMalformedDigest] for a malformed digest.
func (a *Archive) Stat(sha256Hex string) (size int64, ok bool, err error) {
	d, err := ParseDigest(sha256Hex)
	if err != nil {
		return 0, false, err
	}
	fi, err := os.Stat(a.objectPath(d))
	if errors.Is(err, fs.ErrNotExist) {
		return 0, false, nil
	}
	if err != nil {
		return 0, false, fmt.Errorf("archive: stat of object %s: %w", d, err)
	}
	return fi.Size(), true, nil
}

// shardDir is objects/<first 2 hex>/<next 2 hex>: 65,536 directories, so that
// none grows past a few thousand entries even with hundreds of millions of objects.
func (a *Archive) shardDir(d Digest) string {
	s := d.String()
	return filepath.Join(a.objects, s[0:2], s[2:4])
}

func (a *Archive) objectPath(d Digest) string {
	return filepath.Join(a.shardDir(d), d.String())
}

// ensureShard creates the shard directories of d if needed and makes their
// directory entries durable, so that an object linked into them survives a crash.
func (a *Archive) ensureShard(d Digest) (string, error) {
	shard := a.shardDir(d)
	if _, ok := a.durable.Load(shard); ok {
		return shard, nil
	}
	for _, dir := range []string{filepath.Dir(shard), shard} {
		if err := os.Mkdir(dir, 0o700); err != nil && !errors.Is(err, fs.ErrExist) {
			return "", fmt.Errorf("archive: creating shard directory: %w", err)
		}
		// Synced even if it already existed: another Put may have created it
		// and not yet synced its parent.
		if err := syncDir(filepath.Dir(dir)); err != nil {
			return "", err
		}
	}
	a.durable.Store(shard, true)
	return shard, nil
}

// syncDir fsyncs a directory, making the entries added to it durable.
func syncDir(dir string) error {
	f, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("archive: opening directory to sync: %w", err)
	}
	err = f.Sync()
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("archive: syncing directory %s: %w", dir, err)
	}
	return nil
}
