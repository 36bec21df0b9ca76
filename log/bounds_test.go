package log_test

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/attestlog/attestlog/log"
	"github.com/attestlog/attestlog/log/archive"
	pb "github.com/attestlog/attestlog/proto/attestlog/v1"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// claimBinaries logs a claim for each binary, so that the log accepts their uploads.
func claimBinaries(t *testing.T, cl *claimLog, bins ...[]byte) {
	t.Helper()
	key := testBuilder(t, "uploader.example/u")
	for _, bin := range bins {
		if _, err := cl.client.AddClaim(t.Context(), &pb.AddClaimRequest{Envelope: envelope(t, buildClaim(bin, "u"), key)}); err != nil {
			t.Fatal(err)
		}
	}
}

// startUpload sends an upload's header and its first n bytes, and leaves
// the stream open.
func startUpload(t *testing.T, ctx context.Context, cl *claimLog, bin []byte, n int) pb.LogService_UploadArtifactClient {
	t.Helper()
	st, err := cl.client.UploadArtifact(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := st.Send(&pb.UploadArtifactRequest{Part: &pb.UploadArtifactRequest_Header{Header: &pb.UploadHeader{Sha256: sha(bin), Size: uint64(len(bin))}}}); err != nil {
		t.Fatal(err)
	}
	if err := st.Send(&pb.UploadArtifactRequest{Part: &pb.UploadArtifactRequest_Chunk{Chunk: bin[:n]}}); err != nil {
		t.Fatal(err)
	}
	return st
}

// tmpFiles lists the archive's unfinished uploads.
func tmpFiles(t *testing.T, cl *claimLog) []string {
	t.Helper()
	ents, err := os.ReadDir(filepath.Join(cl.dir, "archive", "tmp"))
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range ents {
		names = append(names, e.Name())
	}
	return names
}

// TestUploadIdleTimeout stalls an upload half-way: the server must abort it
// after UploadIdleTimeout with DeadlineExceeded saying so, and delete its
// temporary file, rather than hold both for as long as the stream is open.
func TestUploadIdleTimeout(t *testing.T) {
	const idle = 300 * time.Millisecond
	cl := newClaimLog(t, log.ServiceConfig{UploadIdleTimeout: idle}, archive.Config{})
	bin := bytes.Repeat([]byte("stalled "), 20_000)
	claimBinaries(t, cl, bin)
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second) // far beyond idle
	defer cancel()
	start := time.Now()
	st := startUpload(t, ctx, cl, bin, 1000)
	waitUntil(t, "the stalled upload has a temporary file", func() bool { return len(tmpFiles(t, cl)) == 1 })
	err := st.RecvMsg(new(pb.UploadArtifactResponse)) // the stream stays open: no CloseSend
	elapsed := time.Since(start)
	if s := status.Convert(err); s.Code() != codes.DeadlineExceeded || !strings.Contains(s.Message(), "nothing received for 300ms") {
		t.Fatalf("stalled upload ended after %v with %v, want DeadlineExceeded saying nothing was received for 300ms", elapsed, err)
	}
	if elapsed > 10*idle {
		t.Errorf("stalled upload aborted after %v, idle timeout %v", elapsed, idle)
	}
	waitUntil(t, "the temporary file is deleted", func() bool { return len(tmpFiles(t, cl)) == 0 })
	// A steady upload with pauses shorter than the timeout is not affected.
	if _, err := upload(t.Context(), cl.client, sha(bin), bin, 16<<10); err != nil {
		t.Fatalf("upload after the stalled one: %v", err)
	}
}

// TestUploadCanceledIsNotAnError cancels an upload half-way, as a builder
// that stops or dies does: the service deletes the temporary file and does
// not log an error, since a peer that goes away is no fault of the log's
// (an operator watching for level=ERROR must not be paged by it).
func TestUploadCanceledIsNotAnError(t *testing.T) {
	var logs logBuffer
	cl := newClaimLog(t, log.ServiceConfig{Logger: logs.logger()}, archive.Config{})
	bin := bytes.Repeat([]byte("canceled "), 20_000)
	claimBinaries(t, cl, bin)
	ctx, cancel := context.WithCancel(t.Context())
	startUpload(t, ctx, cl, bin, 1000)
	waitUntil(t, "the upload has a temporary file", func() bool { return len(tmpFiles(t, cl)) == 1 })
	cancel()
	waitUntil(t, "the temporary file is deleted", func() bool { return len(tmpFiles(t, cl)) == 0 })
	waitUntil(t, "the service has answered the call", func() bool { return len(logs.lines("", "canceled")) > 0 })
	if errs := logs.lines("ERROR"); len(errs) > 0 {
		t.Errorf("a canceled upload was logged as an error:\n%s", strings.Join(errs, "\n"))
	}
}

// TestUploadTemporarySpaceBound holds an upload open while a second one
// would take the temporary space past MaxUploadBytes: the second is refused
// with ResourceExhausted and a RetryInfo, and succeeds once the first is done.
func TestUploadTemporarySpaceBound(t *testing.T) {
	cl := newClaimLog(t, log.ServiceConfig{MaxUploadBytes: 100_000}, archive.Config{})
	first := bytes.Repeat([]byte("first "), 12_000)  // 72 kB
	second := bytes.Repeat([]byte("second "), 6_000) // 42 kB
	claimBinaries(t, cl, first, second)
	st := startUpload(t, t.Context(), cl, first, 1000)
	waitUntil(t, "the first upload has a temporary file", func() bool { return len(tmpFiles(t, cl)) == 1 })

	_, err := upload(t.Context(), cl.client, sha(second), second, 16<<10)
	s := status.Convert(err)
	if s.Code() != codes.ResourceExhausted {
		t.Fatalf("second upload past the bound: %v, want ResourceExhausted", err)
	}
	var retry time.Duration
	for _, d := range s.Details() {
		if r, ok := d.(*errdetails.RetryInfo); ok {
			retry = r.GetRetryDelay().AsDuration()
		}
	}
	if retry < time.Second {
		t.Errorf("refusal carries RetryInfo %v, want at least 1s", retry)
	}

	if err := st.Send(&pb.UploadArtifactRequest{Part: &pb.UploadArtifactRequest_Chunk{Chunk: first[1000:]}}); err != nil {
		t.Fatal(err)
	}
	if _, err := st.CloseAndRecv(); err != nil {
		t.Fatalf("first upload: %v", err)
	}
	if _, err := upload(t.Context(), cl.client, sha(second), second, 16<<10); err != nil {
		t.Fatalf("second upload once the first is done: %v", err)
	}
}

func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); !cond(); time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting until %s", what)
		}
	}
}
