package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"slices"

	"github.com/attestlog/attestlog/cmd/attestlog/internal/loadgen"
	"github.com/attestlog/attestlog/cmd/attestlog/internal/usage"
)

// bench drives a running log over gRPC and reports throughput and latency
// (package internal/loadgen).
func bench(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var c loadgen.Config
	var lf logFlags
	flags := flag.NewFlagSet("bench", flag.ContinueOnError)
	flags.SetOutput(stderr)
	lf.registerAddr(flags)
	flags.StringVar(&c.Mode, "mode", "add", "what to measure: add (AddClaim), lookup (LookupByDigest) or proof (GetInclusionProof)")
	flags.IntVar(&c.Builders, "builders", 64, "concurrent builders, each with its own key and connection stream")
	flags.IntVar(&c.Requests, "requests", 20000, "requests in all")
	conns := flags.Int("conns", 4, "gRPC connections shared by the builders")
	flags.DurationVar(&c.Duration, "duration", 0, "add mode: append fresh claims for this long (a soak), in rounds of --requests claims signed before each round; p50 is averaged over rounds, p99 and max are the worst round's")
	flags.IntVar(&c.Agree, "agree", 1, "add mode: builders attesting each build (K consecutive claims name one source commit and artifact, signed by K different builders, as a release's rebuilders do); 1 makes every claim its own build, the worst case for the verifiable index")
	asJSON := flags.Bool("json", false, "print the report as JSON")
	if err := usage.Parse(flags, args); errors.Is(err, flag.ErrHelp) {
		return nil
	} else if err != nil {
		return err
	}
	switch {
	case flags.NArg() > 0:
		return usage.Errorf("bench: unexpected argument %q", flags.Arg(0))
	case !slices.Contains(loadgen.Modes, c.Mode):
		return usage.Errorf("bench: --mode %q, want add, lookup or proof", c.Mode)
	case c.Builders < 1 || c.Requests < 1 || *conns < 1:
		return usage.Errorf("bench: --builders, --requests and --conns must be positive")
	case c.Agree < 1 || c.Agree > c.Builders:
		return usage.Errorf("bench: --agree %d, want 1 to --builders (%d): each build's claims come from different builders", c.Agree, c.Builders)
	}
	// --log may name several frontends of one log: each gets --conns
	// connections, and the builders take turns over all of them.
	clients, closeAll, err := loadgen.Dial(lf.addr, lf.ca, *conns)
	if err != nil {
		return fmt.Errorf("bench: %w", err)
	}
	defer closeAll()
	r, err := loadgen.Run(ctx, c, clients)
	if err != nil {
		return err
	}
	if *asJSON {
		return json.NewEncoder(stdout).Encode(r)
	}
	r.Print(stdout)
	return nil
}
