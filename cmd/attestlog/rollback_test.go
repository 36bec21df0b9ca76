package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/attestlog/attestlog/cmd/attestlog/internal/loadgen"
	pb "github.com/attestlog/attestlog/proto/attestlog/v1"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"
)

// TestProcessesRestoredStore runs a log and three witnesses (2 of 3) as
// separate processes, restores the log's data directory from a copy taken
// at size 2 after the witnesses cosigned size 3, and checks that the
// restarted log never publishes size 2, stops appends with a message that
// names a witness and both sizes, keeps serving tiles, fails /healthz, logs
// one ERROR, and stops sending checkpoints to the witnesses.
func TestProcessesRestoredStore(t *testing.T) {
	if testing.Short() {
		t.Skip("starts processes")
	}
	wl := newWitnessedLog(t, 2, "w0", "w1", "w2")
	dir, logData, policyFile, policy := wl.dir, wl.logData, wl.policyFile, wl.policy
	var witnessAddrs []string
	for _, w := range wl.witnesses {
		witnessAddrs = append(witnessAddrs, w.get("http listening on"))
	}
	envs, err := loadgen.SignedClaims(3, 4)
	if err != nil {
		t.Fatal(err)
	}
	serveArgs := []string{"serve", "--data", logData, "--http", "127.0.0.1:0", "--grpc", "127.0.0.1:0", "--policy", policyFile}
	startLog := func() (*proc, pb.LogServiceClient) {
		lp := startProc(t, []string{"http listening on", "grpc listening on"}, serveArgs...)
		conn, err := grpc.NewClient(lp.get("grpc listening on"), grpc.WithTransportCredentials(insecure.NewCredentials()))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { conn.Close() })
		return lp, pb.NewLogServiceClient(conn)
	}
	witnessed := func(lp *proc, size int64) {
		waitFor(t, fmt.Sprintf("size %d is witnessed", size), func() bool {
			vc := publishedCheckpoint(t, lp.get("http listening on"), policy)
			return vc != nil && vc.Size == size
		})
	}

	lp, lc := startLog()
	for _, env := range envs[:2] {
		if _, err := lc.AddClaim(context.Background(), &pb.AddClaimRequest{Envelope: env}); err != nil {
			t.Fatal(err)
		}
	}
	witnessed(lp, 2)
	lp.stop()
	backup := filepath.Join(dir, "log-at-2")
	copyDir(t, logData, backup)
	lp, lc = startLog()
	if _, err := lc.AddClaim(context.Background(), &pb.AddClaimRequest{Envelope: envs[2]}); err != nil {
		t.Fatal(err)
	}
	witnessed(lp, 3)
	lp.stop()

	// The operator restores the copy taken at size 2.
	os.RemoveAll(logData)
	copyDir(t, backup, logData)
	lp, lc = startLog()
	httpURL := "http://" + lp.get("http listening on")
	var mu sync.Mutex
	var served []string // checkpoints /checkpoint served with 200
	stopPolling := make(chan struct{})
	var polling sync.WaitGroup
	polling.Go(func() {
		for {
			select {
			case <-stopPolling:
				return
			case <-time.After(10 * time.Millisecond):
			}
			resp, err := http.Get(httpURL + "/checkpoint")
			if err != nil {
				continue
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				mu.Lock()
				served = append(served, string(b))
				mu.Unlock()
			}
		}
	})
	// The first witness round decides; it takes well under 15 s on loopback.
	var code int
	var body string
	for deadline := time.Now().Add(15 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if code, body = httpStatusBody(t, httpURL+"/healthz"); strings.Contains(body, "rolled back") {
			break
		}
	}
	if code != http.StatusServiceUnavailable || strings.Count(body, "\n") != 1 || !strings.Contains(body, "rolled back") {
		t.Errorf("GET /healthz: %d %q, want 503 with one line saying the store is rolled back", code, body)
	}

	_, err = lc.AddClaim(context.Background(), &pb.AddClaimRequest{Envelope: envs[3]})
	st, _ := status.FromError(err)
	if st.Code() != codes.FailedPrecondition || !strings.Contains(st.Message(), "witness w") ||
		!strings.Contains(st.Message(), "tree size 3") || !strings.Contains(st.Message(), "tree size 2") {
		t.Fatalf("AddClaim on the restored log: %v, want FailedPrecondition naming a witness and the sizes 3 and 2", err)
	}
	if _, err := lc.GetCheckpoint(context.Background(), &pb.GetCheckpointRequest{}); status.Code(err) != codes.FailedPrecondition {
		t.Errorf("GetCheckpoint on the restored log: %v, want FailedPrecondition", err)
	}
	if code, _ := httpStatusBody(t, httpURL+"/tile/entries/000.p/2"); code != http.StatusOK {
		t.Errorf("GET /tile/entries/000.p/2: %d, want 200 (reads go on)", code)
	}
	if _, err := lc.GetEntries(context.Background(), &pb.GetEntriesRequest{Start: 0, Count: 2}); err != nil {
		t.Errorf("GetEntries on the restored log: %v", err)
	}

	evidence := func() []int {
		n := make([]int, len(witnessAddrs))
		for i, a := range witnessAddrs {
			_, b := httpStatusBody(t, "http://"+a+"/evidence")
			var list []json.RawMessage
			if err := json.Unmarshal([]byte(b), &list); err != nil {
				t.Fatalf("witness w%d /evidence: %v", i, err)
			}
			n[i] = len(list)
		}
		return n
	}
	before := evidence()
	time.Sleep(5 * time.Second)
	if after := evidence(); fmt.Sprint(after) != fmt.Sprint(before) {
		t.Errorf("evidence records per witness went from %v to %v while the log was stopped", before, after)
	}
	close(stopPolling)
	polling.Wait()
	for _, cp := range served {
		t.Errorf("the restored log published a checkpoint:\n%s", cp)
	}
	var errorLines []string
	for _, l := range strings.Split(lp.stderr(), "\n") {
		if strings.Contains(l, "level=ERROR") {
			errorLines = append(errorLines, l)
		}
	}
	if len(errorLines) != 1 || !strings.Contains(errorLines[0], "rolled back") || !strings.Contains(errorLines[0], "restores the newest backup") {
		t.Errorf("the log's standard error has %d ERROR lines, want one telling the operator to restore the newest backup:\n%s",
			len(errorLines), strings.Join(errorLines, "\n"))
	}
}

// httpStatusBody fetches url and returns its status code and body.
func httpStatusBody(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}
