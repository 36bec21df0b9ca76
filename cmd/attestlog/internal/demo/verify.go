package demo

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/attestlog/attestlog/client"
	"github.com/attestlog/attestlog/client/grpcsource"
)

// verify is step 4: the client verifies the honest binary and the mirror's.
func (d *demo) verify(ctx context.Context) error {
	if err := d.writeClientPolicy(); err != nil {
		return err
	}
	var err error
	if d.state, err = client.OpenState(filepath.Join(d.dir, "client-state")); err != nil {
		return err
	}
	src := grpcsource.New(d.conn)
	honest, evil := d.builders[0].digest, d.mirror().digest
	v, err := client.Verify(ctx, d.policy, src, honest, client.VerifyOptions{State: d.state})
	if err != nil {
		return err
	}
	if err := d.sayTrusted(v); err != nil {
		return err
	}
	if v, err = client.Verify(ctx, d.policy, src, evil, client.VerifyOptions{State: d.state}); err != nil {
		return err
	}
	if err := d.sayNotTrusted(ctx, src, v); err != nil {
		return err
	}
	d.say("(The exit codes are attestlog verify's bitmask: 1 no claims; 2 builder quorum not met; 4 conflict, when trusted builders claim different digests for one build, this one among them; 8 proof, signature or checkpoint failure.)")
	msg, err := d.state.Checkpoint(origin)
	if err == nil {
		d.remembered, err = client.OpenCheckpoint(msg, d.policy.TLog.Logs[0].Verifier)
	}
	if err != nil {
		return fmt.Errorf("the client's remembered checkpoint: %w", err)
	}
	d.say("The client remembers the checkpoint it verified (tree size %d) in %s.", d.remembered.Size, d.state.Dir())
	return nil
}

// writeClientPolicy writes the client's policy file and parses it.
func (d *demo) writeClientPolicy() error {
	var p strings.Builder
	fmt.Fprintf(&p, "# The client's policy: the log, its witnesses, and the builders it trusts.\nlog %s\n", d.logVKey)
	for _, w := range d.witnesses {
		fmt.Fprintf(&p, "witness %s %s\n", w.name, w.vkey)
	}
	p.WriteString("group witnesses 2 w1 w2 w3\nquorum witnesses\n")
	var names []string
	for _, b := range d.builders {
		if b.trusted {
			fmt.Fprintf(&p, "builder %s %s\n", b.name, b.vkey)
			names = append(names, b.name)
		}
	}
	fmt.Fprintf(&p, "builders release %d %s\nagree release\n", agree, strings.Join(names, " "))
	path := filepath.Join(d.dir, "client-policy")
	if err := os.WriteFile(path, []byte(p.String()), 0o644); err != nil {
		return err
	}
	var err error
	if d.policy, err = client.ParsePolicy([]byte(p.String())); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	d.say("The client's policy (%s) trusts the log, needs 2 of the witnesses w1, w2 and w3, trusts the builders %s, and needs %d of those 4 to agree. The mirror is not in it.",
		path, strings.Join(names, ", "), agree)
	return nil
}

// sayTrusted reports the honest binary's verdict, which must be a pass.
func (d *demo) sayTrusted(v *client.Verdict) error {
	if v.ExitCode() != 0 || len(v.Agreed) != 4 {
		return fmt.Errorf("the honest binary: exit code %d, %d builders agreed, problems %v", v.ExitCode(), len(v.Agreed), v.Problems)
	}
	var agreed, witnesses []string
	for _, a := range v.Agreed {
		agreed = append(agreed, a.Builder)
	}
	for _, w := range v.Checkpoint.Witnesses {
		witnesses = append(witnesses, w.Witness)
	}
	d.say("Honest binary (sha256 %s): TRUSTED, exit code 0. %s agree (%d needed), each claim proven in the log's checkpoint of size %d, which %s cosigned.",
		short(v.Digest), andList(agreed), agree, v.Checkpoint.Size, andList(witnesses))
	return nil
}

// sayNotTrusted reports the compromised binary's verdict, which must be a
// failure, and who disagrees with it.
func (d *demo) sayNotTrusted(ctx context.Context, src client.Source, v *client.Verdict) error {
	mirrorVKey := d.mirror().vkey
	ignored := slices.ContainsFunc(v.Ignored, func(s client.IgnoredSigner) bool { return s.VKey == mirrorVKey })
	if v.ExitCode() == 0 || v.QuorumMet || len(v.Agreed) > 0 || !ignored {
		return fmt.Errorf("the compromised binary: exit code %d, quorum met %v, %d builders agreed, ignored signers %v",
			v.ExitCode(), v.QuorumMet, len(v.Agreed), v.Ignored)
	}
	conflicts, err := findConflicts(ctx, d.policy, src, v)
	if err != nil {
		return err
	}
	var names []string
	var indexes []uint64
	var other string
	for _, c := range conflicts {
		names = appendOnce(names, c.builder)
		indexes = appendOnce(indexes, uint64(c.index))
		other = c.sha256
	}
	if len(names) != 4 {
		return fmt.Errorf("the compromised binary: %d trusted builders disagree, want 4", len(names))
	}
	d.say("Compromised binary (sha256 %s): NOT TRUSTED, exit code %d (%s). None of the 4 trusted builders claims it: its only claim is signed by %s, whose key the policy does not trust. And for that very build %s claimed sha256 %s (%s it): they disagree with the mirror.",
		short(v.Digest), v.ExitCode(), exitMeaning(v.ExitCode()), keyName(mirrorVKey), andList(names), short(other), claimList(indexes))
	return nil
}
