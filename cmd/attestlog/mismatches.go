package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"

	"github.com/attestlog/attestlog/client/report"
	"github.com/attestlog/attestlog/cmd/attestlog/internal/usage"
)

// mismatches lists every mismatch the log has recorded.
func mismatches(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var lf logFlags
	fs := flag.NewFlagSet("mismatches", flag.ContinueOnError)
	fs.SetOutput(stderr)
	lf.registerAddr(fs)
	asJSON := fs.Bool("json", false, "print a JSON array of the mismatches")
	pos, err := usage.ParseArgs(fs, args)
	if errors.Is(err, flag.ErrHelp) {
		return nil
	} else if err != nil {
		return err
	}
	if len(pos) > 0 {
		return usage.Errorf("mismatches: unexpected argument %q", pos[0])
	}
	lc, err := lf.dial()
	if err != nil {
		return err
	}
	defer lc.Close()
	ms, err := lc.src.ListMismatches(ctx)
	if err != nil {
		return err
	}
	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(ms)
	}
	if len(ms) == 0 {
		fmt.Fprintln(stdout, "no mismatches: the log lists no build whose claims name different digests (the list is not signed)")
		return nil
	}
	for _, m := range ms {
		recs, err := lc.src.BuildClaims(ctx, m, lc.verifier)
		if err != nil {
			fmt.Fprintf(stderr, "attestlog: mismatch %s: its claims are not shown: %s\n", report.TermSafe(m.ID), report.TermSafe(err.Error()))
		}
		report.PrintMismatchClaims(stdout, m, recs)
	}
	fmt.Fprintf(stdout, "%s; the list is not signed: \"attestlog evidence pull ID\" fetches one with verified claims and proofs\n", report.Count(len(ms), "mismatch", "mismatches"))
	return nil
}
