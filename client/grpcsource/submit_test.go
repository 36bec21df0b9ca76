package grpcsource_test

import (
	"context"
	"fmt"
	"io"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/attestlog/attestlog/client/grpcsource"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/durationpb"
)

// TestRetryWaits checks the waits of a Retry with a fake
// clock: the log's RetryInfo plus a jitter below a doubling backoff.
func TestRetryWaits(t *testing.T) {
	busy, err := status.New(codes.ResourceExhausted, "busy").WithDetails(&errdetails.RetryInfo{RetryDelay: durationpb.New(2 * time.Second)})
	if err != nil {
		t.Fatal(err)
	}
	now := time.Unix(0, 0)
	var waits []time.Duration
	p := grpcsource.Retry{Attempts: 4, MaxTime: time.Minute, Base: time.Second,
		Jitter: func(n int64) int64 { return n - 1 },
		Sleep:  func(_ context.Context, d time.Duration) error { waits = append(waits, d); now = now.Add(d); return nil },
		Now:    func() time.Time { return now }}
	calls := 0
	err = p.Do(t.Context(), "x", io.Discard, func() error { calls++; return fmt.Errorf("wrapped: %w", busy.Err()) })
	if calls != 4 || err == nil || !strings.Contains(err.Error(), "gave up after 4 attempts") {
		t.Errorf("%d calls, err %v; want 4 calls and a give-up error", calls, err)
	}
	want := []time.Duration{3*time.Second - 1, 4*time.Second - 1, 6*time.Second - 1}
	if !slices.Equal(waits, want) {
		t.Errorf("waits %v, want %v", waits, want)
	}
	calls = 0
	if err := p.Do(t.Context(), "x", io.Discard, func() error { calls++; return status.Error(codes.InvalidArgument, "bad") }); calls != 1 || err == nil {
		t.Errorf("InvalidArgument: %d calls, err %v; want one call, no retry", calls, err)
	}
}
