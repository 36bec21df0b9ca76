package main

import (
	"context"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/attestlog/attestlog/client"
	"github.com/attestlog/attestlog/log"
	pb "github.com/attestlog/attestlog/proto/attestlog/v1"
)

// hidingService is a malicious LogService: the real log's, except that
// both lookups leave out the claims at some indexes, consistently, so that
// comparing the two lookups shows nothing.
type hidingService struct {
	*log.Service
	drop []uint64
}

func (s hidingService) keep(claims []*pb.ProvenClaim) []*pb.ProvenClaim {
	return slices.DeleteFunc(claims, func(pc *pb.ProvenClaim) bool { return slices.Contains(s.drop, pc.GetIndex()) })
}

func (s hidingService) LookupByDigest(ctx context.Context, req *pb.LookupByDigestRequest) (*pb.LookupByDigestResponse, error) {
	resp, err := s.Service.LookupByDigest(ctx, req)
	if err == nil {
		resp.Claims = s.keep(resp.Claims)
	}
	return resp, err
}

func (s hidingService) LookupBySource(ctx context.Context, req *pb.LookupBySourceRequest) (*pb.LookupBySourceResponse, error) {
	resp, err := s.Service.LookupBySource(ctx, req)
	if err == nil {
		resp.Claims = s.keep(resp.Claims)
	}
	return resp, err
}

// tamperingService is the real LogService with every lookup's map proof
// changed in its last byte.
type tamperingService struct{ *log.Service }

func (s tamperingService) LookupBySource(ctx context.Context, req *pb.LookupBySourceRequest) (*pb.LookupBySourceResponse, error) {
	resp, err := s.Service.LookupBySource(ctx, req)
	if err == nil {
		mp := resp.GetIndexProof().GetMapProof()
		mp[len(mp)-1] ^= 1
	}
	return resp, err
}

// indexedLog is monitorLog with an index commitment after its five claims
// (entry 5) and a sixth claim in the tail: bob's dissent (entry 6).
func indexedLog(t *testing.T) (*testLog, string) {
	t.Helper()
	tl, policy := monitorLog(t)
	ic, err := log.NewIndexCommitter(tl.l.Log, log.IndexConfig{Entries: 1})
	if err != nil {
		t.Fatal(err)
	}
	if idx, err := ic.Step(t.Context()); err != nil || idx != 5 {
		t.Fatalf("committing the index: %d, %v, want entry 5", idx, err)
	}
	tl.addClaim(t, "met", "hello", sha256Hex([]byte("evil")), "bob")
	tl.waitWitnessed(t)
	return tl, policy
}

// TestVerifyFindsHiddenClaims: a log that hides a claim from every lookup
// alike, through a lying gRPC proxy in front of the real log, is caught by
// verify online and offline (from a bundle made through the proxy), with
// no monitor running: for a claim naming the digest (lookup by digest), for
// a committed dissent and for a dissent in the tail (lookup by source). The
// problem names the hidden claim. Before the index, each verdict was
// "trusted" or a quorum failure with no problem.
func TestVerifyFindsHiddenClaims(t *testing.T) {
	if testing.Short() {
		t.Skip("runs a log with witnesses")
	}
	tl, policy := indexedLog(t)
	met := sha256Hex(binaryOf("met"))
	bin := filepath.Join(t.TempDir(), "met")
	writeFile(t, bin, binaryOf("met"))
	if code, out := runCode(t, "verify", "--log", tl.grpcAddr, "--policy", policy, "--state", "", "--digest", met); code&client.ExitVerifyErr != 0 {
		t.Fatalf("verify through the honest log: exit %d\n%s", code, out)
	}
	for _, tc := range []struct {
		desc string
		drop uint64
		want string
	}{
		{"a claim naming the digest", 1, "problem:     hidden claim, claim 1: the lookup by digest " + met + " left out the claim at index 1, which the log's index commitment at 5"},
		{"a committed dissent", 3, "problem:     hidden claim, claim 3: the lookup by source git+https://example.org/met@" + commitOf("met") + " (platform linux/amd64) left out the claim at index 3, which the log's index commitment at 5"},
		{"a dissent in the tail", 6, "problem:     hidden claim, claim 6: the lookup by source git+https://example.org/met@" + commitOf("met") + " (platform linux/amd64) left out the claim at index 6, which the tail"},
	} {
		t.Run(tc.desc, func(t *testing.T) {
			lying := serveTestGRPC(t, hidingService{Service: tl.svc, drop: []uint64{tc.drop}})
			code, out := runCode(t, "verify", "--log", lying, "--policy", policy, "--state", "", "--digest", met)
			if code&client.ExitVerifyErr == 0 || !strings.Contains(out, tc.want) {
				t.Fatalf("verify through a log hiding claim %d: exit %d, want bit 8 and %q\n%s", tc.drop, code, tc.want, out)
			}
			// With a policy, bundle refuses to write what does not
			// verify; a bundle made --unverified goes to a verifier offline.
			bundle := filepath.Join(t.TempDir(), "met.bundle")
			if code, out := runCode(t, "bundle", "--log", lying, "--policy", policy, bin, "-o", bundle); code&client.ExitVerifyErr == 0 || !strings.Contains(out, tc.want) {
				t.Fatalf("bundle --policy through the lying log: exit %d, want bit 8 and %q\n%s", code, tc.want, out)
			}
			if code, out := runCode(t, "bundle", "--unverified", "--log", lying, bin, "-o", bundle); code != 0 {
				t.Fatalf("bundle through the lying log: exit %d\n%s", code, out)
			}
			code, out = runCode(t, "verify", "--bundle", bundle, "--policy", policy, "--state", "", bin)
			if code&client.ExitVerifyErr == 0 || !strings.Contains(out, tc.want) {
				t.Fatalf("verify --bundle made through a log hiding claim %d: exit %d, want bit 8 and %q\n%s", tc.drop, code, tc.want, out)
			}
		})
	}
	t.Run("tampered map proof", func(t *testing.T) {
		lying := serveTestGRPC(t, tamperingService{Service: tl.svc})
		code, out := runCode(t, "verify", "--log", lying, "--policy", policy, "--state", "", "--digest", met)
		want := "problem:     index proof, claim 5: the lookup by source git+https://example.org/met@" + commitOf("met") + " (platform linux/amd64): map proof against the index commitment at 5: vindex: invalid proof"
		if code&client.ExitVerifyErr == 0 || !strings.Contains(out, want) {
			t.Fatalf("verify through a log tampering with map proofs: exit %d, want bit 8 and %q\n%s", code, want, out)
		}
	})
}
