// Command attestlog runs an attestation transparency log: a tiled Merkle
// log (c2sp.org/tlog-tiles) whose checkpoints (c2sp.org/tlog-checkpoint) are
// signed notes (c2sp.org/signed-note).
//
// Usage:
//
//	attestlog serve [flags]
//	attestlog keygen [-o PREFIX] NAME
//	attestlog help
//
// # serve
//
// Serve runs the log until SIGINT or SIGTERM, then shuts down gracefully.
// Every flag falls back to an environment variable, and then to a default:
//
//	--data DIR        ATTESTLOG_DATA       ./attestlog-data      state directory, created 0700
//	--http ADDR       ATTESTLOG_HTTP       127.0.0.1:7380        HTTP listen address
//	--grpc ADDR       ATTESTLOG_GRPC       127.0.0.1:7381        gRPC listen address
//	--origin ORIGIN   ATTESTLOG_ORIGIN     localhost/attestlog   checkpoint origin and key name
//	--log-level LEVEL ATTESTLOG_LOG_LEVEL  info                  debug, info, warn or error
//
// A port of 0 picks a free port. Serve prints the log's verifier key and
// the bound addresses to standard output:
//
//	log vkey: <verifier key>
//	http listening on <addr>
//	grpc listening on <addr>
//
// and writes structured logs (slog text format) to standard error.
//
// HTTP endpoints:
//
//	GET /checkpoint                 the latest signed checkpoint (c2sp.org/tlog-tiles)
//	GET /tile/<L>/<N>[.p/<W>]       hash tiles
//	GET /tile/entries/<N>[.p/<W>]   entry bundles
//	GET /healthz                    liveness
//	GET /metrics                    Prometheus metrics: attestlog_log_*, go_*, process_*
//
// gRPC services: grpc.health.v1.Health (service "" is SERVING while the log
// runs, NOT_SERVING during shutdown) and server reflection.
//
// Files in the data directory:
//
//	log.key    the checkpoint signing key, a signed-note Ed25519 private key
//	           named ORIGIN; mode 0600. Serve refuses a key readable by group
//	           or others, or named other than --origin.
//	log.vkey   its verifier key, mode 0644; publish it to the log's clients.
//	log.db     the bbolt store: entries, tiles and the latest checkpoint.
//
// On the first run (no log.key and no log.db) serve generates the key pair.
// It never generates a key for an existing log.db: a lost key cannot be
// silently replaced.
//
// # keygen
//
// Keygen generates a signed-note Ed25519 key pair named NAME, writes the
// private key to PREFIX.key (mode 0600) and the verifier key to PREFIX.vkey
// (mode 0644), and prints the verifier key. It refuses to overwrite either
// file. PREFIX defaults to NAME with every '/' replaced by '_'. Flags must
// come before NAME.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

const usage = `usage:
	attestlog serve [--data DIR] [--http ADDR] [--grpc ADDR] [--origin ORIGIN] [--log-level LEVEL]
	attestlog keygen [-o PREFIX] NAME
	attestlog help

Run "attestlog <subcommand> -h" for a subcommand's flags.
`

// A usageError is a bad command line; main exits with status 2.
type usageError struct{ err error }

func (e usageError) Error() string { return e.err.Error() }
func (e usageError) Unwrap() error { return e.err }

func usageErrorf(format string, args ...any) error {
	return usageError{fmt.Errorf(format, args...)}
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	if err != nil {
		fmt.Fprintf(os.Stderr, "attestlog: %v\n", err)
		if errors.As(err, new(usageError)) {
			os.Exit(2)
		}
		os.Exit(1)
	}
}

// run runs the subcommand named by args[0]. It returns when the subcommand
// is done, for serve when ctx is done and everything has shut down.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return usageErrorf("no subcommand; want serve, keygen or help")
	}
	switch args[0] {
	case "serve":
		return serve(ctx, args[1:], stdout, stderr)
	case "keygen":
		return keygen(args[1:], stdout, stderr)
	case "help", "-h", "-help", "--help":
		fmt.Fprint(stdout, usage)
		return nil
	}
	return usageErrorf("unknown subcommand %q; want serve, keygen or help", args[0])
}

// parseFlags parses args with fs. A bad flag is a [usageError]; -h is
// flag.ErrHelp, which subcommands report as success once fs has printed its
// usage.
func parseFlags(fs *flag.FlagSet, args []string) error {
	err := fs.Parse(args)
	if err != nil && !errors.Is(err, flag.ErrHelp) {
		return usageError{fmt.Errorf("%s: %w", fs.Name(), err)}
	}
	return err
}
