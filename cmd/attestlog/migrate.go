package main

import (
	"context"
	"errors"
	"flag"
	"io"
	"log/slog"
	"strings"

	"github.com/attestlog/attestlog/cmd/attestlog/internal/daemon"
	"github.com/attestlog/attestlog/cmd/attestlog/internal/usage"
	"github.com/attestlog/attestlog/log/migrate"
	"github.com/attestlog/attestlog/log/pgstore"
)

// migrateCmd copies the bbolt log of --data into the PostgreSQL database
// of --store (and the buckets of --objects), or finishes an interrupted
// copy, and checks the copy (packages internal/daemon and log/migrate).
func migrateCmd(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var c daemon.MigrateConfig
	flags := flag.NewFlagSet("migrate", flag.ContinueOnError)
	flags.SetOutput(stderr)
	flags.StringVar(&c.Data, "data", usage.Env("ATTESTLOG_DATA", "attestlog-data"), "the serve data `DIR` holding log.db, log.key and archive/ (env ATTESTLOG_DATA); read, never changed")
	flags.StringVar(&c.Store, "store", usage.Env("ATTESTLOG_STORE", ""), "postgres:// `URL` of the empty database to copy into (env ATTESTLOG_STORE)")
	var objs objectsConfig
	objs.register(flags)
	flags.StringVar(&c.PublicURL, "public-url", "", "base `URL` at which the tiles bucket is read anonymously, to check the copy as clients read it; default ENDPOINT/BUCKET with an endpoint, none without; \"none\" skips that check")
	flags.IntVar(&c.BatchEntries, "batch", migrate.DefaultBatchEntries, "most `entries` copied per transaction")
	level := flags.String("log-level", usage.Env("ATTESTLOG_LOG_LEVEL", "info"), "log `level`: debug, info, warn or error (env ATTESTLOG_LOG_LEVEL)")
	if err := usage.Parse(flags, args); errors.Is(err, flag.ErrHelp) {
		return nil
	} else if err != nil {
		return err
	}
	var lvl slog.Level
	switch {
	case flags.NArg() > 0:
		return usage.Errorf("migrate: unexpected argument %q", flags.Arg(0))
	case !strings.HasPrefix(c.Store, "postgres://") && !strings.HasPrefix(c.Store, "postgresql://"):
		return usage.Errorf("migrate: --store %q: want the postgres:// URL of the database to copy into", pgstore.Redact(c.Store))
	case c.BatchEntries <= 0:
		return usage.Errorf("migrate: --batch %d: want a positive number of entries", c.BatchEntries)
	case lvl.UnmarshalText([]byte(*level)) != nil:
		return usage.Errorf("migrate: --log-level %q: want debug, info, warn or error", *level)
	}
	if err := objs.parse(); err != nil {
		return err
	}
	c.ObjectsURL, c.Objects, c.ArchiveNoLock = objs.url, objs.loc, objs.noLock
	return daemon.Migrate(ctx, c, stdout, slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: lvl})))
}
