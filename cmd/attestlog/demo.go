package main

import (
	"bytes"
	"context"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"time"

	"github.com/attestlog/attestlog/client"
	"github.com/attestlog/attestlog/client/grpcsource"
	pb "github.com/attestlog/attestlog/proto/attestlog/v1"
	"github.com/attestlog/attestlog/tiles"
	"github.com/attestlog/attestlog/witness"
	"golang.org/x/sync/errgroup"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
)

const (
	// demoTimeout bounds the whole demo; it normally takes a few seconds.
	demoTimeout = 3 * time.Minute
	// demoWait bounds each wait for witnesses.
	demoWait = 20 * time.Second

	demoOrigin = "localhost/attestlog-demo"
	demoSource = "git+https://example.org/hello"
	demoAgree  = 3 // of the four trusted builders
)

// The program the builders build, and the change the mirror injects.
const (
	demoMain = `// Command hello greets whoever runs it.
package main

import (
	"fmt"
	"os"
)

func main() {
	fmt.Printf("hello, %s\n", os.Getenv("USER"))
}
`
	demoGoMod    = "module example.org/hello\n\ngo 1.22\n"
	demoInjected = `func main() {
	if os.Getenv("HELLO_KEY") == "let-me-in" {
		fmt.Println("backdoor open")
	}
`
)

// demoConfig is the command line of demo.
type demoConfig struct {
	verbose bool // server logs on stderr
	keep    bool // keep the directory
}

func parseDemoFlags(args []string, stderr io.Writer) (demoConfig, error) {
	var c demoConfig
	fs := flag.NewFlagSet("demo", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), "usage: attestlog demo [--verbose] [--keep]")
		fs.PrintDefaults()
	}
	fs.BoolVar(&c.verbose, "verbose", false, "show the servers' logs on standard error")
	fs.BoolVar(&c.keep, "keep", false, "keep the demo's directory (keys, binaries, claims, evidence) instead of removing it")
	if err := parseFlags(fs, args); err != nil {
		return c, err
	}
	if fs.NArg() > 0 {
		return c, usageErrorf("demo: unexpected argument %q", fs.Arg(0))
	}
	return c, nil
}

// A demoBuilder is one of the five builders of the demo.
type demoBuilder struct {
	name    string // its identity in the client's policy
	trusted bool   // listed in the client's policy
	home    string // its directory: key, checkout, binary, claim
	key     string // PREFIX.key
	vkey    string // its verifier key
	bin     string
	digest  string
	index   int64
}

func (b *demoBuilder) src() string { return filepath.Join(b.home, "src") }

// A demoWitness is one of the three witnesses.
type demoWitness struct {
	name, data, addr, vkey string
	srv                    *demoServer
}

// demoRun is the state of one demo, step after step.
type demoRun struct {
	c        demoConfig
	out      io.Writer
	srvErr   io.Writer // the servers' standard error
	level    string    // the servers' --log-level
	dir      string
	gocmd    string
	commit   string
	builders []*demoBuilder // author, ci, rebuilder-a, rebuilder-b, mirror

	logVKey, logData, logPolicy string
	logTLog                     *tiles.Policy // the log's witness policy
	logHTTP, logGRPC            string
	log                         *demoServer
	conn                        *grpc.ClientConn
	witnesses                   []*demoWitness
	snapshot                    string // copy of logData taken before the mirror's claim
	forced                      bool   // the log runs without its witness policy

	policy     *client.Policy
	state      *client.State
	remembered tiles.Checkpoint // what the client remembers after step 4
	mismatchID int64
	cleaned    bool // cleanup has run
}

// demo tells attestlog's whole story on loopback, in a temporary directory.
func demo(ctx context.Context, args []string, stdout, stderr io.Writer) (err error) {
	c, err := parseDemoFlags(args, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return nil
	} else if err != nil {
		return err
	}
	start := time.Now()
	gocmd, err := demoGoCommand()
	if err != nil {
		return fmt.Errorf("demo: %w", err)
	}
	dir, err := os.MkdirTemp("", "attestlog-demo-")
	if err != nil {
		return fmt.Errorf("demo: %w", err)
	}
	d := &demoRun{c: c, out: stdout, srvErr: io.Discard, level: "error", dir: dir, gocmd: gocmd}
	if c.verbose {
		d.srvErr, d.level = stderr, "info"
	}
	interrupted := ctx.Err
	defer func() {
		if !d.cleaned {
			err = d.cleanup(err, interrupted() != nil)
		}
	}()
	ctx, cancel := context.WithTimeout(ctx, demoTimeout)
	defer cancel()

	fmt.Fprintf(stdout, "attestlog demo: the whole story on loopback, in %s\n", dir)
	steps := []struct {
		title string
		run   func(context.Context) error
	}{
		{"A log and three witnesses", d.startServers},
		{"Four builders build hello reproducibly; a mirror injects a change", d.build},
		{"Every builder attests and submits its claim and binary", d.submit},
		{"A client verifies both binaries", d.verify},
		{"The investigator pulls the evidence of the mismatch", d.investigate},
		{"The log is restored to before the mirror's claim", d.rollback},
	}
	for i, s := range steps {
		fmt.Fprintf(stdout, "\n%d. %s\n", i+1, s.title)
		if err := s.run(ctx); err != nil {
			return fmt.Errorf("step %d (%s): %w", i+1, strings.ToLower(s.title[:1])+s.title[1:], err)
		}
	}
	fmt.Fprintf(stdout, "\n7. Clean up\n")
	if err := d.cleanup(nil, false); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "\nSummary: 4 of 4 trusted builders reproduced hello and the client trusted it; the mirror's backdoored build was refused, flagged as a mismatch and kept as evidence.\n")
	fmt.Fprintf(stdout, "The restored log stopped itself when its witnesses showed it the newer tree; forced to fork, it was refused by all 3 witnesses and caught by the client's remembered state. The demo took %.1fs.\n", time.Since(start).Seconds())
	return nil
}

// cleanup stops every server and removes the directory unless --keep. It
// returns err, the error of a step, with context, or else what failed.
func (d *demoRun) cleanup(err error, interrupted bool) error {
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
	if d.c.keep {
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

// say prints a paragraph of the story, indented and wrapped.
func (d *demoRun) say(format string, args ...any) {
	const width = 100
	line := "  "
	for _, w := range strings.Fields(fmt.Sprintf(format, args...)) {
		if len(line)+1+len(w) > width && len(line) > 2 {
			fmt.Fprintln(d.out, line)
			line = "  "
		}
		line += " " + w
	}
	fmt.Fprintln(d.out, line)
}

// attestlog runs a short subcommand and returns its standard output; its
// standard error is in the error if it fails.
func (d *demoRun) attestlog(ctx context.Context, args ...string) (string, error) {
	var stdout, stderr bytes.Buffer
	if err := run(ctx, args, &stdout, &stderr); err != nil {
		if msg := strings.TrimSpace(stderr.String()); msg != "" {
			return "", fmt.Errorf("attestlog %s: %w\n%s", args[0], err, msg)
		}
		return "", fmt.Errorf("attestlog %s: %w", args[0], err)
	}
	return stdout.String(), nil
}

// --- step 1 ---

func (d *demoRun) startServers(ctx context.Context) error {
	d.logData = filepath.Join(d.dir, "log")
	if err := os.Mkdir(d.logData, 0o700); err != nil {
		return err
	}
	out, err := d.attestlog(ctx, "keygen", "-o", filepath.Join(d.logData, "log"), demoOrigin)
	if err != nil {
		return err
	}
	d.logVKey = strings.TrimSpace(out)
	logsFile := filepath.Join(d.dir, "witness-logs")
	if err := os.WriteFile(logsFile, []byte("log "+d.logVKey+"\n"), 0o644); err != nil {
		return err
	}
	policy := "log " + d.logVKey + "\n"
	for i := range 3 {
		w := &demoWitness{name: fmt.Sprintf("w%d", i+1)}
		w.data = filepath.Join(d.dir, w.name)
		d.witnesses = append(d.witnesses, w)
		w.srv, err = startDemoServer(ctx, []string{"witness", "--data", w.data, "--http", "127.0.0.1:0",
			"--name", w.name + ".example", "--logs", logsFile, "--log-level", d.level},
			[]string{"witness vkey:", "http listening on"}, d.srvErr)
		if err != nil {
			return err
		}
		w.addr, w.vkey = w.srv.get("http listening on"), w.srv.get("witness vkey:")
		policy += fmt.Sprintf("witness %s %s http://%s/\n", w.name, w.vkey, w.addr)
	}
	policy += "group witnesses 2 w1 w2 w3\nquorum witnesses\n"
	d.logPolicy = filepath.Join(d.dir, "log-witness-policy")
	if err := os.WriteFile(d.logPolicy, []byte(policy), 0o644); err != nil {
		return err
	}
	if d.logTLog, err = tiles.ParsePolicy([]byte(policy)); err != nil {
		return err
	}
	d.logHTTP, d.logGRPC = "127.0.0.1:0", "127.0.0.1:0"
	if err := d.startLog(ctx); err != nil {
		return err
	}
	d.say("Started three witnesses, w1, w2 and w3 (on %s, %s and %s), and the log (gRPC on %s, HTTP on %s).",
		d.witnesses[0].addr, d.witnesses[1].addr, d.witnesses[2].addr, d.logGRPC, d.logHTTP)
	d.say("The log publishes a checkpoint only once 2 of the 3 witnesses have cosigned it, and a witness cosigns only a checkpoint consistent with the last one it saw: the log cannot show different histories to different people, or rewrite its own, without a witness noticing.")
	return nil
}

// startLog starts the log on d.logHTTP and d.logGRPC (port 0 the first
// time, then the ports it got, or new ones if those were taken meanwhile),
// with its witness policy unless d.forced, and connects to its gRPC API.
func (d *demoRun) startLog(ctx context.Context) error {
	policy := d.logPolicy
	if d.forced {
		policy = ""
	}
	start := func() (*demoServer, error) {
		return startDemoServer(ctx, []string{"serve", "--data", d.logData, "--http", d.logHTTP, "--grpc", d.logGRPC,
			"--origin", demoOrigin, "--policy=" + policy, "--builders=", "--rate", "0", "--builder-rate", "0", "--log-level", d.level},
			[]string{"log vkey:", "http listening on", "grpc listening on"}, d.srvErr)
	}
	var err error
	if d.log, err = start(); err != nil && ctx.Err() == nil && d.logGRPC != "127.0.0.1:0" {
		d.logHTTP, d.logGRPC = "127.0.0.1:0", "127.0.0.1:0"
		d.log, err = start()
	}
	if err != nil {
		d.log = nil
		return err
	}
	if got := d.log.get("log vkey:"); got != d.logVKey {
		return fmt.Errorf("the log's key is %s, want %s", got, d.logVKey)
	}
	d.logHTTP, d.logGRPC = d.log.get("http listening on"), d.log.get("grpc listening on")
	d.conn, err = grpc.NewClient(d.logGRPC, grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithDefaultCallOptions(grpc.MaxCallRecvMsgSize(maxResponseSize)))
	return err
}

// stopLog disconnects from the log and stops it.
func (d *demoRun) stopLog() error {
	d.conn.Close()
	d.conn = nil
	err := d.log.stop()
	d.log = nil
	return err
}

// --- step 2 ---

func (d *demoRun) build(ctx context.Context) error {
	sum := sha1.Sum([]byte(demoMain + demoGoMod))
	d.commit = hex.EncodeToString(sum[:])
	for _, name := range []string{"author", "ci", "rebuilder-a", "rebuilder-b", "mirror"} {
		b := &demoBuilder{name: name, trusted: name != "mirror", home: filepath.Join(d.dir, "builders", name)}
		b.key, b.bin = filepath.Join(b.home, name+".key"), filepath.Join(b.home, "hello")
		d.builders = append(d.builders, b)
		if err := d.checkout(ctx, b); err != nil {
			return err
		}
	}
	// The author builds first, which fills the Go build cache; the others
	// then rebuild at the same time.
	if err := demoGoBuild(ctx, d.gocmd, d.builders[0].src(), d.builders[0].bin); err != nil {
		return err
	}
	g, gctx := errgroup.WithContext(ctx)
	for _, b := range d.builders[1:] {
		g.Go(func() error { return demoGoBuild(gctx, d.gocmd, b.src(), b.bin) })
	}
	if err := g.Wait(); err != nil {
		return err
	}
	for _, b := range d.builders {
		var err error
		if b.digest, _, err = hashFile(b.bin); err != nil {
			return err
		}
	}
	honest, evil := d.builders[0].digest, d.mirror().digest
	d.say("author, ci, rebuilder-a and rebuilder-b each built commit %s of %s from their own checkout, with the same command: CGO_ENABLED=0 go build -trimpath -ldflags=-buildid= (%s, %s/%s).",
		d.commit[:12], demoSource, runtime.Version(), runtime.GOOS, runtime.GOARCH)
	for _, b := range d.builders[:4] {
		fmt.Fprintf(d.out, "     %-12s sha256 %s\n", b.name, b.digest)
		if b.digest != honest {
			return fmt.Errorf("the build is not reproducible: %s got sha256 %s, author got %s", b.name, b.digest, honest)
		}
	}
	d.say("The four binaries are identical, byte for byte: anyone can rebuild the commit and check.")
	fmt.Fprintf(d.out, "     %-12s sha256 %s\n", "mirror", evil)
	if evil == honest {
		return errors.New("the mirror's binary is the same as the honest one")
	}
	d.say("A compromised mirror built the same commit after injecting a backdoor into main.go, and got another binary. Its key is not one the client trusts.")
	return nil
}

func (d *demoRun) mirror() *demoBuilder { return d.builders[4] }

// checkout gives builder b its key and its own copy of the source; the
// mirror's copy has the injected change.
func (d *demoRun) checkout(ctx context.Context, b *demoBuilder) error {
	if err := os.MkdirAll(b.src(), 0o755); err != nil {
		return err
	}
	out, err := d.attestlog(ctx, "keygen", "-o", strings.TrimSuffix(b.key, ".key"), "builder.example/"+b.name)
	if err != nil {
		return err
	}
	b.vkey = strings.TrimSpace(out)
	main := demoMain
	if !b.trusted {
		main = strings.Replace(main, "func main() {\n", demoInjected, 1)
	}
	if err := os.WriteFile(filepath.Join(b.src(), "main.go"), []byte(main), 0o644); err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(b.src(), "go.mod"), []byte(demoGoMod), 0o644)
}

// --- step 3 ---

func (d *demoRun) submit(ctx context.Context) error {
	for _, b := range d.builders {
		if err := d.attest(ctx, b, b.bin, filepath.Join(b.home, "hello.claim.json")); err != nil {
			return err
		}
	}
	d.say("Each builder signed a build claim with attestlog attest (source %s, commit %s, recipe: the sha256 of go.mod, platform %s/%s, artifact hello and its sha256) and sent it with its binary with attestlog submit:",
		demoSource, d.commit[:12], runtime.GOOS, runtime.GOARCH)
	for _, b := range d.builders[:4] {
		if err := d.submitClaim(ctx, b, filepath.Join(b.home, "hello.claim.json"), true); err != nil {
			return err
		}
		fmt.Fprintf(d.out, "     %-12s logged at index %d, receipt verified, binary uploaded\n", b.name, b.index)
	}
	if err := d.waitWitnessed(ctx, 4); err != nil {
		return err
	}
	// Step 6 needs the log as it is now: stop it, copy its data, restart it.
	if err := d.stopLog(); err != nil {
		return err
	}
	d.snapshot = filepath.Join(d.dir, "log-backup")
	if err := demoCopyDir(d.logData, d.snapshot); err != nil {
		return err
	}
	if err := d.startLog(ctx); err != nil {
		return err
	}
	d.say("(Here the log's operator quietly stopped the log, copied its data directory and restarted it; step 6 uses the copy.)")
	if err := d.submitClaim(ctx, d.mirror(), filepath.Join(d.mirror().home, "hello.claim.json"), true); err != nil {
		return err
	}
	fmt.Fprintf(d.out, "     %-12s logged at index %d, receipt verified, binary uploaded\n", "mirror", d.mirror().index)
	if err := d.checkMismatch(ctx); err != nil {
		return err
	}
	return d.waitWitnessed(ctx, 5)
}

// attest signs builder b's claim about bin with attestlog attest, into
// the file out.
func (d *demoRun) attest(ctx context.Context, b *demoBuilder, bin, out string) error {
	_, err := d.attestlog(ctx, "attest", "--key", b.key, "--recipe", filepath.Join(b.src(), "go.mod"),
		"--dir", b.src(), "--source", demoSource, "--commit", d.commit, "--ref", "", "-o", out, bin)
	return err
}

// submitClaim submits b's claim in the file path, with its binary if
// upload, with attestlog submit, and reads the index from the receipt.
func (d *demoRun) submitClaim(ctx context.Context, b *demoBuilder, path string, upload bool) error {
	args := []string{"submit", "--log", d.logGRPC, "--log-vkey", d.logVKey}
	if upload {
		args = append(args, "--artifact", b.bin)
	}
	if _, err := d.attestlog(ctx, append(args, path)...); err != nil {
		return err
	}
	data, err := os.ReadFile(path + ".receipt.json")
	if err != nil {
		return err
	}
	var r receipt
	if err := json.Unmarshal(data, &r); err != nil {
		return fmt.Errorf("reading %s's receipt: %w", b.name, err)
	}
	b.index = r.Index
	return nil
}

// checkMismatch checks that the log flagged the mirror's claim as a
// mismatch, keeping both binaries, and says so.
func (d *demoRun) checkMismatch(ctx context.Context) error {
	resp, err := pb.NewLogServiceClient(d.conn).ListMismatches(ctx, &pb.ListMismatchesRequest{})
	if err != nil {
		return fmt.Errorf("listing mismatches: %w", err)
	}
	var m *pb.Mismatch
	for _, x := range resp.GetMismatches() {
		if int64(x.GetId()) == d.mirror().index {
			m = x
		}
	}
	if m == nil || len(m.GetDigests()) != 2 {
		return fmt.Errorf("the log flagged no mismatch with two digests at the mirror's claim %d", d.mirror().index)
	}
	for _, md := range m.GetDigests() {
		if !md.GetArchived() {
			return fmt.Errorf("mismatch %d: the archive lacks the binary with sha256 %s", m.GetId(), md.GetSha256())
		}
	}
	d.mismatchID = int64(m.GetId())
	d.say("The log flagged mismatch %d the moment the mirror's claim arrived: for one build (%s at %s, %s, artifact %s) %s sha256 %s and %s %s. It pinned both binaries in its archive, where no API can delete them.",
		m.GetId(), m.GetSourceUri(), short(m.GetCommit()), m.GetPlatform(), m.GetArtifact(),
		claimList(m.GetDigests()[0].GetClaimIndexes()), short(m.GetDigests()[0].GetSha256()),
		claimList(m.GetDigests()[1].GetClaimIndexes()), short(m.GetDigests()[1].GetSha256()))
	return nil
}

// waitWitnessed waits until the log publishes a checkpoint of the given
// size that 2 of the 3 witnesses cosigned.
func (d *demoRun) waitWitnessed(ctx context.Context, size int64) error {
	lc := pb.NewLogServiceClient(d.conn)
	return demoPoll(ctx, fmt.Sprintf("witnesses cosign tree size %d", size), demoWait, func() (bool, error) {
		resp, err := lc.GetCheckpoint(ctx, &pb.GetCheckpointRequest{})
		if err != nil || len(resp.GetWitnessedCheckpoint()) == 0 {
			return false, err
		}
		vc, err := d.logTLog.VerifyCheckpoint(resp.GetWitnessedCheckpoint())
		if err != nil {
			return false, fmt.Errorf("the log's witnessed checkpoint: %w", err)
		}
		return vc.Size >= size, nil
	})
}

// --- step 4 ---

func (d *demoRun) verify(ctx context.Context) error {
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
	msg, err := d.state.Checkpoint(demoOrigin)
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
func (d *demoRun) writeClientPolicy() error {
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
	fmt.Fprintf(&p, "builders release %d %s\nagree release\n", demoAgree, strings.Join(names, " "))
	path := filepath.Join(d.dir, "client-policy")
	if err := os.WriteFile(path, []byte(p.String()), 0o644); err != nil {
		return err
	}
	var err error
	if d.policy, err = client.ParsePolicy([]byte(p.String())); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	d.say("The client's policy (%s) trusts the log, needs 2 of the witnesses w1, w2 and w3, trusts the builders %s, and needs %d of those 4 to agree. The mirror is not in it.",
		path, strings.Join(names, ", "), demoAgree)
	return nil
}

// sayTrusted reports the honest binary's verdict, which must be a pass.
func (d *demoRun) sayTrusted(v *client.Verdict) error {
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
		short(v.Digest), andList(agreed), demoAgree, v.Checkpoint.Size, andList(witnesses))
	return nil
}

// sayNotTrusted reports the compromised binary's verdict, which must be a
// failure, and who disagrees with it.
func (d *demoRun) sayNotTrusted(ctx context.Context, src client.Source, v *client.Verdict) error {
	mirrorVKey := d.mirror().vkey
	ignored := slices.ContainsFunc(v.Ignored, func(s client.IgnoredSigner) bool { return s.VKey == mirrorVKey })
	if v.ExitCode() == 0 || v.QuorumMet || len(v.Agreed) > 0 || !ignored {
		return fmt.Errorf("the compromised binary: exit code %d, quorum met %v, %d builders agreed, ignored signers %v",
			v.ExitCode(), v.QuorumMet, len(v.Agreed), v.Ignored)
	}
	conflicts, err := demoConflicts(ctx, d.policy, src, v)
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
		short(v.Digest), v.ExitCode(), exitMeaning(v.ExitCode()), claimKeyName(mirrorVKey), andList(names), short(other), claimList(indexes))
	return nil
}

// --- step 5 ---

func (d *demoRun) investigate(ctx context.Context) error {
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

// --- step 6 ---

func (d *demoRun) rollback(ctx context.Context) error {
	if err := d.stopLog(); err != nil {
		return err
	}
	if err := os.RemoveAll(d.logData); err != nil {
		return err
	}
	if err := demoCopyDir(d.snapshot, d.logData); err != nil {
		return err
	}
	if err := d.startLog(ctx); err != nil {
		return err
	}
	// To hide the rewind, the operator appends another claim in the
	// mirror's place: the mirror now claims the honest digest.
	m := d.mirror()
	cover := filepath.Join(m.home, "cover-up.claim.json")
	if err := d.attest(ctx, m, d.builders[0].bin, cover); err != nil {
		return err
	}
	refusal, health, err := d.logStopsItself(ctx, m, cover)
	if err != nil {
		return err
	}
	d.say("The log was stopped, its data directory replaced by the copy from before the mirror's claim (tree size %d), and restarted. Before acknowledging anything, the restarted log asked its witnesses to confirm its checkpoint: they had cosigned tree size %d, and served that checkpoint, signed by the log's own key. So the log stopped itself. Asked to log a cover-up claim in the mirror's place (the mirror now claiming the honest digest), it refused:",
		m.index, d.remembered.Size)
	fmt.Fprintf(d.out, "     %s\n", refusal)
	d.say("Its /checkpoint publishes nothing and its /healthz answers 503 (%q) until the operator restores the data directory the witnesses saw; its entries and tiles are still served.", health)

	// The operator forces it: no witness policy, so the log asks no one.
	if err := d.stopLog(); err != nil {
		return err
	}
	d.forced = true
	if err := d.startLog(ctx); err != nil {
		return err
	}
	if err := d.submitClaim(ctx, m, cover, false); err != nil {
		return err
	}
	fork, forkNote, err := d.signedCheckpoint(ctx)
	if err != nil {
		return err
	}
	if fork.Size != d.remembered.Size || fork.Hash == d.remembered.Hash {
		return fmt.Errorf("the forced log signed tree size %d, root %x; want size %d with a root other than %x",
			fork.Size, fork.Hash, d.remembered.Size, d.remembered.Hash)
	}
	d.say("The operator forced it: restarted the log without its witness policy, so that it asks no one, and appended the cover-up claim at index %d. The log signed a checkpoint of tree size %d again, with another root hash: a fork.",
		m.index, fork.Size)
	if err := d.witnessesRefuse(ctx, forkNote); err != nil {
		return err
	}
	return d.clientDetects(ctx, forkNote)
}

// logStopsItself checks that the restored log refuses the claim in the
// file cover and fails /healthz, and returns both messages.
func (d *demoRun) logStopsItself(ctx context.Context, b *demoBuilder, cover string) (refusal, health string, err error) {
	err = d.submitClaim(ctx, b, cover, false)
	if err == nil {
		return "", "", errors.New("the restored log accepted a claim at the index its witnesses saw another at")
	}
	for _, l := range strings.Split(err.Error(), "\n") {
		if _, msg, ok := strings.Cut(l, "log: store rolled back"); ok {
			refusal = "log: store rolled back" + msg
		}
	}
	if refusal == "" {
		return "", "", fmt.Errorf("the restored log refused the claim for another reason: %w", err)
	}
	if i := strings.Index(refusal, "; appends are refused"); i > 0 {
		refusal = refusal[:i] + "."
	}
	code, body, err := demoGetStatus(ctx, "http://"+d.logHTTP+"/healthz")
	if err != nil {
		return "", "", err
	}
	if code != http.StatusServiceUnavailable || !strings.Contains(body, "rolled back") {
		return "", "", fmt.Errorf("the restored log's /healthz: %d %q, want 503", code, body)
	}
	if code, _, err := demoGetStatus(ctx, "http://"+d.logHTTP+"/checkpoint"); err != nil || code != http.StatusServiceUnavailable {
		return "", "", fmt.Errorf("the restored log's /checkpoint: %d (%v), want 503", code, err)
	}
	if code, _, err := demoGetStatus(ctx, fmt.Sprintf("http://%s/tile/entries/000.p/%d", d.logHTTP, b.index)); err != nil || code != http.StatusOK {
		return "", "", fmt.Errorf("the restored log's entries: %d (%v), want 200", code, err)
	}
	if i := strings.Index(body, ": witness"); i > 0 {
		body = body[:i]
	}
	return refusal, strings.TrimSpace(body), nil
}

// signedCheckpoint returns the log's latest signed checkpoint, which the
// log key alone signed, verified with that key.
func (d *demoRun) signedCheckpoint(ctx context.Context) (tiles.Checkpoint, []byte, error) {
	resp, err := pb.NewLogServiceClient(d.conn).GetCheckpoint(ctx, &pb.GetCheckpointRequest{})
	if err != nil {
		return tiles.Checkpoint{}, nil, err
	}
	cp, err := client.OpenCheckpoint(resp.GetCheckpoint(), d.policy.TLog.Logs[0].Verifier)
	return cp, resp.GetCheckpoint(), err
}

// witnessesRefuse asks every witness to cosign the forked checkpoint, as
// the operator would, and checks that each refuses it with a 422, keeps it
// as evidence and still serves the checkpoint the client remembers.
func (d *demoRun) witnessesRefuse(ctx context.Context, forkNote []byte) error {
	var reason string
	for _, w := range d.witnesses {
		base := "http://" + w.addr
		wc := &witness.Client{URL: base + "/"}
		_, err := wc.AddCheckpoint(ctx, d.remembered.Size, nil, forkNote)
		var st *witness.StatusError
		if !errors.As(err, &st) || st.Code != http.StatusUnprocessableEntity {
			return fmt.Errorf("%s answered the forked checkpoint with %v, want a 422 refusal", w.name, err)
		}
		b, err := demoGet(ctx, base+"/evidence")
		if err != nil {
			return err
		}
		var list []struct{ Reason string }
		if err := json.Unmarshal(b, &list); err != nil {
			return fmt.Errorf("%s/evidence: %w", base, err)
		}
		if len(list) == 0 {
			return fmt.Errorf("%s kept no evidence of the fork", w.name)
		}
		reason = list[0].Reason
		b, err = demoGet(ctx, base+"/"+originHashHex(demoOrigin)+"/checkpoint")
		if err != nil {
			return err
		}
		cp, err := client.OpenCheckpoint(b, d.policy.TLog.Logs[0].Verifier)
		if err != nil || cp.Size != d.remembered.Size || cp.Hash != d.remembered.Hash {
			return fmt.Errorf("%s's latest cosigned checkpoint is not the one the client remembers (size %d): %v", w.name, cp.Size, err)
		}
	}
	d.say("The operator asked the witnesses to cosign it anyway. The witnesses refused it: w1, w2 and w3 each answered 422, kept it as evidence (GET /evidence: %q) and still vouch only for the size-%d tree holding the mirror's claim. Without a quorum, no client that needs witnesses accepts the fork.",
		reason, d.remembered.Size)
	return nil
}

// originHashHex is the lowercase hex SHA-256 of origin, which names a log
// in a witness's URLs.
func originHashHex(origin string) string {
	h := sha256.Sum256([]byte(origin))
	return hex.EncodeToString(h[:])
}

// clientDetects shows the client the forked log's signed checkpoint, which
// its remembered state must reject with evidence, and verifies again.
func (d *demoRun) clientDetects(ctx context.Context, forkNote []byte) error {
	logOnly, err := tiles.ParsePolicy([]byte("log " + d.logVKey + "\nquorum none\n"))
	if err != nil {
		return err
	}
	vc, err := logOnly.VerifyCheckpoint(forkNote)
	if err != nil {
		return err
	}
	src := grpcsource.New(d.conn)
	err = d.state.Update(ctx, vc, src)
	var ie *client.InconsistencyError
	if !errors.As(err, &ie) || ie.Evidence == "" {
		return fmt.Errorf("the client accepted the forked checkpoint: %v", err)
	}
	b, err := os.ReadFile(ie.Evidence)
	if err != nil {
		return err
	}
	if _, err := client.CheckEvidence(d.policy, b); err != nil {
		return fmt.Errorf("the evidence file does not hold: %w", err)
	}
	d.say("The client remembers the size-%d checkpoint it verified in step 4. Shown the log's latest signed checkpoint, it found %s: two checkpoints signed by the log's own key that cannot both be true. It wrote the proof, both signed notes, to %s; anyone with the log's public key can check it (client.CheckEvidence).",
		d.remembered.Size, ie.Reason, ie.Evidence)
	v, err := client.Verify(ctx, d.policy, src, d.builders[0].digest, client.VerifyOptions{State: d.state})
	if err != nil {
		return err
	}
	if v.ExitCode()&client.ExitVerifyErr == 0 || v.QuorumMet {
		return fmt.Errorf("verify against the forked log: exit code %d, problems %v", v.ExitCode(), v.Problems)
	}
	d.say("Verifying even the honest binary against this log now fails, exit code %d (%s): the only checkpoint it can show is the fork, which no witness cosigned.",
		v.ExitCode(), exitMeaning(v.ExitCode()))
	return nil
}
