package log_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/attestlog/attestlog/log"
	"github.com/attestlog/attestlog/log/archive"
	pb "github.com/attestlog/attestlog/proto/attestlog/v1"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// mountTmpfs mounts a tmpfs of the given size on dir, or skips the test
// where that is not allowed (it needs root).
func mountTmpfs(t *testing.T, dir, size string) {
	t.Helper()
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size="+size, "tmpfs", dir).CombinedOutput(); err != nil {
		t.Skipf("cannot mount a tmpfs to fill (needs root): %v: %s", err, out)
	}
	t.Cleanup(func() { exec.Command("umount", "-l", dir).Run() })
}

// TestDiskFull fills a small file system under a running log with claims
// and uploads: appends and uploads are refused with a clear, retryable
// error and leave nothing half-written; everything acknowledged stays; once
// there is room again the log goes on.
func TestDiskFull(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "fs")
	os.MkdirAll(dir, 0o700)
	mountTmpfs(t, dir, "3m")
	cl := newClaimLogIn(t, dir, log.ServiceConfig{}, archive.Config{})
	ctx := context.Background()
	alice := testBuilder(t, "alice.example/a")
	acked := map[uint64][]byte{}
	var full error
	for i := 0; full == nil && i < 100000; i++ {
		bin := make([]byte, 32<<10)
		rand.Read(bin)
		r, err := cl.client.AddClaim(ctx, &pb.AddClaimRequest{Envelope: envelope(t, buildClaim(bin, fmt.Sprint(i)), alice)})
		if err != nil {
			full = err
			break
		}
		acked[r.Claim.Index] = r.Claim.Entry
		if _, err := upload(ctx, cl.client, sha(bin), bin, 8<<10); err != nil {
			full = err
		}
	}
	st := status.Convert(full)
	if st.Code() != codes.ResourceExhausted && st.Code() != codes.Unavailable {
		t.Fatalf("on a full disk: %v; want ResourceExhausted or Unavailable", full)
	}
	t.Logf("disk full after %d claims: %v", len(acked), full)
	// More appends are refused the same way.
	for i := range 3 {
		_, err := cl.client.AddClaim(ctx, &pb.AddClaimRequest{Envelope: envelope(t, buildClaim([]byte{byte(i)}, "late"), alice)})
		if c := status.Code(err); c != codes.ResourceExhausted && c != codes.Unavailable && err != nil {
			t.Fatalf("append on a full disk: %v", err)
		}
	}
	entries, err := os.ReadDir(filepath.Join(dir, "archive", "tmp"))
	if err != nil || len(entries) != 0 {
		t.Fatalf("the archive's tmp/ holds %d files after failed uploads (%v)", len(entries), err)
	}
	checkAcked(t, cl, acked)
	checkLog(t, cl.Log.Log, cl.Log)

	// Room again: the log goes on from where it was.
	if out, err := exec.Command("mount", "-o", "remount,size=64m", dir).CombinedOutput(); err != nil {
		t.Fatalf("remount: %v: %s", err, out)
	}
	r, err := cl.client.AddClaim(ctx, &pb.AddClaimRequest{Envelope: envelope(t, buildClaim([]byte("after"), "after"), alice)})
	if err != nil {
		t.Fatalf("append once there is room again: %v", err)
	}
	acked[r.Claim.Index] = r.Claim.Entry
	if _, err := upload(ctx, cl.client, sha([]byte("after")), []byte("after"), 8); err != nil {
		t.Fatalf("upload once there is room again: %v", err)
	}
	checkAcked(t, cl, acked)
	checkLog(t, cl.Log.Log, cl.Log)
}

// checkAcked checks that every acknowledged entry is at its index.
func checkAcked(t *testing.T, cl *claimLog, acked map[uint64][]byte) {
	t.Helper()
	for idx, e := range acked {
		got, err := cl.client.GetEntries(context.Background(), &pb.GetEntriesRequest{Start: idx, Count: 1})
		if err != nil || !bytes.Equal(got.Entries[0], e) {
			t.Fatalf("acknowledged entry %d: %v", idx, err)
		}
	}
}
