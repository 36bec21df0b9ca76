package log_test

import (
	"context"
	"crypto/ed25519"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/transparency-dev/merkle/proof"
	"github.com/transparency-dev/merkle/rfc6962"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/attestlog/attestlog/client"
	"github.com/attestlog/attestlog/log"
	"github.com/attestlog/attestlog/log/archive"
	"github.com/attestlog/attestlog/log/claim/format"
	"github.com/attestlog/attestlog/log/claim/record"
	"github.com/attestlog/attestlog/log/claim/record/recordtest"
	"github.com/attestlog/attestlog/log/claim/scheme"
	pb "github.com/attestlog/attestlog/proto/attestlog/v1"
)

// wantStatus checks that err is a gRPC status with code, whose message
// names every one of words.
func wantStatus(t *testing.T, what string, err error, code codes.Code, words ...string) {
	t.Helper()
	st, _ := status.FromError(err)
	if err == nil || st.Code() != code {
		t.Fatalf("%s: %v, want code %s", what, err, code)
	}
	for _, w := range words {
		if !strings.Contains(st.Message(), w) {
			t.Fatalf("%s: message %q does not name %q", what, st.Message(), w)
		}
	}
}

// plainBuildinfo returns the text of the real Debian buildinfo kept in
// testdata, without its clearsignature, to sign detached in Go.
func plainBuildinfo(t *testing.T) []byte {
	t.Helper()
	doc, err := os.ReadFile(filepath.Join("..", "testdata", "formats", "debian", "rust-sniffglue_0.14.0-2_amd64.buildinfo"))
	if err != nil {
		t.Fatal(err)
	}
	text, _, err := scheme.ParseClearsigned(doc)
	if err != nil {
		t.Fatal(err)
	}
	return text
}

func (cl *claimLog) addEntry(t *testing.T, entry []byte) *pb.AddClaimResponse {
	t.Helper()
	r, err := cl.client.AddClaim(context.Background(), &pb.AddClaimRequest{Entry: entry})
	if err != nil {
		t.Fatalf("AddClaim:\n%.300s\n: %v", entry, err)
	}
	return r
}

// lookedUp returns the indexes a lookup answered, after checking every
// claim's inclusion proof and that the index proof is present.
func lookedUp(t *testing.T, cl *claimLog, cp []byte, claims []*pb.ProvenClaim, ip *pb.IndexProof) []uint64 {
	t.Helper()
	if ip == nil {
		t.Fatal("lookup without an index proof")
	}
	var out []uint64
	for _, c := range claims {
		verifyInclusion(t, cl, cp, c)
		if _, err := record.Decode(c.Entry); err != nil {
			t.Fatalf("claim %d: %v", c.Index, err)
		}
		out = append(out, c.Index)
	}
	return out
}

// TestAddClaimV2 logs a v2 entry of each kind through a real in-process
// log and finds each by digest, source (deb: too), file name and builder.
func TestAddClaimV2(t *testing.T) {
	cl := newClaimLog(t, log.ServiceConfig{}, archive.Config{})
	ctx := context.Background()
	const commit = "0123456789abcdef0123456789abcdef01234567"
	ed, ed2 := recordtest.NewEd25519(t, 1), recordtest.NewEd25519(t, 2)
	release := map[string][]byte{"hello-1.0-x86_64-linux-gnu.tar.gz": []byte("hello\n"), "hello-1.0.tar.gz": []byte("source\n")}

	// 0: a SHA256SUMS (digest-only), with a supplied commit.
	sums := cl.addEntry(t, ed.SumsEntry(t, recordtest.Sums(release), format.Annotations{Source: "git+https://example.org/hello", Commit: commit}))
	// 1: a Debian buildinfo signed detached (deb: identity).
	bi := plainBuildinfo(t)
	biEntry := recordtest.Encode(t, ed.Verifier, format.Document{Kind: format.Buildinfo, Signed: bi, Signature: ed25519.Sign(ed.Priv, bi)})
	deb := cl.addEntry(t, biEntry)
	// 2: minisign with source, commit and sha256 in the trusted comment.
	m := recordtest.NewMinisign(t, 3)
	zig := []byte("zig tarball\n")
	mini := cl.addEntry(t, m.Entry(t, "zig-x86_64-linux-0.14.1.tar.xz", zig, true, "source:git+https://github.com/ziglang/zig\tcommit:"+commit))
	// 3: an in-toto link (digest-only).
	link := cl.addEntry(t, recordtest.Encode(t, ed2.Verifier, format.Document{Kind: format.Link,
		Signed: ed2.Link(t, "rebuild", map[string][]byte{"hello_2.10-3_amd64.buildinfo": []byte("bi")}, map[string][]byte{"hello_2.10-3_amd64.deb": []byte("deb")})}))
	// 4: an OSS Rebuild envelope (git identity).
	ec := recordtest.NewECDSA(t, 4)
	whl := []byte("wheel\n")
	oss := cl.addEntry(t, recordtest.Encode(t, ec.Verifier, format.Document{Kind: format.DSSE, Signed: ec.OSSRebuild(t, "absl_py-2.0.0-py3-none-any.whl", whl, "git+https://github.com/abseil/abseil-py", commit)}))
	for i, r := range []*pb.AddClaimResponse{sums, deb, mini, link, oss} {
		if r.Claim.Index != uint64(i) || r.Duplicate {
			t.Fatalf("claim %d logged at %d (duplicate %v)", i, r.Claim.Index, r.Duplicate)
		}
	}
	if again := cl.addEntry(t, biEntry); !again.Duplicate || again.Claim.Index != 1 {
		t.Fatalf("resubmitting the buildinfo entry: %+v", again)
	}

	byDigest := func(d string) []uint64 {
		r, err := cl.client.LookupByDigest(ctx, &pb.LookupByDigestRequest{Sha256: d})
		if err != nil {
			t.Fatal(err)
		}
		return lookedUp(t, cl, r.Checkpoint, r.Claims, r.IndexProof)
	}
	bySource := func(src, commit, platform string) []uint64 {
		r, err := cl.client.LookupBySource(ctx, &pb.LookupBySourceRequest{SourceUri: src, Commit: commit, Platform: platform})
		if err != nil {
			t.Fatalf("LookupBySource(%s, %q): %v", src, commit, err)
		}
		return lookedUp(t, cl, r.Checkpoint, r.Claims, r.IndexProof)
	}
	byName := func(name string) []uint64 {
		r, err := cl.client.LookupByName(ctx, &pb.LookupByNameRequest{Name: name})
		if err != nil {
			t.Fatalf("LookupByName(%s): %v", name, err)
		}
		return lookedUp(t, cl, r.Checkpoint, r.Claims, r.IndexProof)
	}
	for _, tc := range []struct {
		what      string
		got, want []uint64
	}{
		{"sums by digest", byDigest(recordtest.SHA256(release["hello-1.0.tar.gz"])), []uint64{0}},
		{"sums by name", byName("hello-1.0-x86_64-linux-gnu.tar.gz"), []uint64{0}},
		{"supplied source is no lookup key", bySource("git+https://example.org/hello", commit, ""), nil},
		{"deb by source", bySource("deb:rust-sniffglue@0.14.0-2", "", ""), []uint64{1}},
		{"deb by source and platform", bySource("deb:rust-sniffglue@0.14.0-2", "", "linux/amd64"), []uint64{1}},
		{"deb: a .deb has no name key", byName("sniffglue_0.14.0-2_amd64.deb"), nil},
		{"minisign by source", bySource("git+https://github.com/ziglang/zig", commit, "linux/amd64"), []uint64{2}},
		{"minisign by digest", byDigest(recordtest.SHA256(zig)), []uint64{2}},
		{"link by name", byName("hello_2.10-3_amd64.deb"), []uint64{3}},
		{"link by digest", byDigest(recordtest.SHA256([]byte("deb"))), []uint64{3}},
		{"dsse by source", bySource("git+https://github.com/abseil/abseil-py.git", commit, "any"), []uint64{4}},
		{"dsse by digest", byDigest(recordtest.SHA256(whl)), []uint64{4}},
	} {
		if !slices.Equal(tc.got, tc.want) {
			t.Errorf("%s: claims %v, want %v", tc.what, tc.got, tc.want)
		}
	}
	debs := decodeAt(t, cl, 1)
	if got := byDigest(debs.Subjects[0].SHA256); !slices.Equal(got, []uint64{1}) {
		t.Errorf("deb by its .deb digest: %v", got)
	}
	size := cl.Checkpoint().Size
	for _, tc := range []struct {
		builder string
		want    []int64
	}{
		{"ed25519:" + ed.Verifier.KeyID(), []int64{0, 1}},
		{"ed25519:" + ed2.Verifier.KeyID(), []int64{3}},
		{"minisign:" + m.Verifier.KeyID(), []int64{2}},
		{"ecdsa-p256:" + ec.Verifier.KeyID(), []int64{4}},
	} {
		got, err := log.ClaimIndex{}.ByBuilder(cl.Store, tc.builder, size)
		if err != nil || !slices.Equal(got, tc.want) {
			t.Errorf("ByBuilder(%s) = %v, %v; want %v", tc.builder, got, err, tc.want)
		}
	}
	_, err := cl.client.LookupBySource(ctx, &pb.LookupBySourceRequest{SourceUri: "deb:rust-sniffglue@0.14.0-2", Commit: commit})
	wantStatus(t, "deb source with a commit", err, codes.InvalidArgument, "give no commit")
	_, err = cl.client.LookupByName(ctx, &pb.LookupByNameRequest{Name: "../etc/passwd"})
	wantStatus(t, "a path for a name", err, codes.InvalidArgument, "not a file basename")

	// A second buildinfo naming another .deb digest for one identity is a
	// mismatch; two SHA256SUMS disagreeing never are (no identity).
	evilBI := []byte(strings.Replace(string(bi), debs.Subjects[0].SHA256, strings.Repeat("e", 64), 1))
	cl.addEntry(t, recordtest.Encode(t, ed2.Verifier, format.Document{Kind: format.Buildinfo, Signed: evilBI, Signature: ed25519.Sign(ed2.Priv, evilBI)}))
	other := map[string][]byte{"hello-1.0.tar.gz": []byte("other source\n")}
	cl.addEntry(t, ed2.SumsEntry(t, recordtest.Sums(other), format.Annotations{}))
	ms, err := cl.client.ListMismatches(ctx, &pb.ListMismatchesRequest{})
	if err != nil {
		t.Fatal(err)
	}
	if len(ms.Mismatches) != 1 || ms.Mismatches[0].SourceUri != "deb:rust-sniffglue@0.14.0-2" || ms.Mismatches[0].Artifact != debs.Subjects[0].Name ||
		ms.Mismatches[0].Commit != "" || len(ms.Mismatches[0].Digests) != 2 {
		t.Fatalf("mismatches %+v", ms.Mismatches)
	}
}

// verifyInclusion checks a proven claim against a signed checkpoint.
func verifyInclusion(t *testing.T, cl *claimLog, cpNote []byte, c *pb.ProvenClaim) {
	t.Helper()
	cp, err := client.OpenCheckpoint(cpNote, cl.Verifier)
	if err != nil {
		t.Fatal(err)
	}
	if c.TreeSize != uint64(cp.Size) {
		t.Fatalf("claim %d proven against size %d, checkpoint has %d", c.Index, c.TreeSize, cp.Size)
	}
	if err := proof.VerifyInclusion(rfc6962.DefaultHasher, c.Index, c.TreeSize, rfc6962.DefaultHasher.HashLeaf(c.Entry), c.InclusionProof, cp.Hash[:]); err != nil {
		t.Fatalf("claim %d: inclusion proof: %v", c.Index, err)
	}
}

func decodeAt(t *testing.T, cl *claimLog, idx int64) *record.Record {
	t.Helper()
	es, err := cl.Entries(idx, 1)
	if err != nil {
		t.Fatal(err)
	}
	r, err := record.Decode(es[0])
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// TestAddClaimV2Refused checks that tampered and misdirected v2 entries
// are refused with a status naming what failed, and that none is logged.
func TestAddClaimV2Refused(t *testing.T) {
	ed, ed2 := recordtest.NewEd25519(t, 1), recordtest.NewEd25519(t, 2)
	allow, err := log.ParseBuilders([]byte("builder ci ed25519 " + ed.Verifier.String() + "\n"))
	if err != nil {
		t.Fatal(err)
	}
	cl := newClaimLog(t, log.ServiceConfig{Builders: allow}, archive.Config{})
	ctx := context.Background()
	release := map[string][]byte{"hello-1.0.tar.gz": []byte("source\n")}
	entry := ed.SumsEntry(t, recordtest.Sums(release), format.Annotations{})
	for _, tc := range []struct {
		what  string
		req   *pb.AddClaimRequest
		code  codes.Code
		words []string
	}{
		{"changed digest", &pb.AddClaimRequest{Entry: recordtest.Tamper(t, entry, recordtest.SHA256(release["hello-1.0.tar.gz"]), strings.Repeat("0", 64))},
			codes.InvalidArgument, []string{"signature does not verify", "sha256sums", ed.Verifier.KeyID()}},
		{"another key", &pb.AddClaimRequest{Entry: recordtest.Tamper(t, entry, ed.Verifier.String(), ed2.Verifier.String())},
			codes.InvalidArgument, []string{"signature does not verify", ed2.Verifier.KeyID()}},
		{"header out of order", &pb.AddClaimRequest{Entry: recordtest.Tamper(t, entry, "format sha256sums\n", "")},
			codes.InvalidArgument, []string{"malformed entry", "format <kind>"}},
		{"not on the allowlist", &pb.AddClaimRequest{Entry: ed2.SumsEntry(t, recordtest.Sums(release), format.Annotations{})},
			codes.PermissionDenied, []string{"allowlist"}},
		{"envelope and entry", &pb.AddClaimRequest{Entry: entry, Envelope: []byte("{}")},
			codes.InvalidArgument, []string{"not both"}},
		{"a v1 entry as entry", &pb.AddClaimRequest{Entry: []byte("attestlog.dev/claim/v1\n")},
			codes.InvalidArgument, []string{"send a v1 claim as its DSSE envelope"}},
	} {
		_, err := cl.client.AddClaim(ctx, tc.req)
		wantStatus(t, tc.what, err, tc.code, tc.words...)
	}
	if n := cl.Checkpoint().Size; n != 0 {
		t.Fatalf("refused entries were logged: tree size %d", n)
	}
	if r := cl.addEntry(t, entry); r.Claim.Index != 0 {
		t.Fatalf("the allowed entry: %+v", r)
	}
}

// TestAddClaimMinisignFile logs a minisign signature whose trusted comment
// does not name the file's sha256: refused until the file is uploaded
// (with the entry in the upload header), then checked over the archived
// file; a file-sha256 line naming another file is refused.
func TestAddClaimMinisignFile(t *testing.T) {
	cl := newClaimLog(t, log.ServiceConfig{}, archive.Config{})
	ctx := context.Background()
	m := recordtest.NewMinisign(t, 3)
	const name = "zig-x86_64-linux-0.14.1.tar.xz"
	file := []byte("zig tarball\n")
	entry := m.Entry(t, name, file, false, "")
	_, err := cl.client.AddClaim(ctx, &pb.AddClaimRequest{Entry: entry})
	wantStatus(t, "before the upload", err, codes.FailedPrecondition, "upload the file first", "attestlog submit --artifact FILE")
	if _, err := upload(ctx, cl.client, recordtest.SHA256(file), file, 5); err == nil {
		t.Fatal("an upload without a logged claim or an entry was accepted")
	}
	if _, err := uploadFor(ctx, cl.client, entry, file); err != nil {
		t.Fatalf("upload with the entry: %v", err)
	}
	if r := cl.addEntry(t, entry); r.Claim.Index != 0 {
		t.Fatalf("%+v", r)
	}

	// A submitter who writes another (uploaded) file's digest in the
	// file-sha256 line: minisign's signature over that file fails.
	evil := []byte("evil tarball\n")
	lie := recordtest.Tamper(t, entry, recordtest.SHA256(file), recordtest.SHA256(evil))
	if _, err := uploadFor(ctx, cl.client, lie, evil); err != nil {
		t.Fatalf("upload of the other file: %v", err)
	}
	_, err = cl.client.AddClaim(ctx, &pb.AddClaimRequest{Entry: lie})
	wantStatus(t, "file-sha256 of another file", err, codes.InvalidArgument, "signature over the file", m.Verifier.KeyID())
	// An upload header entry must name the uploaded digest.
	_, err = uploadFor(ctx, cl.client, m.Entry(t, name, []byte("third\n"), false, ""), []byte("fourth\n"))
	wantStatus(t, "entry naming another digest", err, codes.FailedPrecondition, "file-sha256 line names this digest")
}

// uploadFor uploads data with entry in the header.
func uploadFor(ctx context.Context, c pb.LogServiceClient, entry, data []byte) (*pb.UploadArtifactResponse, error) {
	st, err := c.UploadArtifact(ctx)
	if err != nil {
		return nil, err
	}
	h := &pb.UploadHeader{Sha256: recordtest.SHA256(data), Size: uint64(len(data)), Entry: entry}
	if err := st.Send(&pb.UploadArtifactRequest{Part: &pb.UploadArtifactRequest_Header{Header: h}}); err != nil {
		return nil, err
	}
	if err := st.Send(&pb.UploadArtifactRequest{Part: &pb.UploadArtifactRequest_Chunk{Chunk: data}}); err != nil {
		return st.CloseAndRecv()
	}
	return st.CloseAndRecv()
}

// TestParseBuildersSchemes reads allowlist lines of every form.
func TestParseBuildersSchemes(t *testing.T) {
	ed := recordtest.NewEd25519(t, 1)
	m := recordtest.NewMinisign(t, 3)
	vkey := testBuilder(t, "ci.example/ci").VKey
	files := map[string][]byte{"zsf.pub": []byte("untrusted comment: minisign public key\n" + m.Verifier.String() + "\n")}
	read := func(name string) ([]byte, error) {
		if b, ok := files[name]; ok {
			return b, nil
		}
		return nil, os.ErrNotExist
	}
	keys, err := log.ParseBuildersFrom([]byte(vkey+"\nbuilder rb ed25519 "+ed.Verifier.String()+" # rebuilder\nbuilder zsf minisign @zsf.pub\n"), read)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{vkey, "ed25519 " + ed.Verifier.String(), "minisign " + m.Verifier.String()}
	for _, k := range want {
		if !keys[k] {
			t.Errorf("key %q missing from %v", k, keys)
		}
	}
	if len(keys) != len(want) {
		t.Errorf("keys %v, want %v", keys, want)
	}
	for _, tc := range []struct{ text, words string }{
		{"builder zsf minisign @zsf.pub\n", "key files are read only"},
		{"builder a " + vkey + "\n" + vkey + "\n", "listed twice (first on line 1)"},
		{"builder rb ed25519 " + ed.Verifier.String() + "\nbuilder rb2 ed25519 " + ed.Verifier.String() + "\n", "line 2"},
		{"builder rb sha1 abc\n", "unknown scheme"},
		{"builder rb\n", "line 1"},
	} {
		if _, err := log.ParseBuilders([]byte(tc.text)); err == nil || !strings.Contains(err.Error(), tc.words) {
			t.Errorf("ParseBuilders(%q): %v, want an error naming %q", tc.text, err, tc.words)
		}
	}
}

// TestParseBuildersKeyFiles reads an allowlist's @<file> keys beside it,
// and refuses one outside its directory.
func TestParseBuildersKeyFiles(t *testing.T) {
	m := recordtest.NewMinisign(t, 3)
	dir := t.TempDir()
	path := filepath.Join(dir, "builders")
	if err := os.WriteFile(filepath.Join(dir, "zsf.pub"), []byte("untrusted comment: minisign public key\n"+m.Verifier.String()+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	keys, err := log.ParseBuildersFrom([]byte("builder zsf minisign @zsf.pub\n"), log.KeyFilesBeside(path))
	if err != nil || !keys["minisign "+m.Verifier.String()] {
		t.Fatalf("keys %v, %v", keys, err)
	}
	_, err = log.ParseBuildersFrom([]byte("builder zsf minisign @../zsf.pub\n"), log.KeyFilesBeside(path))
	if err == nil || !strings.Contains(err.Error(), "not a path inside the allowlist's directory") {
		t.Fatalf("a key file outside: %v", err)
	}
}
