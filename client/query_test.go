package client_test

import (
	"strings"
	"testing"

	"github.com/attestlog/attestlog/client"
)

// TestClaimQueryCheck checks that a lookup's answer padded with a valid
// claim about something else is refused, whatever the query names.
func TestClaimQueryCheck(t *testing.T) {
	w := newWorld(t)
	hello := w.claimEntry(t, "hello", sha("hello"), "linux/amd64", "alice")
	arm := w.claimEntry(t, "hello", sha("hello-arm"), "linux/arm64", "bob")
	vcs := func(entries ...[]byte) []client.VerifiedClaim {
		var out []client.VerifiedClaim
		for i, e := range entries {
			out = append(out, client.VerifiedClaim{Index: int64(i), Entry: e})
		}
		return out
	}
	for _, tt := range []struct {
		desc    string
		q       client.ClaimQuery
		answer  []client.VerifiedClaim
		wantErr string // "" for none
	}{
		{"digest", client.ClaimQuery{Digest: sha("hello")}, vcs(hello), ""},
		{"digest padded", client.ClaimQuery{Digest: sha("hello")}, vcs(hello, arm), "claim at index 1 does not name sha256 " + sha("hello")},
		{"source", client.ClaimQuery{Source: testSource, Commit: testCommit}, vcs(hello, arm), ""},
		{"other commit", client.ClaimQuery{Source: testSource, Commit: strings.Repeat("b", 40)}, vcs(hello), "claim at index 0 is about " + testSource + "@" + testCommit},
		{"platform, any case", client.ClaimQuery{Source: testSource, Commit: testCommit, Platform: "Linux/AMD64"}, vcs(hello), ""},
		{"platform padded", client.ClaimQuery{Source: testSource, Commit: testCommit, Platform: "linux/amd64"}, vcs(hello, arm), "claim at index 1 is for another platform than linux/amd64"},
		{"name: a claim with a source", client.ClaimQuery{Name: "hello"}, vcs(hello), "claim at index 0 is not a claim without a source naming hello"},
		{"not an entry", client.ClaimQuery{Digest: sha("hello")}, vcs([]byte("{}")), "claim at index 0: "},
		{"empty answer", client.ClaimQuery{Digest: sha("x")}, nil, ""},
	} {
		err := tt.q.Check(tt.answer)
		if tt.wantErr == "" && err != nil || tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)) {
			t.Errorf("%s: Check = %v, want an error containing %q", tt.desc, err, tt.wantErr)
		}
	}
}

func TestClaimQueryString(t *testing.T) {
	for _, tt := range []struct {
		q    client.ClaimQuery
		want string
	}{
		{client.ClaimQuery{Digest: "ab"}, "naming sha256 ab"},
		{client.ClaimQuery{Name: "SHA256SUMS"}, "naming file SHA256SUMS without a source"},
		{client.ClaimQuery{Source: "git+https://x/y", Commit: "c0"}, "about git+https://x/y@c0"},
		{client.ClaimQuery{Source: "git+https://x/y", Commit: "c0", Platform: "linux/amd64"}, "about git+https://x/y@c0 for linux/amd64"},
		{client.ClaimQuery{Source: "deb:hello@1.0"}, "about deb:hello@1.0"},
	} {
		if got := tt.q.String(); got != tt.want {
			t.Errorf("%+v.String() = %q, want %q", tt.q, got, tt.want)
		}
	}
}
