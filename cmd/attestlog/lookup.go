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
	"github.com/attestlog/attestlog/client/report"
	"github.com/attestlog/attestlog/log/claim"
	"github.com/attestlog/attestlog/log/claim/record"
	pb "github.com/attestlog/attestlog/proto/attestlog/v1"
)

// lookupConfig is the command line of lookup: exactly one of file, digest,
// source with commit (a deb: source without), or name.
type lookupConfig struct {
	log                                          logFlags
	file, digest, source, commit, platform, name string
	json                                         bool
}

func parseLookupFlags(args []string, stderr io.Writer) (lookupConfig, error) {
	var c lookupConfig
	fs := flag.NewFlagSet("lookup", flag.ContinueOnError)
	fs.SetOutput(stderr)
	c.log.register(fs)
	fs.StringVar(&c.digest, "digest", "", "look up claims naming this artifact sha256 `hex`")
	fs.StringVar(&c.source, "source", "", "look up claims about this source repository `URI` (with --commit), or Debian source deb:NAME@VERSION (alone)")
	fs.StringVar(&c.commit, "commit", "", "full commit `hash` (with --source)")
	fs.StringVar(&c.name, "name", "", "look up the claims that name a release file `name` without a source (SHA256SUMS, links, minisign), whatever its digest")
	fs.StringVar(&c.platform, "platform", "", "only claims for this `os/arch` (with --source)")
	fs.BoolVar(&c.json, "json", false, "print a JSON array of the claims, with every field")
	pos, err := parseArgs(fs, args)
	if err != nil {
		return c, err
	}
	if len(pos) > 1 {
		return c, usageErrorf("lookup: want at most one FILE, got %d arguments", len(pos))
	}
	if len(pos) == 1 {
		c.file = pos[0]
	}
	return c, c.check()
}

// check validates the combination of flags and normalises their values.
func (c *lookupConfig) check() error {
	modes := 0
	for _, set := range []bool{c.file != "", c.digest != "", c.source != "" || c.commit != "", c.name != ""} {
		if set {
			modes++
		}
	}
	if modes != 1 {
		return usageErrorf("lookup: give exactly one of FILE, --digest, --source with --commit (a deb: source alone), or --name")
	}
	if c.platform != "" && c.source == "" {
		return usageErrorf("lookup: --platform needs --source")
	}
	var err error
	switch {
	case c.digest != "":
		if c.digest, err = claim.NormaliseDigest(c.digest); err != nil {
			return usageErrorf("lookup: --digest: %v", err)
		}
	case strings.HasPrefix(c.source, "deb:"):
		if c.source, c.commit, err = record.NormaliseSourceCommit(c.source, c.commit); err != nil {
			return usageErrorf("lookup: --source: %v", err)
		}
	case c.source != "" || c.commit != "":
		if c.source == "" || c.commit == "" {
			return usageErrorf("lookup: --source and --commit go together (a deb:NAME@VERSION source takes no commit)")
		}
		if c.source, err = gitattest.SourceURI(c.source); err != nil {
			return usageErrorf("lookup: --source: %v", err)
		}
		if c.commit, err = claim.NormaliseCommit(c.commit); err != nil {
			return usageErrorf("lookup: --commit: %v", err)
		}
	case c.name != "":
		if err := record.CheckName(c.name); err != nil {
			return usageErrorf("lookup: --name: %v", err)
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
		if c.digest, _, err = client.HashFile(c.file); err != nil {
			return err
		}
	}
	lc, err := c.log.dial()
	if err != nil {
		return err
	}
	defer lc.Close()
	resp, err := c.request(ctx, lc)
	if err != nil {
		return err
	}
	cp, verified, err := lc.checkpoint(resp.GetCheckpoint())
	if err != nil {
		return fmt.Errorf("lookup: %w", err)
	}
	vcs, err := verifyProvenClaims(cp, resp.GetClaims())
	if err != nil {
		return fmt.Errorf("lookup: the log's answer does not verify: %w", err)
	}
	if err := c.checkAnswers(vcs); err != nil {
		return fmt.Errorf("lookup: the log's answer does not verify: %w", err)
	}
	if c.json {
		if !verified {
			fmt.Fprintln(stderr, "attestlog: no --log-vkey: the checkpoint signature is not verified")
		}
		return report.PrintClaimsJSON(stdout, vcs, resp.GetCheckpoint())
	}
	if len(vcs) == 0 {
		fmt.Fprintf(stdout, "no claim %s in the log's %s\n", report.TermSafe(c.what()), report.TermSafe(checkpointStatus(cp, verified)))
		return nil
	}
	fmt.Fprintf(stdout, "%s %s, proofs verified against %s\n", report.Count(len(vcs), "claim", "claims"), report.TermSafe(c.what()), report.TermSafe(checkpointStatus(cp, verified)))
	return report.PrintClaimsTable(stdout, vcs, c.digest)
}

// what says what was looked up: "naming sha256 X", "about SOURCE@COMMIT".
func (c *lookupConfig) what() string {
	src := c.source
	if c.commit != "" {
		src += "@" + c.commit
	}
	switch {
	case c.digest != "":
		return "naming sha256 " + c.digest
	case c.name != "":
		return "naming file " + c.name + " without a source"
	case c.platform != "":
		return "about " + src + " for " + c.platform
	}
	return "about " + src
}

// lookupAnswer is what both lookups answer: claims proven against a checkpoint.
type lookupAnswer interface {
	GetCheckpoint() []byte
	GetClaims() []*pb.ProvenClaim
}

func (c *lookupConfig) request(ctx context.Context, lc *logClient) (lookupAnswer, error) {
	if c.digest != "" {
		r, err := lc.LookupByDigest(ctx, &pb.LookupByDigestRequest{Sha256: c.digest})
		if err != nil {
			return nil, fmt.Errorf("looking up sha256 %s: %w", c.digest, err)
		}
		return r, nil
	}
	if c.name != "" {
		r, err := lc.LookupByName(ctx, &pb.LookupByNameRequest{Name: c.name})
		if err != nil {
			return nil, fmt.Errorf("looking up file name %s: %w", c.name, err)
		}
		return r, nil
	}
	r, err := lc.LookupBySource(ctx, &pb.LookupBySourceRequest{SourceUri: c.source, Commit: c.commit, Platform: c.platform})
	if err != nil {
		return nil, fmt.Errorf("looking up %s: %w", c.what(), err)
	}
	return r, nil
}

// checkAnswers checks that every claim the log returned is about what was
// asked: a log cannot pad an answer with unrelated, valid claims.
func (c *lookupConfig) checkAnswers(vcs []client.VerifiedClaim) error {
	for _, vc := range vcs {
		r, err := record.Decode(vc.Entry)
		if err != nil {
			return fmt.Errorf("claim at index %d: %w", vc.Index, err)
		}
		switch {
		case c.digest != "" && !namesSubject(r, func(s record.Subject) bool { return s.SHA256 == c.digest }):
			return fmt.Errorf("claim at index %d does not name sha256 %s", vc.Index, c.digest)
		case c.name != "" && (!r.DigestOnly() || !namesSubject(r, func(s record.Subject) bool { return s.Name == c.name })):
			return fmt.Errorf("claim at index %d is not a claim without a source naming %s", vc.Index, c.name)
		case c.source != "" && (r.Source != c.source || r.Commit != c.commit):
			return fmt.Errorf("claim at index %d is about %s@%s", vc.Index, r.Source, r.Commit)
		case c.platform != "" && !namesSubject(r, func(s record.Subject) bool { return s.Platform == strings.ToLower(c.platform) }):
			return fmt.Errorf("claim at index %d is for another platform than %s", vc.Index, c.platform)
		}
	}
	return nil
}

// namesSubject reports whether a subject of r satisfies f.
func namesSubject(r *record.Record, f func(record.Subject) bool) bool {
	for _, s := range r.Subjects {
		if f(s) {
			return true
		}
	}
	return false
}
