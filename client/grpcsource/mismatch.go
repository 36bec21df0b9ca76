package grpcsource

import (
	"context"
	"fmt"

	"github.com/attestlog/attestlog/client"
	"github.com/attestlog/attestlog/client/report"
	"github.com/attestlog/attestlog/log/claim"
	pb "github.com/attestlog/attestlog/proto/attestlog/v1"
)

// mismatchPageSize is how many mismatches a ListMismatches call asks for.
const mismatchPageSize = 1000

// Mismatches implements [client.IndexSource] with ListMismatches, reading
// every page. It keeps each mismatch's ID as the log sent it: a monitor
// checks it against the entries.
func (s *Source) Mismatches(ctx context.Context) ([]client.Mismatch, error) {
	ms, err := s.listMismatches(ctx)
	if err != nil {
		return nil, fmt.Errorf("grpcsource: ListMismatches: %w", err)
	}
	out := make([]client.Mismatch, len(ms))
	for i, m := range ms {
		out[i] = client.Mismatch{ID: m.ID, Claim: m.Claim, Identity: client.Identity{Source: m.Source, Commit: m.Commit,
			Platform: m.Platform, Artifact: m.Artifact}}
		for _, d := range m.Digests {
			out[i].Digests = append(out[i].Digests, client.MismatchDigest{SHA256: d.SHA256, Claims: d.ClaimIndexes, Recipes: d.Recipes})
		}
	}
	return out, nil
}

// ListMismatches returns every mismatch the log lists, reading every
// page, in the form package report prints, each checked by
// [CheckMismatchID]. The list is not signed.
func (s *Source) ListMismatches(ctx context.Context) ([]report.Mismatch, error) {
	ms, err := s.listMismatches(ctx)
	for i := range ms {
		if err == nil {
			err = CheckMismatchID(&ms[i])
		}
	}
	if err != nil {
		return nil, fmt.Errorf("listing mismatches: %w", err)
	}
	return ms, nil
}

// listMismatches reads and converts every page of ListMismatches.
func (s *Source) listMismatches(ctx context.Context) ([]report.Mismatch, error) {
	out := []report.Mismatch{}
	req := &pb.ListMismatchesRequest{PageSize: mismatchPageSize}
	for {
		resp, err := s.c.ListMismatches(ctx, req)
		if err != nil {
			return nil, err
		}
		for _, m := range resp.GetMismatches() {
			rm, err := mismatchOf(m)
			if err != nil {
				return nil, err
			}
			out = append(out, rm)
		}
		switch next := resp.GetNextPageToken(); {
		case next == "":
			return out, nil
		case next == req.PageToken:
			return nil, fmt.Errorf("the log returned page token %q twice", next)
		default:
			req.PageToken = next
		}
	}
}

// MismatchOf converts a mismatch the log sent (GetMismatch's), checked by
// [CheckMismatchID].
func MismatchOf(m *pb.Mismatch) (report.Mismatch, error) {
	rm, err := mismatchOf(m)
	if err == nil {
		err = CheckMismatchID(&rm)
	}
	return rm, err
}

// mismatchOf converts a mismatch at the edge, its ID as the log sent it.
func mismatchOf(m *pb.Mismatch) (report.Mismatch, error) {
	c, err := toInt64("mismatch id", m.GetId())
	if err != nil {
		return report.Mismatch{}, err
	}
	rm := report.Mismatch{ID: m.GetIdentityId(), Claim: c, Subject: int(m.GetSubject()), Source: m.GetSourceUri(), Commit: m.GetCommit(),
		Platform: m.GetPlatform(), Artifact: m.GetArtifact(), Digests: []report.MismatchDigest{}}
	for _, d := range m.GetDigests() {
		rd := report.MismatchDigest{SHA256: d.GetSha256(), ClaimIndexes: []int64{},
			Recipes: append([]string{}, d.GetRecipes()...), Archived: d.GetArchived()}
		for _, n := range d.GetClaimIndexes() {
			i, err := toInt64("claim index", n)
			if err != nil {
				return report.Mismatch{}, err
			}
			rd.ClaimIndexes = append(rd.ClaimIndexes, i)
		}
		rm.Digests = append(rm.Digests, rd)
	}
	return rm, nil
}

// CheckMismatchID checks that m's ID is the identity ID of its build, and
// sets it if the log sent none (a log older than identity IDs).
func CheckMismatchID(m *report.Mismatch) error {
	id := claim.Identity{Source: m.Source, Commit: m.Commit, Platform: m.Platform, Artifact: m.Artifact}.ID()
	switch m.ID {
	case "":
		m.ID = id
	case id:
	default:
		return fmt.Errorf("the log names the mismatch of %s@%s %s %s %q, not its identity ID %s", m.Source, m.Commit, m.Platform, m.Artifact, m.ID, id)
	}
	return nil
}
