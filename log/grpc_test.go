package log_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net"
	"path/filepath"
	"testing"
	"time"

	"github.com/attestlog/attestlog/client"
	"github.com/attestlog/attestlog/log"
	"github.com/attestlog/attestlog/log/archive"
	"github.com/attestlog/attestlog/log/claim"
	"github.com/attestlog/attestlog/log/logtest"
	pb "github.com/attestlog/attestlog/proto/attestlog/v1"
	"github.com/transparency-dev/merkle/proof"
	"github.com/transparency-dev/merkle/rfc6962"
	"golang.org/x/mod/sumdb/note"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"
)

// claimLog is a log that indexes claims, served over gRPC on loopback.
type claimLog struct {
	*logtest.Log
	archive *archive.Archive
	dir     string
	client  pb.LogServiceClient
}

func newClaimLog(t *testing.T, cfg log.ServiceConfig, acfg archive.Config) *claimLog {
	t.Helper()
	return newClaimLogIn(t, t.TempDir(), cfg, acfg)
}

// newClaimLogIn is newClaimLog with the log's files in dir.
func newClaimLogIn(t *testing.T, dir string, cfg log.ServiceConfig, acfg archive.Config) *claimLog {
	t.Helper()
	return newClaimLogWith(t, dir, log.Config{}, cfg, acfg)
}

// newClaimLogWith is newClaimLogIn with lcfg (a witness policy, say) for
// the log, whose Indexer it sets.
func newClaimLogWith(t *testing.T, dir string, lcfg log.Config, cfg log.ServiceConfig, acfg archive.Config) *claimLog {
	t.Helper()
	lcfg.Indexer = log.ClaimIndex{}
	l := logtest.New(t, dir, lcfg)
	a, err := archive.Open(filepath.Join(dir, "archive"), acfg)
	if err != nil {
		t.Fatal(err)
	}
	svc, err := log.NewService(l.Log, a, cfg)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := grpc.NewServer(log.GRPCServerOptions()...)
	pb.RegisterLogServiceServer(srv, svc)
	go srv.Serve(ln)
	t.Cleanup(srv.Stop)
	conn, err := grpc.NewClient(ln.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return &claimLog{Log: l, archive: a, dir: dir, client: pb.NewLogServiceClient(conn)}
}

// testBuilder returns a fixed builder key.
func testBuilder(t testing.TB, name string) claim.Key {
	t.Helper()
	skey, vkey, err := note.GenerateKey(bytes.NewReader(bytes.Repeat([]byte(name[:1]), 32)), name)
	if err != nil {
		t.Fatal(err)
	}
	s, err := note.NewSigner(skey)
	if err != nil {
		t.Fatal(err)
	}
	return claim.Key{Signer: s, VKey: vkey}
}

func sha(b []byte) string { h := sha256.Sum256(b); return hex.EncodeToString(h[:]) }

// buildClaim returns a claim that artifact "hello" built from a fixed commit is bin.
func buildClaim(bin []byte, builderID string) *claim.Claim {
	return &claim.Claim{
		Subjects: []claim.Subject{{Name: "hello", SHA256: sha(bin)}},
		Source:   "git+https://example.org/hello", SourceRef: "refs/tags/v1.0",
		Commit: "0123456789abcdef0123456789abcdef01234567", Recipe: sha([]byte("recipe " + builderID)),
		Platform: "linux/amd64", BuilderID: builderID,
	}
}

func envelope(t testing.TB, c *claim.Claim, keys ...claim.Key) []byte {
	t.Helper()
	st, err := claim.NewStatement(c)
	if err != nil {
		t.Fatal(err)
	}
	e, err := claim.SignStatement(st, keys...)
	if err != nil {
		t.Fatal(err)
	}
	return e.Envelope()
}

func upload(ctx context.Context, c pb.LogServiceClient, digest string, data []byte, chunk int) (*pb.UploadArtifactResponse, error) {
	st, err := c.UploadArtifact(ctx)
	if err != nil {
		return nil, err
	}
	if err := st.Send(&pb.UploadArtifactRequest{Part: &pb.UploadArtifactRequest_Header{Header: &pb.UploadHeader{Sha256: digest, Size: uint64(len(data))}}}); err != nil {
		return nil, err
	}
	for len(data) > 0 {
		n := min(chunk, len(data))
		if err := st.Send(&pb.UploadArtifactRequest{Part: &pb.UploadArtifactRequest_Chunk{Chunk: data[:n]}}); err != nil {
			break // the server ended the stream; CloseAndRecv has its status
		}
		data = data[n:]
	}
	return st.CloseAndRecv()
}

func download(ctx context.Context, c pb.LogServiceClient, digest string) ([]byte, error) {
	st, err := c.GetArtifact(ctx, &pb.GetArtifactRequest{Sha256: digest})
	if err != nil {
		return nil, err
	}
	var out []byte
	for {
		m, err := st.Recv()
		if err == io.EOF {
			return out, nil
		}
		if err != nil {
			return nil, err
		}
		out = append(out, m.GetChunk()...)
	}
}

// verifyLookup checks every claim of a lookup against its checkpoint with
// x/mod's note and transparency-dev's merkle proofs, and returns the entries.
func verifyLookup(t *testing.T, v note.Verifier, cpNote []byte, claims []*pb.ProvenClaim) []*claim.Entry {
	t.Helper()
	cp, err := client.OpenCheckpoint(cpNote, v)
	if err != nil {
		t.Fatal(err)
	}
	var out []*claim.Entry
	for _, c := range claims {
		if c.TreeSize != uint64(cp.Size) {
			t.Fatalf("claim %d proven against size %d, checkpoint has %d", c.Index, c.TreeSize, cp.Size)
		}
		if err := proof.VerifyInclusion(rfc6962.DefaultHasher, c.Index, c.TreeSize, rfc6962.DefaultHasher.HashLeaf(c.Entry), c.InclusionProof, cp.Hash[:]); err != nil {
			t.Fatalf("claim %d: inclusion proof: %v", c.Index, err)
		}
		e, err := claim.ParseEntry(c.Entry)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := e.Verify(); err != nil {
			t.Fatal(err)
		}
		out = append(out, e)
	}
	return out
}

func TestGRPCEndToEnd(t *testing.T) {
	cl := newClaimLog(t, log.ServiceConfig{}, archive.Config{})
	ctx := context.Background()
	good := bytes.Repeat([]byte("honest binary "), 50_000) // 700 kB: several chunks
	evil := append(bytes.Clone(good), []byte("backdoor")...)
	builders := []string{"author.example/alice", "ci.example/ci", "rebuilder.example/bob", "rebuilder.example/eve"}
	var receipts []*pb.AddClaimResponse
	for i, name := range builders {
		bin := good
		if i == 3 {
			bin = evil
		}
		r, err := cl.client.AddClaim(ctx, &pb.AddClaimRequest{Envelope: envelope(t, buildClaim(bin, name), testBuilder(t, name))})
		if err != nil {
			t.Fatalf("AddClaim by %s: %v", name, err)
		}
		if r.Duplicate || r.Claim.Index != uint64(i) {
			t.Fatalf("AddClaim by %s: index %d duplicate %v", name, r.Claim.Index, r.Duplicate)
		}
		// The receipt alone proves inclusion.
		verifyLookup(t, cl.Verifier, r.Checkpoint, []*pb.ProvenClaim{r.Claim})
		receipts = append(receipts, r)
	}
	// Idempotent: the same claim again.
	again, err := cl.client.AddClaim(ctx, &pb.AddClaimRequest{Envelope: envelope(t, buildClaim(good, builders[0]), testBuilder(t, builders[0]))})
	if err != nil || !again.Duplicate || again.Claim.Index != 0 {
		t.Fatalf("re-adding a claim: %v, %+v", err, again)
	}

	// Uploads: both binaries, one twice; an unclaimed one is refused.
	for _, bin := range [][]byte{good, evil, good} {
		if _, err := upload(ctx, cl.client, sha(bin), bin, 64<<10); err != nil {
			t.Fatalf("upload: %v", err)
		}
	}

	look, err := cl.client.LookupByDigest(ctx, &pb.LookupByDigestRequest{Sha256: "sha256:" + sha(good)})
	if err != nil {
		t.Fatal(err)
	}
	if es := verifyLookup(t, cl.Verifier, look.Checkpoint, look.Claims); len(es) != 3 {
		t.Fatalf("LookupByDigest(good) found %d claims, want 3", len(es))
	}
	bySource, err := cl.client.LookupBySource(ctx, &pb.LookupBySourceRequest{SourceUri: "git+https://EXAMPLE.org/hello.git", Commit: "0123456789ABCDEF0123456789abcdef01234567"})
	if err != nil {
		t.Fatal(err)
	}
	if es := verifyLookup(t, cl.Verifier, bySource.Checkpoint, bySource.Claims); len(es) != 4 {
		t.Fatalf("LookupBySource found %d claims, want 4", len(es))
	}
	bySource, err = cl.client.LookupBySource(ctx, &pb.LookupBySourceRequest{SourceUri: "git+https://example.org/hello", Commit: "0123456789abcdef0123456789abcdef01234567", Platform: "linux/arm64"})
	if err != nil || len(bySource.Claims) != 0 {
		t.Fatalf("LookupBySource for another platform: %v, %d claims", err, len(bySource.GetClaims()))
	}

	ms, err := cl.client.ListMismatches(ctx, &pb.ListMismatchesRequest{})
	if err != nil {
		t.Fatal(err)
	}
	if len(ms.Mismatches) != 1 {
		t.Fatalf("ListMismatches: %d mismatches, want 1", len(ms.Mismatches))
	}
	m := ms.Mismatches[0]
	if m.Id != 3 || m.Artifact != "hello" || len(m.Digests) != 2 || m.Digests[0].Sha256 != sha(good) || m.Digests[1].Sha256 != sha(evil) ||
		fmt.Sprint(m.Digests[0].ClaimIndexes) != "[0 1 2]" || fmt.Sprint(m.Digests[1].ClaimIndexes) != "[3]" || !m.Digests[0].Archived || !m.Digests[1].Archived {
		t.Fatalf("mismatch %+v", m)
	}
	gm, err := cl.client.GetMismatch(ctx, &pb.GetMismatchRequest{Id: m.Id})
	if err != nil {
		t.Fatal(err)
	}
	if es := verifyLookup(t, cl.Verifier, gm.Checkpoint, gm.Claims); len(es) != 4 {
		t.Fatalf("GetMismatch: %d claims, want 4", len(es))
	}
	for _, d := range gm.Mismatch.Digests {
		got, err := download(ctx, cl.client, d.Sha256)
		if err != nil || sha(got) != d.Sha256 {
			t.Fatalf("GetArtifact(%s): %v, got %d bytes hashing to %s", d.Sha256, err, len(got), sha(got))
		}
	}

	// Proof and entry reads agree with the receipts.
	cpResp, err := cl.client.GetCheckpoint(ctx, &pb.GetCheckpointRequest{})
	if err != nil {
		t.Fatal(err)
	}
	cp, err := client.OpenCheckpoint(cpResp.Checkpoint, cl.Verifier)
	if err != nil || cp.Size != 4 {
		t.Fatalf("GetCheckpoint: size %d, %v", cp.Size, err)
	}
	ents, err := cl.client.GetEntries(ctx, &pb.GetEntriesRequest{Start: 0, Count: 10})
	if err != nil || len(ents.Entries) != 4 || !bytes.Equal(ents.Entries[3], receipts[3].Claim.Entry) {
		t.Fatalf("GetEntries: %v, %d entries", err, len(ents.GetEntries()))
	}
	old, _ := client.OpenCheckpoint(receipts[1].Checkpoint, cl.Verifier)
	cons, err := cl.client.GetConsistencyProof(ctx, &pb.GetConsistencyProofRequest{OldSize: uint64(old.Size), NewSize: 4})
	if err != nil {
		t.Fatal(err)
	}
	if err := proof.VerifyConsistency(rfc6962.DefaultHasher, uint64(old.Size), 4, cons.Proof, old.Hash[:], cp.Hash[:]); err != nil {
		t.Fatalf("consistency of receipt checkpoint with the latest: %v", err)
	}
	incl, err := cl.client.GetInclusionProof(ctx, &pb.GetInclusionProofRequest{Index: 2, TreeSize: 4})
	if err != nil {
		t.Fatal(err)
	}
	if err := proof.VerifyInclusion(rfc6962.DefaultHasher, 2, 4, rfc6962.DefaultHasher.HashLeaf(ents.Entries[2]), incl.Proof, cp.Hash[:]); err != nil {
		t.Fatal(err)
	}
	checkLog(t, cl.Log.Log, cl.Log)
}

func TestGRPCRateLimit(t *testing.T) {
	now := time.Unix(1_000_000, 0)
	cl := newClaimLog(t, log.ServiceConfig{BuilderRate: 1, Now: func() time.Time { return now }}, archive.Config{})
	ctx := context.Background()
	alice := testBuilder(t, "alice.example/a")
	if _, err := cl.client.AddClaim(ctx, &pb.AddClaimRequest{Envelope: envelope(t, buildClaim([]byte("one"), "a"), alice)}); err != nil {
		t.Fatal(err)
	}
	_, err := cl.client.AddClaim(ctx, &pb.AddClaimRequest{Envelope: envelope(t, buildClaim([]byte("two"), "a"), alice)})
	st := status.Convert(err)
	if st.Code() != codes.ResourceExhausted {
		t.Fatalf("second claim in the same second: %v, want ResourceExhausted", err)
	}
	var retry *errdetails.RetryInfo
	for _, d := range st.Details() {
		if r, ok := d.(*errdetails.RetryInfo); ok {
			retry = r
		}
	}
	if retry == nil || retry.RetryDelay.AsDuration() != time.Second {
		t.Fatalf("details %v, want RetryInfo of 1s", st.Details())
	}
	// Another builder is not limited by alice's rate; after a second alice may go on.
	if _, err := cl.client.AddClaim(ctx, &pb.AddClaimRequest{Envelope: envelope(t, buildClaim([]byte("three"), "b"), testBuilder(t, "bob.example/b"))}); err != nil {
		t.Fatal(err)
	}
	// Every claim checked, accepted or refused (rate, malformed), is no
	// longer counted as being checked: a count left behind would make a
	// busy sequencer linger its whole time before every batch.
	if _, err := cl.client.AddClaim(ctx, &pb.AddClaimRequest{Envelope: []byte("{not an envelope")}); status.Code(err) != codes.InvalidArgument {
		t.Fatalf("malformed envelope: %v, want InvalidArgument", err)
	}
	if n := cl.Log.Incoming(); n != 0 {
		t.Fatalf("%d claims still counted as being checked after every call returned", n)
	}
}

// TestGRPCRetryInfoWholeSeconds checks that a refusal never carries a
// RetryInfo under one second, which clients reading whole seconds take for
// "retry now": at 1,000 claims/s the real wait is 1 ms.
func TestGRPCRetryInfoWholeSeconds(t *testing.T) {
	now := time.Unix(1_000_000, 0)
	cl := newClaimLog(t, log.ServiceConfig{GlobalRate: 1000, Now: func() time.Time { return now }}, archive.Config{})
	alice := testBuilder(t, "alice.example/a")
	var st *status.Status
	for i := 0; st.Code() != codes.ResourceExhausted; i++ {
		if i > 1000 {
			t.Fatal("1,001 claims in one instant at 1,000/s were all accepted")
		}
		_, err := cl.client.AddClaim(t.Context(), &pb.AddClaimRequest{Envelope: envelope(t, buildClaim(fmt.Appendf(nil, "bin %d", i), "a"), alice)})
		st = status.Convert(err)
	}
	for _, d := range st.Details() {
		if r, ok := d.(*errdetails.RetryInfo); ok {
			if got := r.GetRetryDelay(); got.GetSeconds() < 1 || got.GetNanos() != 0 {
				t.Fatalf("RetryInfo %v, want whole seconds, at least 1", got.AsDuration())
			}
			return
		}
	}
	t.Fatalf("ResourceExhausted without RetryInfo: %v", st.Details())
}
