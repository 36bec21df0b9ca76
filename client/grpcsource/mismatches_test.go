package grpcsource_test

import (
	"context"
	"net"
	"strconv"
	"strings"
	"testing"

	"github.com/attestlog/attestlog/client"
	"github.com/attestlog/attestlog/client/grpcsource"
	pb "github.com/attestlog/attestlog/proto/attestlog/v1"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
)

// pagedMismatches lists n mismatches, two per page, unless stuck repeats
// the first page token.
type pagedMismatches struct {
	pb.UnimplementedLogServiceServer
	n     int
	stuck bool
}

func (s *pagedMismatches) ListMismatches(_ context.Context, req *pb.ListMismatchesRequest) (*pb.ListMismatchesResponse, error) {
	start := 0
	if req.GetPageToken() != "" {
		start, _ = strconv.Atoi(req.GetPageToken())
	}
	resp := &pb.ListMismatchesResponse{}
	for i := start; i < min(start+2, s.n); i++ {
		id := client.Identity{Source: "git+https://example.org/x", Commit: strings.Repeat("a", 40), Platform: "linux/amd64", Artifact: "a" + strconv.Itoa(i)}
		resp.Mismatches = append(resp.Mismatches, &pb.Mismatch{Id: uint64(10 + i), IdentityId: id.ID(), SourceUri: id.Source, Commit: id.Commit,
			Platform: id.Platform, Artifact: id.Artifact, Digests: []*pb.MismatchDigest{
				{Sha256: sha("1"), ClaimIndexes: []uint64{uint64(i)}, Recipes: []string{sha("r")}},
				{Sha256: sha("2"), ClaimIndexes: []uint64{uint64(10 + i), 20}, Recipes: []string{sha("r"), sha("s")}}}})
	}
	if start+2 < s.n {
		resp.NextPageToken = strconv.Itoa(start + 2)
		if s.stuck {
			resp.NextPageToken = "2"
		}
	}
	return resp, nil
}

func mismatchSource(t *testing.T, svc pb.LogServiceServer) *grpcsource.Source {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := grpc.NewServer()
	pb.RegisterLogServiceServer(srv, svc)
	go srv.Serve(ln)
	t.Cleanup(srv.Stop)
	conn, err := grpc.NewClient(ln.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return grpcsource.New(conn)
}

func TestMismatches(t *testing.T) {
	ms, err := mismatchSource(t, &pagedMismatches{n: 5}).Mismatches(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(ms) != 5 || ms[4].Claim != 14 || ms[4].ID != ms[4].Identity.ID() || ms[4].Identity != (client.Identity{Source: "git+https://example.org/x", Commit: strings.Repeat("a", 40), Platform: "linux/amd64", Artifact: "a4"}) ||
		len(ms[4].Digests) != 2 || ms[4].Digests[1].SHA256 != sha("2") || ms[4].Digests[1].Claims[0] != 14 || ms[4].Digests[1].Recipes[1] != sha("s") {
		t.Errorf("Mismatches = %+v", ms)
	}
	if _, err := mismatchSource(t, &pagedMismatches{n: 7, stuck: true}).Mismatches(context.Background()); err == nil || !strings.Contains(err.Error(), "twice") {
		t.Errorf("Mismatches with a repeated page token = %v", err)
	}
	if ms, err := mismatchSource(t, &pagedMismatches{}).Mismatches(context.Background()); err != nil || len(ms) != 0 {
		t.Errorf("Mismatches of none = %+v, %v", ms, err)
	}
}

// oneMismatch lists one mismatch under the identity ID id.
type oneMismatch struct {
	pb.UnimplementedLogServiceServer
	id string
}

func (s oneMismatch) ListMismatches(context.Context, *pb.ListMismatchesRequest) (*pb.ListMismatchesResponse, error) {
	return &pb.ListMismatchesResponse{Mismatches: []*pb.Mismatch{{Id: 3, IdentityId: s.id, SourceUri: "git+https://example.org/x",
		Commit: strings.Repeat("a", 40), Platform: "linux/amd64", Artifact: "a", Subject: 1,
		Digests: []*pb.MismatchDigest{{Sha256: sha("1"), ClaimIndexes: []uint64{0}, Recipes: []string{sha("r")}, Archived: true}}}}}, nil
}

// TestListMismatchesChecksIDs checks that ListMismatches refuses a
// mismatch listed under another build's ID and names one a log older than
// identity IDs sent without, while Mismatches passes the ID on as sent,
// for a monitor to judge.
func TestListMismatchesChecksIDs(t *testing.T) {
	id := client.Identity{Source: "git+https://example.org/x", Commit: strings.Repeat("a", 40), Platform: "linux/amd64", Artifact: "a"}.ID()
	lying := strings.Repeat("0", len(id))
	ms, err := mismatchSource(t, oneMismatch{id: ""}).ListMismatches(t.Context())
	if err != nil || len(ms) != 1 || ms[0].ID != id || ms[0].Claim != 3 || ms[0].Subject != 1 || !ms[0].Digests[0].Archived || ms[0].Digests[0].ClaimIndexes[0] != 0 {
		t.Errorf("ListMismatches without an ID = %+v, %v; want one with ID %s", ms, err, id)
	}
	if _, err := mismatchSource(t, oneMismatch{id: lying}).ListMismatches(t.Context()); err == nil || !strings.Contains(err.Error(), "not its identity ID "+id) {
		t.Errorf("ListMismatches under another ID = %v, want an error naming the identity ID", err)
	}
	cms, err := mismatchSource(t, oneMismatch{id: lying}).Mismatches(t.Context())
	if err != nil || len(cms) != 1 || cms[0].ID != lying {
		t.Errorf("Mismatches under another ID = %+v, %v; want the ID as sent", cms, err)
	}
}
