package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"maps"
	mrand "math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/attestlog/attestlog/client"
	"github.com/attestlog/attestlog/cmd/attestlog/internal/datadir"
	"github.com/attestlog/attestlog/log/claim"
	"github.com/attestlog/attestlog/log/claim/record"
	pb "github.com/attestlog/attestlog/proto/attestlog/v1"
	"github.com/transparency-dev/merkle/proof"
	"github.com/transparency-dev/merkle/rfc6962"
	"golang.org/x/mod/sumdb/note"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
)

// envFaultIterations sets how many times TestFaultKillLog kills the log.
const envFaultIterations = "ATTESTLOG_FAULT_ITERATIONS"

// faultRecord is what the builders saw acknowledged before a kill.
type faultRecord struct {
	mu          sync.Mutex
	claims      map[int64][]byte  // index -> entry, from receipts
	uploads     map[string][]byte // sha256 -> bytes, acknowledged uploads
	checkpoints map[string]bool   // distinct signed checkpoints from receipts
}

// TestFaultKillLog kills `attestlog serve` with SIGKILL at random moments
// while 16 builders append claims and upload binaries over gRPC, restarts it
// on the same data directory, and checks that nothing acknowledged was lost:
// every claim from a receipt is at its index, every acknowledged binary is
// in the archive and verifies, every checkpoint a receipt carried is
// consistent with the restarted log's, and the invariant checker passes
// over HTTP. Three kills by default; ATTESTLOG_FAULT_ITERATIONS for more.
func TestFaultKillLog(t *testing.T) { faultKillLog(t) }

// faultKillLog is TestFaultKillLog, with extra flags for every serve. It
// returns the last serve, which runs until the test ends (nil if skipped).
func faultKillLog(t *testing.T, extra ...string) *proc {
	if procs := faultKillFrontends(t, 1, extra...); procs != nil {
		return procs[0]
	}
	return nil
}

// faultKillFrontends is TestFaultKillLog with n serve processes, the
// frontends of one log (one key, a data directory each, and with n > 1 a
// shared --store in extra), the builders spread over them. Each round
// kills one frontend with SIGKILL mid-load while the others go on (they
// must take over the store's writer lock and keep acknowledging), then
// kills the others too; the restarted frontends must each hold everything
// acknowledged by any of them. It returns the last serves, which run
// until the test ends (nil if skipped).
func faultKillFrontends(t *testing.T, n int, extra ...string) []*proc {
	if testing.Short() {
		t.Skip("kills processes")
	}
	iterations := 3
	if s := os.Getenv(envFaultIterations); s != "" {
		iterations, _ = strconv.Atoi(s)
	}
	data := []string{filepath.Join(t.TempDir(), "log")}
	for i := 1; i < n; i++ {
		data = append(data, filepath.Join(t.TempDir(), fmt.Sprintf("log%d", i)))
	}
	rng := mrand.New(mrand.NewPCG(uint64(time.Now().UnixNano()), 7))
	total := make([]*faultRecord, n)
	for f := range total {
		total[f] = &faultRecord{claims: map[int64][]byte{}, uploads: map[string][]byte{}, checkpoints: map[string]bool{}}
	}
	for i := range iterations {
		procs := startFrontends(t, data, "error", extra...)
		clients := make([]pb.LogServiceClient, n)
		recs := make([]*faultRecord, n)
		for f, p := range procs {
			verifier, err := note.NewVerifier(p.get("log vkey:"))
			if err != nil {
				t.Fatal(err)
			}
			conn, err := grpc.NewClient(p.get("grpc listening on"), grpc.WithTransportCredentials(insecure.NewCredentials()))
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
			clients[f] = pb.NewLogServiceClient(conn)
			// The restarted log still has everything acknowledged before every earlier kill.
			checkNothingLost(t, clients[f], p.get("http listening on"), verifier, total[f])
			recs[f] = &faultRecord{claims: map[int64][]byte{}, uploads: map[string][]byte{}, checkpoints: map[string]bool{}}
		}
		ctx, cancel := context.WithCancel(context.Background())
		var wg sync.WaitGroup
		for b := range 16 {
			wg.Go(func() { faultBuilder(ctx, t, clients[b%n], fmt.Sprintf("%d-%d", i, b), recs[b%n]) })
		}
		time.Sleep(time.Duration(100+rng.IntN(600)) * time.Millisecond)
		victim := i % n
		procs[victim].cmd.Process.Signal(syscall.SIGKILL)
		<-procs[victim].done
		if n > 1 {
			// The others go on: the writer lock the victim may have held
			// passes to them when its connection dies.
			before := make([]int, n)
			for f, r := range recs {
				before[f] = r.len()
			}
			survivor := (victim + 1) % n
			waitFor(t, "a surviving frontend acknowledges claims after the kill", func() bool { return recs[survivor].len() > before[survivor]+20 })
			for f, p := range procs {
				if f != victim {
					p.cmd.Process.Signal(syscall.SIGKILL)
					<-p.done
				}
			}
		}
		cancel()
		wg.Wait()
		for f, rec := range recs {
			total[f].merge(rec)
		}
	}
	procs := startFrontends(t, data, "info", extra...)
	var claims, uploads, checkpoints int
	for f, p := range procs {
		verifier, _ := note.NewVerifier(p.get("log vkey:"))
		conn, err := grpc.NewClient(p.get("grpc listening on"), grpc.WithTransportCredentials(insecure.NewCredentials()))
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		checkNothingLost(t, pb.NewLogServiceClient(conn), p.get("http listening on"), verifier, total[f])
		claims, uploads, checkpoints = claims+len(total[f].claims), uploads+len(total[f].uploads), checkpoints+len(total[f].checkpoints)
	}
	t.Logf("%d kills of %d frontends: %d acknowledged claims, %d acknowledged uploads and %d receipt checkpoints all present and consistent after restart",
		iterations, n, claims, uploads, checkpoints)
	return procs
}

// startFrontends starts one serve per data directory, with the extra
// flags, and returns them when all listen. The first creates the log key
// (if its directory holds none); the others get a copy of it.
func startFrontends(t *testing.T, data []string, level string, extra ...string) []*proc {
	t.Helper()
	procs := make([]*proc, len(data))
	for f, d := range data {
		if f > 0 {
			copyLogKey(t, data[0], d)
		}
		procs[f] = startProc(t, []string{"log vkey:", "http listening on", "grpc listening on"}, append([]string{"serve", "--data", d,
			"--http", "127.0.0.1:0", "--grpc", "127.0.0.1:0", "--log-level", level}, extra...)...)
	}
	return procs
}

// copyLogKey copies the log key files of the data directory from into the
// data directory to, unless it has them.
func copyLogKey(t *testing.T, from, to string) {
	t.Helper()
	for _, name := range []string{datadir.LogKey, datadir.LogVKey} {
		if _, err := os.Stat(filepath.Join(to, name)); err == nil {
			continue
		}
		if err := os.MkdirAll(to, 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(to, name), []byte(readFile(t, filepath.Join(from, name))), 0o600); err != nil {
			t.Fatal(err)
		}
	}
}

// len returns how many claims r holds.
func (r *faultRecord) len() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.claims)
}

// merge adds everything in o to r.
func (r *faultRecord) merge(o *faultRecord) {
	r.mu.Lock()
	defer r.mu.Unlock()
	o.mu.Lock()
	defer o.mu.Unlock()
	maps.Copy(r.claims, o.claims)
	maps.Copy(r.uploads, o.uploads)
	maps.Copy(r.checkpoints, o.checkpoints)
}

// faultBuilder appends claims (each for a fresh random binary) and uploads
// every other binary until ctx ends or the log dies, recording what was acknowledged.
func faultBuilder(ctx context.Context, t *testing.T, lc pb.LogServiceClient, name string, rec *faultRecord) {
	skey, vkey, err := note.GenerateKey(rand.Reader, "fault.example/"+name)
	if err != nil {
		t.Error(err)
		return
	}
	signer, _ := note.NewSigner(skey)
	for n := 0; ctx.Err() == nil; n++ {
		bin := make([]byte, 1024+n%7*4096)
		rand.Read(bin)
		sum := sha256.Sum256(bin)
		c := &claim.Claim{
			Subjects: []claim.Subject{{Name: fmt.Sprintf("bin-%s-%d", name, n), SHA256: hex.EncodeToString(sum[:])}},
			Source:   "git+https://fault.example/project", Commit: strings.Repeat("ab", 20),
			Recipe: hex.EncodeToString(sum[:]), Platform: "linux/amd64", BuilderID: "https://fault.example",
		}
		st, err := claim.NewStatement(c)
		if err != nil {
			t.Error(err)
			return
		}
		e, err := claim.SignStatement(st, claim.Key{Signer: signer, VKey: vkey})
		if err != nil {
			t.Error(err)
			return
		}
		r, err := lc.AddClaim(ctx, &pb.AddClaimRequest{Envelope: e.Envelope()})
		if err != nil {
			// Not acknowledged: the log died, pushed back (a loaded
			// machine fills the bound of claims in flight) or ctx ended.
			// A builder goes on with its next claim until ctx ends, so
			// that pushback cannot silence every builder of a survivor.
			time.Sleep(20 * time.Millisecond)
			continue
		}
		rec.mu.Lock()
		rec.claims[int64(r.Claim.Index)] = r.Claim.Entry
		rec.checkpoints[string(r.Checkpoint)] = true
		rec.mu.Unlock()
		if n%2 == 0 {
			if _, err := uploadArtifact(ctx, lc, c.Subjects[0].SHA256, bin); err == nil {
				rec.mu.Lock()
				rec.uploads[c.Subjects[0].SHA256] = bin
				rec.mu.Unlock()
			}
		}
	}
}

func uploadArtifact(ctx context.Context, lc pb.LogServiceClient, digest string, data []byte) (*pb.UploadArtifactResponse, error) {
	st, err := lc.UploadArtifact(ctx)
	if err != nil {
		return nil, err
	}
	if err := st.Send(&pb.UploadArtifactRequest{Part: &pb.UploadArtifactRequest_Header{Header: &pb.UploadHeader{Sha256: digest, Size: uint64(len(data))}}}); err != nil {
		return nil, err
	}
	for len(data) > 0 {
		n := min(len(data), 8192)
		if err := st.Send(&pb.UploadArtifactRequest{Part: &pb.UploadArtifactRequest_Chunk{Chunk: data[:n]}}); err != nil {
			break
		}
		data = data[n:]
	}
	return st.CloseAndRecv()
}

// checkNothingLost checks a (restarted) log against everything acknowledged so far.
func checkNothingLost(t *testing.T, lc pb.LogServiceClient, httpAddr string, v note.Verifier, rec *faultRecord) {
	t.Helper()
	ctx := context.Background()
	rec.mu.Lock()
	defer rec.mu.Unlock()
	cpResp, err := lc.GetCheckpoint(ctx, &pb.GetCheckpointRequest{})
	if err != nil {
		t.Fatal(err)
	}
	head, err := client.OpenCheckpoint(cpResp.Checkpoint, v)
	if err != nil {
		t.Fatal(err)
	}
	lookups := 0
	for idx, entry := range rec.claims {
		if idx >= head.Size {
			t.Fatalf("acknowledged claim %d lost: the restarted log has %d entries", idx, head.Size)
		}
		got, err := lc.GetEntries(ctx, &pb.GetEntriesRequest{Start: uint64(idx), Count: 1})
		if err != nil || !bytes.Equal(got.Entries[0], entry) {
			t.Fatalf("entry %d differs from its receipt (%v)", idx, err)
		}
		// Its index records survived too (bbolt stages them: indexstage.go);
		// a random sample of the claims (map order), so that long runs
		// stay linear.
		if lookups++; lookups > 256 {
			continue
		}
		r, err := record.Decode(entry)
		if err != nil {
			t.Fatal(err)
		}
		found, err := lc.LookupByDigest(ctx, &pb.LookupByDigestRequest{Sha256: r.Subjects[0].SHA256})
		if err != nil || !slices.ContainsFunc(found.GetClaims(), func(c *pb.ProvenClaim) bool { return c.GetIndex() == uint64(idx) }) {
			t.Fatalf("LookupByDigest of claim %d's artifact = %v, %v; want claim %d among them", idx, found.GetClaims(), err, idx)
		}
	}
	for digest, bin := range rec.uploads {
		st, err := lc.GetArtifact(ctx, &pb.GetArtifactRequest{Sha256: digest})
		if err != nil {
			t.Fatal(err)
		}
		var got []byte
		for {
			m, err := st.Recv()
			if err == io.EOF {
				break
			}
			if err != nil {
				t.Fatalf("acknowledged binary %s: %v", digest, err)
			}
			got = append(got, m.Chunk...)
		}
		if !bytes.Equal(got, bin) {
			t.Fatalf("acknowledged binary %s lost or altered (%d bytes, want %d)", digest, len(got), len(bin))
		}
	}
	for msg := range rec.checkpoints {
		cp, err := client.OpenCheckpoint([]byte(msg), v)
		if err != nil {
			t.Fatal(err)
		}
		if cp.Size > head.Size {
			t.Fatalf("a receipt's checkpoint has size %d, the restarted log %d: rewound", cp.Size, head.Size)
		}
		p, err := lc.GetConsistencyProof(ctx, &pb.GetConsistencyProofRequest{OldSize: uint64(cp.Size), NewSize: uint64(head.Size)})
		if err != nil {
			t.Fatal(err)
		}
		if err := proof.VerifyConsistency(rfc6962.DefaultHasher, uint64(cp.Size), uint64(head.Size), p.Proof, cp.Hash[:], head.Hash[:]); err != nil {
			t.Fatalf("checkpoint %d from a receipt is inconsistent with the restarted log: %v", cp.Size, err)
		}
	}
	if _, err := client.CheckLog(ctx, client.HTTPFetcher{Base: "http://" + httpAddr}, v); err != nil {
		t.Fatalf("CheckLog after restart: %v", err)
	}
}
