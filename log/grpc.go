package log

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/attestlog/attestlog/log/archive"
	"github.com/attestlog/attestlog/log/claim"
	"github.com/attestlog/attestlog/log/claim/record"
	"github.com/attestlog/attestlog/log/vindex"
	pb "github.com/attestlog/attestlog/proto/attestlog/v1"
	"golang.org/x/mod/sumdb/tlog"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/durationpb"
)

const (
	// MaxEntriesPerCall bounds GetEntries.
	MaxEntriesPerCall = 256
	// chunkSize is the size of the chunks GetArtifact sends.
	chunkSize = 256 << 10
	// maxChunkSize bounds the chunks UploadArtifact accepts.
	maxChunkSize                 = 1 << 20
	defaultPageSize, maxPageSize = 100, 1000
)

// ServiceConfig configures a [Service]. Every zero value means the default.
type ServiceConfig struct {
	// Builders, if not nil, is the allowlist of builder keys: a claim must
	// carry at least one signature by a listed key. Keys are named by
	// record.TrustKey (a signed-note key by its vkey, an OpenPGP
	// certificate by "openpgp:<fingerprint>", any other key by its
	// "<scheme> <key>" text); [ParseBuilders] reads such a set. nil
	// accepts every key.
	Builders map[string]bool
	// GlobalRate and BuilderRate limit AddClaim calls per second, overall
	// and per builder key; zero means no limit.
	GlobalRate, BuilderRate float64
	// MaxClaimBytes bounds the bytes of claim envelopes that AddClaim calls
	// hold at once, from their arrival until they are answered; past it
	// AddClaim answers ResourceExhausted with a RetryInfo. Default
	// DefaultMaxClaimBytes.
	MaxClaimBytes int64
	// UploadIdleTimeout is how long an upload may send nothing before it
	// is aborted and its temporary file deleted. Default DefaultUploadIdleTimeout.
	UploadIdleTimeout time.Duration
	// MaxUploadBytes bounds the declared sizes of the uploads in progress
	// together, and so the temporary space they hold; past it an upload is
	// refused with ResourceExhausted and a RetryInfo. An upload larger
	// than the whole bound is admitted only when no other is in progress.
	// Default DefaultMaxUploadBytes.
	MaxUploadBytes int64
	// Logger receives the service's logs; nil discards them.
	Logger *slog.Logger
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

// A Service is the log's gRPC API (attestlog.v1.LogService): it validates
// claims concurrently, appends them through the Log, and answers proofs,
// lookups and mismatches from the store and artifacts from the archive.
type Service struct {
	pb.UnimplementedLogServiceServer
	log     *Log
	archive archive.Store
	index   ClaimIndex
	cfg     ServiceConfig
	limiter *rateLimiter
	logger  *slog.Logger
	// claimBytes and uploadBytes bound the envelopes of AddClaim calls and
	// the declared sizes of uploads in progress.
	claimBytes, uploadBytes budget
}

var _ pb.LogServiceServer = (*Service)(nil)

// NewService returns the gRPC service of l, whose Config.Indexer must be a
// [ClaimIndex], with artifacts in a.
func NewService(l *Log, a archive.Store, cfg ServiceConfig) (*Service, error) {
	if _, ok := l.cfg.Indexer.(ClaimIndex); !ok {
		return nil, errors.New("log: service: the log does not index claims (Config.Indexer is not a ClaimIndex)")
	}
	l.serviced.Store(true) // its sequencer may linger for the claims being checked
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.MaxClaimBytes < 0 || cfg.UploadIdleTimeout < 0 || cfg.MaxUploadBytes < 0 {
		return nil, errors.New("log: service: negative MaxClaimBytes, UploadIdleTimeout or MaxUploadBytes")
	}
	if cfg.MaxClaimBytes == 0 {
		cfg.MaxClaimBytes = DefaultMaxClaimBytes
	}
	if cfg.UploadIdleTimeout == 0 {
		cfg.UploadIdleTimeout = DefaultUploadIdleTimeout
	}
	if cfg.MaxUploadBytes == 0 {
		cfg.MaxUploadBytes = DefaultMaxUploadBytes
	}
	s := &Service{log: l, archive: a, cfg: cfg, logger: cfg.Logger,
		limiter: newRateLimiter(cfg.GlobalRate, cfg.BuilderRate, cfg.Now)}
	s.claimBytes.max, s.uploadBytes.max = cfg.MaxClaimBytes, cfg.MaxUploadBytes
	return s, nil
}

// Errors of the service's own checks, mapped to codes by grpcError.
var (
	errNotAllowed = errors.New("log: no signature by a builder key on the allowlist")
	errUnclaimed  = errors.New("log: no logged claim names this digest")
	errBadRequest = errors.New("log: bad request")
	errNeedFile   = errors.New("log: file needed")
)

// grpcError maps an error to a gRPC status: the one place the gRPC API turns
// errors into codes. Internal errors are logged and not sent.
func (s *Service) grpcError(ctx context.Context, err error) error {
	var rl retryLaterError
	code := codes.Internal
	caller := callerStatus(err)
	switch {
	case errors.As(err, &rl):
		return retryStatus(err.Error(), rl.retry)
	case errors.Is(err, ErrPushback):
		return retryStatus(err.Error(), minRetryDelay)
	case errors.Is(err, context.Canceled), caller == codes.Canceled:
		// The caller went away (a stream's Recv reports it as a status):
		// no fault of the log's, so not logged as one.
		s.logger.DebugContext(ctx, "grpc request canceled by the caller", slog.Any("err", err))
		code = codes.Canceled
	case errors.Is(err, context.DeadlineExceeded), errors.Is(err, errUploadIdle), caller == codes.DeadlineExceeded:
		code = codes.DeadlineExceeded
	case errors.Is(err, claim.ErrMalformedEnvelope), errors.Is(err, claim.ErrMalformedEntry),
		errors.Is(err, claim.ErrInvalidClaim), errors.Is(err, claim.ErrBadKey),
		errors.Is(err, claim.ErrBadSignature), errors.Is(err, claim.ErrEntryTooLarge),
		errors.Is(err, ErrEntryTooLarge), errors.Is(err, errBadRequest),
		errors.Is(err, archive.ErrMalformedDigest), errors.Is(err, archive.ErrDigestMismatch),
		errors.Is(err, archive.ErrTruncated), errors.Is(err, archive.ErrSizeMismatch):
		code = codes.InvalidArgument
	case errors.Is(err, archive.ErrTooLarge):
		code = codes.ResourceExhausted
	case errors.Is(err, errNotAllowed):
		code = codes.PermissionDenied
	case errors.Is(err, errUnclaimed), errors.Is(err, ErrRolledBack), errors.Is(err, errNeedFile):
		code = codes.FailedPrecondition
	case errors.Is(err, ErrUnconfirmed):
		code = codes.Unavailable
	case errors.Is(err, ErrOutOfRange):
		code = codes.OutOfRange
	case errors.Is(err, archive.ErrNotFound):
		code = codes.NotFound
	case errors.Is(err, archive.ErrCorrupt):
		code = codes.DataLoss
	case errors.Is(err, ErrClosed):
		code = codes.Unavailable
	case errors.Is(err, syscall.ENOSPC):
		s.logger.ErrorContext(ctx, "out of storage space", slog.Any("err", err))
		return status.Error(codes.ResourceExhausted, "log: out of storage space, nothing was stored; retry later")
	case errors.Is(err, ErrStorage):
		s.logger.ErrorContext(ctx, "storage failure", slog.Any("err", err))
		return status.Error(codes.Unavailable, "log: storage failure, nothing was stored; retry later")
	}
	if code == codes.Internal || code == codes.DataLoss {
		s.logger.ErrorContext(ctx, "grpc request failed", slog.Any("err", err))
		return status.Error(code, "internal error")
	}
	return status.Error(code, err.Error())
}

// callerStatus returns the code of the gRPC status err wraps, as a
// stream's Recv returns when the caller cancels the call or its deadline
// passes, or codes.OK if it wraps none. Unlike status.Code it formats no
// message, since every refused request comes through grpcError.
func callerStatus(err error) codes.Code {
	var st interface{ GRPCStatus() *status.Status }
	if errors.As(err, &st) {
		return st.GRPCStatus().Code()
	}
	return codes.OK
}

// retryStatus is a ResourceExhausted status with a RetryInfo of at least
// minRetryDelay.
func retryStatus(msg string, retry time.Duration) error {
	st, err := status.New(codes.ResourceExhausted, msg).WithDetails(&errdetails.RetryInfo{RetryDelay: durationpb.New(retryDelay(retry))})
	if err != nil {
		return status.Error(codes.ResourceExhausted, msg) // RetryInfo always marshals; keep the code if not
	}
	return st.Err()
}

// toInt64 converts a proto size or index at the edge.
func toInt64(name string, v uint64) (int64, error) {
	if v > math.MaxInt64 {
		return 0, fmt.Errorf("%w: %s %d is larger than 2^63-1", errBadRequest, name, v)
	}
	return int64(v), nil
}

// AddClaim implements [pb.LogServiceServer]. Parsing and signature checks
// run on the caller's goroutine, before the entry reaches the sequencer. A
// request carries a v1 claim as a DSSE envelope or a v2 entry
// (log/claim/record), never both.
func (s *Service) AddClaim(ctx context.Context, req *pb.AddClaimRequest) (*pb.AddClaimResponse, error) {
	// The envelope and what is derived from it stay in memory until the
	// claim is sequenced; the budget bounds them across calls.
	n := int64(len(req.GetEnvelope()) + len(req.GetEntry()))
	if !s.claimBytes.take(n) {
		return nil, s.grpcError(ctx, retryLaterError{reason: "too many claims in flight", retry: minRetryDelay})
	}
	defer s.claimBytes.release(n)
	raw, r, err := s.check(req)
	if err != nil {
		return nil, s.grpcError(ctx, err)
	}
	if err := s.log.gate.wait(ctx, s.log.visibleSize); err != nil {
		return nil, s.grpcError(ctx, err)
	}
	idx, dup, err := s.log.AppendParsed(ctx, raw, ParsedClaim{Record: r})
	if err != nil {
		return nil, s.grpcError(ctx, err)
	}
	// The receipt carries the bytes just appended: the log holds exactly
	// these at idx (deduplication is by the hash of the whole entry), so
	// there is no need to read them back.
	cp := s.log.Checkpoint()
	proven, err := s.provenClaim(idx, raw, cp.Size)
	if err != nil {
		return nil, s.grpcError(ctx, err)
	}
	return &pb.AddClaimResponse{Claim: proven, Checkpoint: cp.Note, Duplicate: dup}, nil
}

// check validates the claim of req and applies the rate limits, and
// returns its entry and record. A busy sequencer waits for the claims
// being checked to join its next batch (see [Log.linger]).
func (s *Service) check(req *pb.AddClaimRequest) (raw []byte, r *record.Record, err error) {
	s.log.incoming.Add(1)
	defer s.log.incoming.Add(-1)
	switch {
	case len(req.GetEnvelope()) > 0 && len(req.GetEntry()) > 0:
		err = fmt.Errorf("%w: give a DSSE envelope or a v2 entry, not both", errBadRequest)
	case len(req.GetEntry()) > 0:
		raw = req.GetEntry()
		r, err = s.validateEntry(raw)
	default:
		raw, r, err = s.validate(req.GetEnvelope())
	}
	if err != nil {
		return nil, nil, err
	}
	keys := make([]string, len(r.Signers))
	for i, sig := range r.Signers {
		keys[i] = sig.Builder()
	}
	if d, ok := s.limiter.allow(keys); !ok {
		return nil, nil, retryLaterError{reason: "rate limit exceeded", retry: d}
	}
	return raw, r, nil
}

// validate parses a DSSE envelope into a claim entry, checks every
// signature, the claim profile and the allowlist, and returns the entry
// and its record.
func (s *Service) validate(envelope []byte) ([]byte, *record.Record, error) {
	e, err := claim.ParseEnvelope(envelope)
	if err != nil {
		return nil, nil, err
	}
	c, err := claim.ParseStatement(e.Payload)
	if err != nil {
		return nil, nil, err
	}
	if _, err := e.Verify(); err != nil {
		return nil, nil, err
	}
	r := record.FromV1(e, c)
	if err := s.allowed(r); err != nil {
		return nil, nil, err
	}
	return e.Marshal(), r, nil
}

// validateEntry decodes a v2 entry (record.Decode verifies its signature),
// checks the allowlist and, for a minisign entry whose trusted comment does
// not name the sha256, minisign's signature over the archived file.
func (s *Service) validateEntry(entry []byte) (*record.Record, error) {
	if !bytes.HasPrefix(entry, []byte(record.EntryVersion+"\n")) {
		return nil, fmt.Errorf("%w: entry is not a v2 claim entry (%s); send a v1 claim as its DSSE envelope", errBadRequest, record.EntryVersion)
	}
	r, err := record.Decode(entry)
	if err != nil {
		return nil, err
	}
	if err := s.allowed(r); err != nil {
		return nil, err
	}
	if r.FileSignatureUnchecked {
		if err := s.checkArchivedFile(r); err != nil {
			return nil, err
		}
	}
	return r, nil
}

// checkArchivedFile checks minisign's signature over the archived file a
// record names.
func (s *Service) checkArchivedFile(r *record.Record) error {
	d := r.Subjects[0].SHA256
	obj, err := s.archive.Get(d)
	if errors.Is(err, archive.ErrNotFound) {
		return fmt.Errorf("%w: the minisign signature's trusted comment does not name the file's sha256, so the log checks the signature over the file, and its archive does not hold %s: upload the file first: attestlog submit --artifact FILE", errNeedFile, d)
	}
	if err != nil {
		return fmt.Errorf("reading the archived file %s: %w", d, err)
	}
	defer obj.Close()
	return record.CheckFile(r, obj)
}

// allowed checks the allowlist: a claim needs a signature by a listed key.
func (s *Service) allowed(r *record.Record) error {
	if s.cfg.Builders == nil {
		return nil
	}
	for _, sig := range r.Signers {
		if s.cfg.Builders[sig.TrustKey()] {
			return nil
		}
	}
	return errNotAllowed
}

// prove returns the entries at indexes with inclusion proofs in the tree of the given size.
func (s *Service) prove(indexes []int64, size int64) ([]*pb.ProvenClaim, error) {
	out := make([]*pb.ProvenClaim, len(indexes))
	for i, idx := range indexes {
		e, err := s.log.Entries(idx, 1)
		if err != nil {
			return nil, fmt.Errorf("reading entry %d: %w", idx, err)
		}
		if out[i], err = s.provenClaim(idx, e[0], size); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// provenClaim returns entry, the entry at idx, with its inclusion proof in
// the tree of the given size.
func (s *Service) provenClaim(idx int64, entry []byte, size int64) (*pb.ProvenClaim, error) {
	p, err := s.log.InclusionProof(idx, size)
	if err != nil {
		return nil, err
	}
	return &pb.ProvenClaim{Index: uint64(idx), Entry: entry, TreeSize: uint64(size), InclusionProof: hashBytes(p)}, nil
}

func hashBytes(hs []tlog.Hash) [][]byte {
	out := make([][]byte, len(hs))
	for i := range hs {
		out[i] = hs[i][:]
	}
	return out
}

// GetCheckpoint implements [pb.LogServiceServer]. It fails as
// [Log.Status] does, so that no checkpoint of a store that may be rolled
// back is served.
func (s *Service) GetCheckpoint(ctx context.Context, _ *pb.GetCheckpointRequest) (*pb.GetCheckpointResponse, error) {
	if err := s.log.Status(); err != nil {
		return nil, s.grpcError(ctx, err)
	}
	resp := &pb.GetCheckpointResponse{Checkpoint: s.log.Checkpoint().Note}
	if w := s.log.Published(); w != nil {
		resp.WitnessedCheckpoint = w.Note
	}
	return resp, nil
}

// GetInclusionProof implements [pb.LogServiceServer].
func (s *Service) GetInclusionProof(ctx context.Context, req *pb.GetInclusionProofRequest) (*pb.GetInclusionProofResponse, error) {
	idx, err := toInt64("index", req.GetIndex())
	if err != nil {
		return nil, s.grpcError(ctx, err)
	}
	size, err := toInt64("tree_size", req.GetTreeSize())
	if err != nil {
		return nil, s.grpcError(ctx, err)
	}
	p, err := s.log.InclusionProof(idx, size)
	if err != nil {
		return nil, s.grpcError(ctx, err)
	}
	return &pb.GetInclusionProofResponse{Proof: hashBytes(p)}, nil
}

// GetConsistencyProof implements [pb.LogServiceServer].
func (s *Service) GetConsistencyProof(ctx context.Context, req *pb.GetConsistencyProofRequest) (*pb.GetConsistencyProofResponse, error) {
	old, err := toInt64("old_size", req.GetOldSize())
	if err != nil {
		return nil, s.grpcError(ctx, err)
	}
	size, err := toInt64("new_size", req.GetNewSize())
	if err != nil {
		return nil, s.grpcError(ctx, err)
	}
	p, err := s.log.ConsistencyProof(old, size)
	if err != nil {
		return nil, s.grpcError(ctx, err)
	}
	return &pb.GetConsistencyProofResponse{Proof: hashBytes(p)}, nil
}

// GetEntries implements [pb.LogServiceServer].
func (s *Service) GetEntries(ctx context.Context, req *pb.GetEntriesRequest) (*pb.GetEntriesResponse, error) {
	start, err := toInt64("start", req.GetStart())
	if err != nil {
		return nil, s.grpcError(ctx, err)
	}
	n := int64(req.GetCount())
	size := s.log.Checkpoint().Size
	switch {
	case n < 1 || n > MaxEntriesPerCall:
		return nil, s.grpcError(ctx, fmt.Errorf("%w: count %d, want 1 to %d", errBadRequest, n, MaxEntriesPerCall))
	case start >= size:
		return nil, s.grpcError(ctx, fmt.Errorf("%w: start %d, the log has %d entries", ErrOutOfRange, start, size))
	}
	entries, err := s.log.Entries(start, int(min(n, size-start)))
	if err != nil {
		return nil, s.grpcError(ctx, err)
	}
	return &pb.GetEntriesResponse{Entries: entries}, nil
}

// LookupByDigest implements [pb.LogServiceServer].
func (s *Service) LookupByDigest(ctx context.Context, req *pb.LookupByDigestRequest) (*pb.LookupByDigestResponse, error) {
	d, err := claim.NormaliseDigest(req.GetSha256())
	if err != nil {
		return nil, s.grpcError(ctx, fmt.Errorf("%w: sha256: %v", errBadRequest, err))
	}
	cp := s.log.Checkpoint()
	idx, err := s.index.ByDigest(s.log.store, d, cp.Size)
	if err != nil {
		return nil, s.grpcError(ctx, err)
	}
	claims, err := s.prove(idx, cp.Size)
	if err != nil {
		return nil, s.grpcError(ctx, err)
	}
	size, err := lookupSize(req.GetTreeSize(), cp.Size)
	if err != nil {
		return nil, s.grpcError(ctx, err)
	}
	ip, err := s.log.IndexProof(vindex.DigestKey(d), size, func(n int64) ([]int64, error) { return s.index.ByDigest(s.log.store, d, n) })
	if err != nil {
		return nil, s.grpcError(ctx, err)
	}
	return &pb.LookupByDigestResponse{Checkpoint: cp.Note, Claims: claims, IndexProof: ip}, nil
}

// LookupBySource implements [pb.LogServiceServer].
func (s *Service) LookupBySource(ctx context.Context, req *pb.LookupBySourceRequest) (*pb.LookupBySourceResponse, error) {
	src, commit, err := record.NormaliseSourceCommit(req.GetSourceUri(), req.GetCommit())
	if err != nil {
		return nil, s.grpcError(ctx, fmt.Errorf("%w: %v", errBadRequest, err))
	}
	cp := s.log.Checkpoint()
	platform := strings.ToLower(req.GetPlatform())
	idx, err := s.index.BySource(s.log.store, src, commit, platform, cp.Size)
	if err != nil {
		return nil, s.grpcError(ctx, err)
	}
	claims, err := s.prove(idx, cp.Size)
	if err != nil {
		return nil, s.grpcError(ctx, err)
	}
	size, err := lookupSize(req.GetTreeSize(), cp.Size)
	if err != nil {
		return nil, s.grpcError(ctx, err)
	}
	key := vindex.SourceKey(src, commit)
	if platform != "" {
		key = vindex.BuildKey(src, commit, platform)
	}
	ip, err := s.log.IndexProof(key, size, func(n int64) ([]int64, error) { return s.index.BySource(s.log.store, src, commit, platform, n) })
	if err != nil {
		return nil, s.grpcError(ctx, err)
	}
	return &pb.LookupBySourceResponse{Checkpoint: cp.Note, Claims: claims, IndexProof: ip}, nil
}

// LookupByName implements [pb.LogServiceServer].
func (s *Service) LookupByName(ctx context.Context, req *pb.LookupByNameRequest) (*pb.LookupByNameResponse, error) {
	name := req.GetName()
	if err := record.CheckName(name); err != nil {
		return nil, s.grpcError(ctx, fmt.Errorf("%w: name: %v", errBadRequest, err))
	}
	cp := s.log.Checkpoint()
	idx, err := s.index.ByName(s.log.store, name, cp.Size)
	if err != nil {
		return nil, s.grpcError(ctx, err)
	}
	claims, err := s.prove(idx, cp.Size)
	if err != nil {
		return nil, s.grpcError(ctx, err)
	}
	size, err := lookupSize(req.GetTreeSize(), cp.Size)
	if err != nil {
		return nil, s.grpcError(ctx, err)
	}
	ip, err := s.log.IndexProof(vindex.NameKey(name), size, func(n int64) ([]int64, error) { return s.index.ByName(s.log.store, name, n) })
	if err != nil {
		return nil, s.grpcError(ctx, err)
	}
	return &pb.LookupByNameResponse{Checkpoint: cp.Note, Claims: claims, IndexProof: ip}, nil
}

// ListMismatches implements [pb.LogServiceServer]. The page token is
// "<claim>.<subject>", the order of the last mismatch of the previous page;
// a bare "<claim>" (the tokens of schema version 1) resumes after every
// mismatch of that claim.
func (s *Service) ListMismatches(ctx context.Context, req *pb.ListMismatchesRequest) (*pb.ListMismatchesResponse, error) {
	n := int(req.GetPageSize())
	if n == 0 {
		n = defaultPageSize
	}
	after := MismatchCursor{Claim: -1}
	if t := req.GetPageToken(); t != "" {
		c, ok := parseMismatchToken(t)
		if !ok {
			return nil, s.grpcError(ctx, fmt.Errorf("%w: page_token %q", errBadRequest, t))
		}
		after = c
	}
	if n > maxPageSize {
		return nil, s.grpcError(ctx, fmt.Errorf("%w: page_size %d, at most %d", errBadRequest, n, maxPageSize))
	}
	ms, err := s.index.Mismatches(s.log.store, after, n, s.log.Checkpoint().Size)
	if err != nil {
		return nil, s.grpcError(ctx, err)
	}
	resp := &pb.ListMismatchesResponse{}
	for _, m := range ms {
		pm, err := s.mismatchProto(m)
		if err != nil {
			return nil, s.grpcError(ctx, err)
		}
		resp.Mismatches = append(resp.Mismatches, pm)
	}
	if len(ms) == n {
		last := ms[len(ms)-1]
		resp.NextPageToken = fmt.Sprintf("%d.%d", last.Claim, last.Subject)
	}
	return resp, nil
}

// parseMismatchToken parses a ListMismatches page token.
func parseMismatchToken(t string) (MismatchCursor, bool) {
	claimText, subjectText, hasSubject := strings.Cut(t, ".")
	c, err := strconv.ParseInt(claimText, 10, 64)
	if err != nil || c < 0 || strconv.FormatInt(c, 10) != claimText {
		return MismatchCursor{}, false
	}
	if !hasSubject {
		return MismatchCursor{Claim: c, Subject: math.MaxUint32}, true
	}
	sub, err := strconv.ParseUint(subjectText, 10, 32)
	if err != nil || strconv.FormatUint(sub, 10) != subjectText {
		return MismatchCursor{}, false
	}
	return MismatchCursor{Claim: c, Subject: int(sub)}, true
}

// GetMismatch implements [pb.LogServiceServer]: by identity_id, or by the
// index of the claim that created the mismatch if that claim created one.
func (s *Service) GetMismatch(ctx context.Context, req *pb.GetMismatchRequest) (*pb.GetMismatchResponse, error) {
	cp := s.log.Checkpoint()
	var m MismatchRecord
	if idText := req.GetIdentityId(); idText != "" {
		key, err := claim.ParseIdentityID(idText)
		if err != nil {
			return nil, s.grpcError(ctx, fmt.Errorf("%w: identity_id: %v", errBadRequest, err))
		}
		var ok bool
		if m, ok, err = s.index.Mismatch(s.log.store, key, cp.Size); err != nil {
			return nil, s.grpcError(ctx, err)
		} else if !ok {
			return nil, status.Errorf(codes.NotFound, "no mismatch %s", idText)
		}
	} else {
		id, err := toInt64("id", req.GetId())
		if err != nil {
			return nil, s.grpcError(ctx, err)
		}
		ms, err := s.index.MismatchesOfClaim(s.log.store, id, cp.Size)
		switch {
		case err != nil:
			return nil, s.grpcError(ctx, err)
		case len(ms) == 0:
			return nil, status.Errorf(codes.NotFound, "claim %d created no mismatch", id)
		case len(ms) > 1:
			ids := make([]string, len(ms))
			for i, m := range ms {
				ids[i] = m.ID()
			}
			return nil, s.grpcError(ctx, fmt.Errorf("%w: claim %d created %d mismatches (%s): ask for one by identity_id", errBadRequest, id, len(ms), strings.Join(ids, ", ")))
		}
		m = ms[0]
	}
	pm, err := s.mismatchProto(m)
	if err != nil {
		return nil, s.grpcError(ctx, err)
	}
	var idx []int64
	for _, d := range m.Digests {
		idx = append(idx, d.Claims...)
	}
	slices.Sort(idx)
	claims, err := s.prove(idx, cp.Size)
	if err != nil {
		return nil, s.grpcError(ctx, err)
	}
	return &pb.GetMismatchResponse{Mismatch: pm, Checkpoint: cp.Note, Claims: claims}, nil
}

func (s *Service) mismatchProto(m MismatchRecord) (*pb.Mismatch, error) {
	pm := &pb.Mismatch{Id: uint64(m.Claim), SourceUri: m.Identity.Source, Commit: m.Identity.Commit,
		Platform: m.Identity.Platform, Artifact: m.Identity.Artifact, IdentityId: m.ID(), Subject: uint32(m.Subject)}
	for _, d := range m.Digests {
		_, archived, err := s.archive.Stat(d.SHA256)
		if err != nil {
			return nil, err
		}
		md := &pb.MismatchDigest{Sha256: d.SHA256, Recipes: d.Recipes, Archived: archived}
		for _, c := range d.Claims {
			md.ClaimIndexes = append(md.ClaimIndexes, uint64(c))
		}
		pm.Digests = append(pm.Digests, md)
	}
	return pm, nil
}
