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

	"github.com/attestlog/attestlog/client"
	"github.com/attestlog/attestlog/client/report"
	clientsubmit "github.com/attestlog/attestlog/client/submit"
	"github.com/attestlog/attestlog/cmd/attestlog/internal/progress"
	"github.com/attestlog/attestlog/log/claim"
	"github.com/attestlog/attestlog/log/claim/format"
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

// submitConfig is the command line of submit: CLAIM files (DSSE envelopes
// that attest writes), or with --format one document as its signer made it.
type submitConfig struct {
	log       logFlags
	artifacts repeatedFlag
	claims    []string
	retry     retryPolicy

	format, signed, signature string
	keys, annotate            repeatedFlag
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
	fs.StringVar(&c.format, "format", "", "submit one document as its signer made it, of `kind` sha256sums, buildinfo, minisign, link or dsse, instead of CLAIM files")
	fs.StringVar(&c.signed, "signed", "", "with --format: the signed `file` (SHA256SUMS, .buildinfo, .link, DSSE envelope or JSONL)")
	fs.StringVar(&c.signature, "signature", "", "with --format: the detached signature `file` (.asc, .sig, .minisig)")
	fs.Var(&c.keys, "key", "with --format: the signer's key as `SCHEME:KEY` or SCHEME:@FILE (a keyring, .pub or PEM file), as a policy line names it; repeatable")
	fs.Var(&c.annotate, "annotate", "with --format: supplied, unsigned fields `source=URI commit=HASH recipe=SHA256`, shown as such and never counted; repeatable")
	pos, err := parseArgs(fs, args)
	if err != nil {
		return c, err
	}
	if c.retry.attempts < 1 || c.retry.maxTime < 0 {
		return c, usageErrorf("submit: --retries must be at least 1 and --retry-time not negative")
	}
	c.claims = pos
	if c.format != "" {
		if len(pos) > 0 {
			return c, usageErrorf("submit: --format submits the document --signed/--signature name, not CLAIM files (%s): submit those in another run", pos[0])
		}
		return c, nil
	}
	for _, f := range []struct {
		name string
		set  bool
	}{{"--signed", c.signed != ""}, {"--signature", c.signature != ""}, {"--key", len(c.keys) > 0}, {"--annotate", len(c.annotate) > 0}} {
		if f.set {
			return c, usageErrorf("submit: %s goes with --format KIND (sha256sums, buildinfo, minisign, link, dsse)", f.name)
		}
	}
	if len(c.claims) == 0 {
		return c, usageErrorf("submit: no CLAIM file to submit (or --format KIND with --signed/--signature and --key)")
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
	entry  []byte // the v2 entry, not yet logged, that needs the file in the archive first; nil for others
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
	if c.format != "" {
		return submitDocument(ctx, c, stdout, stderr)
	}
	subs, err := readSubmissions(c.claims)
	if err != nil {
		return err
	}
	var named []string
	for _, s := range subs {
		for _, sub := range s.claim.Subjects {
			named = append(named, sub.SHA256)
		}
	}
	ups, err := hashUploads(c.artifacts, named)
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

// submitDocument submits one document as its signer made it (--format):
// one attestlog.dev/claim/v2 entry per named key that verifies it. A file
// the log must hold before an entry (a minisign signature without sha256:)
// is uploaded first, every other --artifact after the entries. Each
// receipt is saved as <signature or signed file>.receipt-<index>.json.
func submitDocument(ctx context.Context, c submitConfig, stdout, stderr io.Writer) error {
	supplied, err := clientsubmit.ParseAnnotations(c.annotate)
	if err != nil {
		return usageErrorf("submit: %v", err)
	}
	req := clientsubmit.Request{Kind: format.Kind(c.format), Signed: c.signed, Signature: c.signature, Keys: c.keys, Supplied: supplied}
	if req.Kind == format.Minisign && len(c.artifacts) > 0 {
		if len(c.artifacts) > 1 {
			return usageErrorf("submit: --format minisign: give one --artifact, the file the signature is over")
		}
		req.File = c.artifacts[0]
	}
	entries, err := clientsubmit.Prepare(req)
	if err != nil {
		return fmt.Errorf("submit: %w", err)
	}
	var named []string
	first := map[string][]byte{}
	for _, e := range entries {
		for _, s := range e.Claim.Subjects {
			named = append(named, s.SHA256)
		}
		if e.NeedsUpload != "" {
			first[e.NeedsUpload] = e.Entry
		}
	}
	ups, err := hashUploads(c.artifacts, named)
	if err != nil {
		return err
	}
	for i := range ups {
		ups[i].entry = first[ups[i].sha256]
	}
	lc, err := c.log.dial()
	if err != nil {
		return err
	}
	defer lc.Close()
	if lc.verifier == nil {
		fmt.Fprintln(stderr, "attestlog: no --log-vkey: receipts' checkpoint signatures are not verified")
	}
	uploadAll := func(before bool) error {
		for _, u := range ups {
			if (u.entry != nil) == before {
				if err := c.retry.do(ctx, u.path, stderr, func() error { return lc.uploadArtifact(ctx, u, stdout, stderr) }); err != nil {
					return err
				}
			}
		}
		return nil
	}
	if err := uploadAll(true); err != nil {
		return err
	}
	base := c.signature
	if base == "" {
		base = c.signed
	}
	name := func(index int64, suffix string) string { return fmt.Sprintf("%s.receipt%s-%d", base, suffix, index) }
	for _, e := range entries {
		what := fmt.Sprintf("%s (%s signed by %s key %s)", e.Document, e.Claim.Kind, e.Claim.Scheme, e.Claim.KeyID)
		req := &pb.AddClaimRequest{Entry: e.Entry}
		if err := c.retry.do(ctx, e.Document, stderr, func() error { return lc.addEntry(ctx, req, e.Entry, what, name, stdout) }); err != nil {
			return err
		}
	}
	return uploadAll(false)
}

// readSubmissions reads claim files and checks each one's form, signatures
// and statement, so that a bad claim stops submit before anything is sent.
func readSubmissions(paths []string) ([]submission, error) {
	subs := make([]submission, len(paths))
	for i, p := range paths {
		if looksBinary(p) {
			return nil, fmt.Errorf("%s looks like a binary, not a claim (a JSON DSSE envelope that attest writes); did you mean --artifact %s?", p, p)
		}
		env, err := client.ReadFileLimited(p, claim.MaxEnvelopeSize)
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
func hashUploads(paths []string, digests []string) ([]upload, error) {
	named := map[string]bool{}
	for _, d := range digests {
		named[d] = true
	}
	ups := make([]upload, len(paths))
	for i, p := range paths {
		d, size, err := client.HashFile(p)
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
	name := func(_ int64, suffix string) string { return s.path + ".receipt" + suffix }
	return lc.addEntry(ctx, &pb.AddClaimRequest{Envelope: s.env}, s.entry, s.path, name, stdout)
}

// addEntry sends one AddClaim request, checks that the log logged entry and
// proved it, and saves the receipt as name(index, "")+".json"; if it does
// not verify, as name(index, "-unverified")+".json": what the log signed
// is evidence against it.
func (lc *logClient) addEntry(ctx context.Context, req *pb.AddClaimRequest, entry []byte, what string, name func(index int64, suffix string) string, stdout io.Writer) error {
	r, err := lc.AddClaim(ctx, req)
	if err != nil {
		return fmt.Errorf("submitting %s: %w", what, err)
	}
	rec, err := lc.checkReceipt(entry, r)
	if err != nil {
		kept := name(rec.Index, "-unverified") + ".json"
		if werr := writeReceipt(kept, rec); werr != nil {
			kept = "not kept: " + werr.Error()
		}
		return fmt.Errorf("the log's receipt for %s does not verify (%s): %w", what, kept, err)
	}
	saved := name(rec.Index, "") + ".json"
	if err := writeReceipt(saved, rec); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "logged %s at index %d (duplicate: %s); receipt saved to %s (\"attestlog receipt FILE\" checks it offline)\n",
		report.TermSafe(what), rec.Index, report.YesNo(r.GetDuplicate()), report.TermSafe(saved))
	return nil
}

// checkReceipt checks that the log logged exactly entry and proves it:
// the inclusion proof against the checkpoint, and the checkpoint's
// signature if the log's key is known. It returns the receipt even when a
// check fails.
func (lc *logClient) checkReceipt(entry []byte, r *pb.AddClaimResponse) (client.Receipt, error) {
	pc := r.GetClaim()
	rec := client.Receipt{Entry: pc.GetEntry(), InclusionProof: proofHashes(pc), Checkpoint: string(r.GetCheckpoint())}
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
	return rec, client.VerifyInclusion(cp, rec.Index, rec.TreeSize, rec.Entry, rec.InclusionProof)
}

func writeReceipt(path string, r client.Receipt) error {
	b, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return err
	}
	return writeFileAtomic(path, append(b, '\n'), 0o644, true)
}

// uploadArtifact streams one artifact to the log's archive, showing its
// progress (bytes, rate, time left) on stderr if that is a terminal.
func (lc *logClient) uploadArtifact(ctx context.Context, u upload, stdout, stderr io.Writer) error {
	bar := progress.New(stderr, "uploading", u.path, u.size)
	r, err := lc.upload(ctx, u, bar.Update)
	bar.Clear()
	if err != nil {
		return fmt.Errorf("uploading %s: %w", u.path, err)
	}
	if r.GetSha256() != u.sha256 {
		return fmt.Errorf("uploading %s: the log stored sha256 %q, want %s", u.path, r.GetSha256(), u.sha256)
	}
	fmt.Fprintf(stdout, "uploaded %s sha256 %s (already stored: %s)\n", report.TermSafe(u.path), u.sha256, report.YesNo(r.GetAlreadyStored()))
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
	hdr := &pb.UploadHeader{Sha256: u.sha256, Size: uint64(u.size), Entry: u.entry}
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
