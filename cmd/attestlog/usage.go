package main

import (
	"context"
	"io"

	"github.com/attestlog/attestlog/cmd/attestlog/internal/usage"
)

// help prints the usage page, or with a command name that command's usage
// and flags, to w.
func help(ctx context.Context, args []string, w io.Writer) error {
	switch len(args) {
	case 0:
		usage.PrintPage(w)
		return nil
	case 1:
		if args[0] == "help" {
			usage.PrintCommand(w, usage.Commands[len(usage.Commands)-1], nil)
			return nil
		}
		if _, ok := usage.Lookup(args[0]); !ok {
			return usageErrorf("help: unknown command %q; want %s", args[0], usage.Subcommands)
		}
		// The command prints its own usage, with its flags, for -h.
		return run(ctx, []string{args[0], "-h"}, w, w)
	}
	return usageErrorf("help: want at most one COMMAND, got %d arguments", len(args))
}
