// Command attestlog runs an attestation transparency log: a tiled Merkle
// log (c2sp.org/tlog-tiles) whose checkpoints (c2sp.org/tlog-checkpoint) are
// signed notes (c2sp.org/signed-note).
//
// Usage:
//
//	attestlog serve [flags]
//	attestlog keygen [-o PREFIX] NAME
//	attestlog witness --logs FILE [flags]
//	attestlog attest --recipe FILE|sha256:HEX --key PREFIX.key [flags] FILE...
//	attestlog submit [flags] CLAIM...
//	attestlog lookup [flags] (FILE | --digest HEX | --source URI --commit C)
//	attestlog mismatches [--log ADDR] [--json]
//	attestlog evidence pull [flags] ID -o DIR [--diff]
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
//
// # attest
//
// Attest, run in the git checkout a build came from, hashes the artifact
// FILEs (sha256; each a subject named by its basename) and writes a build
// claim, a DSSE envelope signed by the builder's key, to -o FILE or
// standard output:
//
//	--recipe FILE|sha256:HEX  required: what fixes the build (lock file, buildinfo, build script, OCI digest)
//	--key PREFIX.key          required (env ATTESTLOG_BUILDER_KEY): a key written by keygen
//	--vkey FILE               its verifier key; default PREFIX.vkey
//	--dir DIR                 the checkout; default "."
//	--commit C                full commit hash; default git rev-parse HEAD
//	--source URI              default git remote get-url origin: https://host/path,
//	                          git@host:path and ssh://git@host/path become git+https://host/path
//	--platform P              os/arch[/variant] or any; default the running platform
//	--builder-id URI          default https://attestlog.dev/builders/<key name>
//	--ref REF                 annotation; default HEAD's branch or exact tag; empty omits it
//
// # submit, lookup, mismatches, evidence
//
// These talk to a log's gRPC API: --log ADDR (env ATTESTLOG_LOG_GRPC,
// default 127.0.0.1:7381), in plaintext. With --log-vkey FILE|VKEY (env
// ATTESTLOG_LOG_VKEY) they verify the log's signature on every checkpoint;
// inclusion proofs and claim signatures are verified always, and any
// failure is an error.
//
// Submit appends each CLAIM and saves its receipt as CLAIM.receipt.json:
//
//	{"index": N, "tree_size": N, "entry": "<base64>", "inclusion_proof": ["<base64>", ...], "checkpoint": "<signed note>"}
//
// then uploads each --artifact FILE (repeatable), whose digest a submitted
// claim must name. Lookup prints the verified claims about a FILE, a
// --digest, or a --source and --commit (optionally one --platform), as a
// table or --json. Mismatches lists every build for which claims name
// different digests. Evidence pull verifies one mismatch's claims and
// writes, under DIR:
//
//	mismatch.json                      the mismatch
//	checkpoint                         the checkpoint the proofs are against
//	claims/<index>.entry               each claim's entry as logged
//	claims/<index>.proof.json          {"index", "tree_size", "inclusion_proof"}
//	artifacts/<sha256>/<artifact>      each archived binary, its digest verified
//
// With --diff it compares the two binaries with diffoscope if it is in
// PATH, else reports their sizes and first differing byte.
//
// # witness
//
// Witness runs a c2sp.org/tlog-witness witness, which cosigns the
// checkpoints of the logs listed in the logs file, until SIGINT or SIGTERM.
// Flags fall back to environment variables, and then to defaults:
//
//	--data DIR        ATTESTLOG_WITNESS_DATA       ./attestlog-witness  state directory, created 0700
//	--http ADDR       ATTESTLOG_WITNESS_HTTP       127.0.0.1:7390       HTTP listen address
//	--name NAME       ATTESTLOG_WITNESS_NAME       localhost/witness    witness name, the name of its key
//	--logs FILE       ATTESTLOG_WITNESS_LOGS       (required)           trusted logs
//	--log-level LEVEL ATTESTLOG_WITNESS_LOG_LEVEL  info                 debug, info, warn or error
//
// The logs file has one line per trusted log key, '#' comments and blank
// lines; the origin is the key's name, and the optional number is the log's
// budget of add-checkpoint requests per day (see witness.ParseLogs):
//
//	log <signed-note Ed25519 vkey> [<requests per day>]
//
// Witness prints its cosignature verifier key (type 0x04, for
// c2sp.org/tlog-cosignature verifiers) and the bound address:
//
//	witness vkey: <cosignature verifier key>
//	http listening on <addr>
//
// HTTP endpoints:
//
//	POST /add-checkpoint           c2sp.org/tlog-witness
//	GET  /<sha256 hex of origin>/checkpoint  latest cosigned checkpoint of a log
//	GET  /evidence[/<id>]          inconsistent checkpoints kept as evidence (JSON)
//	GET  /healthz                  liveness
//	GET  /metrics                  Prometheus metrics: attestlog_witness_*, go_*, process_*
//
// Files in the data directory:
//
//	witness.key   the witness's signed-note Ed25519 private key, named NAME;
//	              mode 0600. Generated on the first run (no witness.db);
//	              refused if readable by group or others or named other than --name.
//	witness.vkey  its cosignature verifier key, mode 0644; publish it to clients.
//	witness.db    the bbolt state: each log's latest cosigned checkpoint, the
//	              latest cosignature timestamp, and evidence.
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
	attestlog witness --logs FILE [--data DIR] [--http ADDR] [--name NAME] [--log-level LEVEL]
	attestlog attest --recipe FILE|sha256:HEX --key PREFIX.key [--dir DIR] [--commit C] [--source URI] [--platform P] [--ref REF] [-o FILE] FILE...
	attestlog submit [--log ADDR] [--log-vkey FILE|VKEY] [--artifact FILE]... CLAIM...
	attestlog lookup [--log ADDR] [--log-vkey FILE|VKEY] [--json] (FILE | --digest HEX | --source URI --commit C [--platform P])
	attestlog mismatches [--log ADDR] [--json]
	attestlog evidence pull [--log ADDR] [--log-vkey FILE|VKEY] ID -o DIR [--diff]
	attestlog help

Run "attestlog <subcommand> -h" for a subcommand's flags.
`

// subcommands lists the subcommands for usage errors.
const subcommands = "serve, witness, keygen, attest, submit, lookup, mismatches, evidence, bench or help"

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
		return usageErrorf("no subcommand; want %s", subcommands)
	}
	switch args[0] {
	case "serve":
		return serve(ctx, args[1:], stdout, stderr)
	case "keygen":
		return keygen(args[1:], stdout, stderr)
	case "bench":
		return bench(ctx, args[1:], stdout, stderr)
	case "witness":
		return serveWitness(ctx, args[1:], stdout, stderr)
	case "attest":
		return attest(ctx, args[1:], stdout, stderr)
	case "submit":
		return submit(ctx, args[1:], stdout, stderr)
	case "lookup":
		return lookup(ctx, args[1:], stdout, stderr)
	case "mismatches":
		return mismatches(ctx, args[1:], stdout, stderr)
	case "evidence":
		return evidence(ctx, args[1:], stdout, stderr)
	case "help", "-h", "-help", "--help":
		fmt.Fprint(stdout, usage)
		return nil
	}
	return usageErrorf("unknown subcommand %q; want %s", args[0], subcommands)
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
