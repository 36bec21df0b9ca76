package log_test

import (
	"context"
	"fmt"
	"slices"
	"testing"

	"github.com/attestlog/attestlog/log"
	"github.com/attestlog/attestlog/log/archive"
	pb "github.com/attestlog/attestlog/proto/attestlog/v1"
)

// TestFirstByIsBounded checks that the bounded lookups return the first n
// claims in log order, say whether more exist, and agree with the unbounded
// ones.
func TestFirstByIsBounded(t *testing.T) {
	cl := newClaimLog(t, log.ServiceConfig{}, archive.Config{})
	alice, bob := testBuilder(t, "alice.example"), testBuilder(t, "bob.example")
	bin := []byte("the binary")
	for i := range 5 {
		key := alice
		if i%2 == 1 {
			key = bob
		}
		c := buildClaim(bin, fmt.Sprintf("https://ci.example/%d", i))
		if _, err := cl.client.AddClaim(context.Background(), &pb.AddClaimRequest{Envelope: envelope(t, c, key)}); err != nil {
			t.Fatal(err)
		}
	}
	size := cl.Checkpoint().Size
	c := buildClaim(bin, "")
	var ix log.ClaimIndex
	tests := []struct {
		desc  string
		first func(n int, limit int64) ([]int64, bool, error)
		all   func(limit int64) ([]int64, error)
	}{
		{"digest", func(n int, limit int64) ([]int64, bool, error) {
			return ix.FirstByDigest(cl.Store, c.Subjects[0].SHA256, n, limit)
		}, func(limit int64) ([]int64, error) { return ix.ByDigest(cl.Store, c.Subjects[0].SHA256, limit) }},
		{"source", func(n int, limit int64) ([]int64, bool, error) {
			return ix.FirstBySource(cl.Store, c.Source, c.Commit, "linux/amd64", n, limit)
		}, func(limit int64) ([]int64, error) {
			return ix.BySource(cl.Store, c.Source, c.Commit, "linux/amd64", limit)
		}},
		{"builder", func(n int, limit int64) ([]int64, bool, error) {
			return ix.FirstByBuilder(cl.Store, alice.VKey, n, limit)
		},
			func(limit int64) ([]int64, error) { return ix.ByBuilder(cl.Store, alice.VKey, limit) }},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			for _, limit := range []int64{0, 2, size} {
				all, err := tt.all(limit)
				if err != nil {
					t.Fatal(err)
				}
				for n := 0; n <= len(all)+1; n++ {
					got, more, err := tt.first(n, limit)
					want := all[:min(n, len(all))]
					if err != nil || !slices.Equal(got, want) || more != (n < len(all)) {
						t.Errorf("limit %d, n %d: got %v more=%v err=%v, want %v more=%v", limit, n, got, more, err, want, n < len(all))
					}
				}
			}
		})
	}
	if got, _, _ := ix.FirstBySource(cl.Store, c.Source, c.Commit, "linux/arm64", 10, size); len(got) != 0 {
		t.Errorf("another platform found %v", got)
	}
	if _, _, err := ix.FirstByDigest(cl.Store, "abc", 1, size); err == nil {
		t.Error("a short digest was accepted")
	}
}
