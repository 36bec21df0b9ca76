package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/attestlog/attestlog/cmd/attestlog/internal/datadir"
	"github.com/attestlog/attestlog/cmd/attestlog/internal/netconf"
	"github.com/attestlog/attestlog/witness"
)

// maxLogsFileSize bounds what the witness reads of its logs file.
const maxLogsFileSize = 1 << 20

// witnessConfig is the command line of witness.
type witnessConfig struct {
	data     string
	httpAddr string
	name     string
	logs     string
	level    slog.Level
	tlsCert  string // PEM certificate chain; with tlsKey, HTTP over TLS
	tlsKey   string // PEM private key of tlsCert

	maxEvidence int           // 0: witness.DefaultMaxEvidence
	refresh     time.Duration // 0: witness.DefaultRefreshInterval
}

// parseWitnessFlags parses the flags of witness. Each flag's default comes
// from its environment variable if that is set.
func parseWitnessFlags(args []string, stderr io.Writer) (witnessConfig, error) {
	var c witnessConfig
	flags := flag.NewFlagSet("witness", flag.ContinueOnError)
	flags.SetOutput(stderr)
	flags.StringVar(&c.data, "data", envOr("ATTESTLOG_WITNESS_DATA", "./attestlog-witness"), "state `dir`ectory: witness.key, witness.vkey, witness.db (env ATTESTLOG_WITNESS_DATA)")
	flags.StringVar(&c.httpAddr, "http", envOr("ATTESTLOG_WITNESS_HTTP", "127.0.0.1:7390"), "HTTP listen `addr`ess (env ATTESTLOG_WITNESS_HTTP)")
	flags.StringVar(&c.name, "name", envOr("ATTESTLOG_WITNESS_NAME", "localhost/witness"), "witness `name`, the name of its key (env ATTESTLOG_WITNESS_NAME)")
	flags.StringVar(&c.logs, "logs", envOr("ATTESTLOG_WITNESS_LOGS", ""), "trusted logs `file`, lines \"log <vkey> [<new cosignatures per day>]\"; required (env ATTESTLOG_WITNESS_LOGS)")
	flags.StringVar(&c.tlsCert, "tls-cert", envOr("ATTESTLOG_WITNESS_TLS_CERT", ""), "PEM `file` of the certificate chain; with --tls-key, HTTP is served over TLS (env ATTESTLOG_WITNESS_TLS_CERT)")
	flags.StringVar(&c.tlsKey, "tls-key", envOr("ATTESTLOG_WITNESS_TLS_KEY", ""), "PEM `file` of the TLS private key (env ATTESTLOG_WITNESS_TLS_KEY)")
	level := flags.String("log-level", envOr("ATTESTLOG_WITNESS_LOG_LEVEL", "info"), "log `level`: debug, info, warn or error (env ATTESTLOG_WITNESS_LOG_LEVEL)")
	maxEvidence := flags.String("max-evidence", envOr("ATTESTLOG_WITNESS_MAX_EVIDENCE", ""), fmt.Sprintf("most evidence `records` kept per log; past it new evidence is dropped and counted (default %d) (env ATTESTLOG_WITNESS_MAX_EVIDENCE)", witness.DefaultMaxEvidence))
	refresh := flags.String("refresh-interval", envOr("ATTESTLOG_WITNESS_REFRESH_INTERVAL", ""), fmt.Sprintf("`duration` after which a replay of a log's latest cosigned checkpoint gets a fresh cosignature instead of the stored one (default %v) (env ATTESTLOG_WITNESS_REFRESH_INTERVAL)", witness.DefaultRefreshInterval))
	if err := parseFlags(flags, args); err != nil {
		return c, err
	}
	if *maxEvidence != "" {
		n, err := strconv.Atoi(*maxEvidence)
		if err != nil || n <= 0 {
			return c, usageErrorf("witness: --max-evidence %q is not a positive number", *maxEvidence)
		}
		c.maxEvidence = n
	}
	if *refresh != "" {
		d, err := time.ParseDuration(*refresh)
		if err != nil || d <= 0 {
			return c, usageErrorf("witness: --refresh-interval %q is not a positive duration such as 60s", *refresh)
		}
		c.refresh = d
	}
	if flags.NArg() > 0 {
		return c, usageErrorf("witness: unexpected argument %q", flags.Arg(0))
	}
	if c.logs == "" {
		return c, usageErrorf("witness: no --logs file")
	}
	if err := c.level.UnmarshalText([]byte(*level)); err != nil {
		return c, usageErrorf("witness: --log-level: %v", err)
	}
	if err := datadir.CheckKeyName(c.name); err != nil {
		return c, usageErrorf("witness: --name %q: %v", c.name, err)
	}
	return c, nil
}

// serveWitness runs the witness's HTTP server until ctx is done or the
// server fails, then shuts it down and closes the witness's state.
func serveWitness(ctx context.Context, args []string, stdout, stderr io.Writer) (err error) {
	c, err := parseWitnessFlags(args, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return nil
	} else if err != nil {
		return err
	}
	logger := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: c.level}))
	// Everything that can fail without the data directory fails before it
	// is created; what fails later removes what this start created.
	logs, err := readLogsFile(c.logs)
	if err != nil {
		return err
	}
	tlsConfig, err := netconf.LoadServerTLS(c.tlsCert, c.tlsKey)
	if err != nil {
		return err
	}
	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp", c.httpAddr)
	if err != nil {
		return fmt.Errorf("http: %w", err)
	}
	defer ln.Close() // the server closes it too; this is for a failed start
	dir, err := datadir.Create(c.data)
	if err != nil {
		return err
	}
	started := false
	defer dir.CleanUpFailedStart(&err, &started)

	dbPath := filepath.Join(c.data, datadir.WitnessDB)
	_, statErr := os.Stat(dbPath)
	skey, err := datadir.OpenWitnessKey(c.data, c.name, errors.Is(statErr, fs.ErrNotExist))
	if err != nil {
		return err
	}
	w, err := witness.Open(dbPath, witness.Config{Key: skey, Logs: logs, Logger: logger, MaxEvidence: c.maxEvidence, RefreshInterval: c.refresh})
	if err != nil {
		return err
	}
	defer func() {
		if cerr := w.Close(); cerr != nil && err == nil {
			err = fmt.Errorf("closing witness state: %w", cerr)
		}
	}()
	if err := datadir.WriteVerifierKey(filepath.Join(c.data, datadir.WitnessVKey), w.VerifierKey()); err != nil {
		return err
	}
	started = true

	fmt.Fprintf(stdout, "witness vkey: %s\n", w.VerifierKey())
	fmt.Fprintf(stdout, "http listening on %s\n", ln.Addr())
	logger.InfoContext(ctx, "serving witness",
		slog.String("name", w.Name()),
		slog.Int("logs", len(logs)),
		slog.String("http_addr", ln.Addr().String()),
		slog.Bool("tls", tlsConfig != nil),
		slog.String("data", c.data))
	srv := newWitnessHTTPServer(w, logger)
	srv.TLSConfig = tlsConfig
	err = serveHTTP(ctx, srv, ln)
	logger.InfoContext(ctx, "stopped")
	return err
}

// readLogsFile reads and parses the witness's logs file.
func readLogsFile(path string) ([]witness.Log, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("reading logs file: %w", err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxLogsFileSize+1))
	if err != nil {
		return nil, fmt.Errorf("reading logs file: %w", err)
	}
	if len(data) > maxLogsFileSize {
		return nil, fmt.Errorf("logs file %s is larger than %d bytes", path, maxLogsFileSize)
	}
	logs, err := witness.ParseLogs(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if len(logs) == 0 {
		return nil, fmt.Errorf("logs file %s lists no logs", path)
	}
	return logs, nil
}

// newWitnessHTTPServer returns a server for the witness's API at "/" and its
// metrics at "/metrics".
func newWitnessHTTPServer(w *witness.Witness, logger *slog.Logger) *http.Server {
	return newHTTPServerFor(newServerMux(w.Handler(), "attestlog_witness_", w.Metrics()), logger)
}
