package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"path/filepath"
	"strings"

	"github.com/attestlog/attestlog/cmd/attestlog/internal/datadir"
	"github.com/attestlog/attestlog/log"
	"github.com/attestlog/attestlog/log/migrate"
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
		if cfg.Bucket, cfg.Archive, err = migrate.OpenBuckets(ctx, objs.loc, objs.noLock, logger); err != nil {
			return fmt.Errorf("migrate: --objects: %w", err)
		}
		cfg.PublicURL = migrate.PublicURL(objs.loc, *public)
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
	r.Print(stdout, cfg, *data, datadir.LogDB)
	return nil
}
