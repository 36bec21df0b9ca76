package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/attestlog/attestlog/log/claim"
	pb "github.com/attestlog/attestlog/proto/attestlog/v1"
)

// lookupConfig is the command line of lookup: exactly one of file, digest,
// or source with commit.
type lookupConfig struct {
	log                                    logFlags
	file, digest, source, commit, platform string
	json                                   bool
}

func parseLookupFlags(args []string, stderr io.Writer) (lookupConfig, error) {
	var c lookupConfig
	fs := flag.NewFlagSet("lookup", flag.ContinueOnError)
	fs.SetOutput(stderr)
	c.log.register(fs)
	fs.StringVar(&c.digest, "digest", "", "look up claims naming this artifact sha256 `hex`")
	fs.StringVar(&c.source, "source", "", "look up claims about this source repository `URI` (with --commit)")
	fs.StringVar(&c.commit, "commit", "", "full commit `hash` (with --source)")
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
	for _, set := range []bool{c.file != "", c.digest != "", c.source != "" || c.commit != ""} {
		if set {
			modes++
		}
	}
	if modes != 1 {
		return usageErrorf("lookup: give exactly one of FILE, --digest, or --source with --commit")
	}
	if c.platform != "" && c.source == "" {
		return usageErrorf("lookup: --platform needs --source and --commit")
	}
	var err error
	switch {
	case c.digest != "":
		if c.digest, err = claim.NormaliseDigest(c.digest); err != nil {
			return usageErrorf("lookup: --digest: %v", err)
		}
	case c.source != "" || c.commit != "":
		if c.source == "" || c.commit == "" {
			return usageErrorf("lookup: --source and --commit go together")
		}
		if c.source, err = sourceURI(c.source); err != nil {
			return usageErrorf("lookup: --source: %v", err)
		}
		if c.commit, err = claim.NormaliseCommit(c.commit); err != nil {
			return usageErrorf("lookup: --commit: %v", err)
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
		if c.digest, _, err = hashFile(c.file); err != nil {
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
		return printClaimsJSON(stdout, vcs, resp.GetCheckpoint())
	}
	if len(vcs) == 0 {
		fmt.Fprintf(stdout, "no claim %s in the log's %s\n", termSafe(c.what()), termSafe(checkpointStatus(cp, verified)))
		return nil
	}
	fmt.Fprintf(stdout, "%s %s, proofs verified against %s\n", count(len(vcs), "claim", "claims"), termSafe(c.what()), termSafe(checkpointStatus(cp, verified)))
	return c.printTable(stdout, vcs)
}

// what says what was looked up: "naming sha256 X", "about SOURCE@COMMIT".
func (c *lookupConfig) what() string {
	switch {
	case c.digest != "":
		return "naming sha256 " + c.digest
	case c.platform != "":
		return "about " + c.source + "@" + c.commit + " for " + c.platform
	}
	return "about " + c.source + "@" + c.commit
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
	r, err := lc.LookupBySource(ctx, &pb.LookupBySourceRequest{SourceUri: c.source, Commit: c.commit, Platform: c.platform})
	if err != nil {
		return nil, fmt.Errorf("looking up %s@%s: %w", c.source, c.commit, err)
	}
	return r, nil
}

// checkAnswers checks that every claim the log returned is about what was
// asked: a log cannot pad an answer with unrelated, valid claims.
func (c *lookupConfig) checkAnswers(vcs []verifiedClaim) error {
	for _, vc := range vcs {
		cl := vc.Claim
		switch {
		case c.digest != "" && !namesDigest(cl, c.digest):
			return fmt.Errorf("claim at index %d does not name sha256 %s", vc.Index, c.digest)
		case c.digest == "" && (cl.Source != c.source || cl.Commit != c.commit):
			return fmt.Errorf("claim at index %d is about %s@%s", vc.Index, cl.Source, cl.Commit)
		case c.platform != "" && cl.Platform != strings.ToLower(c.platform):
			return fmt.Errorf("claim at index %d is for platform %s", vc.Index, cl.Platform)
		}
	}
	return nil
}

func namesDigest(cl *claim.Claim, digest string) bool {
	for _, s := range cl.Subjects {
		if s.SHA256 == digest {
			return true
		}
	}
	return false
}

// printTable prints one row per artifact; a digest lookup shows only the
// artifacts with that digest.
func (c *lookupConfig) printTable(w io.Writer, vcs []verifiedClaim) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "INDEX\tSIGNERS\tSOURCE@COMMIT\tPLATFORM\tARTIFACT\tSHA256\tRECIPE")
	for _, vc := range vcs {
		cl := vc.Claim
		for _, s := range cl.Subjects {
			if c.digest != "" && s.SHA256 != c.digest {
				continue
			}
			fmt.Fprintf(tw, "%d\t%s\t%s@%s\t%s\t%s\t%s\t%s\n", vc.Index, termSafeJoin(vc.Signers, ","),
				termSafe(cl.Source), termSafe(short(cl.Commit)), termSafe(cl.Platform), termSafe(s.Name), termSafe(short(s.SHA256)), termSafe(short(cl.Recipe)))
		}
	}
	return tw.Flush()
}

// claimJSON is the --json form of a verified claim. []byte fields are
// standard base64; the checkpoint is the signed note the proof is against.
type claimJSON struct {
	Index          int64         `json:"index"`
	TreeSize       int64         `json:"tree_size"`
	Signers        []signerJSON  `json:"signers"`
	Source         string        `json:"source"`
	SourceRef      string        `json:"source_ref,omitempty"`
	Commit         string        `json:"commit"`
	Platform       string        `json:"platform"`
	Recipe         string        `json:"recipe"`
	BuilderID      string        `json:"builder_id"`
	Subjects       []subjectJSON `json:"subjects"`
	Entry          []byte        `json:"entry"`
	InclusionProof [][]byte      `json:"inclusion_proof"`
	Checkpoint     string        `json:"checkpoint"`
}

type signerJSON struct {
	Name string `json:"name"`
	VKey string `json:"vkey"`
}

type subjectJSON struct {
	Name   string `json:"name"`
	SHA256 string `json:"sha256"`
}

func printClaimsJSON(w io.Writer, vcs []verifiedClaim, checkpoint []byte) error {
	out := make([]claimJSON, len(vcs))
	for i, vc := range vcs {
		cl := vc.Claim
		j := claimJSON{Index: vc.Index, TreeSize: vc.TreeSize, Source: cl.Source, SourceRef: cl.SourceRef,
			Commit: cl.Commit, Platform: cl.Platform, Recipe: cl.Recipe, BuilderID: cl.BuilderID,
			Entry: vc.Entry, InclusionProof: vc.Proof, Checkpoint: string(checkpoint),
			Signers: []signerJSON{}, Subjects: []subjectJSON{}}
		for k, s := range vc.Parsed.Signatures {
			j.Signers = append(j.Signers, signerJSON{Name: vc.Signers[k], VKey: s.VKey})
		}
		for _, s := range cl.Subjects {
			j.Subjects = append(j.Subjects, subjectJSON{Name: s.Name, SHA256: s.SHA256})
		}
		out[i] = j
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(out)
}
