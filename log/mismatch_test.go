package log_test

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/attestlog/attestlog/log"
	"github.com/attestlog/attestlog/log/archive"
	"github.com/attestlog/attestlog/log/claim"
	pb "github.com/attestlog/attestlog/proto/attestlog/v1"
	bolt "go.etcd.io/bbolt"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// twoSubjectClaim is a claim that one build made the artifacts "a" and "b"
// with the given contents.
func twoSubjectClaim(a, b, builderID string) *claim.Claim {
	c := buildClaim([]byte(a), builderID)
	c.Subjects = []claim.Subject{{Name: "a", SHA256: sha([]byte(a))}, {Name: "b", SHA256: sha([]byte(b))}}
	return c
}

// addTwoMismatches appends two claims of one build with two artifacts that
// disagree on both: claim 1 creates two mismatches.
func addTwoMismatches(t *testing.T, cl *claimLog) {
	t.Helper()
	for i, c := range []*claim.Claim{twoSubjectClaim("a1", "b1", "alice"), twoSubjectClaim("a2", "b2", "bob")} {
		name := []string{"alice.example/alice", "bob.example/bob"}[i]
		if _, err := cl.client.AddClaim(t.Context(), &pb.AddClaimRequest{Envelope: envelope(t, c, testBuilder(t, name))}); err != nil {
			t.Fatal(err)
		}
	}
}

// checkTwoMismatches checks that the log lists both mismatches of
// addTwoMismatches, in order, and answers each by its identity ID.
func checkTwoMismatches(t *testing.T, cl *claimLog) {
	t.Helper()
	ctx := t.Context()
	ms, err := cl.client.ListMismatches(ctx, &pb.ListMismatchesRequest{})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, m := range ms.GetMismatches() {
		got = append(got, fmt.Sprintf("%d.%d %s %s %d", m.GetId(), m.GetSubject(), m.GetArtifact(), m.GetIdentityId(), len(m.GetDigests())))
	}
	id := func(artifact string) string {
		c := twoSubjectClaim("", "", "")
		return claim.Identity{Source: c.Source, Commit: c.Commit, Platform: c.Platform, Artifact: artifact}.ID()
	}
	want := []string{"1.0 a " + id("a") + " 2", "1.1 b " + id("b") + " 2"}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("ListMismatches = %q, want %q", got, want)
	}
	for i, artifact := range []string{"a", "b"} {
		gm, err := cl.client.GetMismatch(ctx, &pb.GetMismatchRequest{IdentityId: id(artifact)})
		if err != nil {
			t.Fatalf("GetMismatch(%s): %v", artifact, err)
		}
		if m := gm.GetMismatch(); m.GetArtifact() != artifact || m.GetDigests()[1].GetSha256() != sha([]byte(artifact+"2")) || len(gm.GetClaims()) != 2 {
			t.Errorf("GetMismatch(%s) = %+v", artifact, gm)
		}
		page, err := cl.client.ListMismatches(ctx, &pb.ListMismatchesRequest{PageSize: 1, PageToken: []string{"", "1.0"}[i]})
		if err != nil || len(page.GetMismatches()) != 1 || page.GetMismatches()[0].GetArtifact() != artifact {
			t.Errorf("ListMismatches page %d: %+v, %v", i, page, err)
		}
	}
	_, err = cl.client.GetMismatch(ctx, &pb.GetMismatchRequest{Id: 1})
	if status.Code(err) != codes.InvalidArgument || !strings.Contains(err.Error(), id("a")) || !strings.Contains(err.Error(), id("b")) {
		t.Errorf("GetMismatch by the index of a claim that created two = %v, want InvalidArgument naming both", err)
	}
}

func TestTwoMismatchesOfOneClaim(t *testing.T) {
	cl := newClaimLog(t, log.ServiceConfig{}, archive.Config{})
	addTwoMismatches(t, cl)
	checkTwoMismatches(t, cl)
}

// TestMigrateSchema1 writes a store in the layout of schema version 1,
// which lost the second mismatch of a claim, and opens it.
func TestMigrateSchema1(t *testing.T) {
	dir := t.TempDir()
	cl := newClaimLogIn(t, dir, log.ServiceConfig{}, archive.Config{})
	cl.Store.SetIndexStageLimit(0) // version 1 staged nothing: every record in its bucket
	addTwoMismatches(t, cl)
	cl.Store.Close()

	editBolt(t, cl.Path, func(tx *bolt.Tx) error {
		for _, b := range []string{"idx:mismatch-identity", "idx:mismatch-order"} {
			if err := tx.DeleteBucket([]byte(b)); err != nil {
				return fmt.Errorf("%s: %w", b, err)
			}
		}
		if err := tx.Bucket([]byte("meta")).Delete([]byte("schema")); err != nil {
			return err
		}
		old, err := tx.CreateBucket([]byte("idx:mismatch"))
		if err != nil {
			return err
		}
		c := twoSubjectClaim("", "", "")
		rec, _ := json.Marshal(claim.Identity{Source: c.Source, Commit: c.Commit, Platform: c.Platform, Artifact: "b"})
		return old.Put(binary.BigEndian.AppendUint64(nil, 1), rec) // "a" was overwritten
	})
	checkTwoMismatches(t, newClaimLogIn(t, dir, log.ServiceConfig{}, archive.Config{}))
}

func TestRefuseNewerSchema(t *testing.T) {
	dir := t.TempDir()
	cl := newClaimLogIn(t, dir, log.ServiceConfig{}, archive.Config{})
	cl.Store.Close()
	editBolt(t, cl.Path, func(tx *bolt.Tx) error {
		return tx.Bucket([]byte("meta")).Put([]byte("schema"), binary.BigEndian.AppendUint64(nil, 99))
	})
	_, err := log.OpenBolt(cl.Path)
	if err == nil || !strings.Contains(err.Error(), "schema version 99, this attestlog knows versions up to 4") {
		t.Fatalf("OpenBolt of a store of schema version 99 = %v", err)
	}
}
