package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/attestlog/attestlog/log/claim"
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
		printMismatch(stdout, m)
	}
	fmt.Fprintf(stdout, "%s; the list is not signed: \"attestlog evidence pull ID\" fetches one with verified claims and proofs\n", count(len(ms), "mismatch", "mismatches"))
	return nil
}

// allMismatches reads every page of ListMismatches.
func (lc *logClient) allMismatches(ctx context.Context) ([]mismatchJSON, error) {
	out := []mismatchJSON{}
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

// printMismatchHeader prints the line that names a mismatch.
func printMismatchHeader(w io.Writer, m mismatchJSON) {
	fmt.Fprintf(w, "mismatch %s: %s@%s %s %s (created by claim %d)\n", termSafe(m.ID), termSafe(m.Source), termSafe(m.Commit), termSafe(m.Platform), termSafe(m.Artifact), m.Claim)
}

func printMismatch(w io.Writer, m mismatchJSON) {
	printMismatchHeader(w, m)
	for _, d := range m.Digests {
		idx := make([]string, len(d.ClaimIndexes))
		for i, n := range d.ClaimIndexes {
			idx[i] = fmt.Sprint(n)
		}
		var recipes []string // one per claim: each recipe once
		for _, r := range d.Recipes {
			if !slices.Contains(recipes, short(r)) {
				recipes = append(recipes, short(r))
			}
		}
		fmt.Fprintf(w, "  sha256 %s  %s %s  %s %s  archived %s\n",
			termSafe(d.SHA256), plural(len(idx), "claim", "claims"), strings.Join(idx, ","),
			plural(len(recipes), "recipe", "recipes"), termSafeJoin(recipes, ","), yesNo(d.Archived))
	}
}

// mismatchJSON is the JSON form of a mismatch, printed by mismatches
// --json and written by evidence pull as mismatch.json. ID is the identity
// ID, which names the mismatch; Claim the index of the claim that created
// it and Subject the position of the build's artifact in that claim.
type mismatchJSON struct {
	ID       string               `json:"id"`
	Claim    int64                `json:"claim"`
	Subject  int                  `json:"subject"`
	Source   string               `json:"source"`
	Commit   string               `json:"commit"`
	Platform string               `json:"platform"`
	Artifact string               `json:"artifact"`
	Digests  []mismatchDigestJSON `json:"digests"`
}

type mismatchDigestJSON struct {
	SHA256       string   `json:"sha256"`
	ClaimIndexes []int64  `json:"claim_indexes"`
	Recipes      []string `json:"recipes"`
	Archived     bool     `json:"archived"`
}

func newMismatchJSON(m *pb.Mismatch) (mismatchJSON, error) {
	c, err := toInt64("mismatch id", m.GetId())
	if err != nil {
		return mismatchJSON{}, err
	}
	j := mismatchJSON{ID: m.GetIdentityId(), Claim: c, Subject: int(m.GetSubject()), Source: m.GetSourceUri(), Commit: m.GetCommit(),
		Platform: m.GetPlatform(), Artifact: m.GetArtifact(), Digests: []mismatchDigestJSON{}}
	id := claim.Identity{Source: j.Source, Commit: j.Commit, Platform: j.Platform, Artifact: j.Artifact}.ID()
	switch j.ID {
	case "":
		j.ID = id // a log older than identity IDs
	case id:
	default:
		return mismatchJSON{}, fmt.Errorf("the log names the mismatch of %s@%s %s %s %q, not its identity ID %s", j.Source, j.Commit, j.Platform, j.Artifact, j.ID, id)
	}
	for _, d := range m.GetDigests() {
		dj := mismatchDigestJSON{SHA256: d.GetSha256(), ClaimIndexes: []int64{},
			Recipes: append([]string{}, d.GetRecipes()...), Archived: d.GetArchived()}
		for _, n := range d.GetClaimIndexes() {
			i, err := toInt64("claim index", n)
			if err != nil {
				return mismatchJSON{}, err
			}
			dj.ClaimIndexes = append(dj.ClaimIndexes, i)
		}
		j.Digests = append(j.Digests, dj)
	}
	return j, nil
}
