package main

import (
	"context"
	"errors"
	"flag"
	"io"
	"log/slog"
	"os"
	"strings"

	"github.com/attestlog/attestlog/cmd/attestlog/internal/daemon"
	"github.com/attestlog/attestlog/cmd/attestlog/internal/datadir"
	"github.com/attestlog/attestlog/cmd/attestlog/internal/usage"
	"github.com/attestlog/attestlog/log"
	"github.com/attestlog/attestlog/log/archive"
	"github.com/attestlog/attestlog/log/pgstore"
)

// serveConfig is the command line of serve.
type serveConfig struct {
	daemon.Config
	level slog.Level
}

// serve runs the log until ctx is done (package internal/daemon).
func serve(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	c, err := parseServeFlags(args, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return nil
	} else if err != nil {
		return err
	}
	return daemon.Serve(ctx, c.Config, stdout, slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: c.level})))
}

// parseServeFlags parses the flags of serve. Each flag's default comes from
// its environment variable if that is set.
func parseServeFlags(args []string, stderr io.Writer) (serveConfig, error) {
	var c serveConfig
	flags := flag.NewFlagSet("serve", flag.ContinueOnError)
	flags.SetOutput(stderr)
	flags.StringVar(&c.Data, "data", usage.Env("ATTESTLOG_DATA", "./attestlog-data"), "state `dir`ectory: log.key, log.vkey, log.db (env ATTESTLOG_DATA)")
	flags.StringVar(&c.Store, "store", usage.Env("ATTESTLOG_STORE", ""), "postgres://user:password@host:port/database `URL` of the PostgreSQL database holding the log's state; default the bbolt file log.db in --data (env ATTESTLOG_STORE)")
	var objs objectsConfig
	objs.register(flags)
	flags.StringVar(&c.HTTPAddr, "http", usage.Env("ATTESTLOG_HTTP", "127.0.0.1:7380"), "HTTP listen `addr`ess (env ATTESTLOG_HTTP)")
	flags.StringVar(&c.GRPCAddr, "grpc", usage.Env("ATTESTLOG_GRPC", "127.0.0.1:7381"), "gRPC listen `addr`ess (env ATTESTLOG_GRPC)")
	flags.StringVar(&c.Origin, "origin", usage.Env("ATTESTLOG_ORIGIN", "localhost/attestlog"), "checkpoint `origin` and signing key name (env ATTESTLOG_ORIGIN)")
	flags.StringVar(&c.Builders, "builders", usage.Env("ATTESTLOG_BUILDERS", ""), "allowlist `file` of builder vkeys, one per line; default accepts any key (env ATTESTLOG_BUILDERS)")
	flags.Float64Var(&c.Rate, "rate", usage.EnvFloat("ATTESTLOG_RATE", 0), "most claims per second overall, 0 for no limit (env ATTESTLOG_RATE)")
	flags.Float64Var(&c.BuilderRate, "builder-rate", usage.EnvFloat("ATTESTLOG_BUILDER_RATE", 0), "most claims per second per builder key, 0 for no limit (env ATTESTLOG_BUILDER_RATE)")
	flags.Int64Var(&c.MaxArtifactSize, "max-artifact-size", int64(usage.EnvFloat("ATTESTLOG_MAX_ARTIFACT_SIZE", float64(archive.DefaultMaxSize))), "largest artifact upload in `bytes` (env ATTESTLOG_MAX_ARTIFACT_SIZE)")
	flags.Int64Var(&c.MaxClaimBytes, "max-claim-bytes", int64(usage.EnvFloat("ATTESTLOG_MAX_CLAIM_BYTES", log.DefaultMaxClaimBytes)),
		"most `bytes` of claims being checked and sequenced at once; past it AddClaim asks clients to retry (env ATTESTLOG_MAX_CLAIM_BYTES)")
	flags.DurationVar(&c.UploadIdleTimeout, "upload-idle-timeout", usage.EnvDuration("ATTESTLOG_UPLOAD_IDLE_TIMEOUT", log.DefaultUploadIdleTimeout),
		"abort an artifact upload that sends nothing for this `duration` and delete its temporary file (env ATTESTLOG_UPLOAD_IDLE_TIMEOUT)")
	flags.Int64Var(&c.MaxUploadBytes, "max-upload-bytes", int64(usage.EnvFloat("ATTESTLOG_MAX_UPLOAD_BYTES", log.DefaultMaxUploadBytes)),
		"most temporary `bytes` all uploads in progress may hold together; past it uploads are asked to retry (env ATTESTLOG_MAX_UPLOAD_BYTES)")
	flags.Int64Var(&c.MemoryLimit, "memory-limit", int64(usage.EnvFloat("ATTESTLOG_MEMORY_LIMIT", defaultMemoryLimit())),
		"soft limit in `bytes` on the memory the Go runtime uses, past which it collects garbage harder; 0 keeps the runtime's (GOMEMLIMIT) (env ATTESTLOG_MEMORY_LIMIT)")
	flags.StringVar(&c.Policy, "policy", usage.Env("ATTESTLOG_POLICY", ""), "witness policy `file` (c2sp.org/tlog-policy with witness URLs); publish only checkpoints meeting its quorum (env ATTESTLOG_POLICY)")
	flags.StringVar(&c.Pprof, "pprof", usage.Env("ATTESTLOG_PPROF", ""), "serve Go profiles under /debug/pprof/ on this loopback `addr`ess, e.g. 127.0.0.1:6060; default off (env ATTESTLOG_PPROF)")
	flags.StringVar(&c.TLSCert, "tls-cert", usage.Env("ATTESTLOG_TLS_CERT", ""), "PEM `file` of the certificate chain; with --tls-key, HTTP and gRPC are served over TLS (env ATTESTLOG_TLS_CERT)")
	flags.StringVar(&c.TLSKey, "tls-key", usage.Env("ATTESTLOG_TLS_KEY", ""), "PEM `file` of the TLS private key (env ATTESTLOG_TLS_KEY)")
	flags.StringVar(&c.WitnessCA, "witness-tls-ca", usage.Env("ATTESTLOG_WITNESS_TLS_CA", ""), "PEM `file` of the CA certificates trusted for https witness URLs; default the system roots (env ATTESTLOG_WITNESS_TLS_CA)")
	flags.IntVar(&c.IndexEntries, "index-entries", int(usage.EnvFloat("ATTESTLOG_INDEX_ENTRIES", log.DefaultCommitEntries)), "commit the verifiable index once this many `entries` wait (env ATTESTLOG_INDEX_ENTRIES)")
	flags.IntVar(&c.IndexMaxTail, "index-max-tail", int(usage.EnvFloat("ATTESTLOG_INDEX_MAX_TAIL", log.DefaultCommitMaxTail)), "hold claims back while more than this many `entries` follow the latest index commitment, so that lookups' clients never read a longer tail than they accept; -1 for no bound (env ATTESTLOG_INDEX_MAX_TAIL)")
	flags.DurationVar(&c.BatchLinger, "batch-linger", usage.EnvDuration("ATTESTLOG_BATCH_LINGER", log.DefaultBatchLinger), "while busy (the last batch held 8 claims or more), wait up to this `duration` for the claims being checked to join the next batch, while some are or serve is CPU-bound: fewer, larger commits cost less CPU a claim; 0 commits at once (env ATTESTLOG_BATCH_LINGER)")
	flags.DurationVar(&c.IndexAge, "index-age", usage.EnvDuration("ATTESTLOG_INDEX_AGE", log.DefaultCommitAge), "commit the verifiable index at least this often while entries wait (env ATTESTLOG_INDEX_AGE)")
	level := flags.String("log-level", usage.Env("ATTESTLOG_LOG_LEVEL", "info"), "log `level`: debug, info, warn or error (env ATTESTLOG_LOG_LEVEL)")
	if err := usage.Parse(flags, args); err != nil {
		return c, err
	}
	if flags.NArg() > 0 {
		return c, usage.Errorf("serve: unexpected argument %q", flags.Arg(0))
	}
	if c.MemoryLimit < 0 {
		return c, usage.Errorf("serve: --memory-limit %d: want a number of bytes, or 0 for the Go runtime's limit", c.MemoryLimit)
	}
	if c.Store != "" && !strings.HasPrefix(c.Store, "postgres://") && !strings.HasPrefix(c.Store, "postgresql://") {
		return c, usage.Errorf("serve: --store %s: not a postgres:// URL", pgstore.Redact(c.Store))
	}
	if err := objs.parse(); err != nil {
		return c, err
	}
	c.ObjectsURL, c.Objects, c.ArchiveNoLock = objs.url, objs.loc, objs.noLock
	if err := c.level.UnmarshalText([]byte(*level)); err != nil {
		return c, usage.Errorf("serve: --log-level: %v", err)
	}
	if err := datadir.CheckKeyName(c.Origin); err != nil {
		return c, usage.Errorf("serve: --origin %q: %v", c.Origin, err)
	}
	return c, nil
}

// serveMemoryLimit is serve's default soft memory limit: the process then
// stays within 256 MiB of anonymous memory under a sustained AddClaim load
// with the index committer (BENCHMARKS.md, "Memory under sustained load"),
// and within 256 MiB of RSS under issue 10's burst, its executable's
// mapped pages (about 25 MiB) and the store's included.
const serveMemoryLimit = 208 << 20

// defaultMemoryLimit returns serve's default --memory-limit: none of its
// own if GOMEMLIMIT sets the runtime's.
func defaultMemoryLimit() float64 {
	if os.Getenv("GOMEMLIMIT") != "" {
		return 0
	}
	return serveMemoryLimit
}
