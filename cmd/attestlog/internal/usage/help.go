package usage

import (
	"fmt"
	"io"
	"runtime"
	"runtime/debug"
)

// Help runs "attestlog help [COMMAND]": with no args it prints the usage
// page to w; with a command name it calls commandHelp, which runs that
// command with -h so that it prints its own usage and flags.
func Help(w io.Writer, args []string, commandHelp func(name string) error) error {
	switch len(args) {
	case 0:
		PrintPage(w)
		return nil
	case 1:
		if args[0] == "help" {
			PrintCommand(w, Commands[len(Commands)-1], nil)
			return nil
		}
		if _, ok := Lookup(args[0]); !ok {
			return Errorf("help: unknown command %q; want %s", args[0], Subcommands)
		}
		return commandHelp(args[0])
	}
	return Errorf("help: want at most one COMMAND, got %d arguments", len(args))
}

// PrintVersion prints what the binary was built from: the module version
// ("(devel)" for a build from a checkout), the VCS revision and commit time,
// whether the checkout had uncommitted changes, and the Go version.
func PrintVersion(w io.Writer) {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		fmt.Fprintf(w, "attestlog: no build information (built without module support); %s %s/%s\n", runtime.Version(), runtime.GOOS, runtime.GOARCH)
		return
	}
	fmt.Fprint(w, FormatVersion(bi))
}

// FormatVersion formats the build information of the binary:
//
//	attestlog v1.2.3
//	revision  0123456789abcdef0123456789abcdef01234567 (modified)
//	time      2026-01-02T03:04:05Z
//	go        go1.26.8 linux/amd64
func FormatVersion(bi *debug.BuildInfo) string {
	version := bi.Main.Version
	if version == "" {
		version = "(devel)"
	}
	s := fmt.Sprintf("attestlog %s\n", version)
	var rev, when, modified string
	for _, kv := range bi.Settings {
		switch kv.Key {
		case "vcs.revision":
			rev = kv.Value
		case "vcs.time":
			when = kv.Value
		case "vcs.modified":
			if kv.Value == "true" {
				modified = " (modified)"
			}
		}
	}
	if rev != "" {
		s += fmt.Sprintf("revision  %s%s\n", rev, modified)
	}
	if when != "" {
		s += fmt.Sprintf("time      %s\n", when)
	}
	return s + fmt.Sprintf("go        %s %s/%s\n", bi.GoVersion, runtime.GOOS, runtime.GOARCH)
}
