package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/attestlog/attestlog/client"
	"github.com/attestlog/attestlog/client/grpcsource"
	"github.com/attestlog/attestlog/client/report"
	"github.com/attestlog/attestlog/log/claim"
	"github.com/attestlog/attestlog/tiles"
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
	flags.StringVar(&c.policy, "policy", envOr("ATTESTLOG_POLICY_FILE", ""), "client policy `file`: write the bundle only if it verifies under it (env ATTESTLOG_POLICY_FILE)")
	flags.BoolVar(&c.unverified, "unverified", false, "write the bundle without --policy, verifying nothing: proofs, signatures and quorums are left to whoever uses it")
	flags.StringVar(&c.state, "state", "", "state `dir`ectory of the verifier that will use the bundle: add a consistency proof from its remembered checkpoint")
	flags.StringVar(&c.out, "o", "", "write the bundle to this `file` (required)")
	pos, err := parseArgs(flags, args)
	if err != nil {
		return c, err
	}
	switch {
	case len(pos) != 1:
		return c, usageErrorf("bundle: want one FILE or DIGEST, got %d arguments", len(pos))
	case c.out == "":
		return c, usageErrorf("bundle: -o OUT is required")
	}
	if _, err := os.Stat(pos[0]); err == nil {
		c.file = pos[0]
	} else if d, derr := claim.NormaliseDigest(pos[0]); derr == nil {
		c.digest = d
	} else if errors.Is(err, os.ErrNotExist) {
		return c, usageErrorf("bundle: %q is neither a file nor a sha256 digest", pos[0])
	} else {
		return c, err
	}
	switch {
	case c.policy == "" && !c.unverified:
		return c, usageErrorf("bundle: --policy FILE (or ATTESTLOG_POLICY_FILE) is required: bundle writes only a bundle that verifies under it; --unverified writes one that nothing checked")
	case c.policy != "" && c.unverified:
		return c, usageErrorf("bundle: --unverified and --policy contradict each other: give one")
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
		if p, err = loadPolicy(c.policy); err != nil {
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
	src := grpcsource.New(lc.conn)
	b, err := client.NewBundle(ctx, src, c.digest)
	if err != nil {
		return operational(fmt.Errorf("bundle: %w", err))
	}
	cp, err := noteBody(b.Checkpoint)
	if err != nil {
		return operational(fmt.Errorf("bundle: the log's checkpoint: %w", err))
	}
	from := int64(0)
	if st != nil {
		if from, err = rememberedSize(st, cp.Origin); err != nil {
			return operational(err)
		}
		if err := b.AddConsistencyProof(ctx, src, from); err != nil {
			return operational(fmt.Errorf("bundle: %w", err))
		}
	}
	data, err := b.Marshal()
	if err != nil {
		return operational(fmt.Errorf("bundle: %w", err))
	}
	if p != nil {
		if err := checkBundle(ctx, p, st, data, c.digest, stdout); err != nil {
			return err
		}
	}
	if err := os.WriteFile(c.out, data, 0o644); err != nil {
		return operational(fmt.Errorf("bundle: %w", err))
	}
	fmt.Fprintf(stdout, "wrote %s: sha256 %s, %s naming it and %d more about its builds, proven against %s tree size %d\n",
		report.TermSafe(c.out), report.TermSafe(b.Digest), report.Count(len(b.Claims), "claim", "claims"), len(b.SourceClaims), report.TermSafe(cp.Origin), cp.Size)
	if p == nil {
		fmt.Fprintln(stdout, "NOT VERIFIED (--unverified): no proof, signature, witness quorum or builder was checked; \"attestlog verify --bundle\" checks it")
	} else if len(b.Claims) > 0 {
		fmt.Fprintln(stdout, "claims naming it:")
		if err := report.PrintClaimLines(stdout, b.Claims, b.Digest); err != nil {
			return operational(fmt.Errorf("bundle: %w", err))
		}
	}
	if from > 0 && from != cp.Size {
		fmt.Fprintf(stdout, "with a consistency proof between the remembered tree size %d and %d\n", from, cp.Size)
	}
	return nil
}

// checkBundle verifies the bundle file offline under p, as verify --bundle
// will, and refuses it with the verdict's exit code unless it is trusted.
// With st, it verifies against a copy of st's remembered checkpoint, which
// stays as it is.
func checkBundle(ctx context.Context, p *client.Policy, st *client.State, data []byte, digest string, stdout io.Writer) error {
	parsed, err := client.ParseBundle(data)
	if err != nil {
		return operational(fmt.Errorf("bundle: %w", err))
	}
	var opts client.VerifyOptions
	if st != nil {
		if opts.State, err = copyState(st, parsed); err != nil {
			return operational(err)
		}
		defer os.RemoveAll(opts.State.Dir())
	}
	v, err := client.Verify(ctx, p, client.BundleSource{Bundle: parsed}, digest, opts)
	if err != nil {
		return operational(fmt.Errorf("bundle: verifying: %w", err))
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

// copyState returns a State in a new temporary directory that remembers
// what st remembers for the bundle's log (the file name is documented by
// client.State).
func copyState(st *client.State, b *client.Bundle) (*client.State, error) {
	cp, err := noteBody(b.Checkpoint)
	if err != nil {
		return nil, err
	}
	msg, err := st.Checkpoint(cp.Origin)
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "attestlog-bundle-state-")
	if err != nil {
		return nil, err
	}
	if msg != nil {
		h := sha256.Sum256([]byte(cp.Origin))
		if err := os.WriteFile(filepath.Join(dir, hex.EncodeToString(h[:])+".checkpoint"), msg, 0o600); err != nil {
			os.RemoveAll(dir)
			return nil, err
		}
	}
	return client.OpenState(dir)
}

// rememberedSize returns the tree size of the checkpoint st remembers for
// origin, or 0. The note was verified when it was remembered.
func rememberedSize(st *client.State, origin string) (int64, error) {
	msg, err := st.Checkpoint(origin)
	if err != nil || msg == nil {
		return 0, err
	}
	cp, err := noteBody(msg)
	if err != nil {
		return 0, fmt.Errorf("remembered checkpoint of %s: %w", origin, err)
	}
	return cp.Size, nil
}

// noteBody parses the checkpoint body of a signed note without verifying it.
func noteBody(msg []byte) (tiles.Checkpoint, error) {
	// A signed note's text ends at its last blank line (c2sp.org/signed-note).
	i := bytes.LastIndex(msg, []byte("\n\n"))
	if i < 0 {
		return tiles.Checkpoint{}, errors.New("not a signed note")
	}
	return tiles.ParseCheckpoint(msg[:i+1])
}
