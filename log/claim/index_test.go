package claim_test

import (
	"crypto/sha256"
	"encoding/hex"
	"slices"
	"strings"
	"testing"

	"github.com/attestlog/attestlog/log/claim"
)

func TestKeys(t *testing.T) {
	c := &claim.Claim{
		Subjects: []claim.Subject{{Name: "a", SHA256: digestA}, {Name: "b", SHA256: strings.Repeat("1", 64)}, {Name: "c", SHA256: digestA}},
		Source:   "git+https://example.org/hello", Commit: commit, Recipe: digestA, Platform: "linux/amd64", BuilderID: "https://ci",
	}
	e := &claim.Entry{Signatures: []claim.Signature{{VKey: "x+1+a"}, {VKey: "y+2+b"}}}
	k := claim.Keys(e, c)
	if !slices.Equal(k.Digests, []string{digestA, strings.Repeat("1", 64)}) {
		t.Errorf("Digests = %q, want each digest once in subject order", k.Digests)
	}
	if len(k.Builds) != 1 || k.Builds[0] != (claim.Build{Source: c.Source, Commit: commit, Platform: "linux/amd64"}) || k.Names != nil {
		t.Errorf("Builds = %+v, Names = %q", k.Builds, k.Names)
	}
	if len(k.Identities) != 3 || k.Identities[1] != (claim.Identity{Source: c.Source, Commit: commit, Platform: "linux/amd64", Artifact: "b"}) {
		t.Errorf("Identities = %+v", k.Identities)
	}
	if !slices.Equal(k.Builders, []string{"x+1+a", "y+2+b"}) {
		t.Errorf("Builders = %q", k.Builders)
	}
}

func TestIdentityKey(t *testing.T) {
	id := claim.Identity{Source: "git+https://example.org/hello", Commit: commit, Platform: "linux/amd64", Artifact: "hello"}
	want := sha256.Sum256([]byte("git+https://example.org/hello\x00" + commit + "\x00linux/amd64\x00hello"))
	if id.Key() != want || id.ID() != hex.EncodeToString(want[:]) {
		t.Errorf("Key = %x, ID = %s, want %x", id.Key(), id.ID(), want)
	}
	if k, err := claim.ParseIdentityID(id.ID()); err != nil || k != want {
		t.Errorf("ParseIdentityID(ID()) = %x, %v", k, err)
	}
	for _, s := range []string{"", "12", strings.ToUpper(id.ID()), id.ID() + "0", id.ID()[:63] + "g"} {
		if _, err := claim.ParseIdentityID(s); err == nil {
			t.Errorf("ParseIdentityID(%q) succeeded", s)
		}
	}
}

func FuzzParseIdentityID(f *testing.F) {
	f.Add(strings.Repeat("ab", 32))
	f.Add(strings.Repeat("AB", 32))
	f.Fuzz(func(t *testing.T, s string) {
		k, err := claim.ParseIdentityID(s)
		if err == nil && hex.EncodeToString(k[:]) != s {
			t.Fatalf("ParseIdentityID(%q) = %x", s, k)
		}
	})
}
