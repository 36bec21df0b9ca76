package record_test

import (
	"bytes"
	"testing"

	"github.com/attestlog/attestlog/log/claim"
	"github.com/attestlog/attestlog/log/claim/format"
	"github.com/attestlog/attestlog/log/claim/record"
	"github.com/attestlog/attestlog/log/claim/record/recordtest"
)

// FuzzDecode checks that Decode never panics, that the v2 syntax has one
// spelling (parse then encode returns the input), and that whatever
// decodes has keys.
func FuzzDecode(f *testing.F) {
	ed := recordtest.NewEd25519(f, 5)
	m := recordtest.NewMinisign(f, 6)
	f.Add(ed.SumsEntry(f, recordtest.Sums(release), format.Annotations{Commit: commit, Source: "git+https://example.org/hello"}))
	f.Add(m.Entry(f, "zig-x86_64-linux-0.14.1.tar.xz", []byte("zig"), false, ""))
	f.Add(m.Entry(f, "zig-x86_64-linux-0.14.1.tar.xz", []byte("zig"), true, "source:git+https://github.com/ziglang/zig\tcommit:"+commit))
	f.Add(recordtest.Encode(f, ed.Verifier, format.Document{Kind: format.Link, Signed: ed.Link(f, "r", nil, map[string][]byte{"a_1_amd64.deb": []byte("a")})}))
	f.Add(recordtest.V1Entry(f, &claim.Claim{Subjects: []claim.Subject{{Name: "hello", SHA256: digestA}}, Source: "git+https://example.org/hello",
		Commit: commit, Recipe: digestA, Platform: "linux/amd64", BuilderID: "https://ci"}, recordtest.NoteKey(f, 1, "ci.example.org")))
	f.Add([]byte("attestlog.dev/claim/v2\nformat minisign\nkey minisign RW\nfile-sha256 00\n\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		if re, err := record.Reencode(b); err == nil && !bytes.Equal(re, b) {
			t.Fatalf("v2 syntax of %q re-encodes as %q", b, re)
		}
		r, err := record.Decode(b)
		if err != nil {
			return
		}
		k := r.Keys()
		if len(k.Digests) == 0 || len(k.Builders) != len(r.Signers) {
			t.Fatalf("decoded %q has keys %+v", b, k)
		}
		if r.Version == 2 {
			if _, err := record.Reencode(b); err != nil {
				t.Fatalf("Decode accepted %q, the syntax parser refuses it: %v", b, err)
			}
		}
	})
}
