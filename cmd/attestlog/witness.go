package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"strconv"
	"time"

	"github.com/attestlog/attestlog/cmd/attestlog/internal/daemon"
	"github.com/attestlog/attestlog/cmd/attestlog/internal/datadir"
	"github.com/attestlog/attestlog/cmd/attestlog/internal/usage"
	"github.com/attestlog/attestlog/witness"
)

// witnessConfig is the command line of witness.
type witnessConfig struct {
	daemon.WitnessConfig
	level slog.Level
}

// serveWitness runs a witness until ctx is done (package internal/daemon).
func serveWitness(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	c, err := parseWitnessFlags(args, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return nil
	} else if err != nil {
		return err
	}
	return daemon.Witness(ctx, c.WitnessConfig, stdout, slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: c.level})))
}

// parseWitnessFlags parses the flags of witness. Each flag's default comes
// from its environment variable if that is set.
func parseWitnessFlags(args []string, stderr io.Writer) (witnessConfig, error) {
	var c witnessConfig
	flags := flag.NewFlagSet("witness", flag.ContinueOnError)
	flags.SetOutput(stderr)
	flags.StringVar(&c.Data, "data", usage.Env("ATTESTLOG_WITNESS_DATA", "./attestlog-witness"), "state `dir`ectory: witness.key, witness.vkey, witness.db (env ATTESTLOG_WITNESS_DATA)")
	flags.StringVar(&c.HTTPAddr, "http", usage.Env("ATTESTLOG_WITNESS_HTTP", "127.0.0.1:7390"), "HTTP listen `addr`ess (env ATTESTLOG_WITNESS_HTTP)")
	flags.StringVar(&c.Name, "name", usage.Env("ATTESTLOG_WITNESS_NAME", "localhost/witness"), "witness `name`, the name of its key (env ATTESTLOG_WITNESS_NAME)")
	flags.StringVar(&c.Logs, "logs", usage.Env("ATTESTLOG_WITNESS_LOGS", ""), "trusted logs `file`, lines \"log <vkey> [<new cosignatures per day>]\"; required (env ATTESTLOG_WITNESS_LOGS)")
	flags.StringVar(&c.TLSCert, "tls-cert", usage.Env("ATTESTLOG_WITNESS_TLS_CERT", ""), "PEM `file` of the certificate chain; with --tls-key, HTTP is served over TLS (env ATTESTLOG_WITNESS_TLS_CERT)")
	flags.StringVar(&c.TLSKey, "tls-key", usage.Env("ATTESTLOG_WITNESS_TLS_KEY", ""), "PEM `file` of the TLS private key (env ATTESTLOG_WITNESS_TLS_KEY)")
	level := flags.String("log-level", usage.Env("ATTESTLOG_WITNESS_LOG_LEVEL", "info"), "log `level`: debug, info, warn or error (env ATTESTLOG_WITNESS_LOG_LEVEL)")
	maxEvidence := flags.String("max-evidence", usage.Env("ATTESTLOG_WITNESS_MAX_EVIDENCE", ""), fmt.Sprintf("most evidence `records` kept per log; past it new evidence is dropped and counted (default %d) (env ATTESTLOG_WITNESS_MAX_EVIDENCE)", witness.DefaultMaxEvidence))
	refresh := flags.String("refresh-interval", usage.Env("ATTESTLOG_WITNESS_REFRESH_INTERVAL", ""), fmt.Sprintf("`duration` after which a replay of a log's latest cosigned checkpoint gets a fresh cosignature instead of the stored one (default %v) (env ATTESTLOG_WITNESS_REFRESH_INTERVAL)", witness.DefaultRefreshInterval))
	if err := usage.Parse(flags, args); err != nil {
		return c, err
	}
	if *maxEvidence != "" {
		n, err := strconv.Atoi(*maxEvidence)
		if err != nil || n <= 0 {
			return c, usage.Errorf("witness: --max-evidence %q is not a positive number", *maxEvidence)
		}
		c.MaxEvidence = n
	}
	if *refresh != "" {
		d, err := time.ParseDuration(*refresh)
		if err != nil || d <= 0 {
			return c, usage.Errorf("witness: --refresh-interval %q is not a positive duration such as 60s", *refresh)
		}
		c.RefreshInterval = d
	}
	if flags.NArg() > 0 {
		return c, usage.Errorf("witness: unexpected argument %q", flags.Arg(0))
	}
	if c.Logs == "" {
		return c, usage.Errorf("witness: no --logs file")
	}
	if err := c.level.UnmarshalText([]byte(*level)); err != nil {
		return c, usage.Errorf("witness: --log-level: %v", err)
	}
	if err := datadir.CheckKeyName(c.Name); err != nil {
		return c, usage.Errorf("witness: --name %q: %v", c.Name, err)
	}
	return c, nil
}
