package client

import (
	"bytes"
	"context"
	"io"
	"os"
	"os/exec"
	"strconv"
	"strings"
)

// RunHook runs command with "sh -c" for a new claim a monitor pass read,
// as "attestlog monitor --exec" does: the entry bytes on standard input,
// its output on out, and the claim's fields in the environment besides the
// caller's own: ATTESTLOG_INDEX, ATTESTLOG_SHA256 and ATTESTLOG_ARTIFACT
// (the first subject), ATTESTLOG_SUBJECTS ("name sha256" lines),
// ATTESTLOG_SOURCE, ATTESTLOG_COMMIT, ATTESTLOG_PLATFORM, ATTESTLOG_RECIPE,
// ATTESTLOG_SIGNERS (space-separated) and ATTESTLOG_KIND ("dsse-slsa" for
// a v1 claim, else the signed document's format, such as "sha256sums").
// The fields are the signer's text: a hook quotes them. mc has at least
// one subject, as every claim MonitorLog passes does.
func RunHook(ctx context.Context, command string, mc MonitorClaim, out io.Writer) error {
	cmd := exec.CommandContext(ctx, "sh", "-c", command)
	cmd.Stdin = bytes.NewReader(mc.Entry)
	cmd.Stdout, cmd.Stderr = out, out
	var subjects []string
	for _, s := range mc.Subjects {
		subjects = append(subjects, s.Name+" "+s.SHA256)
	}
	cmd.Env = append(os.Environ(),
		"ATTESTLOG_INDEX="+strconv.FormatInt(mc.Index, 10),
		"ATTESTLOG_SHA256="+mc.Subjects[0].SHA256,
		"ATTESTLOG_ARTIFACT="+mc.Subjects[0].Name,
		"ATTESTLOG_SUBJECTS="+strings.Join(subjects, "\n"),
		"ATTESTLOG_SOURCE="+mc.Source,
		"ATTESTLOG_COMMIT="+mc.Commit,
		"ATTESTLOG_PLATFORM="+mc.Platform,
		"ATTESTLOG_RECIPE="+mc.Recipe,
		"ATTESTLOG_SIGNERS="+strings.Join(mc.Signers, " "),
		"ATTESTLOG_KIND="+mc.Kind,
	)
	return cmd.Run()
}
