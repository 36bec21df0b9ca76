package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"

	"github.com/attestlog/attestlog/client"
	"github.com/attestlog/attestlog/log/claim"
	pb "github.com/attestlog/attestlog/proto/attestlog/v1"
	"github.com/attestlog/attestlog/tiles"
)

// maxReceiptSize bounds a receipt file: an entry, a proof of at most 63
// hashes and a checkpoint with a few cosignatures, in JSON and base64.
const maxReceiptSize = 4 * claim.MaxEntrySize

// parseReceipt parses a receipt file strictly: one JSON object with exactly
// the fields submit writes.
func parseReceipt(b []byte) (receipt, error) {
	var r receipt
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&r); err != nil {
		return r, fmt.Errorf("not a receipt: %w", err)
	}
	if dec.More() {
		return r, errors.New("not a receipt: data after the JSON object")
	}
	if r.Checkpoint == "" || len(r.Entry) == 0 {
		return r, errors.New("not a receipt: no checkpoint or no entry")
	}
	return r, nil
}

// verifyReceiptFile verifies a receipt offline with the log's verifier key:
// the checkpoint's signature, the inclusion proof of the entry, the claim's
// signatures, and, if the claim file it was saved beside is there, that it
// is a receipt for that claim. It returns the verified claim.
func verifyReceiptFile(path string, lf logFlags) (verifiedClaim, tiles.Checkpoint, error) {
	b, err := readLimited(path, maxReceiptSize)
	if err != nil {
		return verifiedClaim{}, tiles.Checkpoint{}, err
	}
	r, err := parseReceipt(b)
	if err != nil {
		return verifiedClaim{}, tiles.Checkpoint{}, err
	}
	v, err := parseLogVKey(lf.vkey)
	if err != nil {
		return verifiedClaim{}, tiles.Checkpoint{}, err
	}
	cp, err := client.OpenCheckpoint([]byte(r.Checkpoint), v)
	if err != nil {
		return verifiedClaim{}, tiles.Checkpoint{}, err
	}
	if r.Index < 0 || r.TreeSize < 0 {
		return verifiedClaim{}, cp, fmt.Errorf("negative index %d or tree size %d", r.Index, r.TreeSize)
	}
	// The same checks as for the claims a lookup returns.
	pc := &pb.ProvenClaim{Index: uint64(r.Index), TreeSize: uint64(r.TreeSize), Entry: r.Entry, InclusionProof: r.InclusionProof}
	vc, err := verifyProvenClaim(cp, pc)
	if err != nil {
		return vc, cp, err
	}
	if claimPath, ok := strings.CutSuffix(path, ".receipt.json"); ok {
		if env, err := readLimited(claimPath, claim.MaxEnvelopeSize); err == nil {
			e, err := claim.ParseEnvelope(bytes.TrimSpace(env))
			if err != nil || !bytes.Equal(e.Marshal(), r.Entry) {
				return vc, cp, fmt.Errorf("it is not a receipt for the claim %s beside it", claimPath)
			}
		}
	}
	return vc, cp, nil
}

// receiptCmd checks receipts that submit saved, offline.
func receiptCmd(args []string, stdout, stderr io.Writer) error {
	var lf logFlags
	fs := flag.NewFlagSet("receipt", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&lf.vkey, "log-vkey", envOr("ATTESTLOG_LOG_VKEY", ""), "the log's verifier key, or a `file` holding it; required (env ATTESTLOG_LOG_VKEY)")
	pos, err := parseArgs(fs, args)
	if errors.Is(err, flag.ErrHelp) {
		return nil
	} else if err != nil {
		return err
	}
	switch {
	case len(pos) == 0:
		return usageErrorf("receipt: no RECEIPT file to check")
	case lf.vkey == "":
		return usageErrorf("receipt: --log-vkey (or ATTESTLOG_LOG_VKEY) is required: a receipt proves something only against the log's key")
	}
	var errs []error
	for _, p := range pos {
		vc, cp, err := verifyReceiptFile(p, lf)
		if err != nil {
			errs = append(errs, fmt.Errorf("receipt %s does not verify: %w", p, err))
			continue
		}
		var subjects []string
		for _, s := range vc.Claim.Subjects {
			subjects = append(subjects, s.Name+" sha256 "+s.SHA256)
		}
		fmt.Fprintf(stdout, "%s: verified: claim at index %d of %s, tree size %d (signature verified); signed by %s: %s@%s %s %s\n",
			termSafe(p), vc.Index, termSafe(cp.Origin), cp.Size, termSafeJoin(vc.Signers, ", "),
			termSafe(vc.Claim.Source), termSafe(vc.Claim.Commit), termSafe(vc.Claim.Platform), termSafeJoin(subjects, ", "))
	}
	return errors.Join(errs...)
}
