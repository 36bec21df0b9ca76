// Package proto will hold the protobuf definitions of the log's gRPC API,
// package attestlog.v1, with the generated Go code committed beside them in
// versioned subpackages. It is empty until the gRPC API lands.
package proto
