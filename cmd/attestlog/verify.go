package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/attestlog/attestlog/client"
	"github.com/attestlog/attestlog/client/grpcsource"
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
	pos, err := parseArgs(fs, args)
	if err != nil {
		return c, err
	}
	if len(pos) > 1 {
		return c, usageErrorf("verify: want at most one FILE, got %d arguments", len(pos))
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
		return usageErrorf("verify: --policy (or ATTESTLOG_POLICY_FILE) is required")
	case c.evidence != "" && (c.file != "" || c.digest != "" || c.bundle != ""):
		return usageErrorf("verify: --evidence checks an evidence file alone: no FILE, --digest or --bundle")
	case c.evidence != "":
		return nil
	case (c.file == "") == (c.digest == ""):
		return usageErrorf("verify: give exactly one of FILE or --digest")
	case c.k < 0:
		return usageErrorf("verify: -k %d: want at least 1", c.k)
	case c.maxAge < 0:
		return usageErrorf("verify: --max-age %v is negative", c.maxAge)
	}
	if c.digest != "" {
		d, err := claim.NormaliseDigest(c.digest)
		if err != nil {
			return usageErrorf("verify: --digest: %v", err)
		}
		c.digest = d
	}
	return nil
}

// registerPolicy registers --policy.
func registerPolicy(fs *flag.FlagSet, p *string) {
	fs.StringVar(p, "policy", envOr("ATTESTLOG_POLICY_FILE", ""), "client policy `file`: log, witnesses, quorum, builders, agree rule (env ATTESTLOG_POLICY_FILE)")
}

// registerState registers --state, whose default is the user's state directory.
func registerState(fs *flag.FlagSet, dir *string, more string) {
	fs.StringVar(dir, "state", envOr("ATTESTLOG_STATE", defaultStateDir()), "`dir`ectory remembering each log's latest checkpoint, and evidence of forks"+more+" (env ATTESTLOG_STATE)")
}

// defaultStateDir is $XDG_STATE_HOME/attestlog, else ~/.local/state/attestlog.
func defaultStateDir() string {
	if d := os.Getenv("XDG_STATE_HOME"); filepath.IsAbs(d) {
		return filepath.Join(d, "attestlog")
	}
	if h, err := os.UserHomeDir(); err == nil {
		return filepath.Join(h, ".local", "state", "attestlog")
	}
	return ""
}

func loadPolicy(path string) (*client.Policy, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("reading policy: %w", err)
	}
	p, err := client.ParsePolicy(b)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return p, nil
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
	p, err := loadPolicy(c.policy)
	if err != nil {
		return operational(err)
	}
	if c.evidence != "" {
		return checkEvidenceFile(p, c.evidence, stdout)
	}
	if c.file != "" {
		if c.digest, _, err = hashFile(c.file); err != nil {
			return operational(err)
		}
	}
	st, err := openState(c.state)
	if err != nil {
		return operational(err)
	}
	var src client.Source
	if c.bundle != "" {
		b, err := readBundle(c.bundle)
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
		src = grpcsource.New(lc.conn)
	}
	v, err := client.Verify(ctx, p, src, c.digest, client.VerifyOptions{State: st, MaxAge: c.maxAge, Require: c.require, K: c.k})
	if err != nil {
		return operational(fmt.Errorf("verify: %w", err))
	}
	if c.json {
		err = printVerdictJSON(stdout, v)
	} else {
		err = printVerdict(stdout, v, c.file)
	}
	if err != nil {
		return operational(err)
	}
	if code := v.ExitCode(); code != 0 {
		return exitError{code: code}
	}
	return nil
}

func readBundle(path string) (*client.Bundle, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("reading bundle: %w", err)
	}
	b, err := client.ParseBundle(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return b, nil
}

// checkEvidenceFile checks an evidence file under the policy's log keys.
func checkEvidenceFile(p *client.Policy, path string, stdout io.Writer) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return operational(fmt.Errorf("reading evidence: %w", err))
	}
	if _, err := client.ParseAnyEvidence(b); err != nil {
		return operational(fmt.Errorf("%s: %w", path, err))
	}
	// The finding is the tool's own: the file's description is its
	// writer's claim, and never printed.
	finding, err := client.CheckEvidence(p, b)
	if err != nil {
		return exitError{code: client.ExitVerifyErr, err: fmt.Errorf("the evidence does not hold: %w", err)}
	}
	fmt.Fprintf(stdout, "evidence holds: %s\n", termSafe(finding))
	return nil
}

// verdictJSON is the --json output: the verdict with its exit code.
type verdictJSON struct {
	ExitCode int  `json:"exit_code"`
	Trusted  bool `json:"trusted"`
	*client.Verdict
}

func printVerdictJSON(w io.Writer, v *client.Verdict) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(verdictJSON{ExitCode: v.ExitCode(), Trusted: v.ExitCode() == 0, Verdict: v})
}

// verdictReasons names the bits of an exit code.
func verdictReasons(code int) string {
	var out []string
	for _, b := range []struct {
		bit  int
		text string
	}{
		{client.ExitNoClaims, "no claims"},
		{client.ExitNoQuorum, "builder quorum not met"},
		{client.ExitConflict, "conflict by a trusted builder"},
		{client.ExitVerifyErr, "verification failed"},
	} {
		if code&b.bit != 0 {
			out = append(out, b.text)
		}
	}
	return strings.Join(out, ", ")
}

// printVerdict prints the verdict for people: the verdict line first, then
// one line per fact.
func printVerdict(w io.Writer, v *client.Verdict, file string) error {
	code := v.ExitCode()
	what := "sha256 " + v.Digest
	if file != "" {
		what = file + " (" + what + ")"
	}
	if code == 0 {
		fmt.Fprintf(w, "TRUSTED: %s\n", termSafe(what))
	} else {
		fmt.Fprintf(w, "NOT TRUSTED (exit %d: %s): %s\n", code, verdictReasons(code), termSafe(what))
	}
	line := func(label, format string, args ...any) {
		fmt.Fprintf(w, "%-13s%s\n", label, termSafe(fmt.Sprintf(format, args...))) // every line quotes outside text
	}
	rule := "agree " + v.Agree
	if v.K > 0 {
		rule = fmt.Sprintf("-k %d: at least %d trusted builders agree (replaces agree %s)", v.K, v.K, v.Agree)
	}
	line("rule:", "%s: %s", rule, metOrNot(ruleMet(v)))
	for _, g := range v.Groups {
		line("group:", "%s: %d of %d needed, %d agreed (%s)", g.Name, g.K, g.Of, g.Agreed, metOrNot(g.Met))
	}
	for _, r := range v.Required {
		state := "agreed"
		for _, m := range v.RequiredMissing {
			if m == r {
				state = "MISSING"
			}
		}
		line("required:", "%s (%s)", r, state)
	}
	if cp := v.Checkpoint; cp != nil {
		line("checkpoint:", "%s, tree size %d", cp.Origin, cp.Size)
		for _, c := range cp.Witnesses {
			line("witness:", "%s cosigned at %s", c.Witness, c.Time.Format(time.RFC3339))
		}
	}
	for _, a := range v.Agreed {
		line("agreed:", "%s (%s %s; %s %s)", a.Builder, plural(len(a.Keys), "key", "keys"), strings.Join(a.Keys, ", "), plural(len(a.Claims), "claim", "claims"), joinInts(a.Claims))
	}
	silent := "no claim naming this digest; counts as no"
	if !lookedUp(v) {
		silent = "no vote: claims were not looked up, as the checkpoint failed"
	}
	for _, s := range v.Silent {
		line("silent:", "%s (%s)", s, silent)
	}
	for _, d := range v.Disagreed {
		line("disagreed:", "%s (key %s; claim %d) says %s@%s %s %s is sha256 %s",
			d.Builder, d.Key, d.Claim, d.Identity.Source, d.Identity.Commit, d.Identity.Platform, d.Identity.Artifact, d.SHA256)
	}
	printOthers(line, v.Others)
	for _, ig := range v.Ignored {
		line("ignored:", "%s (not in the policy; %s %s)", ig.VKey, plural(len(ig.Claims), "claim", "claims"), joinInts(ig.Claims))
	}
	if len(v.Unwitnessed) > 0 {
		line("unwitnessed:", "%s %s (past the witnessed checkpoint; %s not vote yet)", plural(len(v.Unwitnessed), "claim", "claims"), joinInts(v.Unwitnessed), plural(len(v.Unwitnessed), "it does", "they do"))
	}
	for _, p := range v.Problems {
		if p.Index != nil {
			line("problem:", "%s, claim %d: %s", p.What, *p.Index, p.Err)
		} else {
			line("problem:", "%s: %s", p.What, p.Err)
		}
	}
	if v.Evidence != "" {
		line("evidence:", "%s (the log showed two inconsistent views: keep this file and report it; \"attestlog verify --evidence FILE\" checks it)", v.Evidence)
	}
	return nil
}

// printOthers prints the claims of other digests for builds of the digest
// that are not conflicts: what trusted builders claimed instead for a build
// only untrusted keys gave the digest, one line per build and digest, and
// each open mismatch (untrusted keys giving a voted build another digest).
func printOthers(line func(label, format string, args ...any), others []client.OtherClaim) {
	type key struct {
		id     client.Identity
		digest string
	}
	var order []key
	trusted := map[key][]string{}
	claims := map[key][]int64{}
	for _, o := range others {
		k := key{o.Identity, o.SHA256}
		if !o.Trusted {
			line("mismatch:", "open mismatch %s: %s@%s %s %s is also claimed as sha256 %s by %s not in the policy (claim %d); \"attestlog evidence pull %s\" pulls it",
				o.Identity.ID(), o.Identity.Source, o.Identity.Commit, o.Identity.Platform, o.Identity.Artifact, o.SHA256,
				plural(len(o.Signers), "a key", "keys"), o.Claim, o.Identity.ID())
			continue
		}
		if claims[k] == nil {
			order = append(order, k)
		}
		for _, s := range o.Signers {
			if !slices.Contains(trusted[k], s) {
				trusted[k] = append(trusted[k], s)
			}
		}
		claims[k] = append(claims[k], o.Claim)
	}
	for _, k := range order {
		line("claimed:", "%s claimed sha256 %s for this build (%s@%s %s %s; %s %s)", joinAnd(trusted[k]), k.digest,
			k.id.Source, k.id.Commit, k.id.Platform, k.id.Artifact, plural(len(claims[k]), "claim", "claims"), joinInts(claims[k]))
	}
}

// joinAnd joins names as people write them: "a", "a and b", "a, b and c".
func joinAnd(names []string) string {
	if len(names) < 2 {
		return strings.Join(names, "")
	}
	return strings.Join(names[:len(names)-1], ", ") + " and " + names[len(names)-1]
}

// plural returns one if n is 1, else many.
func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

// lookedUp reports whether the verdict's claims were looked up: no problem
// with the checkpoint stopped Verify before (see client.Verdict.Checkpoint).
func lookedUp(v *client.Verdict) bool {
	for _, p := range v.Problems {
		if p.Index == nil && (p.What == "checkpoint" || p.What == "consistency" || p.What == "freshness") {
			return false
		}
	}
	return true
}

// ruleMet reports whether the agree rule (or -k) holds, required builders aside.
func ruleMet(v *client.Verdict) bool {
	if v.K > 0 {
		return len(v.Agreed) >= v.K
	}
	for _, g := range v.Groups {
		if g.Name == v.Agree {
			return g.Met
		}
	}
	for _, a := range v.Agreed {
		if a.Builder == v.Agree {
			return true
		}
	}
	return false
}

func metOrNot(met bool) string {
	if met {
		return "met"
	}
	return "NOT met"
}

func joinInts(xs []int64) string {
	s := make([]string, len(xs))
	for i, x := range xs {
		s[i] = strconv.FormatInt(x, 10)
	}
	return strings.Join(s, ", ")
}
