// Command attestlog runs an attestation transparency log: a tiled Merkle
// log (c2sp.org/tlog-tiles) whose checkpoints (c2sp.org/tlog-checkpoint) are
// signed notes (c2sp.org/signed-note), its witnesses, and its clients:
//
//	attestlog COMMAND [flags] [arguments]
//
// "attestlog help" lists the commands (serve, witness, migrate, keygen,
// attest, submit, receipt, lookup, mismatches, evidence, verify, bundle,
// monitor, bench, demo, version, help). The reference of every command
// (flags, environment variables, endpoints, files and exit statuses) is the
// documentation of package internal/usage: run "go doc
// ./cmd/attestlog/internal/usage". Main parses each command's flags into
// the Config of the package that does the work, and wires them.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/attestlog/attestlog/cmd/attestlog/internal/usage"
)

// An exitError makes main exit with its code: verify's verdict bits, or
// exitOperational. main prints err, if not nil; a verdict was printed already.
type exitError struct {
	code int
	err  error
}

func (e exitError) Error() string {
	if e.err == nil {
		return fmt.Sprintf("exit status %d", e.code)
	}
	return e.err.Error()
}

func (e exitError) Unwrap() error { return e.err }

// exitCode maps run's error to main's exit status: the one place that does.
func exitCode(err error) int {
	var ee exitError
	switch {
	case err == nil:
		return 0
	case errors.As(err, &ee):
		return ee.code
	case errors.As(err, new(usage.Error)):
		return 2
	}
	return 1
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	if err != nil {
		var ee exitError
		if !errors.As(err, &ee) || ee.err != nil {
			usage.PrintError(os.Stderr, err)
		}
		os.Exit(exitCode(err))
	}
}

// run runs the subcommand named by args[0]. It returns when the subcommand
// is done, for serve when ctx is done and everything has shut down.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		usage.PrintPage(stderr)
		return usage.Errorf("no subcommand; want %s", usage.Subcommands)
	}
	switch args[0] {
	case "serve":
		return serve(ctx, args[1:], stdout, stderr)
	case "keygen":
		return keygen(args[1:], stdout, stderr)
	case "migrate":
		return migrateCmd(ctx, args[1:], stdout, stderr)
	case "bench":
		return bench(ctx, args[1:], stdout, stderr)
	case "witness":
		return serveWitness(ctx, args[1:], stdout, stderr)
	case "attest":
		return attest(ctx, args[1:], stdout, stderr)
	case "submit":
		return submit(ctx, args[1:], stdout, stderr)
	case "receipt":
		return receiptCmd(args[1:], stdout, stderr)
	case "lookup":
		return lookup(ctx, args[1:], stdout, stderr)
	case "mismatches":
		return mismatches(ctx, args[1:], stdout, stderr)
	case "evidence":
		return evidence(ctx, args[1:], stdout, stderr)
	case "verify":
		return verify(ctx, args[1:], stdout, stderr)
	case "bundle":
		return makeBundle(ctx, args[1:], stdout, stderr)
	case "monitor":
		return monitor(ctx, args[1:], stdout, stderr)
	case "demo":
		return demo(ctx, args[1:], stdout, stderr)
	case "version", "-version", "--version":
		usage.PrintVersion(stdout)
		return nil
	case "help", "-h", "-help", "--help":
		// The command prints its own usage, with its flags, for -h.
		return usage.Help(stdout, args[1:], func(name string) error { return run(ctx, []string{name, "-h"}, stdout, stdout) })
	}
	return usage.Errorf("unknown subcommand %q; want %s", args[0], usage.Subcommands)
}
