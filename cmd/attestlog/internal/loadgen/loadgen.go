// Package loadgen drives a running log over gRPC and measures its
// throughput and latency: the bench command. Everything a request needs
// (claims, signatures) is made before the clock starts.
//
// It is not safe for concurrent use: run one Run at a time.
package loadgen

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	mrand "math/rand/v2"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/attestlog/attestlog/cmd/attestlog/internal/netconf"
	"github.com/attestlog/attestlog/log/claim"
	pb "github.com/attestlog/attestlog/proto/attestlog/v1"
	"golang.org/x/mod/sumdb/note"
	"google.golang.org/grpc"
	"google.golang.org/grpc/status"
)

// Modes are the calls Run can measure.
var Modes = []string{"add", "lookup", "proof"}

// Config says what Run measures.
type Config struct {
	Mode     string        // add (AddClaim), lookup (LookupByDigest) or proof (GetInclusionProof)
	Builders int           // concurrent builders (clients); at least 1
	Requests int           // requests in all; at least 1
	Duration time.Duration // add mode: keep appending fresh claims this long instead, in rounds of Requests
	// Agree is how many builders attest each build in add mode (see
	// AgreedClaims); 0 means 1.
	Agree int
}

// Report is what bench prints, and with --json its JSON form.
type Report struct {
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

// Print prints r as two lines of text.
func (r Report) Print(w io.Writer) {
	fmt.Fprintf(w, "%s: %d requests by %d builders in %.2fs: %.0f/s, %d ok, errors %v\nlatency ms: p50 %.2f, p99 %.2f, max %.2f, mean %.2f\n",
		r.Mode, r.Requests, r.Builders, r.Seconds, r.PerSecond, r.OK, r.Errors, r.P50Millis, r.P99Millis, r.MaxMillis, r.MeanMillis)
}

// Dial opens conns gRPC connections to each log address of addrs, a
// comma-separated list of the frontends of one log, with netconf.DialLog
// (ca: the --tls-ca of grpcs:// addresses), for Run's builders to take
// turns over. The caller calls closeAll when done.
func Dial(addrs, ca string, conns int) (clients []pb.LogServiceClient, closeAll func(), err error) {
	var cs []*grpc.ClientConn
	closeAll = func() {
		for _, c := range cs {
			c.Close()
		}
	}
	for range conns {
		for _, addr := range strings.Split(addrs, ",") {
			conn, err := netconf.DialLog(addr, ca)
			if err != nil {
				closeAll()
				return nil, nil, err
			}
			cs = append(cs, conn)
			clients = append(clients, pb.NewLogServiceClient(conn))
		}
	}
	return clients, closeAll, nil
}

// Run measures c.Mode against the log, spreading the builders over
// clients (one per connection); it prepares every request first (for
// lookup and proof it logs claims to look up and prove, untimed).
func Run(ctx context.Context, c Config, clients []pb.LogServiceClient) (Report, error) {
	if c.Duration > 0 && c.Mode == "add" {
		return soak(ctx, c, clients)
	}
	reqs, err := prepare(ctx, c, clients[0])
	if err != nil {
		return Report{}, err
	}
	return run(ctx, c, clients, reqs), nil
}

// A request makes one call.
type request func(ctx context.Context, cl pb.LogServiceClient) error

// prepare builds every request of the run: signed claims for add;
// for lookup and proof, it first logs claims to look up and prove (untimed).
func prepare(ctx context.Context, c Config, cl pb.LogServiceClient) ([]request, error) {
	reqs := make([]request, c.Requests)
	switch c.Mode {
	case "add":
		envs, err := AgreedClaims(c.Builders, max(c.Agree, 1), c.Requests)
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
		n := min(c.Requests, 1000)
		envs, err := SignedClaims(min(c.Builders, n), n)
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

// SignedClaims makes n distinct claims, spread over the given number of
// builder keys (fresh keys, so that runs never collide with earlier ones),
// each signed by its builder, each of a build of its own.
func SignedClaims(builders, n int) ([][]byte, error) { return AgreedClaims(builders, 1, n) }

// AgreedClaims makes n distinct claims as SignedClaims does, but of builds
// that agree builders each attest: each run of agree consecutive claims
// names one source commit and one artifact digest, signed by agree
// different builders (agree must be at most builders), as a release's
// rebuilders do. With agree 1 every claim is its own build, the worst case
// for the log's indexes: each claim then adds new keys rather than
// appending to lists that exist.
func AgreedClaims(builders, agree, n int) ([][]byte, error) {
	if agree < 1 || agree > builders {
		return nil, fmt.Errorf("loadgen: %d builders cannot attest each build %d times", builders, agree)
	}
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
		build := i / agree
		h := sha256.Sum256(fmt.Appendf(nil, "%x %d", nonce, build))
		commit := sha256.Sum256(h[:])
		c := &claim.Claim{
			Subjects:  []claim.Subject{{Name: fmt.Sprintf("artifact-%d", build), SHA256: hex.EncodeToString(h[:])}},
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

// soak appends fresh claims for c.Duration: rounds of c.Requests claims,
// each round signed before it is timed, and reports the whole run.
func soak(ctx context.Context, c Config, clients []pb.LogServiceClient) (Report, error) {
	var total Report
	var weighted [4]float64 // latency sums weighted by requests, for the mean figures
	end := time.Now().Add(c.Duration)
	for time.Now().Before(end) && ctx.Err() == nil {
		envs, err := AgreedClaims(c.Builders, max(c.Agree, 1), c.Requests)
		if err != nil {
			return total, err
		}
		reqs := make([]request, len(envs))
		for i, env := range envs {
			reqs[i] = func(ctx context.Context, cl pb.LogServiceClient) error {
				_, err := cl.AddClaim(ctx, &pb.AddClaimRequest{Envelope: env})
				return err
			}
		}
		r := run(ctx, c, clients, reqs)
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
	total.Mode, total.Builders = "add (soak)", c.Builders
	if total.Requests > 0 {
		total.P50Millis, total.MeanMillis = weighted[0]/float64(total.Requests), weighted[1]/float64(total.Requests)
		total.PerSecond = float64(total.OK) / total.Seconds
	}
	return total, nil
}

// run runs the requests with c.Builders concurrent workers.
func run(ctx context.Context, c Config, clients []pb.LogServiceClient, reqs []request) Report {
	var next atomic.Int64
	lat := make([][]time.Duration, c.Builders)
	errs := make([]map[string]int, c.Builders)
	var wg sync.WaitGroup
	start := time.Now()
	for w := range c.Builders {
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
	r := Report{Mode: c.Mode, Builders: c.Builders, Requests: len(reqs), Seconds: elapsed.Seconds(), Errors: map[string]int{}}
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
