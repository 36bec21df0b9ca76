package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/attestlog/attestlog/client"
	"github.com/attestlog/attestlog/client/report"
	"github.com/attestlog/attestlog/cmd/attestlog/internal/usage"
	"github.com/attestlog/attestlog/log/claim"
)

// exitOperational is the exit status of verify, bundle and monitor when
// they could not do their job: a bad command line, an unreadable file or
// policy, a log that cannot be reached. It is above every verdict bit.
const exitOperational = 16

// operational wraps err for main as exitOperational. nil and flag.ErrHelp
// (-h, after the usage was printed) are success.
func operational(err error) error {
	if err == nil || errors.Is(err, flag.ErrHelp) {
		return nil
	}
	return exitError{code: exitOperational, err: err}
}

// verifyConfig is the command line of verify.
type verifyConfig struct {
	log      logFlags
	policy   string
	bundle   string
	require  []string
	k        int
	json     bool
	state    string
	maxAge   time.Duration
	file     string
	digest   string
	evidence string
}

func parseVerifyFlags(args []string, stderr io.Writer) (verifyConfig, error) {
	var c verifyConfig
	fs := flag.NewFlagSet("verify", flag.ContinueOnError)
	fs.SetOutput(stderr)
	c.log.registerAddr(fs)
	registerPolicy(fs, &c.policy)
	fs.StringVar(&c.bundle, "bundle", "", "verify offline from this bundle `file` (attestlog bundle); nothing is dialled")
	fs.Func("require", "this builder (or builders group) `NAME` of the policy must agree too; repeatable", func(s string) error {
		c.require = append(c.require, s)
		return nil
	})
	fs.IntVar(&c.k, "k", 0, "replace the policy's agree rule: at least `N` distinct trusted builders must agree")
	fs.BoolVar(&c.json, "json", false, "print the verdict as JSON")
	registerState(fs, &c.state, "; '' remembers nothing")
	fs.DurationVar(&c.maxAge, "max-age", 0, "fail unless a witness of the policy cosigned the checkpoint within this `duration` (e.g. 24h)")
	fs.StringVar(&c.digest, "digest", "", "verify this artifact sha256 `hex` instead of a FILE")
	fs.StringVar(&c.evidence, "evidence", "", "check an evidence `file` of a log's inconsistency instead: exit 0 if the signed checkpoints and proofs in it prove a fork or a wrong index commitment, 8 if not")
	pos, err := usage.ParseArgs(fs, args)
	if err != nil {
		return c, err
	}
	if len(pos) > 1 {
		return c, usage.Errorf("verify: want at most one FILE, got %d arguments", len(pos))
	}
	if len(pos) == 1 {
		c.file = pos[0]
	}
	return c, c.check()
}

// check validates the combination of flags.
func (c *verifyConfig) check() error {
	switch {
	case c.policy == "":
		return usage.Errorf("verify: --policy (or ATTESTLOG_POLICY_FILE) is required")
	case c.evidence != "" && (c.file != "" || c.digest != "" || c.bundle != ""):
		return usage.Errorf("verify: --evidence checks an evidence file alone: no FILE, --digest or --bundle")
	case c.evidence != "":
		return nil
	case (c.file == "") == (c.digest == ""):
		return usage.Errorf("verify: give exactly one of FILE or --digest")
	case c.k < 0:
		return usage.Errorf("verify: -k %d: want at least 1", c.k)
	case c.maxAge < 0:
		return usage.Errorf("verify: --max-age %v is negative", c.maxAge)
	}
	if c.digest != "" {
		d, err := claim.NormaliseDigest(c.digest)
		if err != nil {
			return usage.Errorf("verify: --digest: %v", err)
		}
		c.digest = d
	}
	return nil
}

// registerPolicy registers --policy.
func registerPolicy(fs *flag.FlagSet, p *string) {
	fs.StringVar(p, "policy", usage.Env("ATTESTLOG_POLICY_FILE", ""), "client policy `file`: log, witnesses, quorum, builders, agree rule (env ATTESTLOG_POLICY_FILE)")
}

// registerState registers --state, whose default is the user's state directory.
func registerState(fs *flag.FlagSet, dir *string, more string) {
	fs.StringVar(dir, "state", usage.Env("ATTESTLOG_STATE", client.DefaultStateDir()), "`dir`ectory remembering each log's latest checkpoint, and evidence of forks"+more+" (env ATTESTLOG_STATE)")
}

func openState(dir string) (*client.State, error) {
	if dir == "" {
		return nil, nil
	}
	return client.OpenState(dir)
}

// verify decides whether the policy's builders agree on a file's digest, and
// exits with the verdict's bits.
func verify(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	c, err := parseVerifyFlags(args, stderr)
	if err != nil {
		return operational(err)
	}
	p, err := client.ParsePolicyFile(c.policy)
	if err != nil {
		return operational(err)
	}
	if c.evidence != "" {
		return checkEvidenceFile(p, c.evidence, stdout)
	}
	if c.file != "" {
		if c.digest, _, err = client.HashFile(c.file); err != nil {
			return operational(err)
		}
	}
	st, err := openState(c.state)
	if err != nil {
		return operational(err)
	}
	var src client.Source
	if c.bundle != "" {
		b, err := client.ReadBundleFile(c.bundle)
		if err != nil {
			return operational(err)
		}
		src = client.BundleSource{Bundle: b}
	} else {
		lc, err := c.log.dial()
		if err != nil {
			return operational(err)
		}
		defer lc.Close()
		src = lc.src
	}
	rec := &client.RecordingSource{Source: src}
	opts := client.VerifyOptions{State: st, MaxAge: c.maxAge, Require: c.require, K: c.k}
	if c.file != "" {
		// A minisign claim without sha256: in its trusted comment is
		// checked over the file itself, not on the log's word.
		opts.File = func() (io.ReadCloser, error) { return os.Open(c.file) }
	}
	v, err := client.Verify(ctx, p, rec, c.digest, opts)
	if err != nil {
		return operational(fmt.Errorf("verify: %w", err))
	}
	if c.json {
		err = report.PrintVerdictJSON(stdout, v)
	} else if err = report.PrintVerdict(stdout, v, c.file); err == nil && len(rec.ByDigest) > 0 {
		fmt.Fprintln(stdout, "claims naming it:")
		err = report.PrintClaimLines(stdout, rec.ByDigest, c.digest)
	}
	if err != nil {
		return operational(err)
	}
	if code := v.ExitCode(); code != 0 {
		return exitError{code: code}
	}
	return nil
}

// checkEvidenceFile checks an evidence file under the policy's log keys.
func checkEvidenceFile(p *client.Policy, path string, stdout io.Writer) error {
	b, err := client.ReadEvidenceFile(path)
	if err != nil {
		return operational(err)
	}
	// The finding is the tool's own: the file's description is its
	// writer's claim, and never printed.
	finding, err := client.CheckEvidence(p, b)
	if err != nil {
		return exitError{code: client.ExitVerifyErr, err: fmt.Errorf("the evidence does not hold: %w", err)}
	}
	fmt.Fprintf(stdout, "evidence holds: %s\n", report.TermSafe(finding))
	return nil
}
