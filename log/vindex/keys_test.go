package vindex_test

import (
	"crypto/sha256"
	"slices"
	"strings"
	"testing"

	"github.com/attestlog/attestlog/log/claim"
	"github.com/attestlog/attestlog/log/claim/format"
	"github.com/attestlog/attestlog/log/claim/record/recordtest"
	"github.com/attestlog/attestlog/log/vindex"
)

// TestKeyStrings pins the search key strings: a change here changes every
// map root, and must come with a new tag version.
func TestKeyStrings(t *testing.T) {
	d := strings.Repeat("ab", 32)
	id := claim.Identity{Source: "git+https://example.org/x", Commit: "c0", Platform: "linux/amd64", Artifact: "x"}
	for _, tc := range []struct {
		got  vindex.Key
		want string
	}{
		{vindex.DigestKey(d), "\x06digest\x40" + d},
		{vindex.SourceKey("git+https://example.org/x", "c0"), "\x06source\x19git+https://example.org/x\x02c0"},
		{vindex.BuildKey("git+https://example.org/x", "c0", "linux/amd64"), "\x05build\x19git+https://example.org/x\x02c0\x0blinux/amd64"},
		{vindex.IdentityKey(id), "\x08identity\x19git+https://example.org/x\x02c0\x0blinux/amd64\x01x"},
		{vindex.BuilderKey("ci+01020304+AQ"), "\x07builder\x0eci+01020304+AQ"},
		{vindex.NameKey("hello-1.0.tar.gz"), "\x04name\x10hello-1.0.tar.gz"},
	} {
		if want := sha256.Sum256([]byte("attestlog/vindex/key/v1\x00" + tc.want)); tc.got != want {
			t.Errorf("key of %q = %s, want %x", tc.want, tc.got, want)
		}
	}
	// Length prefixes keep fields apart: moving a byte across a field
	// boundary, or between kinds, gives another key.
	if vindex.SourceKey("ab", "c") == vindex.SourceKey("a", "bc") || vindex.DigestKey("x") == vindex.BuilderKey("x") {
		t.Error("field or kind boundaries do not separate keys")
	}
}

func TestClaimKeys(t *testing.T) {
	d1, d2 := strings.Repeat("1", 64), strings.Repeat("2", 64)
	b := claim.Build{Source: "git+https://example.org/x", Commit: strings.Repeat("c", 40), Platform: "linux/amd64"}
	ids := []claim.Identity{
		{Source: b.Source, Commit: b.Commit, Platform: b.Platform, Artifact: "x"},
		{Source: b.Source, Commit: b.Commit, Platform: b.Platform, Artifact: "y"},
	}
	k := claim.IndexKeys{Digests: []string{d1, d2}, Builds: []claim.Build{b}, Identities: ids, Builders: []string{"a+1+A", "b+2+B", "a+1+A"}}
	want := []vindex.Key{
		vindex.DigestKey(d1), vindex.DigestKey(d2),
		vindex.SourceKey(b.Source, b.Commit), vindex.BuildKey(b.Source, b.Commit, b.Platform),
		vindex.IdentityKey(ids[0]), vindex.IdentityKey(ids[1]),
		vindex.BuilderKey("a+1+A"), vindex.BuilderKey("b+2+B"),
	}
	got := vindex.ClaimKeys(k)
	if len(got) != len(want) {
		t.Fatalf("ClaimKeys returned %d keys, want %d (each once)", len(got), len(want))
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("ClaimKeys[%d] = %s, want %s", i, got[i], want[i])
		}
	}
	adds := vindex.ClaimAdditions(42, k)
	if len(adds) != len(want) || adds[3] != (vindex.Addition{Key: want[3], Index: 42}) {
		t.Errorf("ClaimAdditions = %v", adds)
	}
}

// TestEntryKeysV2 checks the map function on entries of both versions: a
// v1 entry's keys are those of log/claim's Keys, and a digest-only v2
// entry has a name key per file and its builder as "<scheme>:<key ID>".
func TestEntryKeysV2(t *testing.T) {
	c := &claim.Claim{Subjects: []claim.Subject{{Name: "hello", SHA256: strings.Repeat("1", 64)}}, Source: "git+https://example.org/x",
		Commit: strings.Repeat("c", 40), Recipe: strings.Repeat("2", 64), Platform: "linux/amd64", BuilderID: "https://ci"}
	k := recordtest.NoteKey(t, 1, "ci.example.org")
	v1 := recordtest.V1Entry(t, c, k)
	e, _ := claim.ParseEntry(v1)
	got, ok := vindex.EntryKeys(v1)
	if want := vindex.ClaimKeys(claim.Keys(e, c)); !ok || !slices.Equal(got, want) {
		t.Fatalf("v1 EntryKeys = %v, %v; want %v", got, ok, want)
	}
	ed := recordtest.NewEd25519(t, 2)
	files := map[string][]byte{"a-1.0.tar.gz": []byte("a")}
	got, ok = vindex.EntryKeys(ed.SumsEntry(t, recordtest.Sums(files), format.Annotations{}))
	want := []vindex.Key{vindex.DigestKey(recordtest.SHA256(files["a-1.0.tar.gz"])), vindex.BuilderKey("ed25519:" + ed.Verifier.KeyID()), vindex.NameKey("a-1.0.tar.gz")}
	if !ok || !slices.Equal(got, want) {
		t.Fatalf("v2 EntryKeys = %v, %v; want %v", got, ok, want)
	}
	if vindex.NameKey("a") == vindex.BuilderKey("a") || vindex.NameKey("a") == vindex.DigestKey("a") {
		t.Fatal("name keys collide with other kinds")
	}
}
