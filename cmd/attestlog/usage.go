package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"strings"
)

// A command is one subcommand, for the usage page and every -h.
type command struct {
	name     string
	synopsis []string // usage lines after "attestlog "
	summary  string   // one line for the usage page
	more     string   // printed after the flags of -h, if any
}

// commands lists every subcommand in the order of the usage page.
var commands = []command{
	{name: "serve", summary: "run the log: tlog-tiles HTTP API, gRPC claims API, binary archive",
		synopsis: []string{"serve [--data DIR] [--http ADDR] [--grpc ADDR] [--origin ORIGIN] [--policy FILE] [--witness-tls-ca FILE]\n" +
			"\t\t[--builders FILE] [--rate N] [--builder-rate N] [--max-artifact-size BYTES] [--max-claim-bytes BYTES]\n" +
			"\t\t[--max-upload-bytes BYTES] [--upload-idle-timeout D] [--tls-cert FILE --tls-key FILE] [--pprof ADDR] [--log-level LEVEL]"}},
	{name: "witness", summary: "run a c2sp.org/tlog-witness witness that cosigns logs' checkpoints",
		synopsis: []string{"witness --logs FILE [--data DIR] [--http ADDR] [--name NAME] [--max-evidence N] [--refresh-interval D]\n" +
			"\t\t[--tls-cert FILE --tls-key FILE] [--log-level LEVEL]"}},
	{name: "migrate", summary: "copy a bbolt log into PostgreSQL (and S3 buckets), resumably, and check the copy",
		synopsis: []string{"migrate --data DIR --store URL [--objects URL [--archive-no-lock] [--public-url URL]] [--batch N] [--log-level LEVEL]"}},
	{name: "keygen", summary: "make a signed-note key pair for a builder",
		synopsis: []string{"keygen [-o PREFIX] NAME"}},
	{name: "attest", summary: "sign a build claim about artifacts built from a git checkout",
		synopsis: []string{"attest --recipe FILE|sha256:HEX --key PREFIX.key [--vkey FILE] [--dir DIR] [--commit C] [--source URI]\n" +
			"\t\t[--platform P] [--builder-id URI] [--ref REF] [--allow-dirty] [-o FILE] FILE..."}},
	{name: "submit", summary: "append claims to the log, save their receipts, upload binaries",
		synopsis: []string{"submit [--log ADDR] [--tls-ca FILE] [--log-vkey FILE|VKEY] [--retries N] [--retry-time D] [--artifact FILE]... CLAIM..."}},
	{name: "receipt", summary: "check a receipt that submit saved, offline",
		synopsis: []string{"receipt --log-vkey FILE|VKEY RECEIPT..."}},
	{name: "lookup", summary: "show the verified claims about a file, a digest or a source commit",
		synopsis: []string{"lookup [--log ADDR] [--tls-ca FILE] [--log-vkey FILE|VKEY] [--json] (FILE | --digest HEX | --source URI --commit C [--platform P])"}},
	{name: "mismatches", summary: "list the builds whose claims disagree",
		synopsis: []string{"mismatches [--log ADDR] [--tls-ca FILE] [--json]"}},
	{name: "evidence", summary: "pull a mismatch's claims, proofs and binaries into a directory",
		synopsis: []string{"evidence pull [--log ADDR] [--tls-ca FILE] [--log-vkey FILE|VKEY] ID -o DIR [--diff]"}},
	{name: "verify", summary: "decide whether the builders you trust agree on a binary",
		synopsis: []string{"verify --policy FILE [--log ADDR | --bundle FILE] [--tls-ca FILE] [--require NAME]... [-k N] [--state DIR]\n" +
			"\t\t[--max-age D] [--json] (FILE | --digest HEX)",
			"verify --policy FILE --evidence FILE"},
		more: "exit status: 0 trusted; else the sum of 1 no claims, 2 builder quorum not met, 4 conflict by a trusted builder,\n" +
			"8 proof, signature or checkpoint failure; 16 could not verify (usage, unreadable file or policy, log unreachable)"},
	{name: "bundle", summary: "write what verify needs offline: claims, proofs, checkpoint",
		synopsis: []string{"bundle [--log ADDR] [--tls-ca FILE] (--policy FILE | --unverified) [--state DIR] (FILE | DIGEST) -o OUT"},
		more:     "exit status: 0 written; with --policy, the verdict's bits if the bundle does not verify (nothing written); 16 could not bundle"},
	{name: "monitor", summary: "follow the log and check every entry and the log's answers",
		synopsis: []string{"monitor --policy FILE [--log ADDR] [--tls-ca FILE] [--http URL] [--state DIR] [--once] [--interval D] [--max-age D]\n" +
			"\t\t[--exec CMD] [--json] [-v]"},
		more: "exit status: 0 nothing found; 8 the log misbehaved (findings printed); 16 could not monitor"},
	{name: "bench", summary: "measure a running log's throughput and latency",
		synopsis: []string{"bench [--log ADDR] [--tls-ca FILE] [--mode add|lookup|proof] [--builders N] [--requests N] [--conns N] [--duration D] [--json]"}},
	{name: "demo", summary: "tell the whole story in a few seconds, on loopback",
		synopsis: []string{"demo [--verbose] [--keep]"}},
	{name: "version", summary: "print the version, commit and Go version of this binary",
		synopsis: []string{"version"}},
	{name: "help", summary: "print this page, or a command's usage and flags",
		synopsis: []string{"help [COMMAND]"}},
}

// subcommands lists the subcommands for usage errors.
var subcommands = func() string {
	names := make([]string, len(commands))
	for i, c := range commands {
		names[i] = c.name
	}
	return strings.Join(names[:len(names)-1], ", ") + " or " + names[len(names)-1]
}()

// lookupCommand returns the command named name, if there is one.
func lookupCommand(name string) (command, bool) {
	for _, c := range commands {
		if c.name == name {
			return c, true
		}
	}
	return command{}, false
}

// printUsage prints the usage page: every command with one line.
func printUsage(w io.Writer) {
	fmt.Fprint(w, "attestlog: a transparency log for reproducible-build attestations\n\nusage: attestlog COMMAND [flags] [arguments]\n\ncommands:\n")
	for _, c := range commands {
		fmt.Fprintf(w, "  %-11s %s\n", c.name, c.summary)
	}
	fmt.Fprint(w, "\nRun \"attestlog help COMMAND\" (or \"attestlog COMMAND -h\") for a command's usage and flags.\n"+
		"Every flag of serve and witness, and --log, --tls-ca, --log-vkey, --policy and --state, fall back to an\n"+
		"ATTESTLOG_* environment variable, named in the flag's description.\n")
}

// help prints the usage page, or with a command name that command's usage
// and flags, to w.
func help(ctx context.Context, args []string, w io.Writer) error {
	switch len(args) {
	case 0:
		printUsage(w)
		return nil
	case 1:
		if args[0] == "help" {
			printCommandUsage(w, commands[len(commands)-1], nil)
			return nil
		}
		if _, ok := lookupCommand(args[0]); !ok {
			return usageErrorf("help: unknown command %q; want %s", args[0], subcommands)
		}
		// The command prints its own usage, with its flags, for -h.
		return run(ctx, []string{args[0], "-h"}, w, w)
	}
	return usageErrorf("help: want at most one COMMAND, got %d arguments", len(args))
}

// setUsage makes fs's -h print the usage of its command, in one style for
// every command: the usage lines, then each flag as the README writes it
// (--flag VALUE, -o FILE), its description and default.
func setUsage(fs *flag.FlagSet) {
	name, _, _ := strings.Cut(fs.Name(), " ") // "evidence pull"
	c, _ := lookupCommand(name)
	fs.Usage = func() { printCommandUsage(fs.Output(), c, fs) }
}

// printCommandUsage prints c's usage lines, fs's flags (if fs is not nil)
// and c.more.
func printCommandUsage(w io.Writer, c command, fs *flag.FlagSet) {
	for i, s := range c.synopsis {
		prefix := "usage: "
		if i > 0 {
			prefix = "       "
		}
		fmt.Fprintf(w, "%sattestlog %s\n", prefix, s)
	}
	fmt.Fprintf(w, "\n%s.\n", upperFirst(c.summary))
	if fs != nil {
		n := 0
		fs.VisitAll(func(f *flag.Flag) {
			if n == 0 {
				fmt.Fprint(w, "\nflags:\n")
			}
			n++
			printFlag(w, f)
		})
	}
	if c.more != "" {
		fmt.Fprintf(w, "\n%s\n", c.more)
	}
}

// printFlag prints one flag: "  --name VALUE" (or "-o VALUE" for a one
// letter name), then its description and default on the next line.
func printFlag(w io.Writer, f *flag.Flag) {
	dash := "--"
	if len(f.Name) == 1 {
		dash = "-"
	}
	value, usage := flag.UnquoteUsage(f)
	switch value { // a type name where the description names no value
	case "int", "uint", "float":
		value = "N"
	case "duration":
		value = "D"
	case "string", "value":
		value = "VALUE"
	}
	line := "  " + dash + f.Name
	if value != "" {
		line += " " + strings.ToUpper(value)
	}
	if !isZeroDefault(f.DefValue) {
		usage += " (default " + f.DefValue + ")"
	}
	fmt.Fprintf(w, "%s\n    \t%s\n", line, strings.ReplaceAll(usage, "\n", "\n    \t"))
}

// isZeroDefault reports whether a flag's default is its type's zero value,
// which -h leaves out.
func isZeroDefault(v string) bool {
	switch v {
	case "", "false", "0", "0s", "[]":
		return true
	}
	return false
}

func upperFirst(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}
