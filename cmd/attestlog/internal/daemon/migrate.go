package daemon

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"path/filepath"

	"github.com/attestlog/attestlog/cmd/attestlog/internal/datadir"
	"github.com/attestlog/attestlog/log"
	"github.com/attestlog/attestlog/log/migrate"
	"github.com/attestlog/attestlog/log/objstore"
	"github.com/attestlog/attestlog/log/pgstore"
)

// MigrateConfig is migrate's command line. Data and Store are required.
type MigrateConfig struct {
	Data          string            // serve's data directory: log.db, log.key and archive/; read, never changed
	Store         string            // postgres:// URL of the database to copy into
	ObjectsURL    string            // empty: no buckets
	Objects       objstore.Location // the buckets of ObjectsURL
	ArchiveNoLock bool              // accept an archive bucket without Object Lock
	PublicURL     string            // see migrate.PublicURL
	BatchEntries  int               // 0: migrate.DefaultBatchEntries
}

// Migrate copies the bbolt log of c.Data into the PostgreSQL database of
// c.Store (and the buckets of c.ObjectsURL), or finishes an interrupted
// copy, checks the copy (see package log/migrate) and prints what it did.
func Migrate(ctx context.Context, c MigrateConfig, stdout io.Writer, logger *slog.Logger) error {
	signer, verifier, vkey, err := datadir.ReadLogKey(c.Data)
	if err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	src, err := log.OpenBoltReadOnly(filepath.Join(c.Data, datadir.LogDB))
	if err != nil {
		return fmt.Errorf("migrate: the source: %w (stop the serve of %s first)", err, c.Data)
	}
	defer src.Close()
	cfg := migrate.Config{Source: src, ArchiveDir: filepath.Join(c.Data, "archive"), Signer: signer, Verifier: verifier, BatchEntries: c.BatchEntries, Logger: logger}
	if c.ObjectsURL != "" {
		if cfg.Bucket, cfg.Archive, err = migrate.OpenBuckets(ctx, c.Objects, c.ArchiveNoLock, logger); err != nil {
			return fmt.Errorf("migrate: --objects: %w", err)
		}
		cfg.PublicURL = migrate.PublicURL(c.Objects, c.PublicURL)
	}
	target, err := pgstore.Open(ctx, pgstore.Config{URL: c.Store, Origin: signer.Name(), VKey: vkey, Logger: logger})
	if err != nil {
		return fmt.Errorf("migrate: the target: %w", err)
	}
	defer target.Close()
	cfg.Target = target
	r, err := migrate.Run(ctx, cfg)
	if err != nil {
		return err
	}
	r.Print(stdout, cfg, c.Data, datadir.LogDB)
	return nil
}
