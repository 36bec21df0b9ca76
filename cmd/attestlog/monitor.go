package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"time"

	"github.com/attestlog/attestlog/client"
	"github.com/attestlog/attestlog/client/report"
	"github.com/attestlog/attestlog/cmd/attestlog/internal/netconf"
	"github.com/attestlog/attestlog/cmd/attestlog/internal/usage"
)

const (
	// defaultMonitorInterval is the time between two monitor passes.
	defaultMonitorInterval = 10 * time.Second
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
	fs.StringVar(&c.http, "http", usage.Env("ATTESTLOG_LOG_HTTP", ""), "the log's tlog-tiles base `URL`; default the URL on the policy's log line (env ATTESTLOG_LOG_HTTP)")
	registerPolicy(fs, &c.policy)
	registerState(fs, &c.state, ", and where the monitor is")
	fs.BoolVar(&c.once, "once", false, "run one pass and exit")
	fs.DurationVar(&c.interval, "interval", defaultMonitorInterval, "time between passes")
	fs.DurationVar(&c.maxAge, "max-age", defaultMonitorMaxAge, "a finding unless a witness of the policy cosigned the checkpoint within this `duration`; 0 checks no age (needed for a policy of quorum none)")
	fs.StringVar(&c.exec, "exec", "", "run sh -c `CMD` for each new claim, with the entry on standard input and ATTESTLOG_* variables")
	fs.BoolVar(&c.json, "json", false, "print each pass's report as JSON")
	fs.BoolVar(&c.verbose, "v", false, "print a line for every pass; by default only a pass that read new entries, found something or saw the mismatches change prints one")
	pos, err := usage.ParseArgs(fs, args)
	if err != nil {
		return c, err
	}
	switch {
	case len(pos) > 0:
		return c, usage.Errorf("monitor: unexpected argument %q", pos[0])
	case c.policy == "":
		return c, usage.Errorf("monitor: --policy (or ATTESTLOG_POLICY_FILE) is required")
	case c.state == "":
		return c, usage.Errorf("monitor: --state must name a directory: the monitor remembers where it is")
	case c.interval <= 0:
		return c, usage.Errorf("monitor: --interval %v is not positive", c.interval)
	case c.maxAge < 0:
		return c, usage.Errorf("monitor: --max-age %v is negative", c.maxAge)
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
	lc, cfg, err := c.wire(stderr)
	if err != nil {
		return operational(err)
	}
	defer lc.Close()
	found, prevMismatches := false, -1 // the first pass prints its line
	for {
		r, err := client.MonitorLog(ctx, cfg)
		switch {
		case ctx.Err() != nil:
			return monitorExit(found)
		case err != nil && c.once:
			return operational(fmt.Errorf("monitor: %w", err))
		case err != nil:
			fmt.Fprintf(stderr, "attestlog: monitor: %s (trying again in %v)\n", report.TermSafe(err.Error()), c.interval)
		default:
			found = found || len(r.Findings) > 0
			if c.verbose || c.json || changed(r, prevMismatches) {
				if err := report.PrintMonitorReport(stdout, r, c.json); err != nil {
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

// wire reads the policy, opens the state and connects to the log: the
// MonitorConfig of every pass. The caller closes the log client.
func (c *monitorConfig) wire(stderr io.Writer) (*logClient, client.MonitorConfig, error) {
	p, err := client.ParsePolicyFile(c.policy)
	if err != nil {
		return nil, client.MonitorConfig{}, err
	}
	if c.http == "" {
		if len(p.TLog.Logs) != 1 || p.TLog.Logs[0].URL == "" {
			return nil, client.MonitorConfig{}, usage.Errorf("monitor: --http is required: the policy gives no URL for its log")
		}
		c.http = p.TLog.Logs[0].URL
	}
	st, err := client.OpenState(c.state)
	if err != nil {
		return nil, client.MonitorConfig{}, err
	}
	lc, err := c.log.dial()
	if err != nil {
		return nil, client.MonitorConfig{}, err
	}
	hc, err := netconf.HTTPClientFor(c.log.ca) // --tls-ca serves https tiles too
	if err != nil {
		lc.Close()
		return nil, client.MonitorConfig{}, err
	}
	cfg := client.MonitorConfig{Policy: p, Tiles: client.HTTPFetcher{Base: c.http, Client: hc}, Index: lc.src, State: st, MaxAge: c.maxAge}
	if c.exec != "" {
		cfg.OnClaim = func(ctx context.Context, mc client.MonitorClaim) error {
			if err := client.RunHook(ctx, c.exec, mc, stderr); err != nil {
				return fmt.Errorf("--exec: %w", err)
			}
			return nil
		}
	}
	return lc, cfg, nil
}

func monitorExit(found bool) error {
	if found {
		return exitError{code: client.ExitVerifyErr}
	}
	return nil
}

// changed reports whether a pass is worth a line: it read new entries,
// found something, did not advance, or the mismatches changed in number.
func changed(r *client.MonitorReport, prevMismatches int) bool {
	return r.OldSize != r.Size || len(r.Findings) > 0 || !r.Saved || r.Evidence != "" || r.Mismatches != prevMismatches
}
