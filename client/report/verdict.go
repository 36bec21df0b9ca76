package report

import (
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/attestlog/attestlog/client"
)

// VerdictJSON is the --json output of attestlog verify: the verdict with
// its exit code, and whether that code means trusted.
type VerdictJSON struct {
	ExitCode int  `json:"exit_code"`
	Trusted  bool `json:"trusted"`
	*client.Verdict
}

// PrintVerdictJSON writes v to w as indented [VerdictJSON].
func PrintVerdictJSON(w io.Writer, v *client.Verdict) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(VerdictJSON{ExitCode: v.ExitCode(), Trusted: v.ExitCode() == 0, Verdict: v})
}

// VerdictReasons names the bits of an exit code.
func VerdictReasons(code int) string {
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

// PrintVerdict prints the verdict for people, about the digest or, if file
// is not empty, the file that has it: the verdict line first, then
// one line per fact.
func PrintVerdict(w io.Writer, v *client.Verdict, file string) error {
	code := v.ExitCode()
	what := "sha256 " + v.Digest
	if file != "" {
		what = file + " (" + what + ")"
	}
	if code == 0 {
		fmt.Fprintf(w, "TRUSTED: %s\n", TermSafe(what))
	} else {
		fmt.Fprintf(w, "NOT TRUSTED (exit %d: %s): %s\n", code, VerdictReasons(code), TermSafe(what))
	}
	line := func(label, format string, args ...any) {
		fmt.Fprintf(w, "%-13s%s\n", label, TermSafe(fmt.Sprintf(format, args...))) // every line quotes outside text
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
		line("agreed:", "%s (%s %s; %s %s)", a.Builder, Plural(len(a.Keys), "key", "keys"), strings.Join(a.Keys, ", "), Plural(len(a.Claims), "claim", "claims"), joinInts(a.Claims))
	}
	silent := "no claim naming this digest; counts as no"
	if !lookedUp(v) {
		silent = "no vote: claims were not looked up, as the checkpoint failed"
	}
	for _, s := range v.Silent {
		line("silent:", "%s (%s)", s, silent)
	}
	for _, d := range v.Disagreed {
		if d.Identity.Source == "" {
			// A claim without a source (a SHA256SUMS, a link) conflicts by
			// file name: the client's rule, not a build identity.
			line("disagreed:", "%s (key %s; claim %d) says file %s is sha256 %s (a claim without a source: it conflicts by file name)",
				d.Builder, d.Key, d.Claim, d.Identity.Artifact, d.SHA256)
			continue
		}
		line("disagreed:", "%s (key %s; claim %d) says %s %s %s is sha256 %s",
			d.Builder, d.Key, d.Claim, sourceAt(d.Identity.Source, d.Identity.Commit), d.Identity.Platform, d.Identity.Artifact, d.SHA256)
	}
	printOthers(line, v.Others)
	for _, ig := range v.Ignored {
		line("ignored:", "%s (not in the policy; %s %s)", ig.VKey, Plural(len(ig.Claims), "claim", "claims"), joinInts(ig.Claims))
	}
	if len(v.Unwitnessed) > 0 {
		line("unwitnessed:", "%s %s (past the witnessed checkpoint; %s not vote yet)", Plural(len(v.Unwitnessed), "claim", "claims"), joinInts(v.Unwitnessed), Plural(len(v.Unwitnessed), "it does", "they do"))
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
			line("mismatch:", "open mismatch %s: %s %s %s is also claimed as sha256 %s by %s not in the policy (claim %d); \"attestlog evidence pull %s\" pulls it",
				o.Identity.ID(), sourceAt(o.Identity.Source, o.Identity.Commit), o.Identity.Platform, o.Identity.Artifact, o.SHA256,
				Plural(len(o.Signers), "a key", "keys"), o.Claim, o.Identity.ID())
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
		line("claimed:", "%s claimed sha256 %s for this build (%s %s %s; %s %s)", joinAnd(trusted[k]), k.digest,
			sourceAt(k.id.Source, k.id.Commit), k.id.Platform, k.id.Artifact, Plural(len(claims[k]), "claim", "claims"), joinInts(claims[k]))
	}
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
