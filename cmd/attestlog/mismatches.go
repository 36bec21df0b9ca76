package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"

	"github.com/attestlog/attestlog/client/report"
	"github.com/attestlog/attestlog/log/claim"
	"github.com/attestlog/attestlog/log/claim/record"
	pb "github.com/attestlog/attestlog/proto/attestlog/v1"
)

// mismatchPageSize is how many mismatches mismatches asks for per call.
const mismatchPageSize = 500

// mismatches lists every mismatch the log has recorded.
func mismatches(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var lf logFlags
	fs := flag.NewFlagSet("mismatches", flag.ContinueOnError)
	fs.SetOutput(stderr)
	lf.registerAddr(fs)
	asJSON := fs.Bool("json", false, "print a JSON array of the mismatches")
	pos, err := parseArgs(fs, args)
	if errors.Is(err, flag.ErrHelp) {
		return nil
	} else if err != nil {
		return err
	}
	if len(pos) > 0 {
		return usageErrorf("mismatches: unexpected argument %q", pos[0])
	}
	lc, err := lf.dial()
	if err != nil {
		return err
	}
	defer lc.Close()
	ms, err := lc.allMismatches(ctx)
	if err != nil {
		return err
	}
	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(ms)
	}
	if len(ms) == 0 {
		fmt.Fprintln(stdout, "no mismatches: the log lists no build whose claims name different digests (the list is not signed)")
		return nil
	}
	for _, m := range ms {
		recs, err := lc.mismatchClaims(ctx, m)
		if err != nil {
			fmt.Fprintf(stderr, "attestlog: mismatch %s: its claims are not shown: %s\n", report.TermSafe(m.ID), report.TermSafe(err.Error()))
		}
		report.PrintMismatchClaims(stdout, m, recs)
	}
	fmt.Fprintf(stdout, "%s; the list is not signed: \"attestlog evidence pull ID\" fetches one with verified claims and proofs\n", report.Count(len(ms), "mismatch", "mismatches"))
	return nil
}

// mismatchClaims looks up the claims about a mismatch's build and returns
// what each says, by index, verified against the log's checkpoint, so that
// the list can name each claim's kind, scheme and signers.
func (lc *logClient) mismatchClaims(ctx context.Context, m report.Mismatch) (map[int64]*record.Record, error) {
	resp, err := lc.LookupBySource(ctx, &pb.LookupBySourceRequest{SourceUri: m.Source, Commit: m.Commit, Platform: m.Platform})
	if err != nil {
		return nil, fmt.Errorf("looking up its build: %w", err)
	}
	cp, _, err := lc.checkpoint(resp.GetCheckpoint())
	if err != nil {
		return nil, err
	}
	vcs, err := verifyProvenClaims(cp, resp.GetClaims())
	if err != nil {
		return nil, fmt.Errorf("the log's answer does not verify: %w", err)
	}
	recs := map[int64]*record.Record{}
	for _, vc := range vcs {
		r, err := record.Decode(vc.Entry)
		if err != nil {
			return nil, fmt.Errorf("claim at index %d: %w", vc.Index, err)
		}
		recs[vc.Index] = r
	}
	return recs, nil
}

// allMismatches reads every page of ListMismatches.
func (lc *logClient) allMismatches(ctx context.Context) ([]report.Mismatch, error) {
	out := []report.Mismatch{}
	req := &pb.ListMismatchesRequest{PageSize: mismatchPageSize}
	for {
		resp, err := lc.ListMismatches(ctx, req)
		if err != nil {
			return nil, fmt.Errorf("listing mismatches: %w", err)
		}
		for _, m := range resp.GetMismatches() {
			j, err := newMismatchJSON(m)
			if err != nil {
				return nil, fmt.Errorf("listing mismatches: %w", err)
			}
			out = append(out, j)
		}
		if resp.GetNextPageToken() == "" {
			return out, nil
		}
		if resp.GetNextPageToken() == req.PageToken {
			return nil, fmt.Errorf("listing mismatches: the log returned page token %q twice", req.PageToken)
		}
		req.PageToken = resp.GetNextPageToken()
	}
}

// newMismatchJSON converts a mismatch the log sent, checking that its ID
// is the identity ID of its build.
func newMismatchJSON(m *pb.Mismatch) (report.Mismatch, error) {
	c, err := toInt64("mismatch id", m.GetId())
	if err != nil {
		return report.Mismatch{}, err
	}
	j := report.Mismatch{ID: m.GetIdentityId(), Claim: c, Subject: int(m.GetSubject()), Source: m.GetSourceUri(), Commit: m.GetCommit(),
		Platform: m.GetPlatform(), Artifact: m.GetArtifact(), Digests: []report.MismatchDigest{}}
	id := claim.Identity{Source: j.Source, Commit: j.Commit, Platform: j.Platform, Artifact: j.Artifact}.ID()
	switch j.ID {
	case "":
		j.ID = id // a log older than identity IDs
	case id:
	default:
		return report.Mismatch{}, fmt.Errorf("the log names the mismatch of %s@%s %s %s %q, not its identity ID %s", j.Source, j.Commit, j.Platform, j.Artifact, j.ID, id)
	}
	for _, d := range m.GetDigests() {
		dj := report.MismatchDigest{SHA256: d.GetSha256(), ClaimIndexes: []int64{},
			Recipes: append([]string{}, d.GetRecipes()...), Archived: d.GetArchived()}
		for _, n := range d.GetClaimIndexes() {
			i, err := toInt64("claim index", n)
			if err != nil {
				return report.Mismatch{}, err
			}
			dj.ClaimIndexes = append(dj.ClaimIndexes, i)
		}
		j.Digests = append(j.Digests, dj)
	}
	return j, nil
}
