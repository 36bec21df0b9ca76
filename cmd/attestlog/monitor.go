package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"time"

	"github.com/attestlog/attestlog/client"
	"github.com/attestlog/attestlog/client/grpcsource"
)

const (
	// defaultMonitorInterval is the time between two monitor passes.
	defaultMonitorInterval = 10 * time.Second
	// maxClaimLines bounds the claims one human-readable report lists.
	maxClaimLines = 50
	// defaultMonitorMaxAge bounds how long ago a witness of the policy
	// must have cosigned the checkpoint a monitor is shown.
	defaultMonitorMaxAge = 24 * time.Hour
)

// monitorConfig is the command line of monitor.
type monitorConfig struct {
	log      logFlags
	http     string
	policy   string
	state    string
	once     bool
	interval time.Duration
	maxAge   time.Duration
	exec     string
	json     bool
	verbose  bool // a line for every pass, not only those that changed something
}

func parseMonitorFlags(args []string, stderr io.Writer) (monitorConfig, error) {
	var c monitorConfig
	fs := flag.NewFlagSet("monitor", flag.ContinueOnError)
	fs.SetOutput(stderr)
	c.log.registerAddr(fs)
	fs.StringVar(&c.http, "http", envOr("ATTESTLOG_LOG_HTTP", ""), "the log's tlog-tiles base `URL`; default the URL on the policy's log line (env ATTESTLOG_LOG_HTTP)")
	registerPolicy(fs, &c.policy)
	registerState(fs, &c.state, ", and where the monitor is")
	fs.BoolVar(&c.once, "once", false, "run one pass and exit")
	fs.DurationVar(&c.interval, "interval", defaultMonitorInterval, "time between passes")
	fs.DurationVar(&c.maxAge, "max-age", defaultMonitorMaxAge, "a finding unless a witness of the policy cosigned the checkpoint within this `duration`; 0 checks no age (needed for a policy of quorum none)")
	fs.StringVar(&c.exec, "exec", "", "run sh -c `CMD` for each new claim, with the entry on standard input and ATTESTLOG_* variables")
	fs.BoolVar(&c.json, "json", false, "print each pass's report as JSON")
	fs.BoolVar(&c.verbose, "v", false, "print a line for every pass; by default only a pass that read new entries, found something or saw the mismatches change prints one")
	pos, err := parseArgs(fs, args)
	if err != nil {
		return c, err
	}
	switch {
	case len(pos) > 0:
		return c, usageErrorf("monitor: unexpected argument %q", pos[0])
	case c.policy == "":
		return c, usageErrorf("monitor: --policy (or ATTESTLOG_POLICY_FILE) is required")
	case c.state == "":
		return c, usageErrorf("monitor: --state must name a directory: the monitor remembers where it is")
	case c.interval <= 0:
		return c, usageErrorf("monitor: --interval %v is not positive", c.interval)
	case c.maxAge < 0:
		return c, usageErrorf("monitor: --max-age %v is negative", c.maxAge)
	}
	return c, nil
}

// monitor follows the log, checking every new entry and the log's answers
// about them, until ctx is done (or after one pass with --once).
func monitor(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	c, err := parseMonitorFlags(args, stderr)
	if err != nil {
		return operational(err)
	}
	p, err := loadPolicy(c.policy)
	if err != nil {
		return operational(err)
	}
	if c.http == "" {
		if len(p.TLog.Logs) != 1 || p.TLog.Logs[0].URL == "" {
			return operational(usageErrorf("monitor: --http is required: the policy gives no URL for its log"))
		}
		c.http = p.TLog.Logs[0].URL
	}
	st, err := client.OpenState(c.state)
	if err != nil {
		return operational(err)
	}
	lc, err := c.log.dial()
	if err != nil {
		return operational(err)
	}
	defer lc.Close()
	hc, err := httpClientFor(c.log.ca) // --tls-ca serves https tiles too
	if err != nil {
		return operational(err)
	}
	cfg := client.MonitorConfig{Policy: p, Tiles: client.HTTPFetcher{Base: c.http, Client: hc}, Index: grpcsource.New(lc.conn), State: st, MaxAge: c.maxAge}
	if c.exec != "" {
		cfg.OnClaim = func(ctx context.Context, mc client.MonitorClaim) error { return runExec(ctx, c.exec, mc, stderr) }
	}
	found, prevMismatches := false, -1 // the first pass prints its line
	for {
		r, err := client.MonitorLog(ctx, cfg)
		switch {
		case ctx.Err() != nil:
			return monitorExit(found)
		case err != nil && c.once:
			return operational(fmt.Errorf("monitor: %w", err))
		case err != nil:
			fmt.Fprintf(stderr, "attestlog: monitor: %s (trying again in %v)\n", termSafe(err.Error()), c.interval)
		default:
			found = found || len(r.Findings) > 0
			if c.verbose || c.json || changed(r, prevMismatches) {
				if err := printMonitorReport(stdout, r, c.json); err != nil {
					return operational(err)
				}
			}
			prevMismatches = r.Mismatches
		}
		if c.once {
			return monitorExit(found)
		}
		select {
		case <-ctx.Done():
			return monitorExit(found)
		case <-time.After(c.interval):
		}
	}
}

func monitorExit(found bool) error {
	if found {
		return exitError{code: client.ExitVerifyErr}
	}
	return nil
}

// runExec runs the --exec command for a new claim: the entry bytes on
// standard input, the claim's fields in the environment, its output on
// stderr.
func runExec(ctx context.Context, command string, mc client.MonitorClaim, stderr io.Writer) error {
	cmd := exec.CommandContext(ctx, "sh", "-c", command)
	cmd.Stdin = bytes.NewReader(mc.Entry)
	cmd.Stdout, cmd.Stderr = stderr, stderr
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
	)
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("--exec: %w", err)
	}
	return nil
}

// count formats n things: "1 tile", "2 tiles".
func count(n int, one, many string) string { return count64(int64(n), one, many) }

func count64(n int64, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return fmt.Sprintf("%d %s", n, many)
}

// changed reports whether a pass is worth a line: it read new entries,
// found something, did not advance, or the mismatches changed in number.
func changed(r *client.MonitorReport, prevMismatches int) bool {
	return r.OldSize != r.Size || len(r.Findings) > 0 || !r.Saved || r.Evidence != "" || r.Mismatches != prevMismatches
}

func printMonitorReport(w io.Writer, r *client.MonitorReport, asJSON bool) error {
	if asJSON {
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(r)
	}
	checked := fmt.Sprintf("%s and %s authenticated, %s looked up", count(r.Tiles, "tile", "tiles"),
		count(r.Bundles, "entry bundle", "entry bundles"), count(r.Digests, "digest", "digests"))
	logState := "the log answered consistently (" + checked + ")"
	if n := len(r.Findings); n > 0 {
		logState = fmt.Sprintf("the log MISBEHAVED: %s below (%s)", count(n, "FINDING", "FINDINGS"), checked)
	}
	builds := "builds agree: no mismatch"
	if r.Mismatches > 0 {
		builds = "builds disagree: " + count(r.Mismatches, "mismatch", "mismatches") + " (\"attestlog mismatches\" lists them)"
	}
	if !r.Saved {
		builds += " (the state did not advance)"
	}
	fmt.Fprintf(w, "%s %s: tree size %d -> %d, %s, %s; %s; %s\n",
		time.Now().UTC().Format(time.RFC3339), termSafe(r.Origin), r.OldSize, r.Size, count64(r.Entries, "new entry", "new entries"),
		count(len(r.Claims), "new claim", "new claims"), logState, builds)
	for i, c := range r.Claims {
		if i == maxClaimLines {
			fmt.Fprintf(w, "  ... and %d more claims (--json lists all)\n", len(r.Claims)-i)
			break
		}
		var keys []string
		for _, s := range c.Signers {
			keys = append(keys, strings.SplitN(s, "+", 2)[0])
		}
		for _, s := range c.Subjects {
			fmt.Fprintf(w, "  claim %d: %s@%s %s %s sha256 %s, by %s\n", c.Index, termSafe(c.Source), termSafe(c.Commit), termSafe(c.Platform),
				termSafe(s.Name), termSafe(s.SHA256), termSafeJoin(keys, ", "))
		}
	}
	for _, f := range r.Findings {
		var at []string
		if f.Index != nil {
			at = append(at, fmt.Sprintf("entry %d", *f.Index))
		}
		if f.SHA256 != "" {
			at = append(at, "sha256 "+f.SHA256)
		}
		if f.Mismatch != "" {
			at = append(at, "mismatch "+termSafe(f.Mismatch))
		}
		where := ""
		if len(at) > 0 {
			where = " (" + strings.Join(at, ", ") + ")"
		}
		fmt.Fprintf(w, "  FINDING %s%s: %s\n", f.Kind, termSafe(where), termSafe(f.Detail))
	}
	if r.Evidence != "" {
		fmt.Fprintf(w, "  evidence: %s\n", termSafe(r.Evidence))
	}
	return nil
}
