// Package proto holds the protobuf definitions of the log's gRPC API,
// package attestlog.v1 in attestlog/v1/, with the generated Go code
// committed beside them so that building needs no tools.
//
// Regenerate after editing a .proto file (needs protoc; see README.md):
//
//	go generate ./proto/...
package proto

//go:generate sh ../.ci/protoc.sh
