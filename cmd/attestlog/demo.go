package main

import (
	"context"
	"errors"
	"flag"
	"io"

	demorun "github.com/attestlog/attestlog/cmd/attestlog/internal/demo"
)

// demoConfig is the command line of demo.
type demoConfig struct {
	verbose bool // server logs on stderr
	keep    bool // keep the directory
}

func parseDemoFlags(args []string, stderr io.Writer) (demoConfig, error) {
	var c demoConfig
	fs := flag.NewFlagSet("demo", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.BoolVar(&c.verbose, "verbose", false, "show the servers' logs on standard error")
	fs.BoolVar(&c.keep, "keep", false, "keep the demo's directory (keys, binaries, claims, evidence) instead of removing it")
	if err := parseFlags(fs, args); err != nil {
		return c, err
	}
	if fs.NArg() > 0 {
		return c, usageErrorf("demo: unexpected argument %q", fs.Arg(0))
	}
	return c, nil
}

// demo tells attestlog's whole story on loopback, in a temporary directory
// (package internal/demo), running this binary's subcommands in-process.
func demo(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	c, err := parseDemoFlags(args, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return nil
	} else if err != nil {
		return err
	}
	return demorun.Run(ctx, demorun.Config{Run: run, Stdout: stdout, Stderr: stderr, Verbose: c.verbose, Keep: c.keep})
}
