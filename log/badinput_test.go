package log_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
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

// snapshot digests everything a request could change: every bucket of the
// store and every file of the archive.
func snapshot(t *testing.T, cl *claimLog) string {
	t.Helper()
	var lines []string
	err := cl.Store.View(func(tx *bolt.Tx) error {
		return tx.ForEach(func(name []byte, b *bolt.Bucket) error {
			h := sha256.New()
			b.ForEach(func(k, v []byte) error { h.Write(k); h.Write([]byte{0}); h.Write(v); h.Write([]byte{0}); return nil })
			lines = append(lines, string(name)+" "+hex.EncodeToString(h.Sum(nil)))
			return nil
		})
	})
	if err != nil {
		t.Fatal(err)
	}
	filepath.WalkDir(filepath.Join(cl.dir, "archive"), func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			b, _ := os.ReadFile(p)
			lines = append(lines, p+" "+sha(b))
		}
		return err
	})
	sort.Strings(lines)
	return strings.Join(lines, "\n")
}

func TestBadInput(t *testing.T) {
	alice, mallory := testBuilder(t, "alice.example/a"), testBuilder(t, "mallory.example/m")
	cl := newClaimLog(t, log.ServiceConfig{Builders: map[string]bool{alice.VKey: true}}, archive.Config{MaxSize: 1 << 20})
	ctx := context.Background()
	bin := []byte("a claimed binary")
	if _, err := cl.client.AddClaim(ctx, &pb.AddClaimRequest{Envelope: envelope(t, buildClaim(bin, "a"), alice)}); err != nil {
		t.Fatal(err)
	}
	// edited signs, by alice, the statement of a valid claim after edit.
	edited := func(edit func(st, dep map[string]any)) []byte {
		raw, err := claim.NewStatement(buildClaim(bin, "a"))
		if err != nil {
			t.Fatal(err)
		}
		var st map[string]any
		json.Unmarshal(raw, &st)
		bd := st["predicate"].(map[string]any)["buildDefinition"].(map[string]any)
		edit(st, bd["resolvedDependencies"].([]any)[0].(map[string]any))
		raw, _ = json.Marshal(st)
		e, err := claim.SignStatement(raw, alice)
		if err != nil {
			t.Fatal(err)
		}
		return e.Envelope()
	}
	subject := func(digest map[string]any) func(st, dep map[string]any) {
		return func(st, _ map[string]any) { st["subject"] = []any{map[string]any{"name": "hello", "digest": digest}} }
	}
	commit := func(c string) func(st, dep map[string]any) {
		return func(_, dep map[string]any) { dep["digest"] = map[string]any{"gitCommit": c} }
	}
	valid := envelope(t, buildClaim(bin, "a"), alice)
	validSt, _ := claim.NewStatement(buildClaim(bin, "a"))
	otherSig, _ := claim.Sign(alice.Signer, alice.VKey, claim.PayloadType, append(validSt, ' '))
	badSig := (&claim.Entry{PayloadType: claim.PayloadType, Payload: validSt, Signatures: []claim.Signature{otherSig}}).Envelope()
	bigClaim := buildClaim(bin, "a")
	for i := range 700 {
		bigClaim.Subjects = append(bigClaim.Subjects, claim.Subject{Name: "file" + strings.Repeat("x", 20) + string(rune('a'+i%26)) + hex.EncodeToString([]byte{byte(i), byte(i >> 8)}), SHA256: sha([]byte{byte(i), byte(i >> 8)})})
	}
	bigSt, _ := claim.NewStatement(bigClaim)
	bigEnv := (&claim.Entry{PayloadType: claim.PayloadType, Payload: bigSt, Signatures: []claim.Signature{{VKey: alice.VKey, Sig: make([]byte, 64)}}}).Envelope()
	addTests := []struct {
		desc     string
		envelope []byte
		code     codes.Code
		want     string // in the message
	}{
		{"malformed JSON", []byte(`{"payloadType":`), codes.InvalidArgument, "malformed DSSE envelope"},
		{"wrong payload type", bytes.Replace(valid, []byte("vnd.in-toto+json"), []byte("vnd.other+json"), 1), codes.InvalidArgument, "payloadType"},
		{"bad signature", badSig, codes.InvalidArgument, "signature does not verify"},
		{"key not on the allowlist", envelope(t, buildClaim(bin, "m"), mallory), codes.PermissionDenied, "allowlist"},
		{"missing commit", edited(func(_, dep map[string]any) { dep["digest"] = map[string]any{} }), codes.InvalidArgument, "gitCommit"},
		{"short commit", edited(commit("0123456")), codes.InvalidArgument, "gitCommit"},
		{"branch name as commit", edited(commit("main")), codes.InvalidArgument, "branch"},
		{"sha1 subject", edited(subject(map[string]any{"sha1": strings.Repeat("b", 40)})), codes.InvalidArgument, "sha1"},
		{"md5 subject", edited(subject(map[string]any{"md5": strings.Repeat("b", 32)})), codes.InvalidArgument, "md5"},
		{"no subject", edited(func(st, _ map[string]any) { st["subject"] = []any{} }), codes.InvalidArgument, "subject"},
		{"entry over 65,535 bytes", bigEnv, codes.InvalidArgument, "65535"},
	}

	before := snapshot(t, cl)
	for _, tt := range addTests {
		t.Run(tt.desc, func(t *testing.T) {
			_, err := cl.client.AddClaim(ctx, &pb.AddClaimRequest{Envelope: tt.envelope})
			if st := status.Convert(err); st.Code() != tt.code || !strings.Contains(st.Message(), tt.want) {
				t.Fatalf("AddClaim: %v; want %v naming %q", err, tt.code, tt.want)
			}
			if after := snapshot(t, cl); after != before {
				t.Fatalf("the store or archive changed:\n%s\nwant\n%s", after, before)
			}
		})
	}

	uploadTests := []struct {
		desc   string
		digest string
		size   int
		data   []byte
		code   codes.Code
		want   string
	}{
		{"wrong digest", sha(bin), len(bin), []byte("another binary!!"), codes.InvalidArgument, "digest"},
		{"truncated upload", sha(bin), len(bin), bin[:5], codes.InvalidArgument, "truncated"},
		{"upload over the limit", sha(bin), 2 << 20, bytes.Repeat(bin, (2<<20)/len(bin)+1)[:2<<20], codes.ResourceExhausted, "large"},
		{"unclaimed digest", sha([]byte("nobody claimed this")), 19, []byte("nobody claimed this"), codes.FailedPrecondition, "claim"},
		{"malformed digest", "xyz", 3, []byte("xyz"), codes.InvalidArgument, "xyz"},
	}
	for _, tt := range uploadTests {
		t.Run(tt.desc, func(t *testing.T) {
			st, err := cl.client.UploadArtifact(ctx)
			if err != nil {
				t.Fatal(err)
			}
			st.Send(&pb.UploadArtifactRequest{Part: &pb.UploadArtifactRequest_Header{Header: &pb.UploadHeader{Sha256: tt.digest, Size: uint64(tt.size)}}})
			for d := tt.data; len(d) > 0; d = d[min(len(d), 64<<10):] {
				if st.Send(&pb.UploadArtifactRequest{Part: &pb.UploadArtifactRequest_Chunk{Chunk: d[:min(len(d), 64<<10)]}}) != nil {
					break
				}
			}
			_, err = st.CloseAndRecv()
			if s := status.Convert(err); s.Code() != tt.code || !strings.Contains(s.Message(), tt.want) {
				t.Fatalf("UploadArtifact: %v; want %v naming %q", err, tt.code, tt.want)
			}
			if after := snapshot(t, cl); after != before {
				t.Fatalf("the store or archive changed:\n%s\nwant\n%s", after, before)
			}
		})
	}

	// A duplicate claim is not an error, and changes nothing either.
	t.Run("duplicate claim", func(t *testing.T) {
		r, err := cl.client.AddClaim(ctx, &pb.AddClaimRequest{Envelope: valid})
		if err != nil || !r.Duplicate || r.Claim.Index != 0 {
			t.Fatalf("AddClaim(duplicate): %v, %+v", err, r)
		}
		if after := snapshot(t, cl); after != before {
			t.Fatal("a duplicate claim changed the store")
		}
	})
}
