package daemon

import (
	"context"
	"log/slog"
	"strconv"
	"sync"
	"time"

	pb "github.com/attestlog/attestlog/proto/attestlog/v1"
)

// appendSummaryInterval is the shortest time between two log lines that
// sum up the appends serve accepted.
const appendSummaryInterval = 10 * time.Second

// A loggingService is the log's gRPC service with what an operator wants
// in serve's log at info level: a WARN line for every mismatch a claim
// creates, and at most one INFO line per appendSummaryInterval summing up
// the claims appended.
type loggingService struct {
	pb.LogServiceServer
	logger *slog.Logger

	mu         sync.Mutex // guards the counts
	appended   int        // new claims since the last summary
	duplicates int        // resubmitted claims since the last summary
	treeSize   uint64     // tree size of the latest receipt
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
	s.mu.Unlock()
	if !resp.GetDuplicate() {
		s.logMismatches(ctx, idx)
	}
	return resp, nil
}

// logMismatches logs, at WARN, every mismatch the claim at idx created:
// those ListMismatches lists right after the ones of claim idx-1.
func (s *loggingService) logMismatches(ctx context.Context, idx uint64) {
	req := &pb.ListMismatchesRequest{PageSize: 16}
	if idx > 0 {
		req.PageToken = strconv.FormatUint(idx-1, 10) // after every mismatch of claim idx-1
	}
	resp, err := s.LogServiceServer.ListMismatches(ctx, req)
	if err != nil {
		s.logger.ErrorContext(ctx, "listing the mismatches of a new claim", slog.Uint64("claim", idx), slog.Any("err", err))
		return
	}
	for _, m := range resp.GetMismatches() {
		if m.GetId() != idx {
			break
		}
		digests := make([]string, len(m.GetDigests()))
		for i, d := range m.GetDigests() {
			digests[i] = d.GetSha256()
		}
		s.logger.WarnContext(ctx, "mismatch: builders claim different digests for one build",
			slog.String("mismatch", m.GetIdentityId()), slog.Uint64("claim", idx),
			slog.String("source", m.GetSourceUri()), slog.String("commit", m.GetCommit()),
			slog.String("platform", m.GetPlatform()), slog.String("artifact", m.GetArtifact()),
			slog.Any("digests", digests))
	}
}

// Run logs the summary of appends at most once per appendSummaryInterval,
// when there were any, until ctx is done, and then once more.
func (s *loggingService) Run(ctx context.Context) error {
	t := time.NewTicker(appendSummaryInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			s.summarise(context.WithoutCancel(ctx))
			return nil
		case <-t.C:
			s.summarise(ctx)
		}
	}
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
