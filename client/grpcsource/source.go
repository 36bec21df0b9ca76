// Package grpcsource implements [client.Source] over attestlog's gRPC API
// (attestlog.v1.LogService, proto/attestlog/v1/log.proto), so that package
// client itself links no gRPC.
//
// The log's lookups prove claims against its latest signed checkpoint; a
// verifier needs proofs against the latest witnessed one. [Source] asks
// for an inclusion proof against the witnessed tree size for every claim
// below it, and reports claims past it as unwitnessed: they do not vote
// until a witnessed checkpoint covers them. It fails closed: a log without
// a witnessed checkpoint gives no checkpoint at all.
//
// Source also implements [client.IndexSource], the answers a monitor
// ([client.MonitorLog]) checks against the log's entries.
//
// The rest of the package is what "attestlog" does over gRPC besides
// verifying: submitting (a [Retry] while the log is busy, [CheckReceipt]
// of an AddClaim answer, [Source.Upload] of an artifact), and asking the
// log for answers proven against its latest checkpoint rather than the
// witnessed one ([Source.LookupLatest], [Source.ListMismatches],
// [Source.GetMismatch], [Source.BuildClaims]), which it verifies.
//
// A Source is safe for concurrent use.
package grpcsource

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"sync"

	"github.com/attestlog/attestlog/client"
	"github.com/attestlog/attestlog/log/vindex"
	pb "github.com/attestlog/attestlog/proto/attestlog/v1"
	"golang.org/x/mod/sumdb/tlog"
	"golang.org/x/sync/errgroup"
	"google.golang.org/grpc"
)

// ErrNotWitnessed means the log has no checkpoint that witnesses cosigned.
var ErrNotWitnessed = errors.New("grpcsource: the log has no witnessed checkpoint")

// proofConcurrency bounds the GetInclusionProof calls in flight.
const proofConcurrency = 8

// maxEntriesPerCall is what GetEntries returns at most (log.MaxEntriesPerCall).
const maxEntriesPerCall = 256

// maxTail bounds the tail Source reads with GetEntries for an index proof;
// past it the proof goes without its tail, and client.Verify reports the
// tail's length.
const maxTail = 1 << 16

// A Source is a [client.Source] that asks a log over gRPC.
type Source struct {
	c pb.LogServiceClient
	// tails caches the last tail read: every lookup of one verification
	// is proven at one tree size, usually against one commitment.
	mu        sync.Mutex
	tailStart int64
	tailSize  int64
	tail      [][]byte
}

var (
	_ client.Source      = (*Source)(nil)
	_ client.IndexSource = (*Source)(nil)
)

// New returns a Source asking the LogService at the other end of cc.
func New(cc grpc.ClientConnInterface) *Source {
	return &Source{c: pb.NewLogServiceClient(cc)}
}

// Checkpoint implements [client.Source]: it returns the log's witnessed
// checkpoint, or an error wrapping [ErrNotWitnessed] if it has none.
func (s *Source) Checkpoint(ctx context.Context) ([]byte, error) {
	resp, err := s.c.GetCheckpoint(ctx, &pb.GetCheckpointRequest{})
	if err != nil {
		return nil, fmt.Errorf("grpcsource: GetCheckpoint: %w", err)
	}
	if len(resp.GetWitnessedCheckpoint()) == 0 {
		return nil, ErrNotWitnessed
	}
	return resp.GetWitnessedCheckpoint(), nil
}

// ClaimsByDigest implements [client.Source] with LookupByDigest.
func (s *Source) ClaimsByDigest(ctx context.Context, sha256 string, treeSize int64) (client.Lookup, error) {
	resp, err := s.c.LookupByDigest(ctx, &pb.LookupByDigestRequest{Sha256: sha256, TreeSize: uint64(max(treeSize, 0))})
	if err != nil {
		return client.Lookup{}, fmt.Errorf("grpcsource: LookupByDigest: %w", err)
	}
	return s.lookup(ctx, resp.GetClaims(), resp.GetIndexProof(), treeSize)
}

// ClaimsBySource implements [client.Source] with LookupBySource.
func (s *Source) ClaimsBySource(ctx context.Context, source, commit, platform string, treeSize int64) (client.Lookup, error) {
	resp, err := s.c.LookupBySource(ctx, &pb.LookupBySourceRequest{SourceUri: source, Commit: commit, Platform: platform, TreeSize: uint64(max(treeSize, 0))})
	if err != nil {
		return client.Lookup{}, fmt.Errorf("grpcsource: LookupBySource: %w", err)
	}
	return s.lookup(ctx, resp.GetClaims(), resp.GetIndexProof(), treeSize)
}

// ClaimsByName implements [client.Source] with LookupByName.
func (s *Source) ClaimsByName(ctx context.Context, name string, treeSize int64) (client.Lookup, error) {
	resp, err := s.c.LookupByName(ctx, &pb.LookupByNameRequest{Name: name, TreeSize: uint64(max(treeSize, 0))})
	if err != nil {
		return client.Lookup{}, fmt.Errorf("grpcsource: LookupByName: %w", err)
	}
	return s.lookup(ctx, resp.GetClaims(), resp.GetIndexProof(), treeSize)
}

// lookup is prove plus the lookup's index proof, with its tail.
func (s *Source) lookup(ctx context.Context, claims []*pb.ProvenClaim, ip *pb.IndexProof, treeSize int64) (client.Lookup, error) {
	lk, err := s.prove(ctx, claims, treeSize)
	if err != nil || ip == nil {
		return lk, err
	}
	if lk.Index, err = s.indexProof(ctx, ip, treeSize); err != nil {
		return client.Lookup{}, err
	}
	return lk, nil
}

// indexProof converts an index proof at the edge and reads its tail. What
// it cannot make sense of, it passes on for client.Verify to report.
func (s *Source) indexProof(ctx context.Context, ip *pb.IndexProof, treeSize int64) (*client.IndexProof, error) {
	out := &client.IndexProof{MapProof: ip.GetMapProof()}
	var err error
	if out.Left, err = hashes(ip.GetTailLeft()); err != nil {
		return nil, fmt.Errorf("grpcsource: index proof: compact range: %w", err)
	}
	var n int64
	if e := ip.GetCommitmentEntry(); len(e) > 0 {
		idx, err := toInt64("commitment index", ip.GetCommitmentIndex())
		if err != nil {
			return nil, err
		}
		p, err := hashes(ip.GetCommitmentInclusionProof())
		if err != nil {
			return nil, fmt.Errorf("grpcsource: index proof: inclusion proof of commitment %d: %w", idx, err)
		}
		out.Commitment = &client.ProvenClaim{Index: idx, Entry: e, Proof: p}
		c, err := vindex.ParseCommitment(e)
		if err != nil {
			return out, nil
		}
		n = c.Size
	}
	if n > treeSize || treeSize-n > maxTail {
		return out, nil
	}
	if out.Tail, err = s.readTail(ctx, n, treeSize); err != nil {
		return nil, err
	}
	return out, nil
}

// readTail returns the entries [start, end), from the cache or GetEntries.
// The caller owns the slice, not the entries.
func (s *Source) readTail(ctx context.Context, start, end int64) ([][]byte, error) {
	s.mu.Lock()
	if s.tail != nil && s.tailStart == start && s.tailSize == end {
		t := slices.Clone(s.tail)
		s.mu.Unlock()
		return t, nil
	}
	s.mu.Unlock()
	out := make([][]byte, 0, end-start)
	for i := start; i < end; {
		resp, err := s.c.GetEntries(ctx, &pb.GetEntriesRequest{Start: uint64(i), Count: uint32(min(end-i, maxEntriesPerCall))})
		if err != nil {
			return nil, fmt.Errorf("grpcsource: GetEntries(%d): %w", i, err)
		}
		got := resp.GetEntries()
		if len(got) == 0 || int64(len(got)) > end-i {
			return nil, fmt.Errorf("grpcsource: GetEntries(%d) returned %d entries, want 1 to %d", i, len(got), end-i)
		}
		out = append(out, got...)
		i += int64(len(got))
	}
	s.mu.Lock()
	s.tail, s.tailStart, s.tailSize = out, start, end
	s.mu.Unlock()
	return slices.Clone(out), nil
}

// prove turns a lookup's claims into claims proven against treeSize: it
// keeps the proofs already against treeSize and asks for the others.
func (s *Source) prove(ctx context.Context, claims []*pb.ProvenClaim, treeSize int64) (client.Lookup, error) {
	if treeSize < 0 {
		return client.Lookup{}, fmt.Errorf("grpcsource: tree size %d", treeSize)
	}
	var lk client.Lookup
	for _, pc := range claims {
		idx, err := toInt64("index", pc.GetIndex())
		if err != nil {
			return client.Lookup{}, err
		}
		if idx >= treeSize {
			lk.Unwitnessed = append(lk.Unwitnessed, idx)
			continue
		}
		lk.Claims = append(lk.Claims, client.ProvenClaim{Index: idx, Entry: pc.GetEntry()})
		if pc.GetTreeSize() == uint64(treeSize) {
			if lk.Claims[len(lk.Claims)-1].Proof, err = hashes(pc.GetInclusionProof()); err != nil {
				return client.Lookup{}, fmt.Errorf("grpcsource: inclusion proof of entry %d: %w", idx, err)
			}
		}
	}
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(proofConcurrency)
	for i := range lk.Claims {
		pc := &lk.Claims[i]
		if pc.Proof != nil || treeSize == 1 {
			continue
		}
		g.Go(func() error {
			resp, err := s.c.GetInclusionProof(gctx, &pb.GetInclusionProofRequest{Index: uint64(pc.Index), TreeSize: uint64(treeSize)})
			if err != nil {
				return fmt.Errorf("grpcsource: GetInclusionProof(%d, %d): %w", pc.Index, treeSize, err)
			}
			if pc.Proof, err = hashes(resp.GetProof()); err != nil {
				return fmt.Errorf("grpcsource: inclusion proof of entry %d: %w", pc.Index, err)
			}
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return client.Lookup{}, err
	}
	slices.SortFunc(lk.Claims, func(a, b client.ProvenClaim) int { return cmp.Compare(a.Index, b.Index) })
	slices.Sort(lk.Unwitnessed)
	return lk, nil
}

// ConsistencyProof implements [client.Source] with GetConsistencyProof.
func (s *Source) ConsistencyProof(ctx context.Context, oldSize, newSize int64) ([]tlog.Hash, error) {
	if oldSize < 0 || newSize < oldSize {
		return nil, fmt.Errorf("grpcsource: consistency proof from %d to %d", oldSize, newSize)
	}
	resp, err := s.c.GetConsistencyProof(ctx, &pb.GetConsistencyProofRequest{OldSize: uint64(oldSize), NewSize: uint64(newSize)})
	if err != nil {
		return nil, fmt.Errorf("grpcsource: GetConsistencyProof(%d, %d): %w", oldSize, newSize, err)
	}
	p, err := hashes(resp.GetProof())
	if err != nil {
		return nil, fmt.Errorf("grpcsource: consistency proof from %d to %d: %w", oldSize, newSize, err)
	}
	return p, nil
}

// hashes converts a proof at the edge; the result is never nil.
func hashes(p [][]byte) ([]tlog.Hash, error) {
	out := make([]tlog.Hash, len(p))
	for i, h := range p {
		if len(h) != tlog.HashSize {
			return nil, fmt.Errorf("hash %d has %d bytes, want %d", i, len(h), tlog.HashSize)
		}
		out[i] = tlog.Hash(h)
	}
	return out, nil
}

// toInt64 converts a proto index or size at the edge.
func toInt64(name string, v uint64) (int64, error) {
	if v > math.MaxInt64 {
		return 0, fmt.Errorf("grpcsource: %s %d is larger than 2^63-1", name, v)
	}
	return int64(v), nil
}
