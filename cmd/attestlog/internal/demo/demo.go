// Package demo tells attestlog's whole story on loopback, in a temporary
// directory: a log and three witnesses start, four builders reproduce a
// program and a compromised mirror builds a backdoored one, everyone
// submits, a client verifies both binaries, an investigator pulls the
// evidence of the mismatch, and the log, restored from an old copy, stops
// itself and, forced to fork, is caught by its witnesses and by the
// client's remembered state.
//
// It is the body of "attestlog demo". The command passes in a [Runner] that
// runs its own subcommands (keygen, serve, witness, attest, submit,
// evidence), so that the demo drives the code a user runs. The story is a
// table of steps; each step checks what it shows and fails rather than tell
// something that did not happen.
//
// Run may be called concurrently: each run has its own directory, and its
// servers listen on ports the system picks.
package demo

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/attestlog/attestlog/client"
	"github.com/attestlog/attestlog/tiles"
	"google.golang.org/grpc"
)

// A Runner runs one attestlog subcommand, args[0] ("serve", "keygen", ...)
// with the arguments after it, as the attestlog binary would, and returns
// when the subcommand is done: for serve and witness, once ctx is done and
// they have shut down. It MUST be safe for concurrent use: the demo runs
// the log, the witnesses and the clients at the same time.
type Runner func(ctx context.Context, args []string, stdout, stderr io.Writer) error

// Config configures a demo. Run is required; every other zero value means
// the default.
type Config struct {
	Run     Runner    // runs attestlog's subcommands
	Stdout  io.Writer // the story; nil discards it
	Stderr  io.Writer // the servers' logs, with Verbose; nil discards them
	Verbose bool      // the servers log at info level to Stderr, instead of nothing
	Keep    bool      // keep the directory (keys, binaries, claims, evidence) instead of removing it
}

const (
	// timeout bounds the whole demo; it normally takes a few seconds.
	timeout = 3 * time.Minute
	// witnessWait bounds each wait for witnesses.
	witnessWait = 20 * time.Second

	origin = "localhost/attestlog-demo"
	source = "git+https://example.org/hello"
	agree  = 3 // of the four trusted builders
)

// steps is the story: step i+1 has title steps[i].title. A step fails with
// an error rather than tell what did not happen.
var steps = []struct {
	title string
	run   func(*demo, context.Context) error
}{
	{"A log and three witnesses", (*demo).startServers},
	{"Four builders build hello reproducibly; a mirror injects a change", (*demo).build},
	{"Every builder attests and submits its claim and binary", (*demo).submit},
	{"A client verifies both binaries", (*demo).verify},
	{"The investigator pulls the evidence of the mismatch", (*demo).investigate},
	{"The log is restored to before the mirror's claim", (*demo).rollback},
}

// A builder is one of the five builders of the demo.
type builder struct {
	name    string // its identity in the client's policy
	trusted bool   // listed in the client's policy
	home    string // its directory: key, checkout, binary, claim
	key     string // PREFIX.key
	vkey    string // its verifier key
	bin     string
	digest  string
	index   int64
}

func (b *builder) src() string { return filepath.Join(b.home, "src") }

// A witnessServer is one of the three witnesses.
type witnessServer struct {
	name, data, addr, vkey string
	srv                    *server
}

// demo is the state of one demo, step after step.
type demo struct {
	cfg      Config
	out      io.Writer
	srvErr   io.Writer // the servers' standard error
	level    string    // the servers' --log-level
	dir      string
	gocmd    string
	commit   string
	builders []*builder // author, ci, rebuilder-a, rebuilder-b, mirror

	logVKey, logData, logPolicy string
	logTLog                     *tiles.Policy // the log's witness policy
	logHTTP, logGRPC            string
	log                         *server
	conn                        *grpc.ClientConn
	witnesses                   []*witnessServer
	snapshot                    string // copy of logData taken before the mirror's claim
	forced                      bool   // the log runs without its witness policy

	policy     *client.Policy
	state      *client.State
	remembered tiles.Checkpoint // what the client remembers after step 4
	mismatchID int64
	cleaned    bool // cleanup has run
}

// Run runs the demo, printing its story to cfg.Stdout. It stops its servers
// and removes its directory (unless cfg.Keep) before it returns, also when a
// step fails or ctx is done; the error then says which step and, if ctx was
// done, that the demo was interrupted.
func Run(ctx context.Context, cfg Config) (err error) {
	start := time.Now()
	d, err := newDemo(cfg)
	if err != nil {
		return fmt.Errorf("demo: %w", err)
	}
	interrupted := ctx.Err
	defer func() {
		if !d.cleaned {
			err = d.cleanup(err, interrupted() != nil)
		}
	}()
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	fmt.Fprintf(d.out, "attestlog demo: the whole story on loopback, in %s\n", d.dir)
	for i, s := range steps {
		fmt.Fprintf(d.out, "\n%d. %s\n", i+1, s.title)
		if err := s.run(d, ctx); err != nil {
			return fmt.Errorf("step %d (%s): %w", i+1, strings.ToLower(s.title[:1])+s.title[1:], err)
		}
	}
	fmt.Fprintf(d.out, "\n%d. Clean up\n", len(steps)+1)
	if err := d.cleanup(nil, false); err != nil {
		return err
	}
	fmt.Fprintf(d.out, "\nSummary: 4 of 4 trusted builders reproduced hello and the client trusted it; the mirror's backdoored build was refused, flagged as a mismatch and kept as evidence.\n")
	fmt.Fprintf(d.out, "The restored log stopped itself when its witnesses showed it the newer tree; forced to fork, it was refused by all 3 witnesses and caught by the client's remembered state. The demo took %.1fs.\n", time.Since(start).Seconds())
	return nil
}

// newDemo checks cfg, finds the go command and makes the demo's directory.
func newDemo(cfg Config) (*demo, error) {
	if cfg.Run == nil {
		return nil, errors.New("no Runner to run attestlog's subcommands with")
	}
	d := &demo{cfg: cfg, out: cfg.Stdout, srvErr: io.Discard, level: "error"}
	if d.out == nil {
		d.out = io.Discard
	}
	if cfg.Verbose && cfg.Stderr != nil {
		d.srvErr, d.level = cfg.Stderr, "info"
	}
	var err error
	if d.gocmd, err = goCommand(); err != nil {
		return nil, err
	}
	if d.dir, err = os.MkdirTemp("", "attestlog-demo-"); err != nil {
		return nil, err
	}
	return d, nil
}

// cleanup stops every server and removes the directory unless Keep. It
// returns err, the error of a step, with context, or else what failed.
func (d *demo) cleanup(err error, interrupted bool) error {
	d.cleaned = true
	if d.conn != nil {
		d.conn.Close()
	}
	var errs []error
	if d.log != nil {
		errs = append(errs, d.log.stop())
	}
	for _, w := range d.witnesses {
		if w.srv != nil {
			errs = append(errs, w.srv.stop())
		}
	}
	switch {
	case err != nil && interrupted:
		err = fmt.Errorf("demo: interrupted: %w", err)
	case err != nil:
		err = fmt.Errorf("demo: %w", err)
	}
	if d.cfg.Keep {
		fmt.Fprintf(d.out, "   Stopped the log and the witnesses, and kept %s.\n", d.dir)
	} else if rerr := os.RemoveAll(d.dir); rerr != nil {
		errs = append(errs, fmt.Errorf("removing %s: %w", d.dir, rerr))
	} else if err == nil {
		fmt.Fprintf(d.out, "   Stopped the log and the witnesses, and removed %s (--keep keeps it).\n", d.dir)
	}
	if e := errors.Join(errs...); err == nil && e != nil {
		err = fmt.Errorf("demo: cleaning up: %w", e)
	}
	return err
}

// attestlog runs a short subcommand and returns its standard output; its
// standard error is in the error if it fails.
func (d *demo) attestlog(ctx context.Context, args ...string) (string, error) {
	var stdout, stderr bytes.Buffer
	if err := d.cfg.Run(ctx, args, &stdout, &stderr); err != nil {
		if msg := strings.TrimSpace(stderr.String()); msg != "" {
			return "", fmt.Errorf("attestlog %s: %w\n%s", args[0], err, msg)
		}
		return "", fmt.Errorf("attestlog %s: %w", args[0], err)
	}
	return stdout.String(), nil
}
