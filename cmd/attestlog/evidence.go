package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"

	"github.com/attestlog/attestlog/client/forensics"
	"github.com/attestlog/attestlog/client/report"
	"github.com/attestlog/attestlog/cmd/attestlog/internal/progress"
	"github.com/attestlog/attestlog/cmd/attestlog/internal/usage"
)

// evidenceConfig is the command line of evidence pull.
type evidenceConfig struct {
	log  logFlags
	ref  forensics.Ref
	out  string
	diff bool
}

func parseEvidenceFlags(args []string, stderr io.Writer) (c evidenceConfig, err error) {
	fs := flag.NewFlagSet("evidence pull", flag.ContinueOnError)
	fs.SetOutput(stderr)
	usage.Set(fs) // before "evidence -h", which does not reach parseFlags
	c.log.register(fs)
	fs.StringVar(&c.out, "o", "", "write the evidence to `dir`ectory; required")
	fs.BoolVar(&c.diff, "diff", false, "compare the two binaries: with diffoscope if it is in PATH, else the first differing byte")
	if len(args) == 0 || args[0] != "pull" {
		if len(args) > 0 && (args[0] == "-h" || args[0] == "-help" || args[0] == "--help") {
			fs.Usage()
			return c, flag.ErrHelp
		}
		return c, usage.Errorf("evidence: want \"evidence pull ID -o DIR\"")
	}
	pos, err := usage.ParseArgs(fs, args[1:])
	switch {
	case err != nil:
		return c, err
	case len(pos) != 1:
		return c, usage.Errorf("evidence pull: want one mismatch ID, got %d arguments", len(pos))
	}
	if c.ref, err = forensics.ParseRef(pos[0]); err != nil {
		return c, usage.Errorf("evidence pull: %v", err)
	}
	if c.out == "" {
		return c, usage.Errorf("evidence pull: -o DIR is required")
	}
	return c, nil
}

// evidence pulls a mismatch with its claims, proofs and binaries into a
// directory, verifying everything on the way (package client/forensics).
func evidence(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	c, err := parseEvidenceFlags(args, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return nil
	} else if err != nil {
		return err
	}
	lc, err := c.log.dial()
	if err != nil {
		return err
	}
	defer lc.Close()
	pm, err := lc.src.GetMismatch(ctx, c.ref, lc.verifier)
	if err != nil {
		return err
	}
	m, claims := pm.Mismatch, report.Count(len(pm.Claims), "claim", "claims")
	report.PrintMismatchHeader(stdout, m)
	fmt.Fprintf(stdout, "%s, proofs verified against %s\n", claims, report.TermSafe(report.CheckpointStatus(pm.Checkpoint, pm.Verified)))
	if err := forensics.Write(c.out, m, pm.Note, pm.Claims); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "wrote %s: mismatch.json, checkpoint and %s with proofs\n", report.TermSafe(c.out), claims)
	p := forensics.Puller{Source: lc.src, Out: stdout, Warn: stderr, Progress: func(name string, size int64) (io.Writer, func()) {
		bar := progress.New(stderr, "downloading", name, size)
		return &progress.Writer{Bar: bar}, bar.Clear
	}}
	bins, pullErr := p.Pull(ctx, c.out, m) // a failed binary does not stop the others; its error comes last
	switch {
	case !c.diff:
		return pullErr
	case len(bins) != 2:
		fmt.Fprintf(stderr, "attestlog: not diffing: %d binaries pulled, --diff compares exactly 2\n", len(bins))
		return pullErr
	}
	return errors.Join(forensics.Diff(ctx, bins[0], bins[1], stdout, stderr), pullErr)
}
