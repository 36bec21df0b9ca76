package main

import (
	"cmp"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"

	"github.com/attestlog/attestlog/client/grpcsource"
	"github.com/attestlog/attestlog/client/report"
	clientsubmit "github.com/attestlog/attestlog/client/submit"
	"github.com/attestlog/attestlog/cmd/attestlog/internal/progress"
	"github.com/attestlog/attestlog/cmd/attestlog/internal/usage"
	"github.com/attestlog/attestlog/log/claim/format"
	pb "github.com/attestlog/attestlog/proto/attestlog/v1"
)

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
	retry     grpcsource.Retry

	format, signed, signature string
	keys, annotate            repeatedFlag
}

func parseSubmitFlags(args []string, stderr io.Writer) (submitConfig, error) {
	var c submitConfig
	fs := flag.NewFlagSet("submit", flag.ContinueOnError)
	fs.SetOutput(stderr)
	c.log.register(fs)
	fs.Var(&c.artifacts, "artifact", "upload `file` to the log's archive once the claims are logged; a submitted claim must name its digest (repeatable)")
	c.retry = grpcsource.DefaultRetry()
	fs.IntVar(&c.retry.Attempts, "retries", c.retry.Attempts, "most `attempts` per claim or artifact while the log answers that it is busy (ResourceExhausted); 1 never retries")
	fs.DurationVar(&c.retry.MaxTime, "retry-time", c.retry.MaxTime, "most `time` to spend retrying one claim or artifact")
	fs.StringVar(&c.format, "format", "", "submit one document as its signer made it, of `kind` sha256sums, buildinfo, minisign, link or dsse, instead of CLAIM files")
	fs.StringVar(&c.signed, "signed", "", "with --format: the signed `file` (SHA256SUMS, .buildinfo, .link, DSSE envelope or JSONL)")
	fs.StringVar(&c.signature, "signature", "", "with --format: the detached signature `file` (.asc, .sig, .minisig)")
	fs.Var(&c.keys, "key", "with --format: the signer's key as `SCHEME:KEY` or SCHEME:@FILE (a keyring, .pub or PEM file), as a policy line names it; repeatable")
	fs.Var(&c.annotate, "annotate", "with --format: supplied, unsigned fields `source=URI commit=HASH recipe=SHA256`, shown as such and never counted; repeatable")
	pos, err := usage.ParseArgs(fs, args)
	if err != nil {
		return c, err
	}
	if c.retry.Attempts < 1 || c.retry.MaxTime < 0 {
		return c, usage.Errorf("submit: --retries must be at least 1 and --retry-time not negative")
	}
	c.claims = pos
	if c.format != "" {
		if len(pos) > 0 {
			return c, usage.Errorf("submit: --format submits the document --signed/--signature name, not CLAIM files (%s): submit those in another run", pos[0])
		}
		return c, nil
	}
	for _, f := range []struct {
		name string
		set  bool
	}{{"--signed", c.signed != ""}, {"--signature", c.signature != ""}, {"--key", len(c.keys) > 0}, {"--annotate", len(c.annotate) > 0}} {
		if f.set {
			return c, usage.Errorf("submit: %s goes with --format KIND (sha256sums, buildinfo, minisign, link, dsse)", f.name)
		}
	}
	if len(c.claims) == 0 {
		return c, usage.Errorf("submit: no CLAIM file to submit (or --format KIND with --signed/--signature and --key)")
	}
	return c, nil
}

// A sending is one AddClaim request of a submission.
type sending struct {
	req   *pb.AddClaimRequest
	entry []byte // what the log must log
	what  string // for messages: the file, and the document's signer
	retry string // for retry messages: the file
	// receipt names the receipt file of the entry at index: suffix is
	// "" or "-unverified".
	receipt func(index int64, suffix string) string
}

// submit appends claims to a log, saves their receipts and uploads the
// artifacts they name; with --format, the claims of one signed document.
func submit(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	c, err := parseSubmitFlags(args, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return nil
	} else if err != nil {
		return err
	}
	prepare := claimSendings
	if c.format != "" {
		prepare = documentSendings
	}
	sends, named, first, err := prepare(c)
	if err != nil {
		return err
	}
	ups, err := clientsubmit.HashArtifacts(c.artifacts, named)
	if err != nil {
		return err
	}
	for i := range ups {
		ups[i].Entry = first[ups[i].SHA256]
	}
	lc, err := c.log.dial()
	if err != nil {
		return err
	}
	defer lc.Close()
	if lc.verifier == nil {
		fmt.Fprintln(stderr, "attestlog: no --log-vkey: receipts' checkpoint signatures are not verified")
	}
	// A file the log must hold before an entry goes first, every other
	// --artifact after the entries.
	uploadAll := func(before bool) error {
		for _, a := range ups {
			if (a.Entry != nil) == before {
				if err := c.retry.Do(ctx, a.Path, stderr, func() error { return lc.uploadArtifact(ctx, a, stdout, stderr) }); err != nil {
					return err
				}
			}
		}
		return nil
	}
	if err := uploadAll(true); err != nil {
		return err
	}
	for _, s := range sends {
		if err := c.retry.Do(ctx, s.retry, stderr, func() error { return lc.addEntry(ctx, s, stdout) }); err != nil {
			return err
		}
	}
	return uploadAll(false)
}

// claimSendings reads and checks CLAIM files, each saving its receipt
// beside it as CLAIM.receipt.json. It returns the digests they name.
func claimSendings(c submitConfig) ([]sending, []string, map[string][]byte, error) {
	files, err := clientsubmit.ReadClaimFiles(c.claims)
	if err != nil {
		return nil, nil, nil, err
	}
	var (
		sends []sending
		named []string
	)
	for _, f := range files {
		for _, sub := range f.Claim.Subjects {
			named = append(named, sub.SHA256)
		}
		name := func(_ int64, suffix string) string { return f.Path + ".receipt" + suffix }
		sends = append(sends, sending{req: &pb.AddClaimRequest{Envelope: f.Envelope}, entry: f.Entry, what: f.Path, retry: f.Path, receipt: name})
	}
	return sends, named, nil, nil
}

// documentSendings prepares the one document --format names: one
// attestlog.dev/claim/v2 entry per named key that verifies it (package
// client/submit). Each receipt is saved as <signature or signed
// file>.receipt-<index>.json. first maps the digest of a file the log must
// hold before an entry (a minisign signature without sha256:) to the entry.
func documentSendings(c submitConfig) (sends []sending, named []string, first map[string][]byte, err error) {
	supplied, err := clientsubmit.ParseAnnotations(c.annotate)
	if err != nil {
		return nil, nil, nil, usage.Errorf("submit: %v", err)
	}
	req := clientsubmit.Request{Kind: format.Kind(c.format), Signed: c.signed, Signature: c.signature, Keys: c.keys, Supplied: supplied}
	if req.Kind == format.Minisign && len(c.artifacts) > 0 {
		if len(c.artifacts) > 1 {
			return nil, nil, nil, usage.Errorf("submit: --format minisign: give one --artifact, the file the signature is over")
		}
		req.File = c.artifacts[0]
	}
	entries, err := clientsubmit.Prepare(req)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("submit: %w", err)
	}
	base := cmp.Or(c.signature, c.signed)
	name := func(index int64, suffix string) string { return fmt.Sprintf("%s.receipt%s-%d", base, suffix, index) }
	first = map[string][]byte{}
	for _, e := range entries {
		for _, s := range e.Claim.Subjects {
			named = append(named, s.SHA256)
		}
		if e.NeedsUpload != "" {
			first[e.NeedsUpload] = e.Entry
		}
		what := fmt.Sprintf("%s (%s signed by %s key %s)", e.Document, e.Claim.Kind, e.Claim.Scheme, e.Claim.KeyID)
		sends = append(sends, sending{req: &pb.AddClaimRequest{Entry: e.Entry}, entry: e.Entry, what: what, retry: e.Document, receipt: name})
	}
	return sends, named, first, nil
}

// addEntry sends one AddClaim request, checks that the log logged the
// entry and proved it, and saves the receipt as s.receipt(index, "") +
// ".json"; if it does not verify, as s.receipt(index, "-unverified") +
// ".json": what the log signed is evidence against it.
func (lc *logClient) addEntry(ctx context.Context, s sending, stdout io.Writer) error {
	r, err := lc.AddClaim(ctx, s.req)
	if err != nil {
		return fmt.Errorf("submitting %s: %w", s.what, err)
	}
	rec, err := grpcsource.CheckReceipt(lc.verifier, s.entry, r)
	if err != nil {
		kept := s.receipt(rec.Index, "-unverified") + ".json"
		if werr := rec.Save(kept); werr != nil {
			kept = "not kept: " + werr.Error()
		}
		return fmt.Errorf("the log's receipt for %s does not verify (%s): %w", s.what, kept, err)
	}
	saved := s.receipt(rec.Index, "") + ".json"
	if err := rec.Save(saved); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "logged %s at index %d (duplicate: %s); receipt saved to %s (\"attestlog receipt FILE\" checks it offline)\n",
		report.TermSafe(s.what), rec.Index, report.YesNo(r.GetDuplicate()), report.TermSafe(saved))
	return nil
}

// uploadArtifact streams one artifact to the log's archive, showing its
// progress (bytes, rate, time left) on stderr if that is a terminal.
func (lc *logClient) uploadArtifact(ctx context.Context, a clientsubmit.Artifact, stdout, stderr io.Writer) error {
	bar := progress.New(stderr, "uploading", a.Path, a.Size)
	stored, err := lc.src.Upload(ctx, a, bar.Update)
	bar.Clear()
	if err != nil {
		return fmt.Errorf("uploading %s: %w", a.Path, err)
	}
	fmt.Fprintf(stdout, "uploaded %s sha256 %s (already stored: %s)\n", report.TermSafe(a.Path), a.SHA256, report.YesNo(stored))
	return nil
}
