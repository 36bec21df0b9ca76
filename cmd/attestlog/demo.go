package main

import (
	"context"
	"errors"
	"flag"
	"io"

	demorun "github.com/attestlog/attestlog/cmd/attestlog/internal/demo"
	"github.com/attestlog/attestlog/cmd/attestlog/internal/usage"
)

// demo tells attestlog's whole story on loopback, in a temporary directory
// (package internal/demo), running this binary's subcommands in-process.
func demo(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	c := demorun.Config{Run: run, Stdout: stdout, Stderr: stderr}
	fs := flag.NewFlagSet("demo", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.BoolVar(&c.Verbose, "verbose", false, "show the servers' logs on standard error")
	fs.BoolVar(&c.Keep, "keep", false, "keep the demo's directory (keys, binaries, claims, evidence) instead of removing it")
	if err := usage.Parse(fs, args); errors.Is(err, flag.ErrHelp) {
		return nil
	} else if err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usage.Errorf("demo: unexpected argument %q", fs.Arg(0))
	}
	return demorun.Run(ctx, c)
}
