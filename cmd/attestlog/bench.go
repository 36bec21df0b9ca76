package main

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	mrand "math/rand/v2"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/attestlog/attestlog/log/claim"
	pb "github.com/attestlog/attestlog/proto/attestlog/v1"
	"golang.org/x/mod/sumdb/note"
	"google.golang.org/grpc/status"
)

// benchConfig is the command line of bench.
type benchConfig struct {
	log      logFlags
	mode     string        // add, lookup or proof
	builders int           // concurrent builders (clients)
	requests int           // requests in all
	conns    int           // gRPC connections the builders share
	duration time.Duration // add mode: keep appending fresh claims this long instead
	asJSON   bool
}

// benchReport is what bench prints, and with --json its JSON form.
type benchReport struct {
	Mode       string         `json:"mode"`
	Builders   int            `json:"builders"`
	Requests   int            `json:"requests"`
	OK         int            `json:"ok"`
	Errors     map[string]int `json:"errors,omitempty"`
	Seconds    float64        `json:"seconds"`
	PerSecond  float64        `json:"per_second"`
	P50Millis  float64        `json:"p50_ms"`
	P99Millis  float64        `json:"p99_ms"`
	MaxMillis  float64        `json:"max_ms"`
	MeanMillis float64        `json:"mean_ms"`
}

func parseBenchFlags(args []string, stderr io.Writer) (benchConfig, error) {
	var c benchConfig
	flags := flag.NewFlagSet("bench", flag.ContinueOnError)
	flags.SetOutput(stderr)
	c.log.registerAddr(flags)
	flags.StringVar(&c.mode, "mode", "add", "what to measure: add (AddClaim), lookup (LookupByDigest) or proof (GetInclusionProof)")
	flags.IntVar(&c.builders, "builders", 64, "concurrent builders, each with its own key and connection stream")
	flags.IntVar(&c.requests, "requests", 20000, "requests in all")
	flags.IntVar(&c.conns, "conns", 4, "gRPC connections shared by the builders")
	flags.DurationVar(&c.duration, "duration", 0, "add mode: append fresh claims for this long (a soak), in rounds of --requests claims signed before each round; p50 is averaged over rounds, p99 and max are the worst round's")
	flags.BoolVar(&c.asJSON, "json", false, "print the report as JSON")
	if err := parseFlags(flags, args); err != nil {
		return c, err
	}
	switch {
	case flags.NArg() > 0:
		return c, usageErrorf("bench: unexpected argument %q", flags.Arg(0))
	case c.mode != "add" && c.mode != "lookup" && c.mode != "proof":
		return c, usageErrorf("bench: --mode %q, want add, lookup or proof", c.mode)
	case c.builders < 1 || c.requests < 1 || c.conns < 1:
		return c, usageErrorf("bench: --builders, --requests and --conns must be positive")
	}
	return c, nil
}

// bench drives a running log over gRPC and reports throughput and latency.
// Everything a request needs (claims, signatures) is made before the clock starts.
func bench(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	c, err := parseBenchFlags(args, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return nil
	} else if err != nil {
		return err
	}
	// --log may name several frontends of one log: each gets --conns
	// connections, and the builders take turns over all of them.
	var clients []pb.LogServiceClient
	for range c.conns {
		for _, addr := range strings.Split(c.log.addr, ",") {
			lf := c.log
			lf.addr = addr
			conn, err := lf.conn()
			if err != nil {
				return fmt.Errorf("bench: %w", err)
			}
			defer conn.Close()
			clients = append(clients, pb.NewLogServiceClient(conn))
		}
	}
	var r benchReport
	if c.duration > 0 && c.mode == "add" {
		if r, err = soak(ctx, c, clients); err != nil {
			return err
		}
	} else {
		reqs, err := prepareBench(ctx, c, clients[0])
		if err != nil {
			return err
		}
		r = runBench(ctx, c, clients, reqs)
	}
	if c.asJSON {
		return json.NewEncoder(stdout).Encode(r)
	}
	fmt.Fprintf(stdout, "%s: %d requests by %d builders in %.2fs: %.0f/s, %d ok, errors %v\nlatency ms: p50 %.2f, p99 %.2f, max %.2f, mean %.2f\n",
		r.Mode, r.Requests, r.Builders, r.Seconds, r.PerSecond, r.OK, r.Errors, r.P50Millis, r.P99Millis, r.MaxMillis, r.MeanMillis)
	return nil
}

// A benchRequest makes one call.
type benchRequest func(ctx context.Context, cl pb.LogServiceClient) error

// prepareBench builds every request of the run: signed claims for add;
// for lookup and proof, it first logs claims to look up and prove (untimed).
func prepareBench(ctx context.Context, c benchConfig, cl pb.LogServiceClient) ([]benchRequest, error) {
	reqs := make([]benchRequest, c.requests)
	switch c.mode {
	case "add":
		envs, err := signedClaims(c.builders, c.requests)
		if err != nil {
			return nil, err
		}
		for i, env := range envs {
			reqs[i] = func(ctx context.Context, cl pb.LogServiceClient) error {
				_, err := cl.AddClaim(ctx, &pb.AddClaimRequest{Envelope: env})
				return err
			}
		}
	case "lookup":
		n := min(c.requests, 1000)
		envs, err := signedClaims(min(c.builders, n), n)
		if err != nil {
			return nil, err
		}
		digests := make([]string, n)
		for i, env := range envs {
			if _, err := cl.AddClaim(ctx, &pb.AddClaimRequest{Envelope: env}); err != nil {
				return nil, fmt.Errorf("bench: logging claims to look up: %w", err)
			}
			e, _ := claim.ParseEnvelope(env)
			st, _ := claim.ParseStatement(e.Payload)
			digests[i] = st.Subjects[0].SHA256
		}
		for i := range reqs {
			d := digests[i%n]
			reqs[i] = func(ctx context.Context, cl pb.LogServiceClient) error {
				_, err := cl.LookupByDigest(ctx, &pb.LookupByDigestRequest{Sha256: d})
				return err
			}
		}
	case "proof":
		cp, err := cl.GetCheckpoint(ctx, &pb.GetCheckpointRequest{})
		if err != nil {
			return nil, fmt.Errorf("bench: %w", err)
		}
		size, err := checkpointSize(cp.Checkpoint)
		if err != nil || size == 0 {
			return nil, fmt.Errorf("bench: proof mode needs a non-empty log (run --mode add first): %v", err)
		}
		rng := mrand.New(mrand.NewPCG(1, 2))
		for i := range reqs {
			idx := rng.Uint64N(size)
			reqs[i] = func(ctx context.Context, cl pb.LogServiceClient) error {
				_, err := cl.GetInclusionProof(ctx, &pb.GetInclusionProofRequest{Index: idx, TreeSize: size})
				return err
			}
		}
	}
	return reqs, nil
}

// checkpointSize reads the tree size line of a checkpoint note.
func checkpointSize(n []byte) (uint64, error) {
	var origin string
	var size uint64
	_, err := fmt.Sscanf(string(n), "%s\n%d\n", &origin, &size)
	return size, err
}

// signedClaims makes n distinct claims, spread over the given number of
// builder keys (fresh keys, so that runs never collide with earlier ones),
// each signed by its builder.
func signedClaims(builders, n int) ([][]byte, error) {
	keys := make([]claim.Key, builders)
	for i := range keys {
		skey, vkey, err := note.GenerateKey(rand.Reader, fmt.Sprintf("bench.attestlog.dev/builder%d", i))
		if err != nil {
			return nil, err
		}
		s, err := note.NewSigner(skey)
		if err != nil {
			return nil, err
		}
		keys[i] = claim.Key{Signer: s, VKey: vkey}
	}
	var nonce [16]byte
	rand.Read(nonce[:])
	out := make([][]byte, n)
	for i := range out {
		h := sha256.Sum256(fmt.Appendf(nil, "%x %d", nonce, i))
		commit := sha256.Sum256(h[:])
		c := &claim.Claim{
			Subjects:  []claim.Subject{{Name: fmt.Sprintf("artifact-%d", i), SHA256: hex.EncodeToString(h[:])}},
			Source:    "git+https://bench.attestlog.dev/project",
			Commit:    hex.EncodeToString(commit[:20]),
			Recipe:    hex.EncodeToString(h[:]),
			Platform:  "linux/amd64",
			BuilderID: "https://bench.attestlog.dev",
		}
		st, err := claim.NewStatement(c)
		if err != nil {
			return nil, err
		}
		e, err := claim.SignStatement(st, keys[i%builders])
		if err != nil {
			return nil, err
		}
		out[i] = e.Envelope()
	}
	return out, nil
}

// soak appends fresh claims for c.duration: rounds of c.requests claims,
// each round signed before it is timed, and reports the whole run.
func soak(ctx context.Context, c benchConfig, clients []pb.LogServiceClient) (benchReport, error) {
	var total benchReport
	var weighted [4]float64 // latency sums weighted by requests, for the mean figures
	end := time.Now().Add(c.duration)
	for time.Now().Before(end) && ctx.Err() == nil {
		envs, err := signedClaims(c.builders, c.requests)
		if err != nil {
			return total, err
		}
		reqs := make([]benchRequest, len(envs))
		for i, env := range envs {
			reqs[i] = func(ctx context.Context, cl pb.LogServiceClient) error {
				_, err := cl.AddClaim(ctx, &pb.AddClaimRequest{Envelope: env})
				return err
			}
		}
		r := runBench(ctx, c, clients, reqs)
		total.Requests += r.Requests
		total.OK += r.OK
		total.Seconds += r.Seconds
		total.MaxMillis = max(total.MaxMillis, r.MaxMillis)
		total.P99Millis = max(total.P99Millis, r.P99Millis)
		weighted[0] += r.P50Millis * float64(r.Requests)
		weighted[1] += r.MeanMillis * float64(r.Requests)
		if total.Errors == nil {
			total.Errors = map[string]int{}
		}
		for k, v := range r.Errors {
			total.Errors[k] += v
		}
	}
	total.Mode, total.Builders = "add (soak)", c.builders
	if total.Requests > 0 {
		total.P50Millis, total.MeanMillis = weighted[0]/float64(total.Requests), weighted[1]/float64(total.Requests)
		total.PerSecond = float64(total.OK) / total.Seconds
	}
	return total, nil
}

// runBench runs the requests with c.builders concurrent workers.
func runBench(ctx context.Context, c benchConfig, clients []pb.LogServiceClient, reqs []benchRequest) benchReport {
	var next atomic.Int64
	lat := make([][]time.Duration, c.builders)
	errs := make([]map[string]int, c.builders)
	var wg sync.WaitGroup
	start := time.Now()
	for w := range c.builders {
		errs[w] = map[string]int{}
		cl := clients[w%len(clients)]
		wg.Go(func() {
			for {
				i := next.Add(1) - 1
				if i >= int64(len(reqs)) || ctx.Err() != nil {
					return
				}
				t0 := time.Now()
				err := reqs[i](ctx, cl)
				lat[w] = append(lat[w], time.Since(t0))
				if err != nil {
					errs[w][status.Code(err).String()]++
				}
			}
		})
	}
	wg.Wait()
	elapsed := time.Since(start)
	r := benchReport{Mode: c.mode, Builders: c.builders, Requests: len(reqs), Seconds: elapsed.Seconds(), Errors: map[string]int{}}
	for _, e := range errs {
		for k, v := range e {
			r.Errors[k] += v
		}
	}
	all := slices.Concat(lat...)
	slices.Sort(all)
	var sum time.Duration
	for _, d := range all {
		sum += d
	}
	ms := func(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
	if n := len(all); n > 0 {
		r.P50Millis, r.P99Millis, r.MaxMillis, r.MeanMillis = ms(all[n/2]), ms(all[n*99/100]), ms(all[n-1]), ms(sum/time.Duration(n))
	}
	r.OK = len(all)
	for _, v := range r.Errors {
		r.OK -= v
	}
	r.PerSecond = float64(r.OK) / elapsed.Seconds()
	return r
}
