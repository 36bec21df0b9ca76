package log

import (
	"context"
	"fmt"
	"sync/atomic"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/experimental"
	"google.golang.org/grpc/keepalive"
	"google.golang.org/grpc/mem"
	"google.golang.org/grpc/tap"
	"google.golang.org/protobuf/proto"
)

// Limits of the gRPC server, sized to the messages of the API.
const (
	// maxRecvMsgSize admits an upload chunk (1 MiB) or a DSSE envelope
	// (claim.MaxEnvelopeSize) with room for framing, and nothing larger.
	maxRecvMsgSize = maxChunkSize + 64<<10
	// maxSendMsgSize admits the largest answer: 256 entries of 64 KiB.
	maxSendMsgSize = MaxEntriesPerCall*(64<<10) + 1<<20
	// maxStreams bounds concurrent calls on one connection.
	maxStreams = 256
	// maxServerStreams bounds concurrent calls over all connections
	// together: each may hold a stream window of bytes the server has not
	// read yet, so this bounds what the transport buffers at 32 MiB.
	maxServerStreams = 512
	// streamWindow and connWindow are the HTTP/2 flow-control windows: the
	// most bytes a client may send on one call, and on one connection,
	// before the server has read them. Fixed windows turn off gRPC's
	// bandwidth-delay estimation, which grows a connection's window to
	// 16 MiB, so that what the transport buffers stays bounded by
	// connections times connWindow however many calls are open.
	streamWindow = 64 << 10
	connWindow   = 1 << 20
)

// Defaults of the service's bounds on memory and temporary storage.
const (
	// DefaultMaxClaimBytes is the default bound on the bytes of claim
	// envelopes being validated and sequenced at once: 8 MiB, about 64 of
	// the largest claims or 5,000 typical ones. Each costs the server a few
	// times its size until it is answered.
	DefaultMaxClaimBytes = 8 << 20
	// DefaultUploadIdleTimeout is how long an upload may send nothing
	// before the server aborts it and deletes its temporary file.
	DefaultUploadIdleTimeout = 30 * time.Second
	// DefaultMaxUploadBytes is the default bound on the declared sizes of
	// all uploads in progress together, the temporary space they may hold.
	DefaultMaxUploadBytes = 8 << 30
	// minRetryDelay is the shortest RetryInfo the service sends: clients
	// that read whole seconds would take anything shorter for "retry now".
	minRetryDelay = time.Second
)

// GRPCServerOptions returns the limits a gRPC server of the [Service] should
// run with: message sizes fitted to the API, concurrent calls per
// connection, bounded flow-control windows, and keepalive rules that drop
// idle or abusive connections.
func GRPCServerOptions() []grpc.ServerOption {
	// gRPC's default buffer pool has no size between 32 KiB and 1 MiB, so
	// every message of more than 32 KiB, a large claim on its way in and
	// its receipt on its way out, held a 1 MiB buffer until sent: 2,048
	// claims of 78 KB held over a gigabyte. One tier per power of two in
	// the transport, and messages encoded and decoded at their own size.
	pool, err := mem.NewBinaryTieredBufferPool(8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20)
	if err != nil {
		panic("log: buffer pool tiers: " + err.Error()) // constant arguments
	}
	streams := &budget{max: maxServerStreams}
	return []grpc.ServerOption{
		grpc.InTapHandle(streams.tap),
		experimental.BufferPool(pool),
		grpc.ForceServerCodecV2(exactCodec{}),
		grpc.MaxRecvMsgSize(maxRecvMsgSize),
		grpc.MaxSendMsgSize(maxSendMsgSize),
		grpc.MaxConcurrentStreams(maxStreams),
		// Calls run on long-lived workers, one for each call admitted at
		// once, whose stacks have grown to what a call needs, rather than
		// on a new goroutine each, whose stack grew two or three times
		// during the call. Under `attestlog bench --mode add`, growing
		// stacks took 5.3% of serve's CPU; with workers, 2.4% (regrowth
		// after the collector shrinks an idle worker's stack), and the
		// shrinking 1.4%. A call finds no idle worker only when all are
		// busy, and then gets a goroutine of its own.
		grpc.NumStreamWorkers(maxServerStreams),
		grpc.InitialWindowSize(streamWindow),
		grpc.InitialConnWindowSize(connWindow),
		grpc.ConnectionTimeout(10 * time.Second),
		grpc.KeepaliveParams(keepalive.ServerParameters{MaxConnectionIdle: 5 * time.Minute, Time: time.Minute, Timeout: 20 * time.Second}),
		grpc.KeepaliveEnforcementPolicy(keepalive.EnforcementPolicy{MinTime: 10 * time.Second, PermitWithoutStream: true}),
	}
}

// exactCodec is gRPC's protobuf codec without its buffer pool: a message is
// encoded into a buffer of its own size and decoded from the received
// bytes, so that no message holds a pooled buffer many times its size.
type exactCodec struct{}

func (exactCodec) Name() string { return "proto" }

func (exactCodec) Marshal(v any) (mem.BufferSlice, error) {
	m, ok := v.(proto.Message)
	if !ok {
		return nil, fmt.Errorf("log: grpc codec: %T is not a protobuf message", v)
	}
	b, err := proto.Marshal(m)
	if err != nil {
		return nil, err
	}
	return mem.BufferSlice{mem.SliceBuffer(b)}, nil
}

func (exactCodec) Unmarshal(data mem.BufferSlice, v any) error {
	m, ok := v.(proto.Message)
	if !ok {
		return fmt.Errorf("log: grpc codec: %T is not a protobuf message", v)
	}
	// proto.Unmarshal copies what it keeps, so data may be freed after.
	if len(data) == 1 {
		return proto.Unmarshal(data[0].ReadOnlyData(), m)
	}
	return proto.Unmarshal(data.Materialize(), m)
}

// A budget bounds a quantity held by requests in flight, such as bytes of
// claims or of temporary files: a request takes its share when it arrives
// and releases it when it is answered. It is safe for concurrent use.
type budget struct {
	max  int64
	used atomic.Int64
}

// take reserves n, or reports false and reserves nothing if that would
// exceed the budget. A request larger than the whole budget is admitted
// when nothing else is held, so that it is not refused for ever.
func (b *budget) take(n int64) bool {
	for {
		used := b.used.Load()
		if used > 0 && used+n > b.max {
			return false
		}
		if b.used.CompareAndSwap(used, used+n) {
			return true
		}
	}
}

// release returns n taken before.
func (b *budget) release(n int64) { b.used.Add(-n) }

// tap is a gRPC InTapHandle that counts calls in b: it refuses a new call,
// before the server reads any of its messages, when b is spent, and
// returns the call's share when the call ends, whichever way it ends.
func (b *budget) tap(ctx context.Context, _ *tap.Info) (context.Context, error) {
	if !b.take(1) {
		return nil, retryStatus(fmt.Sprintf("log: more than %d calls in progress", b.max), minRetryDelay)
	}
	context.AfterFunc(ctx, func() { b.release(1) })
	return ctx, nil
}

// retryLaterError means the service is too busy for a request now; it
// carries how long the caller should wait, sent as RetryInfo.
type retryLaterError struct {
	reason string
	retry  time.Duration
}

func (e retryLaterError) Error() string {
	return fmt.Sprintf("log: %s, retry in %v", e.reason, retryDelay(e.retry))
}

// retryDelay rounds a wait up to whole seconds, and at least minRetryDelay:
// a client that reads only RetryInfo's seconds must never see 0.
func retryDelay(d time.Duration) time.Duration {
	return max(minRetryDelay, (d + time.Second - 1).Truncate(time.Second))
}
