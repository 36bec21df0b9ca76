package usage

import (
	"flag"
	"fmt"
	"io"
	"strings"
)

// A Command is one subcommand, for the usage page and every -h.
type Command struct {
	Name     string
	Synopsis []string // usage lines after "attestlog "
	Summary  string   // one line for the usage page
	More     string   // printed after the flags of -h, if any
}

// Commands lists every subcommand in the order of the usage page.
var Commands = []Command{
	{Name: "serve", Summary: "run the log: tlog-tiles HTTP API, gRPC claims API, binary archive",
		Synopsis: []string{"serve [--data DIR] [--http ADDR] [--grpc ADDR] [--origin ORIGIN] [--policy FILE] [--witness-tls-ca FILE]\n" +
			"\t\t[--store URL] [--objects URL [--archive-no-lock]] [--index-entries N] [--index-age D] [--batch-linger D]\n" +
			"\t\t[--builders FILE] [--rate N] [--builder-rate N] [--max-artifact-size BYTES] [--max-claim-bytes BYTES] [--memory-limit BYTES]\n" +
			"\t\t[--max-upload-bytes BYTES] [--upload-idle-timeout D] [--tls-cert FILE --tls-key FILE] [--pprof ADDR] [--log-level LEVEL]"}},
	{Name: "witness", Summary: "run a c2sp.org/tlog-witness witness that cosigns logs' checkpoints",
		Synopsis: []string{"witness --logs FILE [--data DIR] [--http ADDR] [--name NAME] [--max-evidence N] [--refresh-interval D]\n" +
			"\t\t[--tls-cert FILE --tls-key FILE] [--log-level LEVEL]"}},
	{Name: "migrate", Summary: "copy a bbolt log into PostgreSQL (and S3 buckets), resumably, and check the copy",
		Synopsis: []string{"migrate --data DIR --store URL [--objects URL [--archive-no-lock] [--public-url URL]] [--batch N] [--log-level LEVEL]"}},
	{Name: "keygen", Summary: "make a signed-note key pair for a builder",
		Synopsis: []string{"keygen [-o PREFIX] NAME"}},
	{Name: "attest", Summary: "sign a build claim about artifacts built from a git checkout",
		Synopsis: []string{"attest --recipe FILE|sha256:HEX --key PREFIX.key [--vkey FILE] [--dir DIR] [--commit C] [--source URI]\n" +
			"\t\t[--platform P] [--builder-id URI] [--ref REF] [--allow-dirty] [-o FILE] FILE..."}},
	{Name: "submit", Summary: "append claims to the log, save their receipts, upload binaries",
		Synopsis: []string{"submit [--log ADDR] [--tls-ca FILE] [--log-vkey FILE|VKEY] [--retries N] [--retry-time D] [--artifact FILE]... CLAIM...",
			"submit [--log ADDR] ... --format sha256sums|buildinfo|minisign|link|dsse [--signed FILE] [--signature FILE]\n" +
				"\t\t--key SCHEME:KEY|SCHEME:@FILE... [--annotate source=URI commit=HASH recipe=SHA256]... [--artifact FILE]..."}},
	{Name: "receipt", Summary: "check a receipt that submit saved, offline",
		Synopsis: []string{"receipt --log-vkey FILE|VKEY RECEIPT..."}},
	{Name: "lookup", Summary: "show the verified claims about a file, a digest or a source commit",
		Synopsis: []string{"lookup [--log ADDR] [--tls-ca FILE] [--log-vkey FILE|VKEY] [--json]\n" +
			"\t\t(FILE | --digest HEX | --source URI --commit C [--platform P] | --source deb:NAME@VERSION | --name FILE-NAME)"}},
	{Name: "mismatches", Summary: "list the builds whose claims disagree",
		Synopsis: []string{"mismatches [--log ADDR] [--tls-ca FILE] [--json]"}},
	{Name: "evidence", Summary: "pull a mismatch's claims, proofs and binaries into a directory",
		Synopsis: []string{"evidence pull [--log ADDR] [--tls-ca FILE] [--log-vkey FILE|VKEY] ID -o DIR [--diff]"}},
	{Name: "verify", Summary: "decide whether the builders you trust agree on a binary",
		Synopsis: []string{"verify --policy FILE [--log ADDR | --bundle FILE] [--tls-ca FILE] [--require NAME]... [-k N] [--state DIR]\n" +
			"\t\t[--max-age D] [--json] (FILE | --digest HEX)",
			"verify --policy FILE --evidence FILE"},
		More: "exit status: 0 trusted; else the sum of 1 no claims, 2 builder quorum not met, 4 conflict by a trusted builder,\n" +
			"8 proof, signature or checkpoint failure; 16 could not verify (usage, unreadable file or policy, log unreachable)"},
	{Name: "bundle", Summary: "write what verify needs offline: claims, proofs, checkpoint",
		Synopsis: []string{"bundle [--log ADDR] [--tls-ca FILE] (--policy FILE | --unverified) [--state DIR] (FILE | DIGEST) -o OUT"},
		More:     "exit status: 0 written; with --policy, the verdict's bits if the bundle does not verify (nothing written); 16 could not bundle"},
	{Name: "monitor", Summary: "follow the log and check every entry and the log's answers",
		Synopsis: []string{"monitor --policy FILE [--log ADDR] [--tls-ca FILE] [--http URL] [--state DIR] [--once] [--interval D] [--max-age D]\n" +
			"\t\t[--exec CMD] [--json] [-v]"},
		More: "exit status: 0 nothing found; 8 the log misbehaved (findings printed); 16 could not monitor"},
	{Name: "bench", Summary: "measure a running log's throughput and latency",
		Synopsis: []string{"bench [--log ADDR] [--tls-ca FILE] [--mode add|lookup|proof] [--builders N] [--requests N] [--conns N] [--duration D] [--agree K] [--json]"}},
	{Name: "demo", Summary: "tell the whole story in a few seconds, on loopback",
		Synopsis: []string{"demo [--verbose] [--keep]"}},
	{Name: "version", Summary: "print the version, commit and Go version of this binary",
		Synopsis: []string{"version"}},
	{Name: "help", Summary: "print this page, or a command's usage and flags",
		Synopsis: []string{"help [COMMAND]"}},
}

// Subcommands lists the subcommands for usage errors.
var Subcommands = func() string {
	names := make([]string, len(Commands))
	for i, c := range Commands {
		names[i] = c.Name
	}
	return strings.Join(names[:len(names)-1], ", ") + " or " + names[len(names)-1]
}()

// Lookup returns the command named name, if there is one.
func Lookup(name string) (Command, bool) {
	for _, c := range Commands {
		if c.Name == name {
			return c, true
		}
	}
	return Command{}, false
}

// PrintPage prints the usage page: every command with one line.
func PrintPage(w io.Writer) {
	fmt.Fprint(w, "attestlog: a transparency log for reproducible-build attestations\n\nusage: attestlog COMMAND [flags] [arguments]\n\ncommands:\n")
	for _, c := range Commands {
		fmt.Fprintf(w, "  %-11s %s\n", c.Name, c.Summary)
	}
	fmt.Fprint(w, "\nRun \"attestlog help COMMAND\" (or \"attestlog COMMAND -h\") for a command's usage and flags.\n"+
		"Every flag of serve and witness, and --log, --tls-ca, --log-vkey, --policy and --state, fall back to an\n"+
		"ATTESTLOG_* environment variable, named in the flag's description.\n")
}

// Set makes fs's -h print the usage of its command, in one style for
// every command: the usage lines, then each flag as the README writes it
// (--flag VALUE, -o FILE), its description and default.
func Set(fs *flag.FlagSet) {
	name, _, _ := strings.Cut(fs.Name(), " ") // "evidence pull"
	c, _ := Lookup(name)
	fs.Usage = func() { PrintCommand(fs.Output(), c, fs) }
}

// PrintCommand prints c's usage lines, fs's flags (if fs is not nil)
// and c.more.
func PrintCommand(w io.Writer, c Command, fs *flag.FlagSet) {
	for i, s := range c.Synopsis {
		prefix := "usage: "
		if i > 0 {
			prefix = "       "
		}
		fmt.Fprintf(w, "%sattestlog %s\n", prefix, s)
	}
	fmt.Fprintf(w, "\n%s.\n", upperFirst(c.Summary))
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
	if c.More != "" {
		fmt.Fprintf(w, "\n%s\n", c.More)
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
