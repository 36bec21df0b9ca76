package grpcsource_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/attestlog/attestlog/client"
	"github.com/attestlog/attestlog/client/grpcsource"
	"github.com/attestlog/attestlog/log"
	"github.com/attestlog/attestlog/log/archive"
	"github.com/attestlog/attestlog/log/claim"
	"github.com/attestlog/attestlog/log/logtest"
	pb "github.com/attestlog/attestlog/proto/attestlog/v1"
	"github.com/attestlog/attestlog/tiles"
	"github.com/attestlog/attestlog/witness"
	fnote "github.com/transparency-dev/formats/note"
	"golang.org/x/mod/sumdb/note"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
)

// testWitness is a real witness over HTTP on loopback that a test can take down.
type testWitness struct {
	vkey string // cosignature vkey
	srv  *httptest.Server
	down atomic.Bool
}

func newTestWitness(t *testing.T, name string, seed byte) *testWitness {
	t.Helper()
	skey, vkey := keys(t, name, seed)
	cv, err := fnote.VKeyToCosignatureV1(vkey)
	if err != nil {
		t.Fatal(err)
	}
	_, logVKey := logtest.Keys(logtest.Origin)
	w, err := witness.Open(filepath.Join(t.TempDir(), "witness.db"), witness.Config{Key: skey, Logs: []witness.Log{{Origin: logtest.Origin, Keys: []string{logVKey}}}})
	if err != nil {
		t.Fatal(err)
	}
	tw := &testWitness{vkey: cv}
	tw.srv = httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		if tw.down.Load() {
			http.Error(rw, "down", http.StatusServiceUnavailable)
			return
		}
		w.Handler().ServeHTTP(rw, r)
	}))
	t.Cleanup(func() { tw.srv.Close(); w.Close() })
	return tw
}

func keys(t testing.TB, name string, seed byte) (skey, vkey string) {
	t.Helper()
	skey, vkey, err := note.GenerateKey(bytes.NewReader(bytes.Repeat([]byte{seed}, 32)), name)
	if err != nil {
		t.Fatal(err)
	}
	return skey, vkey
}

func builder(t testing.TB, name string, seed byte) claim.Key {
	skey, vkey := keys(t, name, seed)
	s, err := note.NewSigner(skey)
	if err != nil {
		t.Fatal(err)
	}
	return claim.Key{Signer: s, VKey: vkey}
}

func sha(s string) string { h := sha256.Sum256([]byte(s)); return hex.EncodeToString(h[:]) }

func envelope(t testing.TB, artifact, digest string, keys ...claim.Key) []byte {
	t.Helper()
	c := &claim.Claim{
		Subjects: []claim.Subject{{Name: artifact, SHA256: digest}},
		Source:   "git+https://example.org/hello", SourceRef: "refs/tags/v1.0",
		Commit: "0123456789abcdef0123456789abcdef01234567", Recipe: sha("recipe"),
		Platform: "linux/amd64", BuilderID: "https://builders.example/" + keys[0].VKey[:3],
	}
	st, err := claim.NewStatement(c)
	if err != nil {
		t.Fatal(err)
	}
	e, err := claim.SignStatement(st, keys...)
	if err != nil {
		t.Fatal(err)
	}
	return e.Envelope()
}

// eventually polls cond for up to 20 s: witnessing runs on its own.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(20 * time.Second); !cond(); time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting until %s", what)
		}
	}
}

// TestSourceAgainstRealLog runs a real log with three witnesses, serves its
// gRPC API on loopback, and checks that Verify over gRPC and over a bundle
// made through gRPC reach the same verdict.
func TestSourceAgainstRealLog(t *testing.T) {
	if testing.Short() {
		t.Skip("runs a log with witnesses")
	}
	ctx := context.Background()
	ws := []*testWitness{newTestWitness(t, "w1.example", 10), newTestWitness(t, "w2.example", 11), newTestWitness(t, "w3.example", 12)}
	for _, w := range ws {
		w.down.Store(true)
	}
	_, logVKey := logtest.Keys(logtest.Origin)
	witnessLines := ""
	for i, w := range ws {
		witnessLines += fmt.Sprintf("witness w%d %s %s/\n", i+1, w.vkey, w.srv.URL)
	}
	logPolicy, err := tiles.ParsePolicy([]byte("log " + logVKey + "\n" + witnessLines + "group q 2 w1 w2 w3\nquorum q\n"))
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	l := logtest.New(t, dir, log.Config{Indexer: log.ClaimIndex{}, Witnesses: logPolicy, WitnessInterval: 5 * time.Millisecond})
	a, err := archive.Open(filepath.Join(dir, "archive"), archive.Config{})
	if err != nil {
		t.Fatal(err)
	}
	svc, err := log.NewService(l.Log, a, log.ServiceConfig{})
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := grpc.NewServer()
	pb.RegisterLogServiceServer(srv, svc)
	go srv.Serve(ln)
	t.Cleanup(srv.Stop)
	conn, err := grpc.NewClient(ln.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	lc := pb.NewLogServiceClient(conn)
	src := grpcsource.New(conn)

	ci, alice, bob, carol, mallory := builder(t, "ci.example", 20), builder(t, "alice.example", 21), builder(t, "bob.example", 22), builder(t, "carol.example", 23), builder(t, "mallory.example", 24)
	policy, err := client.ParsePolicy([]byte("log " + logVKey + "\n" + witnessLines + "group q 2 w1 w2 w3\nquorum q\n" +
		"builder ci " + ci.VKey + "\nbuilder alice " + alice.VKey + "\nbuilder bob " + bob.VKey + "\nbuilder carol " + carol.VKey + "\n" +
		"builders rebuilders 2 alice bob carol\nbuilders release all ci rebuilders\nagree release\n"))
	if err != nil {
		t.Fatal(err)
	}
	good, evil := sha("good"), sha("evil")
	add := func(env []byte) int64 {
		resp, err := lc.AddClaim(ctx, &pb.AddClaimRequest{Envelope: env})
		if err != nil {
			t.Fatal(err)
		}
		return int64(resp.GetClaim().GetIndex())
	}
	for _, env := range [][]byte{
		envelope(t, "hello", good, ci), envelope(t, "hello", good, alice, mallory), envelope(t, "other", sha("o"), bob),
		envelope(t, "hello", evil, carol), envelope(t, "hello", good, bob),
	} {
		add(env)
	}

	// No witnessed checkpoint yet: fail closed.
	if _, err := client.Verify(ctx, policy, src, good, client.VerifyOptions{}); !errors.Is(err, grpcsource.ErrNotWitnessed) {
		t.Fatalf("Verify before any witnessed checkpoint = %v, want ErrNotWitnessed", err)
	}

	for _, w := range ws {
		w.down.Store(false)
	}
	witnessedSize := func() int64 {
		resp, err := lc.GetCheckpoint(ctx, &pb.GetCheckpointRequest{})
		if err != nil || len(resp.GetWitnessedCheckpoint()) == 0 {
			return -1
		}
		vc, err := policy.TLog.VerifyCheckpoint(resp.GetWitnessedCheckpoint())
		if err != nil {
			t.Fatalf("the log's witnessed checkpoint fails the policy: %v", err)
		}
		return vc.Size
	}
	eventually(t, "size 5 is witnessed", func() bool { return witnessedSize() == 5 })

	st, err := client.OpenState(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	online, err := client.Verify(ctx, policy, src, good, client.VerifyOptions{State: st, MaxAge: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	if got := online.ExitCode(); got != client.ExitConflict || len(online.Agreed) != 3 || online.Disagreed[0].Builder != "carol" ||
		online.Disagreed[0].Claim != 3 || len(online.Ignored) != 1 || online.Checkpoint.Size != 5 {
		t.Fatalf("verdict over gRPC: exit code %d\n%s", got, verdictJSON(t, online))
	}
	b, err := client.NewBundle(ctx, src, good)
	if err != nil {
		t.Fatal(err)
	}
	data, err := b.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	parsed, err := client.ParseBundle(data)
	if err != nil {
		t.Fatal(err)
	}
	offline, err := client.Verify(ctx, policy, client.BundleSource{Bundle: parsed}, good, client.VerifyOptions{MaxAge: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	if a, b := verdictJSON(t, online), verdictJSON(t, offline); a != b {
		t.Fatalf("verdict over gRPC:\n%s\nfrom a bundle:\n%s", a, b)
	}

	// With two witnesses down, new claims are logged but not witnessed:
	// they do not vote, and the lookups' proofs against the latest
	// checkpoint are replaced by proofs against the witnessed one.
	ws[1].down.Store(true)
	ws[2].down.Store(true)
	late := add(envelope(t, "hello", good, carol))
	add(envelope(t, "hello", good, ci, bob)) // a new entry: the same claim by ci alone is a duplicate
	v, err := client.Verify(ctx, policy, src, good, client.VerifyOptions{State: st})
	if err != nil {
		t.Fatal(err)
	}
	if v.Checkpoint.Size != 5 || !slices.Equal(v.Unwitnessed, []int64{late, late + 1}) || len(v.Problems) != 0 || v.ExitCode() != client.ExitConflict {
		t.Fatalf("verdict with unwitnessed claims:\n%s", verdictJSON(t, v))
	}

	// Witnessed again: the state moves on with a consistency proof over gRPC.
	ws[1].down.Store(false)
	eventually(t, "size 7 is witnessed", func() bool { return witnessedSize() == 7 })
	v, err = client.Verify(ctx, policy, src, good, client.VerifyOptions{State: st})
	if err != nil {
		t.Fatal(err)
	}
	if v.Checkpoint.Size != 7 || len(v.Unwitnessed) != 0 || len(v.Problems) != 0 || v.ExitCode() != client.ExitConflict {
		t.Fatalf("verdict at size 7:\n%s", verdictJSON(t, v))
	}
	if msg, err := st.Checkpoint(logtest.Origin); err != nil || !bytes.Contains(msg, []byte("\n7\n")) {
		t.Fatalf("remembered checkpoint %q, %v; want size 7", msg, err)
	}
	if len(v.Agreed) != 4 {
		t.Fatalf("agreed %+v, want all four builders", v.Agreed)
	}
}

func verdictJSON(t *testing.T, v *client.Verdict) string {
	t.Helper()
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
