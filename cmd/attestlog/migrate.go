package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"math"
	"path/filepath"
	"strings"
	"time"

	"github.com/attestlog/attestlog/cmd/attestlog/internal/datadir"
	"github.com/attestlog/attestlog/log"
	"github.com/attestlog/attestlog/log/migrate"
	"github.com/attestlog/attestlog/log/objstore"
	"github.com/attestlog/attestlog/log/pgstore"
)

// migrateCmd copies the bbolt log of --data into the PostgreSQL database
// of --store (and the buckets of --objects), or finishes an interrupted
// copy, and checks the copy; see package log/migrate.
func migrateCmd(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	flags := flag.NewFlagSet("migrate", flag.ContinueOnError)
	flags.SetOutput(stderr)
	data := flags.String("data", envOr("ATTESTLOG_DATA", "attestlog-data"), "the serve data `DIR` holding log.db, log.key and archive/ (env ATTESTLOG_DATA); read, never changed")
	store := flags.String("store", envOr("ATTESTLOG_STORE", ""), "postgres:// `URL` of the empty database to copy into (env ATTESTLOG_STORE)")
	var objs objectsConfig
	objs.register(flags)
	public := flags.String("public-url", "", "base `URL` at which the tiles bucket is read anonymously, to check the copy as clients read it; default ENDPOINT/BUCKET with an endpoint, none without; \"none\" skips that check")
	batch := flags.Int("batch", migrate.DefaultBatchEntries, "most `entries` copied per transaction")
	level := flags.String("log-level", envOr("ATTESTLOG_LOG_LEVEL", "info"), "log `level`: debug, info, warn or error (env ATTESTLOG_LOG_LEVEL)")
	if err := parseFlags(flags, args); errors.Is(err, flag.ErrHelp) {
		return nil
	} else if err != nil {
		return err
	}
	var lvl slog.Level
	switch {
	case flags.NArg() > 0:
		return usageErrorf("migrate: unexpected argument %q", flags.Arg(0))
	case !strings.HasPrefix(*store, "postgres://") && !strings.HasPrefix(*store, "postgresql://"):
		return usageErrorf("migrate: --store %q: want the postgres:// URL of the database to copy into", pgstore.Redact(*store))
	case *batch <= 0:
		return usageErrorf("migrate: --batch %d: want a positive number of entries", *batch)
	case lvl.UnmarshalText([]byte(*level)) != nil:
		return usageErrorf("migrate: --log-level %q: want debug, info, warn or error", *level)
	}
	if err := objs.parse(); err != nil {
		return err
	}
	logger := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: lvl}))

	signer, verifier, vkey, err := datadir.ReadLogKey(*data)
	if err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	src, err := log.OpenBoltReadOnly(filepath.Join(*data, datadir.LogDB))
	if err != nil {
		return fmt.Errorf("migrate: the source: %w (stop the serve of %s first)", err, *data)
	}
	defer src.Close()
	cfg := migrate.Config{Source: src, ArchiveDir: filepath.Join(*data, "archive"), Signer: signer, Verifier: verifier, BatchEntries: *batch, Logger: logger}
	if objs.url != "" {
		if cfg.Bucket, cfg.Archive, err = openMigrationBuckets(ctx, objs, logger); err != nil {
			return err
		}
		cfg.PublicURL = publicURL(objs.loc, *public)
	}
	target, err := pgstore.Open(ctx, pgstore.Config{URL: *store, Origin: signer.Name(), VKey: vkey, Logger: logger})
	if err != nil {
		return fmt.Errorf("migrate: the target: %w", err)
	}
	defer target.Close()
	cfg.Target = target
	r, err := migrate.Run(ctx, cfg)
	if err != nil {
		return err
	}
	printMigration(stdout, r, *data, cfg)
	return nil
}

// openMigrationBuckets opens and checks the buckets of --objects as serve
// does; the archive takes any size, since the local archive holds them.
func openMigrationBuckets(ctx context.Context, o objectsConfig, logger *slog.Logger) (*objstore.Bucket, *objstore.Archive, error) {
	// A store that accepts the connection but never answers (seen with a
	// Ceph RGW under load) must not hang the migration before it starts.
	ctx, cancel := context.WithTimeout(ctx, bucketCheckTimeout)
	defer cancel()
	cfg := objstore.Config{Endpoint: o.loc.Endpoint, Region: o.loc.Region, Logger: logger}
	b, err := objstore.OpenBucket(ctx, cfg, o.loc.Bucket)
	if err != nil {
		return nil, nil, fmt.Errorf("migrate: --objects: %w", err)
	}
	if o.loc.Archive == "" {
		return b, nil, nil
	}
	ab, err := objstore.ConnectBucket(ctx, cfg, o.loc.Archive)
	if err != nil {
		return nil, nil, fmt.Errorf("migrate: --objects: archive: %w", err)
	}
	a, err := objstore.OpenArchive(ctx, objstore.ArchiveConfig{Bucket: ab, MaxSize: math.MaxInt64,
		RetentionDays: o.loc.RetentionDays, NoLock: o.noLock, Logger: logger})
	if err != nil {
		return nil, nil, fmt.Errorf("migrate: --objects: archive: %w", err)
	}
	return b, a, nil
}

// bucketCheckTimeout bounds the checks of the buckets before the copy.
const bucketCheckTimeout = 2 * time.Minute

// publicURL returns the base URL for the anonymous check of the bucket.
func publicURL(loc objstore.Location, flagValue string) string {
	switch {
	case flagValue == "none":
		return ""
	case flagValue != "":
		return strings.TrimSuffix(flagValue, "/")
	case loc.Endpoint != "":
		return strings.TrimSuffix(loc.Endpoint, "/") + "/" + loc.Bucket
	}
	return ""
}

func printMigration(w io.Writer, r migrate.Report, data string, cfg migrate.Config) {
	what := "copied"
	switch {
	case r.Finished:
		what = "already copied"
	case r.Resumed:
		what = "finished an interrupted copy of"
	}
	fmt.Fprintf(w, "migrated: %s the log %s at tree size %d\n", what, r.Checkpoint.Origin, r.Checkpoint.Size)
	fmt.Fprintf(w, "this run: %d entries (%.1f MiB), %d index records in %d spaces, %d of %d binaries (%.1f MiB) uploaded, in %v\n",
		r.Entries, float64(r.EntryBytes)/(1<<20), r.IndexRecords, r.Spaces, r.Uploaded, r.Binaries, float64(r.BinaryBytes)/(1<<20), r.Copy.Round(1e6))
	fmt.Fprintf(w, "checked: %d tiles and %d entry bundles of the copy, every index space and the dedup index, in %v\n", r.Tiles, r.Bundles, r.Check.Round(1e6))
	if r.BucketCheck {
		fmt.Fprintf(w, "checked: the tiles bucket over anonymous HTTP at %s\n", cfg.PublicURL)
	}
	fmt.Fprintf(w, "next: keep %s as a backup, moved out of %s (serve --store refuses a data directory holding a bbolt log), and start serve --store with the same key\n",
		filepath.Join(data, datadir.LogDB), data)
}
