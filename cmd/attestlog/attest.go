package main

import (
	"context"
	"errors"
	"flag"
	"io"
	"runtime"

	gitattest "github.com/attestlog/attestlog/client/attest"
	"github.com/attestlog/attestlog/cmd/attestlog/internal/datadir"
	"github.com/attestlog/attestlog/cmd/attestlog/internal/usage"
	"github.com/attestlog/attestlog/internal/atomicfile"
	"github.com/attestlog/attestlog/log/claim"
)

// attestConfig is the command line of attest.
type attestConfig struct {
	gitattest.Options
	key, vkey, out string
}

func parseAttestFlags(args []string, stderr io.Writer) (attestConfig, error) {
	var c attestConfig
	fs := flag.NewFlagSet("attest", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&c.Dir, "dir", ".", "the git checkout the artifacts were built from")
	fs.StringVar(&c.Commit, "commit", "", "full commit hash, 40 or 64 hex digits (default: git rev-parse HEAD)")
	fs.StringVar(&c.Source, "source", "", "source repository `URI` (default: git remote get-url origin, as git+https://host/path)")
	fs.StringVar(&c.Recipe, "recipe", "", "what fixes the build: a `file` to hash (lock file, buildinfo, build script) or sha256:HEX (e.g. an OCI digest); required")
	fs.StringVar(&c.Platform, "platform", runtime.GOOS+"/"+runtime.GOARCH, "`os/arch[/variant]` the artifacts are for, or any")
	fs.StringVar(&c.key, "key", usage.Env("ATTESTLOG_BUILDER_KEY", ""), "the builder's signed-note private key `PREFIX.key`, as written by keygen (env ATTESTLOG_BUILDER_KEY)")
	fs.StringVar(&c.vkey, "vkey", "", "the builder's verifier key `file` (default: PREFIX.vkey beside --key)")
	fs.StringVar(&c.BuilderID, "builder-id", "", "builder `URI`, informative (default "+gitattest.DefaultBuilderIDPrefix+"<key name>)")
	fs.StringVar(&c.Ref, "ref", "", "git ref to note beside the source, e.g. refs/tags/v1.0; empty omits it (default: the branch or exact tag of HEAD)")
	fs.StringVar(&c.out, "o", "", "write the claim to `file` (default standard output)")
	fs.BoolVar(&c.AllowDirty, "allow-dirty", false, "attest HEAD even if the checkout has uncommitted changes or untracked files (which the artifacts may contain)")
	pos, err := usage.ParseArgs(fs, args)
	if err != nil {
		return c, err
	}
	fs.Visit(func(f *flag.Flag) { c.RefSet = c.RefSet || f.Name == "ref" })
	c.Files = pos
	switch {
	case len(c.Files) == 0:
		return c, usage.Errorf("attest: no artifact FILE to attest")
	case c.Recipe == "":
		return c, usage.Errorf("attest: --recipe is required: the file or sha256 digest that fixes the build")
	case c.key == "":
		return c, usage.Errorf("attest: --key (or ATTESTLOG_BUILDER_KEY) is required")
	}
	if c.Commit != "" {
		if c.Commit, err = claim.NormaliseCommit(c.Commit); err != nil {
			return c, usage.Errorf("attest: --commit: %v", err)
		}
	}
	return c, nil
}

// attest hashes build artifacts and writes a signed build claim about them.
func attest(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	c, err := parseAttestFlags(args, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return nil
	} else if err != nil {
		return err
	}
	key, err := datadir.LoadBuilderKey(c.key, c.vkey)
	if err != nil {
		return err
	}
	c.Outputs = []string{c.out}
	cl, err := gitattest.Claim(ctx, c.Options, key)
	if err != nil {
		return err
	}
	st, err := claim.NewStatement(cl)
	if err != nil {
		return err
	}
	e, err := claim.SignStatement(st, key)
	if err != nil {
		return err
	}
	env := append(e.Envelope(), '\n')
	if c.out == "" {
		_, err = stdout.Write(env)
		return err
	}
	return atomicfile.Write(c.out, env, 0o644, true)
}
