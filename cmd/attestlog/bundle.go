package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"

	"github.com/attestlog/attestlog/client"
	"github.com/attestlog/attestlog/client/report"
	"github.com/attestlog/attestlog/cmd/attestlog/internal/usage"
	"github.com/attestlog/attestlog/log/claim"
)

// bundleConfig is the command line of bundle.
type bundleConfig struct {
	log        logFlags
	policy     string // verify the bundle before writing it; empty only with unverified
	unverified bool   // write the bundle without a policy to verify it under
	state      string // optional: add a consistency proof from its remembered size
	file       string
	digest     string
	out        string
}

func parseBundleFlags(args []string, stderr io.Writer) (bundleConfig, error) {
	var c bundleConfig
	flags := flag.NewFlagSet("bundle", flag.ContinueOnError)
	flags.SetOutput(stderr)
	c.log.registerAddr(flags)
	flags.StringVar(&c.policy, "policy", usage.Env("ATTESTLOG_POLICY_FILE", ""), "client policy `file`: write the bundle only if it verifies under it (env ATTESTLOG_POLICY_FILE)")
	flags.BoolVar(&c.unverified, "unverified", false, "write the bundle without --policy, verifying nothing: proofs, signatures and quorums are left to whoever uses it")
	flags.StringVar(&c.state, "state", "", "state `dir`ectory of the verifier that will use the bundle: add a consistency proof from its remembered checkpoint")
	flags.StringVar(&c.out, "o", "", "write the bundle to this `file` (required)")
	pos, err := usage.ParseArgs(flags, args)
	if err != nil {
		return c, err
	}
	switch {
	case len(pos) != 1:
		return c, usage.Errorf("bundle: want one FILE or DIGEST, got %d arguments", len(pos))
	case c.out == "":
		return c, usage.Errorf("bundle: -o OUT is required")
	}
	if _, err := os.Stat(pos[0]); err == nil {
		c.file = pos[0]
	} else if d, derr := claim.NormaliseDigest(pos[0]); derr == nil {
		c.digest = d
	} else if errors.Is(err, os.ErrNotExist) {
		return c, usage.Errorf("bundle: %q is neither a file nor a sha256 digest", pos[0])
	} else {
		return c, err
	}
	switch {
	case c.policy == "" && !c.unverified:
		return c, usage.Errorf("bundle: --policy FILE (or ATTESTLOG_POLICY_FILE) is required: bundle writes only a bundle that verifies under it; --unverified writes one that nothing checked")
	case c.policy != "" && c.unverified:
		return c, usage.Errorf("bundle: --unverified and --policy contradict each other: give one")
	}
	return c, nil
}

// makeBundle writes the offline bundle of a file or digest: the claims
// naming it and about its builds, proven against the log's witnessed
// checkpoint.
func makeBundle(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	c, err := parseBundleFlags(args, stderr)
	if err != nil {
		return operational(err)
	}
	var p *client.Policy
	if c.policy != "" {
		if p, err = client.ParsePolicyFile(c.policy); err != nil {
			return operational(err)
		}
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
	lc, err := c.log.dial()
	if err != nil {
		return operational(err)
	}
	defer lc.Close()
	b, from, err := client.FetchBundle(ctx, lc.src, c.digest, st)
	if err != nil {
		return operational(fmt.Errorf("bundle: %w", err))
	}
	data, err := b.Marshal()
	if err != nil {
		return operational(fmt.Errorf("bundle: %w", err))
	}
	if err := checkBundle(ctx, p, st, data, c.digest, stdout); err != nil {
		return err
	}
	if err := os.WriteFile(c.out, data, 0o644); err != nil {
		return operational(fmt.Errorf("bundle: %w", err))
	}
	return operational(report.PrintBundleWritten(stdout, c.out, b, from, p != nil))
}

// checkBundle verifies the bundle file offline under p, if not nil, as
// verify --bundle will, and refuses it with the verdict's exit code unless
// it is trusted.
func checkBundle(ctx context.Context, p *client.Policy, st *client.State, data []byte, digest string, stdout io.Writer) error {
	if p == nil {
		return nil
	}
	v, err := client.VerifyBundleData(ctx, p, st, data, digest)
	if err != nil {
		return operational(fmt.Errorf("bundle: %w", err))
	}
	if code := v.ExitCode(); code != 0 {
		if err := report.PrintVerdict(stdout, v, ""); err != nil {
			return operational(err)
		}
		return exitError{code: code, err: errors.New("bundle: not written: it does not verify under the policy")}
	}
	fmt.Fprintf(stdout, "verified under the policy: TRUSTED (%s)\n", report.Count(len(v.Agreed), "builder agrees", "builders agree"))
	return nil
}
