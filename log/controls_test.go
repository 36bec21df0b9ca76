package log_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/attestlog/attestlog/log"
	"github.com/attestlog/attestlog/log/archive"
	"github.com/attestlog/attestlog/log/claim"
	pb "github.com/attestlog/attestlog/proto/attestlog/v1"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// TestAddClaimRefusesControls checks that the log refuses claims whose names
// could drive a reader's terminal: a control or bidi character in a signer's
// key name, an artifact name or the source URI. Each claim is signed
// correctly, as a hostile builder would sign it.
func TestAddClaimRefusesControls(t *testing.T) {
	cl := newClaimLog(t, log.ServiceConfig{}, archive.Config{})
	alice := testBuilder(t, "alice.example/a")
	bin := []byte("a claimed binary")
	// signed returns the envelope of the claim of bin after edit, signed by key
	// without any check of the result, as a hostile builder's tool would make it.
	signed := func(key claim.Key, edit func(st map[string]any)) []byte {
		raw, err := claim.NewStatement(buildClaim(bin, "a"))
		if err != nil {
			t.Fatal(err)
		}
		var st map[string]any
		if err := json.Unmarshal(raw, &st); err != nil {
			t.Fatal(err)
		}
		edit(st)
		if raw, err = json.Marshal(st); err != nil {
			t.Fatal(err)
		}
		sig, err := claim.Sign(key.Signer, key.VKey, claim.PayloadType, raw)
		if err != nil {
			t.Fatal(err)
		}
		return (&claim.Entry{PayloadType: claim.PayloadType, Payload: raw, Signatures: []claim.Signature{sig}}).Envelope()
	}
	name := func(n string) func(map[string]any) {
		return func(st map[string]any) { st["subject"].([]any)[0].(map[string]any)["name"] = n }
	}
	uri := func(u string) func(map[string]any) {
		return func(st map[string]any) {
			bd := st["predicate"].(map[string]any)["buildDefinition"].(map[string]any)
			bd["resolvedDependencies"].([]any)[0].(map[string]any)["uri"] = u
		}
	}
	tests := []struct {
		desc     string
		envelope []byte
		want     string // in the message
	}{
		{"ESC in a key name", signed(testBuilder(t, "ci\x1b[2J\x1b[Hrelease.example"), name("hello")), "U+001B"},
		{"C1 in a key name", signed(testBuilder(t, "ci\u009b2Jrelease.example"), name("hello")), "U+009B"},
		{"bidi override in a key name", signed(testBuilder(t, "ci.\u202eelpmaxe"), name("hello")), "U+202E"},
		{"C1 in an artifact name", signed(alice, name("hello\u009b")), "U+009B"},
		{"bidi override in an artifact name", signed(alice, name("hello\u202ehs.exe")), "U+202E"},
		{"bidi override in a source path", signed(alice, uri("git+https://example.org/he\u202ello")), "U+202E"},
		{"escaped ESC in a source path", signed(alice, uri("git+https://example.org/he%1bllo")), "U+001B"},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			_, err := cl.client.AddClaim(context.Background(), &pb.AddClaimRequest{Envelope: tt.envelope})
			st := status.Convert(err)
			if st.Code() != codes.InvalidArgument || !strings.Contains(st.Message(), tt.want) {
				t.Fatalf("AddClaim: %v; want InvalidArgument naming %s", err, tt.want)
			}
			if strings.ContainsAny(st.Message(), "\x1b\u009b\u202e") {
				t.Fatalf("the refusal quotes the character raw: %q", st.Message())
			}
		})
	}
	if size := cl.Checkpoint().Size; size != 0 {
		t.Errorf("the log holds %d entries, want none", size)
	}
}
