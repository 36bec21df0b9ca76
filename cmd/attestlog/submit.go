package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	mathrand "math/rand/v2"
	"os"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/attestlog/attestlog/log/claim"
	pb "github.com/attestlog/attestlog/proto/attestlog/v1"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// uploadChunkSize is the size of the chunks submit uploads.
const uploadChunkSize = 256 << 10

// A repeatedFlag collects every value of a flag given several times.
type repeatedFlag []string

func (r *repeatedFlag) String() string     { return strings.Join(*r, ",") }
func (r *repeatedFlag) Set(v string) error { *r = append(*r, v); return nil }

// submitConfig is the command line of submit.
type submitConfig struct {
	log       logFlags
	artifacts repeatedFlag
	claims    []string
	retry     retryPolicy
}

func parseSubmitFlags(args []string, stderr io.Writer) (submitConfig, error) {
	var c submitConfig
	fs := flag.NewFlagSet("submit", flag.ContinueOnError)
	fs.SetOutput(stderr)
	c.log.register(fs)
	fs.Var(&c.artifacts, "artifact", "upload `file` to the log's archive once the claims are logged; a submitted claim must name its digest (repeatable)")
	c.retry = defaultRetryPolicy()
	fs.IntVar(&c.retry.attempts, "retries", c.retry.attempts, "most `attempts` per claim or artifact while the log answers that it is busy (ResourceExhausted); 1 never retries")
	fs.DurationVar(&c.retry.maxTime, "retry-time", c.retry.maxTime, "most `time` to spend retrying one claim or artifact")
	pos, err := parseArgs(fs, args)
	if err != nil {
		return c, err
	}
	if c.claims = pos; len(c.claims) == 0 {
		return c, usageErrorf("submit: no CLAIM file to submit")
	}
	if c.retry.attempts < 1 || c.retry.maxTime < 0 {
		return c, usageErrorf("submit: --retries must be at least 1 and --retry-time not negative")
	}
	return c, nil
}

// A submission is a claim file read and checked locally.
type submission struct {
	path  string
	env   []byte // the DSSE envelope as read
	entry []byte // its canonical entry: what the log must return
	claim *claim.Claim
}

// An upload is an artifact file, hashed before it is sent.
type upload struct {
	path   string
	sha256 string
	size   int64
}

// submit appends claims to a log, saves their receipts and uploads the
// artifacts they name.
func submit(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	c, err := parseSubmitFlags(args, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return nil
	} else if err != nil {
		return err
	}
	subs, err := readSubmissions(c.claims)
	if err != nil {
		return err
	}
	ups, err := hashUploads(c.artifacts, subs)
	if err != nil {
		return err
	}
	lc, err := c.log.dial()
	if err != nil {
		return err
	}
	defer lc.Close()
	if lc.verifier == nil {
		fmt.Fprintln(stderr, "attestlog: no --log-vkey: receipts' checkpoint signatures are not verified")
	}
	for _, s := range subs {
		err := c.retry.do(ctx, s.path, stderr, func() error { return lc.submitClaim(ctx, s, stdout) })
		if err != nil {
			return err
		}
	}
	for _, u := range ups {
		err := c.retry.do(ctx, u.path, stderr, func() error { return lc.uploadArtifact(ctx, u, stdout, stderr) })
		if err != nil {
			return err
		}
	}
	return nil
}

// A retryPolicy retries a call while the log answers ResourceExhausted
// (overloaded, rate-limited, out of temporary space): it waits the
// RetryInfo delay the log sent plus a jittered exponential backoff, for at
// most attempts calls and maxTime in all.
type retryPolicy struct {
	attempts int
	maxTime  time.Duration
	base     time.Duration                                    // first backoff; doubled per attempt up to maxBackoff
	jitter   func(n int64) int64                              // uniform in [0, n)
	sleep    func(ctx context.Context, d time.Duration) error // waits d or until ctx is done
	now      func() time.Time
}

// maxBackoff caps the backoff added to the log's RetryInfo delay.
const maxBackoff = 30 * time.Second

func defaultRetryPolicy() retryPolicy {
	return retryPolicy{attempts: 6, maxTime: 2 * time.Minute, base: 500 * time.Millisecond,
		jitter: mathrand.Int64N, sleep: sleepContext, now: time.Now}
}

func sleepContext(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// do calls f until it succeeds, fails otherwise than ResourceExhausted, or
// the policy's attempts or time run out, saying on stderr each time it waits.
func (p retryPolicy) do(ctx context.Context, what string, stderr io.Writer, f func() error) error {
	start := p.now()
	for attempt := 1; ; attempt++ {
		err := f()
		var se interface{ GRPCStatus() *status.Status }
		if err == nil || !errors.As(err, &se) || se.GRPCStatus().Code() != codes.ResourceExhausted {
			return err
		}
		st := se.GRPCStatus()
		if attempt >= p.attempts {
			return fmt.Errorf("%w (gave up after %d attempts; --retries allows more)", err, attempt)
		}
		wait := serverDelay(st)
		if backoff := min(maxBackoff, p.base<<min(attempt-1, 16)); backoff > 0 {
			wait += time.Duration(p.jitter(int64(backoff)))
		}
		if spent := p.now().Sub(start); spent+wait > p.maxTime {
			return fmt.Errorf("%w (gave up: waiting %v more would pass --retry-time %v)", err, wait.Round(time.Millisecond), p.maxTime)
		}
		fmt.Fprintf(stderr, "attestlog: the log is busy with %s (%s); retrying in %v, attempt %d of %d\n",
			what, st.Message(), wait.Round(time.Millisecond), attempt+1, p.attempts)
		if err := p.sleep(ctx, wait); err != nil {
			return fmt.Errorf("%s: waiting to retry: %w", what, err)
		}
	}
}

// serverDelay returns the RetryInfo delay of a status, or 0 without one.
func serverDelay(st *status.Status) time.Duration {
	for _, d := range st.Details() {
		if ri, ok := d.(*errdetails.RetryInfo); ok && ri.GetRetryDelay().IsValid() {
			return max(0, ri.GetRetryDelay().AsDuration())
		}
	}
	return 0
}

// readSubmissions reads claim files and checks each one's form, signatures
// and statement, so that a bad claim stops submit before anything is sent.
func readSubmissions(paths []string) ([]submission, error) {
	subs := make([]submission, len(paths))
	for i, p := range paths {
		if looksBinary(p) {
			return nil, fmt.Errorf("%s looks like a binary, not a claim (a JSON DSSE envelope that attest writes); did you mean --artifact %s?", p, p)
		}
		env, err := readLimited(p, claim.MaxEnvelopeSize)
		if err != nil {
			return nil, err
		}
		env = bytes.TrimSpace(env)
		e, err := claim.ParseEnvelope(env)
		if err == nil {
			_, err = e.Verify()
		}
		var cl *claim.Claim
		if err == nil {
			cl, err = claim.ParseStatement(e.Payload)
		}
		if err != nil {
			return nil, fmt.Errorf("%s: %w", p, err)
		}
		subs[i] = submission{path: p, env: env, entry: e.Marshal(), claim: cl}
	}
	return subs, nil
}

// looksBinary reports whether the file at path starts like a binary rather
// than text: a NUL byte or invalid UTF-8 in its first 512 bytes. A claim is
// JSON, which has neither. An unreadable file is left to the caller.
func looksBinary(path string) bool {
	f, err := os.Open(path)
	if err != nil {
		return false
	}
	defer f.Close()
	buf := make([]byte, 512)
	n, _ := io.ReadFull(f, buf)
	head := buf[:n]
	if n == len(buf) { // the limit may have cut the last rune
		for i := n - 1; i >= 0 && i >= n-utf8.UTFMax; i-- {
			if utf8.RuneStart(head[i]) {
				if !utf8.FullRune(head[i:]) {
					head = head[:i]
				}
				break
			}
		}
	}
	return bytes.IndexByte(head, 0) >= 0 || !utf8.Valid(head)
}

// hashUploads hashes the artifacts and checks that a submitted claim names
// each one's digest: the log accepts no other.
func hashUploads(paths []string, subs []submission) ([]upload, error) {
	named := map[string]bool{}
	for _, s := range subs {
		for _, sub := range s.claim.Subjects {
			named[sub.SHA256] = true
		}
	}
	ups := make([]upload, len(paths))
	for i, p := range paths {
		d, size, err := hashFile(p)
		if err != nil {
			return nil, fmt.Errorf("hashing artifact: %w", err)
		}
		if !named[d] {
			return nil, fmt.Errorf("artifact %s (sha256 %s) is not named by any submitted claim", p, d)
		}
		ups[i] = upload{path: p, sha256: d, size: size}
	}
	return ups, nil
}

// submitClaim appends one claim, checks the receipt and saves it beside the
// claim file.
func (lc *logClient) submitClaim(ctx context.Context, s submission, stdout io.Writer) error {
	r, err := lc.AddClaim(ctx, &pb.AddClaimRequest{Envelope: s.env})
	if err != nil {
		return fmt.Errorf("submitting %s: %w", s.path, err)
	}
	rec, err := lc.checkReceipt(s.entry, r)
	if err != nil {
		// Keep what the log signed: it is evidence against the log.
		kept := s.path + ".receipt-unverified.json"
		if werr := writeReceipt(kept, rec); werr != nil {
			kept = "not kept: " + werr.Error()
		}
		return fmt.Errorf("the log's receipt for %s does not verify (%s): %w", s.path, kept, err)
	}
	saved := s.path + ".receipt.json"
	if err := writeReceipt(saved, rec); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "logged %s at index %d (duplicate: %s); receipt saved to %s (\"attestlog receipt FILE\" checks it offline)\n",
		termSafe(s.path), rec.Index, yesNo(r.GetDuplicate()), termSafe(saved))
	return nil
}

// checkReceipt checks that the log logged exactly entry and proves it:
// the inclusion proof against the checkpoint, and the checkpoint's
// signature if the log's key is known. It returns the receipt even when a
// check fails.
func (lc *logClient) checkReceipt(entry []byte, r *pb.AddClaimResponse) (receipt, error) {
	pc := r.GetClaim()
	rec := receipt{Entry: pc.GetEntry(), InclusionProof: proofHashes(pc), Checkpoint: string(r.GetCheckpoint())}
	var err error
	if rec.Index, err = toInt64("index", pc.GetIndex()); err != nil {
		return rec, err
	}
	if rec.TreeSize, err = toInt64("tree size", pc.GetTreeSize()); err != nil {
		return rec, err
	}
	if !bytes.Equal(rec.Entry, entry) {
		return rec, errors.New("the logged entry is not the submitted claim")
	}
	cp, _, err := lc.checkpoint(r.GetCheckpoint())
	if err != nil {
		return rec, err
	}
	return rec, verifyInclusion(cp, rec.Index, rec.TreeSize, rec.Entry, rec.InclusionProof)
}

func writeReceipt(path string, r receipt) error {
	b, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return err
	}
	return writeFileAtomic(path, append(b, '\n'), 0o644, true)
}

// uploadArtifact streams one artifact to the log's archive, showing its
// progress (bytes, rate, time left) on stderr if that is a terminal.
func (lc *logClient) uploadArtifact(ctx context.Context, u upload, stdout, stderr io.Writer) error {
	bar := newProgressBar(stderr, "uploading", u.path, u.size)
	r, err := lc.upload(ctx, u, bar.update)
	bar.clear()
	if err != nil {
		return fmt.Errorf("uploading %s: %w", u.path, err)
	}
	if r.GetSha256() != u.sha256 {
		return fmt.Errorf("uploading %s: the log stored sha256 %q, want %s", u.path, r.GetSha256(), u.sha256)
	}
	fmt.Fprintf(stdout, "uploaded %s sha256 %s (already stored: %s)\n", termSafe(u.path), u.sha256, yesNo(r.GetAlreadyStored()))
	return nil
}

// upload sends the header and then the file in chunks. The log verifies the
// digest and size as the bytes arrive.
func (lc *logClient) upload(ctx context.Context, u upload, progress func(sent int64)) (*pb.UploadArtifactResponse, error) {
	f, err := os.Open(u.path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	ctx, cancel := context.WithCancel(ctx)
	defer cancel() // ends the stream if reading the file fails
	st, err := lc.UploadArtifact(ctx)
	if err != nil {
		return nil, err
	}
	hdr := &pb.UploadHeader{Sha256: u.sha256, Size: uint64(u.size)}
	if err := st.Send(&pb.UploadArtifactRequest{Part: &pb.UploadArtifactRequest_Header{Header: hdr}}); err != nil {
		return st.CloseAndRecv() // the log ended the stream; its status says why
	}
	var sent int64
	for {
		buf := make([]byte, uploadChunkSize) // gRPC may hold a sent message: never reuse one
		n, rerr := io.ReadFull(f, buf)
		if n > 0 {
			if err := st.Send(&pb.UploadArtifactRequest{Part: &pb.UploadArtifactRequest_Chunk{Chunk: buf[:n]}}); err != nil {
				break
			}
			sent += int64(n)
			progress(sent)
		}
		if rerr == io.EOF || rerr == io.ErrUnexpectedEOF {
			break
		} else if rerr != nil {
			return nil, fmt.Errorf("reading %s: %w", u.path, rerr)
		}
	}
	r, err := st.CloseAndRecv()
	if err == nil && sent != u.size {
		return nil, fmt.Errorf("%s changed while uploading: %d bytes, hashed %d", u.path, sent, u.size)
	}
	return r, err
}

// isTerminal reports whether w is a terminal (a character device).
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}

// readLimited reads the file at path, refusing one larger than n bytes.
func readLimited(path string, n int64) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, n+1))
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", path, err)
	}
	if int64(len(b)) > n {
		return nil, fmt.Errorf("%s is larger than %d bytes", path, n)
	}
	return b, nil
}
