package log_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	"github.com/attestlog/attestlog/log"
	"github.com/attestlog/attestlog/log/archive"
	pb "github.com/attestlog/attestlog/proto/attestlog/v1"
)

// TestNoDeleteNoOverwrite checks that the log's only ways in are the
// append-only ones: the gRPC service has exactly the reviewed methods, and
// no HTTP method on any route, and no gRPC call with hostile arguments,
// changes an entry or an archived binary.
func TestNoDeleteNoOverwrite(t *testing.T) {
	var methods []string
	for _, m := range pb.LogService_ServiceDesc.Methods {
		methods = append(methods, m.MethodName)
	}
	for _, s := range pb.LogService_ServiceDesc.Streams {
		methods = append(methods, s.StreamName)
	}
	slices.Sort(methods)
	// Every method of the API, reviewed: AddClaim and UploadArtifact only
	// add; everything else only reads. A new method must be added here
	// deliberately, after checking that it cannot remove or replace anything.
	reviewed := []string{"AddClaim", "GetArtifact", "GetCheckpoint", "GetConsistencyProof", "GetEntries", "GetInclusionProof",
		"GetMismatch", "ListMismatches", "LookupByDigest", "LookupByName", "LookupBySource", "UploadArtifact"}
	if !slices.Equal(methods, reviewed) {
		t.Fatalf("LogService methods %v, reviewed %v", methods, reviewed)
	}

	cl := newClaimLog(t, log.ServiceConfig{}, archive.Config{})
	ctx := context.Background()
	bin := []byte("the original binary")
	alice := testBuilder(t, "alice.example/a")
	if _, err := cl.client.AddClaim(ctx, &pb.AddClaimRequest{Envelope: envelope(t, buildClaim(bin, "a"), alice)}); err != nil {
		t.Fatal(err)
	}
	if _, err := upload(ctx, cl.client, sha(bin), bin, 5); err != nil {
		t.Fatal(err)
	}
	before := snapshot(t, cl)

	// Hostile gRPC calls: other bytes under the archived digest, a
	// truncated copy, the same claim again.
	upload(ctx, cl.client, sha(bin), []byte("other bytes, same length"), 5)
	upload(ctx, cl.client, sha(bin), bin[:3], 5)
	cl.client.AddClaim(ctx, &pb.AddClaimRequest{Envelope: envelope(t, buildClaim(bin, "a"), alice)})
	if after := snapshot(t, cl); after != before {
		t.Fatalf("hostile gRPC calls changed the store or the archive")
	}

	srv := httptest.NewServer(cl.Handler())
	defer srv.Close()
	for _, path := range []string{"/checkpoint", "/tile/0/000.p/1", "/tile/entries/000.p/1", "/healthz", "/tile/0/000", "/"} {
		for _, method := range []string{"POST", "PUT", "DELETE", "PATCH"} {
			req, _ := http.NewRequest(method, srv.URL+path, strings.NewReader("x"))
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusMethodNotAllowed && resp.StatusCode != http.StatusNotFound {
				t.Errorf("%s %s: status %d, want 405 or 404", method, path, resp.StatusCode)
			}
		}
	}
	if after := snapshot(t, cl); after != before {
		t.Fatalf("HTTP requests changed the store or the archive")
	}
}
