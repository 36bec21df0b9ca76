package daemon

import (
	"context"
	"log/slog"
	"slices"
	"strconv"
	"sync"
	"time"

	pb "github.com/attestlog/attestlog/proto/attestlog/v1"
)

const (
	// appendSummaryInterval is the shortest time between two log lines
	// that sum up the appends serve accepted.
	appendSummaryInterval = 10 * time.Second
	// mismatchInterval is how often serve looks for the mismatches that
	// the claims it appended since created: one ListMismatches for all of
	// them, not one a claim, which on PostgreSQL is a query a claim.
	mismatchInterval = time.Second
	// mismatchPage is the page size of those ListMismatches calls.
	mismatchPage = 100
)

// A loggingService is the log's gRPC service with what an operator wants
// in serve's log at info level: a WARN line for every mismatch a claim
// appended here creates, within mismatchInterval, and at most one INFO
// line per appendSummaryInterval summing up the claims appended.
type loggingService struct {
	pb.LogServiceServer
	logger *slog.Logger

	mu         sync.Mutex // guards the counts
	appended   int        // new claims since the last summary
	duplicates int        // resubmitted claims since the last summary
	treeSize   uint64     // tree size of the latest receipt
	fresh      []uint64   // indexes of the claims appended since the last look for mismatches
}

func newLoggingService(svc pb.LogServiceServer, logger *slog.Logger) *loggingService {
	return &loggingService{LogServiceServer: svc, logger: logger}
}

// AddClaim appends the claim and logs the mismatches it created.
func (s *loggingService) AddClaim(ctx context.Context, req *pb.AddClaimRequest) (*pb.AddClaimResponse, error) {
	resp, err := s.LogServiceServer.AddClaim(ctx, req)
	if err != nil {
		return resp, err
	}
	idx := resp.GetClaim().GetIndex()
	s.mu.Lock()
	if resp.GetDuplicate() {
		s.duplicates++
	} else {
		s.appended++
	}
	s.treeSize = max(s.treeSize, resp.GetClaim().GetTreeSize())
	if !resp.GetDuplicate() {
		s.fresh = append(s.fresh, idx)
	}
	s.mu.Unlock()
	return resp, nil
}

// logMismatches logs, at WARN, every mismatch that a claim appended here
// since the last call created: those ListMismatches lists from the first
// such claim's on, up to the last one's.
func (s *loggingService) logMismatches(ctx context.Context) {
	s.mu.Lock()
	fresh := s.fresh
	s.fresh = nil
	s.mu.Unlock()
	if len(fresh) == 0 {
		return
	}
	slices.Sort(fresh)
	first, last := fresh[0], fresh[len(fresh)-1]
	req := &pb.ListMismatchesRequest{PageSize: mismatchPage}
	if first > 0 {
		req.PageToken = strconv.FormatUint(first-1, 10) // after every mismatch of claim first-1
	}
	for {
		resp, err := s.LogServiceServer.ListMismatches(ctx, req)
		if err != nil {
			s.logger.ErrorContext(ctx, "listing the mismatches of new claims", slog.Uint64("first_claim", first), slog.Uint64("last_claim", last), slog.Any("err", err))
			return
		}
		for _, m := range resp.GetMismatches() {
			if m.GetId() > last {
				return
			}
			if _, ours := slices.BinarySearch(fresh, m.GetId()); ours {
				s.logMismatch(ctx, m)
			}
		}
		if resp.GetNextPageToken() == "" {
			return
		}
		req.PageToken = resp.GetNextPageToken()
	}
}

// logMismatch logs one mismatch at WARN.
func (s *loggingService) logMismatch(ctx context.Context, m *pb.Mismatch) {
	digests := make([]string, len(m.GetDigests()))
	for i, d := range m.GetDigests() {
		digests[i] = d.GetSha256()
	}
	s.logger.WarnContext(ctx, "mismatch: builders claim different digests for one build",
		slog.String("mismatch", m.GetIdentityId()), slog.Uint64("claim", m.GetId()),
		slog.String("source", m.GetSourceUri()), slog.String("commit", m.GetCommit()),
		slog.String("platform", m.GetPlatform()), slog.String("artifact", m.GetArtifact()),
		slog.Any("digests", digests))
}

// Run logs the new claims' mismatches every mismatchInterval and the
// summary of appends at most once per appendSummaryInterval, when there
// were any, until ctx is done. Flush, once the gRPC server stopped, logs
// what came after.
func (s *loggingService) Run(ctx context.Context) error {
	summary := time.NewTicker(appendSummaryInterval)
	defer summary.Stop()
	mismatches := time.NewTicker(mismatchInterval)
	defer mismatches.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-mismatches.C:
			s.logMismatches(ctx)
		case <-summary.C:
			s.summarise(ctx)
		}
	}
}

// Flush logs the mismatches and the summary of the appends not logged yet.
func (s *loggingService) Flush(ctx context.Context) {
	s.logMismatches(ctx)
	s.summarise(ctx)
}

func (s *loggingService) summarise(ctx context.Context) {
	s.mu.Lock()
	appended, dups, size := s.appended, s.duplicates, s.treeSize
	s.appended, s.duplicates = 0, 0
	s.mu.Unlock()
	if appended == 0 && dups == 0 {
		return
	}
	s.logger.InfoContext(ctx, "appended claims", slog.Int("claims", appended), slog.Int("duplicates", dups),
		slog.Uint64("tree_size", size), slog.Duration("interval", appendSummaryInterval))
}
