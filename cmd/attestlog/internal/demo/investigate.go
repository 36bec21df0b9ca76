package demo

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
)

// investigate is step 5: attestlog evidence pull --diff of the mismatch.
func (d *demo) investigate(ctx context.Context) error {
	dir := filepath.Join(d.dir, "evidence")
	id := fmt.Sprint(d.mismatchID)
	out, err := d.attestlog(ctx, "evidence", "pull", "--log", d.logGRPC, "--log-vkey", d.logVKey, id, "-o", dir, "--diff")
	if err != nil {
		return err
	}
	if n := strings.Count(out, "sha256 verified"); n != 2 {
		return fmt.Errorf("evidence pull downloaded %d verified binaries, want 2:\n%s", n, out)
	}
	d.say("The investigator pulled the mismatch into the directory evidence:")
	fmt.Fprintf(d.out, "     $ attestlog evidence pull %s -o evidence --diff\n", id)
	for _, l := range strings.Split(strings.TrimRight(out, "\n"), "\n") {
		fmt.Fprintf(d.out, "     %s\n", strings.ReplaceAll(l, dir, "evidence"))
	}
	d.say("Both binaries came back from the log's archive, each matching the digest its claims logged, with every claim and its inclusion proof: enough to take the backdoor apart, long after the mirror has gone.")
	return nil
}
