package log

import (
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/keepalive"
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
)

// GRPCServerOptions returns the limits a gRPC server of the [Service] should
// run with: message sizes fitted to the API, concurrent calls per
// connection, and keepalive rules that drop idle or abusive connections.
func GRPCServerOptions() []grpc.ServerOption {
	return []grpc.ServerOption{
		grpc.MaxRecvMsgSize(maxRecvMsgSize),
		grpc.MaxSendMsgSize(maxSendMsgSize),
		grpc.MaxConcurrentStreams(maxStreams),
		grpc.ConnectionTimeout(10 * time.Second),
		grpc.KeepaliveParams(keepalive.ServerParameters{MaxConnectionIdle: 5 * time.Minute, Time: time.Minute, Timeout: 20 * time.Second}),
		grpc.KeepaliveEnforcementPolicy(keepalive.EnforcementPolicy{MinTime: 10 * time.Second, PermitWithoutStream: true}),
	}
}
