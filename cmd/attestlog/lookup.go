package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"

	"github.com/attestlog/attestlog/client"
	gitattest "github.com/attestlog/attestlog/client/attest"
	"github.com/attestlog/attestlog/client/grpcsource"
	"github.com/attestlog/attestlog/client/report"
	"github.com/attestlog/attestlog/cmd/attestlog/internal/usage"
	"github.com/attestlog/attestlog/log/claim"
	"github.com/attestlog/attestlog/log/claim/record"
)

// lookupConfig is the command line of lookup: exactly one of file, digest,
// source with commit (a deb: source without), or name.
type lookupConfig struct {
	client.ClaimQuery
	log  logFlags
	file string
	json bool
}

func parseLookupFlags(args []string, stderr io.Writer) (lookupConfig, error) {
	var c lookupConfig
	fs := flag.NewFlagSet("lookup", flag.ContinueOnError)
	fs.SetOutput(stderr)
	c.log.register(fs)
	fs.StringVar(&c.Digest, "digest", "", "look up claims naming this artifact sha256 `hex`")
	fs.StringVar(&c.Source, "source", "", "look up claims about this source repository `URI` (with --commit), or Debian source deb:NAME@VERSION (alone)")
	fs.StringVar(&c.Commit, "commit", "", "full commit `hash` (with --source)")
	fs.StringVar(&c.Name, "name", "", "look up the claims that name a release file `name` without a source (SHA256SUMS, links, minisign), whatever its digest")
	fs.StringVar(&c.Platform, "platform", "", "only claims for this `os/arch` (with --source)")
	fs.BoolVar(&c.json, "json", false, "print a JSON array of the claims, with every field")
	pos, err := usage.ParseArgs(fs, args)
	if err != nil {
		return c, err
	}
	if len(pos) > 1 {
		return c, usage.Errorf("lookup: want at most one FILE, got %d arguments", len(pos))
	}
	if len(pos) == 1 {
		c.file = pos[0]
	}
	return c, c.check()
}

// check validates the combination of flags and normalises their values.
func (c *lookupConfig) check() error {
	modes := 0
	for _, set := range []bool{c.file != "", c.Digest != "", c.Source != "" || c.Commit != "", c.Name != ""} {
		if set {
			modes++
		}
	}
	if modes != 1 {
		return usage.Errorf("lookup: give exactly one of FILE, --digest, --source with --commit (a deb: source alone), or --name")
	}
	if c.Platform != "" && c.Source == "" {
		return usage.Errorf("lookup: --platform needs --source")
	}
	var err error
	switch {
	case c.Digest != "":
		if c.Digest, err = claim.NormaliseDigest(c.Digest); err != nil {
			return usage.Errorf("lookup: --digest: %v", err)
		}
	case strings.HasPrefix(c.Source, "deb:"):
		if c.Source, c.Commit, err = record.NormaliseSourceCommit(c.Source, c.Commit); err != nil {
			return usage.Errorf("lookup: --source: %v", err)
		}
	case c.Source != "" || c.Commit != "":
		if c.Source == "" || c.Commit == "" {
			return usage.Errorf("lookup: --source and --commit go together (a deb:NAME@VERSION source takes no commit)")
		}
		if c.Source, err = gitattest.SourceURI(c.Source); err != nil {
			return usage.Errorf("lookup: --source: %v", err)
		}
		if c.Commit, err = claim.NormaliseCommit(c.Commit); err != nil {
			return usage.Errorf("lookup: --commit: %v", err)
		}
	case c.Name != "":
		if err := record.CheckName(c.Name); err != nil {
			return usage.Errorf("lookup: --name: %v", err)
		}
	}
	return nil
}

// lookup finds the claims about an artifact or a source commit, verifies
// them and prints them.
func lookup(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	c, err := parseLookupFlags(args, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return nil
	} else if err != nil {
		return err
	}
	if c.file != "" {
		if c.Digest, _, err = client.HashFile(c.file); err != nil {
			return err
		}
	}
	lc, err := c.log.dial()
	if err != nil {
		return err
	}
	defer lc.Close()
	resp, err := lc.src.LookupLatest(ctx, c.ClaimQuery)
	if err != nil {
		return err
	}
	cp, verified, err := client.ReadCheckpoint(resp.GetCheckpoint(), lc.verifier)
	if err != nil {
		return fmt.Errorf("lookup: %w", err)
	}
	vcs, err := grpcsource.VerifyProvenClaims(cp, resp.GetClaims())
	if err == nil {
		err = c.Check(vcs)
	}
	if err != nil {
		return fmt.Errorf("lookup: the log's answer does not verify: %w", err)
	}
	if c.json {
		if !verified {
			fmt.Fprintln(stderr, "attestlog: no --log-vkey: the checkpoint signature is not verified")
		}
		return report.PrintClaimsJSON(stdout, vcs, resp.GetCheckpoint())
	}
	if len(vcs) == 0 {
		fmt.Fprintf(stdout, "no claim %s in the log's %s\n", report.TermSafe(c.String()), report.TermSafe(report.CheckpointStatus(cp, verified)))
		return nil
	}
	fmt.Fprintf(stdout, "%s %s, proofs verified against %s\n", report.Count(len(vcs), "claim", "claims"), report.TermSafe(c.String()), report.TermSafe(report.CheckpointStatus(cp, verified)))
	return report.PrintClaimsTable(stdout, vcs, c.Digest)
}
