package forensics

import (
	"crypto/sha256"
	"encoding/hex"
	"strings"
	"testing"

	"github.com/attestlog/attestlog/client"
	"github.com/attestlog/attestlog/client/report"
	"github.com/attestlog/attestlog/log/claim"
)

func hexSum(s string) string {
	h := sha256.Sum256([]byte(s))
	return hex.EncodeToString(h[:])
}

func TestCheckClaims(t *testing.T) {
	d1, d2 := hexSum("1"), hexSum("2")
	c := func(d, platform string) *claim.Claim {
		return &claim.Claim{Subjects: []claim.Subject{{Name: "hello", SHA256: d}}, Source: "git+https://example.org/x",
			Commit: strings.Repeat("a", 40), Platform: platform}
	}
	id := claim.Identity{Source: "git+https://example.org/x", Commit: strings.Repeat("a", 40), Platform: "linux/amd64", Artifact: "hello"}.ID()
	m := report.Mismatch{ID: id, Claim: 1, Source: "git+https://example.org/x", Commit: strings.Repeat("a", 40), Platform: "linux/amd64", Artifact: "hello",
		Digests: []report.MismatchDigest{{SHA256: d1, ClaimIndexes: []int64{0}}, {SHA256: d2, ClaimIndexes: []int64{1}}}}
	good := []client.VerifiedClaim{{Index: 0, Claim: c(d1, "linux/amd64")}, {Index: 1, Claim: c(d2, "linux/amd64")}}
	for _, ref := range []Ref{{ID: id}, {Claim: 1}} {
		if err := CheckClaims(ref, m, good); err != nil {
			t.Fatalf("CheckClaims(%s) of a true mismatch: %v", ref, err)
		}
	}
	for _, tt := range []struct {
		name    string
		id      Ref
		vcs     []client.VerifiedClaim
		wantErr string
	}{
		{"other id", Ref{ID: strings.Repeat("0", 64)}, good, "answered with mismatch " + id},
		{"other claim", Ref{Claim: 2}, good, "created by claim 1"},
		{"claim missing", Ref{ID: id}, good[:1], "claim 1 is listed but not proven"},
		{"other platform", Ref{ID: id}, []client.VerifiedClaim{good[0], {Index: 1, Claim: c(d2, "linux/arm64")}}, "claim 1 does not claim"},
		{"other digest", Ref{ID: id}, []client.VerifiedClaim{good[0], {Index: 1, Claim: c(d1, "linux/amd64")}}, "claim 1 does not claim"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if err := CheckClaims(tt.id, m, tt.vcs); err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("CheckClaims = %v, want error containing %q", err, tt.wantErr)
			}
		})
	}
}
