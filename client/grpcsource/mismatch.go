package grpcsource

import (
	"context"
	"fmt"

	"github.com/attestlog/attestlog/client"
	"github.com/attestlog/attestlog/client/forensics"
	"github.com/attestlog/attestlog/client/report"
	"github.com/attestlog/attestlog/log/claim"
	"github.com/attestlog/attestlog/log/claim/record"
	pb "github.com/attestlog/attestlog/proto/attestlog/v1"
	"github.com/attestlog/attestlog/tiles"
	"golang.org/x/mod/sumdb/note"
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

// A ProvenMismatch is one mismatch as GetMismatch answers it, verified:
// its claims proven against the checkpoint the log sent.
type ProvenMismatch struct {
	Mismatch   report.Mismatch
	Claims     []client.VerifiedClaim
	Note       []byte           // the checkpoint note as the log sent it
	Checkpoint tiles.Checkpoint // its body
	Verified   bool             // whether its signature was verified (v was not nil)
}

// GetMismatch asks the log for the mismatch ref names, with every claim
// naming its build, and verifies the answer: every claim against the
// checkpoint ([VerifyProvenClaims]), the checkpoint's signature if v is
// not nil, and that the claims say what the mismatch says
// ([forensics.CheckClaims]).
func (s *Source) GetMismatch(ctx context.Context, ref forensics.Ref, v note.Verifier) (*ProvenMismatch, error) {
	resp, err := s.c.GetMismatch(ctx, &pb.GetMismatchRequest{IdentityId: ref.ID, Id: uint64(ref.Claim)})
	if err != nil {
		return nil, fmt.Errorf("getting mismatch %s: %w", ref, err)
	}
	pm := &ProvenMismatch{Note: resp.GetCheckpoint()}
	if pm.Mismatch, err = MismatchOf(resp.GetMismatch()); err == nil {
		pm.Checkpoint, pm.Verified, err = client.ReadCheckpoint(pm.Note, v)
	}
	if err == nil {
		pm.Claims, err = VerifyProvenClaims(pm.Checkpoint, resp.GetClaims())
	}
	if err == nil {
		err = forensics.CheckClaims(ref, pm.Mismatch, pm.Claims)
	}
	if err != nil {
		return nil, fmt.Errorf("mismatch %s does not verify: %w", ref, err)
	}
	return pm, nil
}

// BuildClaims looks up the claims about the build of a listed mismatch and
// returns what each says, by index, verified against the log's latest
// checkpoint (its signature too if v is not nil), so that a list of
// mismatches can name each claim's kind, scheme and signers.
func (s *Source) BuildClaims(ctx context.Context, m report.Mismatch, v note.Verifier) (map[int64]*record.Record, error) {
	resp, err := s.c.LookupBySource(ctx, &pb.LookupBySourceRequest{SourceUri: m.Source, Commit: m.Commit, Platform: m.Platform})
	if err != nil {
		return nil, fmt.Errorf("looking up its build: %w", err)
	}
	cp, _, err := client.ReadCheckpoint(resp.GetCheckpoint(), v)
	if err != nil {
		return nil, err
	}
	vcs, err := VerifyProvenClaims(cp, resp.GetClaims())
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
