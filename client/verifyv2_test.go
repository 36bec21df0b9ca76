package client_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/attestlog/attestlog/client"
	"github.com/attestlog/attestlog/log/claim/format"
	"github.com/attestlog/attestlog/log/claim/record/recordtest"
	"github.com/attestlog/attestlog/tiles"
)

// A v2World adds builders of other schemes to a world: alice also signs
// SHA256SUMS files with a raw Ed25519 key (one identity, two schemes), zsf
// signs with minisign, dan and erin sign SHA256SUMS with Ed25519 keys, and
// an untrusted stranger too.
type v2World struct {
	*world
	aliceEd, dan, erin, stranger *recordtest.Ed25519
	zsf                          *recordtest.Minisign
}

func newV2World(t *testing.T) *v2World {
	return &v2World{world: newWorld(t), aliceEd: recordtest.NewEd25519(t, 40), dan: recordtest.NewEd25519(t, 41),
		erin: recordtest.NewEd25519(t, 42), stranger: recordtest.NewEd25519(t, 43), zsf: recordtest.NewMinisign(t, 44)}
}

// policyText trusts alice with her vkey and her Ed25519 key, zsf's
// minisign key, dan and erin; 3 must agree.
func (w *v2World) policyText() string {
	return fmt.Sprintf(`log %s
quorum none
builder alice %s
builder alice ed25519 %s
builder zsf minisign %s
builder dan ed25519 %s
builder erin ed25519 %s
builders three 3 alice zsf dan erin
agree three
`, w.logVKey, w.b["alice"].VKey, w.aliceEd.Verifier.String(), w.zsf.Verifier.String(), w.dan.Verifier.String(), w.erin.Verifier.String())
}

func (w *v2World) policy(t *testing.T) *client.Policy {
	t.Helper()
	p, err := client.ParsePolicy([]byte(w.policyText()))
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func (w *v2World) source(t *testing.T, entries ...[]byte) *fakeSource {
	t.Helper()
	l := &fakeLog{w: w.world}
	l.append(t, entries...)
	return &fakeSource{t: t, log: l, checkpoint: l.note(t, int64(len(l.entries)))}
}

const relName = "hello-1.0-x86_64-linux-gnu.tar.gz"

// TestVerifyMixedSchemes checks that one identity with keys of two
// schemes votes once, and that keys of other schemes vote.
func TestVerifyMixedSchemes(t *testing.T) {
	w := newV2World(t)
	p := w.policy(t)
	file := []byte("hello\n")
	d := recordtest.SHA256(file)
	sums := recordtest.Sums(map[string][]byte{relName: file})
	src := w.source(t,
		w.claimEntry(t, relName, d, "linux/amd64", "alice"), // alice's vkey, v1
		w.aliceEd.SumsEntry(t, sums, format.Annotations{}),  // alice's Ed25519 key, v2
		w.zsf.Entry(t, relName, file, true, ""),             // zsf, minisign
		w.stranger.SumsEntry(t, sums, format.Annotations{}), // untrusted
	)
	v, err := client.Verify(context.Background(), p, src, d, client.VerifyOptions{})
	if err != nil {
		t.Fatal(err)
	}
	checkVerdict(t, v, verifyCase{wantCode: client.ExitNoQuorum, wantAgreed: "alice zsf", wantSilent: "dan erin",
		wantIgnored: "ed25519:" + w.stranger.Verifier.KeyID()})
	if a := v.Agreed[0]; len(a.Keys) != 2 || a.Keys[0] != "alice.example" || a.Keys[1] != "ed25519:"+w.aliceEd.Verifier.KeyID() || len(a.Claims) != 2 {
		t.Errorf("alice's vote %+v: want one vote with both keys and both claims", a)
	}
	// With dan, three identities agree; alice still counts once (K=3 is
	// met by alice, zsf and dan, not by alice twice).
	src = w.source(t, append(src.log.entries, w.dan.SumsEntry(t, sums, format.Annotations{}))...)
	v, err = client.Verify(context.Background(), p, src, d, client.VerifyOptions{})
	if err != nil {
		t.Fatal(err)
	}
	checkVerdict(t, v, verifyCase{wantCode: 0, wantAgreed: "alice zsf dan", wantSilent: "erin",
		wantIgnored: "ed25519:" + w.stranger.Verifier.KeyID()})
	v, err = client.Verify(context.Background(), p, src, d, client.VerifyOptions{K: 4})
	if err != nil || v.QuorumMet {
		t.Fatalf("K=4 with three identities: quorum met %v, %v", v.QuorumMet, err)
	}
}

// TestVerifyNameConflict checks the digest-only conflict rule: two trusted
// SHA256SUMS signers naming one file with different digests are a
// conflict, found by the lookup by file name and proven complete by the
// index; an untrusted signer's other digest is not.
func TestVerifyNameConflict(t *testing.T) {
	w := newV2World(t)
	p := w.policy(t)
	file := []byte("hello\n")
	d := recordtest.SHA256(file)
	sums := recordtest.Sums(map[string][]byte{relName: file, "hello-1.0.tar.gz": []byte("src\n")})
	evil := recordtest.SumsWithDigest(relName, recordtest.SHA256([]byte("evil\n")))
	entries := [][]byte{
		w.dan.SumsEntry(t, sums, format.Annotations{}),
		w.aliceEd.SumsEntry(t, sums, format.Annotations{}),
		w.zsf.Entry(t, relName, file, false, ""),
		w.stranger.SumsEntry(t, evil, format.Annotations{}), // untrusted: no conflict
		w.erin.SumsEntry(t, evil, format.Annotations{}),     // trusted: a conflict
	}
	src := w.source(t, entries...)
	v, err := client.Verify(context.Background(), p, src, d, client.VerifyOptions{})
	if err != nil {
		t.Fatal(err)
	}
	checkVerdict(t, v, verifyCase{wantCode: client.ExitConflict, wantAgreed: "alice zsf dan", wantDisagreed: "erin"})
	if c := v.Disagreed[0]; c.Claim != 4 || c.Identity != (client.Identity{Artifact: relName}) || c.Key != "ed25519:"+w.erin.Verifier.KeyID() {
		t.Errorf("conflict %+v", c)
	}

	// A log that hides erin's claim from the lookup by name is caught by
	// the index proof of that lookup.
	src.tamperName = func(lk *client.Lookup) {
		var kept []client.ProvenClaim
		for _, pc := range lk.Claims {
			if pc.Index != 4 {
				kept = append(kept, pc)
			}
		}
		lk.Claims = kept
	}
	v, err = client.Verify(context.Background(), p, src, d, client.VerifyOptions{})
	if err != nil {
		t.Fatal(err)
	}
	checkVerdict(t, v, verifyCase{wantCode: client.ExitVerifyErr, wantAgreed: "alice zsf dan", wantSilent: "erin", wantProblems: "hidden claim@4"})

	// The same holds offline, from a bundle.
	src.tamperName = nil
	b, err := client.NewBundle(context.Background(), src, d)
	if err != nil {
		t.Fatal(err)
	}
	data, err := b.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(data, []byte(`"name_proofs"`)) {
		t.Fatalf("bundle without name proofs:\n%s", data)
	}
	parsed, err := client.ParseBundle(data)
	if err != nil {
		t.Fatal(err)
	}
	v, err = client.Verify(context.Background(), p, client.BundleSource{Bundle: parsed}, d, client.VerifyOptions{})
	if err != nil {
		t.Fatal(err)
	}
	checkVerdict(t, v, verifyCase{wantCode: client.ExitConflict, wantAgreed: "alice zsf dan", wantDisagreed: "erin"})
}

// TestVerifyMinisignFile checks that a minisign claim whose trusted
// comment does not name the sha256 is checked over the file given.
func TestVerifyMinisignFile(t *testing.T) {
	w := newV2World(t)
	p := w.policy(t)
	file := []byte("hello\n")
	d := recordtest.SHA256(file)
	entry := w.zsf.Entry(t, relName, file, false, "")
	lie := recordtest.Tamper(t, w.zsf.Entry(t, relName, []byte("other\n"), false, ""), recordtest.SHA256([]byte("other\n")), d)
	open := func(b []byte) func() (io.ReadCloser, error) {
		return func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(b)), nil }
	}
	for _, tc := range []struct {
		what  string
		entry []byte
		file  []byte
		want  verifyCase
	}{
		{"the file", entry, file, verifyCase{wantCode: client.ExitNoQuorum, wantAgreed: "zsf", wantSilent: "alice dan erin"}},
		{"no file: the log's word", entry, nil, verifyCase{wantCode: client.ExitNoQuorum, wantAgreed: "zsf", wantSilent: "alice dan erin"}},
		{"a signature over another file", lie, file, verifyCase{wantCode: client.ExitNoQuorum | client.ExitVerifyErr, wantSilent: "alice zsf dan erin", wantProblems: "file signature@0"}},
	} {
		t.Run(tc.what, func(t *testing.T) {
			opts := client.VerifyOptions{}
			if tc.file != nil {
				opts.File = open(tc.file)
			}
			v, err := client.Verify(context.Background(), p, w.source(t, tc.entry), d, opts)
			if err != nil {
				t.Fatal(err)
			}
			checkVerdict(t, v, tc.want)
		})
	}
}

// TestParsePolicySchemes reads builder lines of every form, key files
// relative to the policy file, and refuses one key listed twice across
// schemes and roles.
func TestParsePolicySchemes(t *testing.T) {
	w := newV2World(t)
	dir := t.TempDir()
	pub := "untrusted comment: minisign public key\n" + w.zsf.Verifier.String() + "\n"
	if err := os.WriteFile(filepath.Join(dir, "zsf.pub"), []byte(pub), 0o600); err != nil {
		t.Fatal(err)
	}
	text := strings.Replace(w.policyText(), "builder zsf minisign "+w.zsf.Verifier.String(), "builder zsf minisign @zsf.pub", 1)
	path := filepath.Join(dir, "policy")
	if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	p, err := client.ParsePolicyFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Builders) != 4 || len(p.Builders[0].Keys) != 2 || p.Builders[1].Keys[0].VKey != "minisign "+w.zsf.Verifier.String() {
		t.Fatalf("policy builders %+v", p.Builders)
	}
	if _, err := client.ParsePolicy([]byte(text)); err == nil || !strings.Contains(err.Error(), "key files are read only") {
		t.Errorf("ParsePolicy with @file: %v", err)
	}
	// alice's vkey wraps a raw Ed25519 key; the same key as an ed25519
	// builder line is one key listed twice.
	_, aliceRaw, _ := tiles.VKeyPublicKey(w.b["alice"].VKey)
	for _, tc := range []struct{ what, line string }{
		{"same Ed25519 key in two schemes", fmt.Sprintf("builder bob ed25519 %x\n", aliceRaw)},
		{"same minisign key twice", "builder bob minisign " + w.zsf.Verifier.String() + "\n"},
		{"the log's key as a builder", fmt.Sprintf("builder bob ed25519 %x\n", mustRaw(t, w.logVKey))},
		{"unknown scheme", "builder bob pgp 00\n"},
	} {
		bad := strings.Replace(w.policyText(), "builders three", strings.TrimSuffix(tc.line, "\n")+"\nbuilders three", 1)
		if _, err := client.ParsePolicy([]byte(bad)); err == nil || !strings.Contains(err.Error(), "line 8") {
			t.Errorf("%s: %v, want an error naming line 8", tc.what, err)
		}
	}
}

func mustRaw(t *testing.T, vkey string) []byte {
	t.Helper()
	_, k, err := tiles.VKeyPublicKey(vkey)
	if err != nil {
		t.Fatal(err)
	}
	return k
}
