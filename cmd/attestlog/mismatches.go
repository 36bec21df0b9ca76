package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"

	"github.com/attestlog/attestlog/client"
	"github.com/attestlog/attestlog/client/grpcsource"
	"github.com/attestlog/attestlog/client/report"
	"github.com/attestlog/attestlog/cmd/attestlog/internal/usage"
	"github.com/attestlog/attestlog/log/claim/record"
	pb "github.com/attestlog/attestlog/proto/attestlog/v1"
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
		recs, err := lc.mismatchClaims(ctx, m)
		if err != nil {
			fmt.Fprintf(stderr, "attestlog: mismatch %s: its claims are not shown: %s\n", report.TermSafe(m.ID), report.TermSafe(err.Error()))
		}
		report.PrintMismatchClaims(stdout, m, recs)
	}
	fmt.Fprintf(stdout, "%s; the list is not signed: \"attestlog evidence pull ID\" fetches one with verified claims and proofs\n", report.Count(len(ms), "mismatch", "mismatches"))
	return nil
}

// mismatchClaims looks up the claims about a mismatch's build and returns
// what each says, by index, verified against the log's checkpoint, so that
// the list can name each claim's kind, scheme and signers.
func (lc *logClient) mismatchClaims(ctx context.Context, m report.Mismatch) (map[int64]*record.Record, error) {
	resp, err := lc.LookupBySource(ctx, &pb.LookupBySourceRequest{SourceUri: m.Source, Commit: m.Commit, Platform: m.Platform})
	if err != nil {
		return nil, fmt.Errorf("looking up its build: %w", err)
	}
	cp, _, err := client.ReadCheckpoint(resp.GetCheckpoint(), lc.verifier)
	if err != nil {
		return nil, err
	}
	vcs, err := grpcsource.VerifyProvenClaims(cp, resp.GetClaims())
	if err != nil {
		return nil, fmt.Errorf("the log's answer does not verify: %w", err)
	}
	recs := map[int64]*record.Record{}
	for _, vc := range vcs {
		r, err := record.Decode(vc.Entry)
		if err != nil {
			return nil, fmt.Errorf("claim at index %d: %w", vc.Index, err)
		}
		recs[vc.Index] = r
	}
	return recs, nil
}
