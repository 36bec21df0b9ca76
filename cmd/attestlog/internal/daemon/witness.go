package daemon

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"time"

	"github.com/attestlog/attestlog/cmd/attestlog/internal/datadir"
	"github.com/attestlog/attestlog/cmd/attestlog/internal/netconf"
	"github.com/attestlog/attestlog/witness"
)

// WitnessConfig is witness's command line. Data, HTTPAddr, Name and Logs
// are required; TLSCert and TLSKey are both set or neither.
type WitnessConfig struct {
	Data     string // state directory: witness.key, witness.vkey, witness.db
	HTTPAddr string // HTTP listen address
	Name     string // witness name, the name of its key
	Logs     string // the trusted logs file
	TLSCert  string // PEM certificate chain; with TLSKey, HTTP over TLS
	TLSKey   string // PEM private key of TLSCert

	MaxEvidence     int           // 0: witness.DefaultMaxEvidence
	RefreshInterval time.Duration // 0: witness.DefaultRefreshInterval
}

// maxLogsFileSize bounds what the witness reads of its logs file.
const maxLogsFileSize = 1 << 20

// Witness runs the witness's HTTP server until ctx is done or the server
// fails, then shuts it down and closes the witness's state. It prints the
// witness's cosignature verifier key and bound address to stdout and logs
// to logger.
func Witness(ctx context.Context, c WitnessConfig, stdout io.Writer, logger *slog.Logger) (err error) {
	// Everything that can fail without the data directory fails before it
	// is created; what fails later removes what this start created.
	logs, err := readLogsFile(c.Logs)
	if err != nil {
		return err
	}
	tlsConfig, err := netconf.LoadServerTLS(c.TLSCert, c.TLSKey)
	if err != nil {
		return err
	}
	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp", c.HTTPAddr)
	if err != nil {
		return fmt.Errorf("http: %w", err)
	}
	defer ln.Close() // the server closes it too; this is for a failed start
	dir, err := datadir.Create(c.Data)
	if err != nil {
		return err
	}
	started := false
	defer dir.CleanUpFailedStart(&err, &started)

	dbPath := filepath.Join(c.Data, datadir.WitnessDB)
	_, statErr := os.Stat(dbPath)
	skey, err := datadir.OpenWitnessKey(c.Data, c.Name, errors.Is(statErr, fs.ErrNotExist))
	if err != nil {
		return err
	}
	w, err := witness.Open(dbPath, witness.Config{Key: skey, Logs: logs, Logger: logger, MaxEvidence: c.MaxEvidence, RefreshInterval: c.RefreshInterval})
	if err != nil {
		return err
	}
	defer func() {
		if cerr := w.Close(); cerr != nil && err == nil {
			err = fmt.Errorf("closing witness state: %w", cerr)
		}
	}()
	if err := datadir.WriteVerifierKey(filepath.Join(c.Data, datadir.WitnessVKey), w.VerifierKey()); err != nil {
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
		slog.String("data", c.Data))
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
