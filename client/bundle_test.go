package client_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/attestlog/attestlog/client"
	"github.com/transparency-dev/formats/proof"
)

// bundleLog is a log with claims naming good, a conflict, an unrelated
// build and an untrusted signer.
func bundleLog(t testing.TB, w *world) *fakeLog {
	l := &fakeLog{w: w}
	l.append(t,
		w.claimEntry(t, "hello", good, "linux/amd64", "ci-a"),             // 0
		w.claimEntry(t, "unrelated", sha("u"), "linux/amd64", "alice"),    // 1: same build, another artifact
		w.claimEntry(t, "hello", good, "linux/amd64", "alice", "mallory"), // 2
		w.claimEntry(t, "hello", sha("arm"), "linux/arm64", "bob"),        // 3: another platform
		w.claimEntry(t, "hello", good, "linux/amd64", "bob"),              // 4
		w.claimEntry(t, "hello", evil, "linux/amd64", "carol"),            // 5: conflict
		w.claimEntry(t, "hello", good, "linux/amd64", "ci-b"),             // 6
		w.claimEntry(t, "hello", good, "linux/arm64", "ci-a"),             // 7: the same digest for arm64
		w.claimEntry(t, "hello", sha("arm2"), "linux/arm64", "carol"),     // 8: conflict on arm64
	)
	return l
}

func indexes(claims []client.ProvenClaim) []int64 {
	var out []int64
	for _, pc := range claims {
		out = append(out, pc.Index)
	}
	return out
}

func verdictJSON(t *testing.T, v *client.Verdict) string {
	t.Helper()
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestBundleRoundTrip(t *testing.T) {
	w := newWorld(t)
	p := w.policy(t)
	l := bundleLog(t, w)
	src := &fakeSource{t: t, log: l, checkpoint: l.note(t, int64(len(l.entries)), 1, 2)}
	ctx := context.Background()
	b, err := client.NewBundle(ctx, src, good)
	if err != nil {
		t.Fatal(err)
	}
	if got := indexes(b.Claims); !slices.Equal(got, []int64{0, 2, 4, 6, 7}) {
		t.Errorf("claims %v", got)
	}
	if got := indexes(b.SourceClaims); !slices.Equal(got, []int64{1, 3, 5, 8}) {
		t.Errorf("source claims %v", got)
	}
	data, err := b.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	parsed, err := client.ParseBundle(data)
	if err != nil {
		t.Fatalf("ParseBundle(Marshal()) = %v\n%s", err, data)
	}
	again, err := parsed.Marshal()
	if err != nil || !bytes.Equal(again, data) {
		t.Fatalf("Marshal(ParseBundle(b)) differs: %v\n%s\n%s", err, data, again)
	}

	// Each proof is a c2sp.org/tlog-proof of its own.
	var j struct {
		Claims []struct {
			Entry []byte
			Proof string
		}
	}
	if err := json.Unmarshal(data, &j); err != nil {
		t.Fatal(err)
	}
	for i, c := range j.Claims {
		var tp proof.TLogProof
		if err := tp.Unmarshal([]byte(c.Proof)); err != nil || !bytes.Equal(tp.Checkpoint, b.Checkpoint) || int64(tp.Index) != b.Claims[i].Index {
			t.Errorf("claims[%d].proof: %v, %+v", i, err, tp)
		}
	}

	online, err := client.Verify(ctx, p, src, good, client.VerifyOptions{})
	if err != nil {
		t.Fatal(err)
	}
	offline, err := client.Verify(ctx, p, client.BundleSource{Bundle: parsed}, good, client.VerifyOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if a, b := verdictJSON(t, online), verdictJSON(t, offline); a != b {
		t.Fatalf("verdict online:\n%s\noffline:\n%s", a, b)
	}
	checkVerdict(t, offline, verifyCase{wantCode: client.ExitConflict, wantAgreed: "ci alice bob", wantDisagreed: "bob carol carol", wantIgnored: "mallory.example"})
}

func TestBundleOffline(t *testing.T) {
	w := newWorld(t)
	p := w.policy(t)
	l := bundleLog(t, w)
	size := int64(len(l.entries))
	src := &fakeSource{t: t, log: l, checkpoint: l.note(t, 7, 1, 2)}
	ctx := context.Background()
	b, err := client.NewBundle(ctx, src, good)
	if err != nil {
		t.Fatal(err)
	}
	bs := client.BundleSource{Bundle: b}

	if _, err := client.Verify(ctx, p, bs, evil, client.VerifyOptions{}); !errors.Is(err, client.ErrNotInBundle) {
		t.Errorf("Verify(another digest) = %v, want ErrNotInBundle", err)
	}

	for _, remembered := range []int64{4, size} {
		st, err := client.OpenState(t.TempDir())
		if err != nil {
			t.Fatal(err)
		}
		remember(t, p, st, l, remembered)
		v, err := client.Verify(ctx, p, bs, good, client.VerifyOptions{State: st})
		if err != nil {
			t.Fatal(err)
		}
		checkVerdict(t, v, verifyCase{wantCode: client.ExitNoQuorum | client.ExitVerifyErr, wantSilent: "ci alice bob carol", wantProblems: "consistency"})
		if !strings.Contains(v.Problems[0].Err, "not in the bundle") {
			t.Errorf("problem %+v", v.Problems[0])
		}

		if err := b.AddConsistencyProof(ctx, src, remembered); err != nil {
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
		v, err = client.Verify(ctx, p, client.BundleSource{Bundle: parsed}, good, client.VerifyOptions{State: st})
		if err != nil {
			t.Fatal(err)
		}
		checkVerdict(t, v, verifyCase{wantCode: client.ExitConflict, wantAgreed: "ci alice bob", wantDisagreed: "carol", wantIgnored: "mallory.example"})
		if got := rememberedSize(t, st); got != max(remembered, 7) {
			t.Errorf("remembered size %d, want %d", got, max(remembered, 7))
		}
	}
	if len(b.Consistency) != 2 || b.Consistency[0].OldSize != 4 || b.Consistency[1].NewSize != size {
		t.Errorf("consistency proofs %+v", b.Consistency)
	}
}

func TestBundleTampered(t *testing.T) {
	w := newWorld(t)
	p := w.policy(t)
	l := bundleLog(t, w)
	src := &fakeSource{t: t, log: l, checkpoint: l.note(t, int64(len(l.entries)), 1, 2)}
	ctx := context.Background()
	b, err := client.NewBundle(ctx, src, good)
	if err != nil {
		t.Fatal(err)
	}
	b.Claims[2].Entry = bytes.Replace(b.Claims[2].Entry, []byte("linux/amd64"), []byte("linux/amd65"), 1) // bob's
	b.SourceClaims = slices.DeleteFunc(b.SourceClaims, func(pc client.ProvenClaim) bool { return pc.Index == 5 })
	b.SourceClaims[0].Proof[0][0] ^= 1 // the unrelated claim 1
	v, err := client.Verify(ctx, p, client.BundleSource{Bundle: b}, good, client.VerifyOptions{})
	if err != nil {
		t.Fatal(err)
	}
	// Leaving out carol's conflicting claim (5) is seen offline: the
	// bundle's index proof lists it for the build. So is bob's claim (4),
	// which no longer parses as a claim about the build. The tampered
	// entry and proof fail their inclusion proofs.
	checkVerdict(t, v, verifyCase{wantCode: client.ExitNoQuorum | client.ExitVerifyErr | client.ExitConflict,
		wantAgreed: "ci alice", wantDisagreed: "bob carol", wantIgnored: "mallory.example",
		wantProblems: "inclusion proof@4 inclusion proof@1 hidden claim@4 hidden claim@5"})
	for _, pr := range v.Problems {
		if pr.What == "hidden claim" && *pr.Index == 5 && !strings.Contains(pr.Err, "left out the claim at index 5") {
			t.Errorf("hidden claim problem %q does not name the claim", pr.Err)
		}
	}

	// A bundle without its index section proves nothing complete.
	b.Index = nil
	if v, err = client.Verify(ctx, p, client.BundleSource{Bundle: b}, good, client.VerifyOptions{}); err != nil {
		t.Fatal(err)
	}
	checkVerdict(t, v, verifyCase{wantCode: client.ExitNoQuorum | client.ExitVerifyErr | client.ExitConflict,
		wantAgreed: "ci alice", wantDisagreed: "bob carol", wantIgnored: "mallory.example",
		wantProblems: "inclusion proof@4 index proof inclusion proof@1 index proof index proof"})
}

func TestParseBundleErrors(t *testing.T) {
	w := newWorld(t)
	l := bundleLog(t, w)
	src := &fakeSource{t: t, log: l, checkpoint: l.note(t, int64(len(l.entries)), 1, 2)}
	b, err := client.NewBundle(context.Background(), src, good)
	if err != nil {
		t.Fatal(err)
	}
	noConsistency, err := b.Marshal()
	if err != nil || !bytes.Contains(noConsistency, []byte(`"consistency": []`)) {
		t.Fatalf("Marshal = %s, %v", noConsistency, err)
	}
	if err := b.AddConsistencyProof(context.Background(), src, 3); err != nil {
		t.Fatal(err)
	}
	data, err := b.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := client.ParseBundle(data); err != nil {
		t.Fatal(err)
	}
	replace := func(old, new string) []byte {
		if !bytes.Contains(data, []byte(old)) {
			t.Fatalf("bundle lacks %q", old)
		}
		return bytes.Replace(data, []byte(old), []byte(new), 1)
	}
	other := *b
	other.Claims = slices.Clone(b.Claims)
	other.Claims[0], other.Claims[1] = other.Claims[1], other.Claims[0]
	tests := []struct {
		desc string
		data []byte
	}{
		{"empty", nil},
		{"another format", replace(client.BundleFormat, "attestlog.dev/bundle/v2")},
		{"unknown field", replace(`"sha256"`, `"extra": 1,`+"\n  "+`"sha256"`)},
		{"upper-case digest", replace(good, strings.ToUpper(good))},
		{"prefixed digest", replace(good, "sha256:"+good)},
		{"indent", replace("\n  \"sha256\"", "\n   \"sha256\"")},
		{"no final newline", bytes.TrimSuffix(data, []byte("\n"))},
		{"trailing data", append(bytes.Clone(data), "{}\n"...)},
		{"escaped HTML", replace("—", `\u2014`)},
		{"null list", bytes.Replace(noConsistency, []byte(`"consistency": []`), []byte(`"consistency": null`), 1)},
		{"proof index past the tree", replace("index 8\\n", "index 9\\n")},
		{"claims out of order", func() []byte {
			var j map[string]any
			json.Unmarshal(data, &j)
			c := j["claims"].([]any)
			c[0], c[1] = c[1], c[0]
			out, _ := json.MarshalIndent(j, "", "  ")
			return append(out, '\n')
		}()},
		{"proof with extra data", replace("c2sp.org/tlog-proof@v1\\nindex", "c2sp.org/tlog-proof@v1\\nextra AAAA\\nindex")},
		{"proof with CRLF", replace("c2sp.org/tlog-proof@v1\\nindex", "c2sp.org/tlog-proof@v1\\r\\nindex")},
		{"proof against another checkpoint", replace("\\n\\nexample.test/attestlog\\n9\\n", "\\n\\nexample.test/attestlog\\n8\\n")},
		{"consistency proof not touching the checkpoint", replace(`"new_size": 9`, `"new_size": 8`)},
		{"entry not base64", replace(`"entry": "`, `"entry": "!`)},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			_, err := client.ParseBundle(tt.data)
			if !errors.Is(err, client.ErrMalformedBundle) {
				t.Fatalf("ParseBundle = %v, want ErrMalformedBundle", err)
			}
		})
	}
	if _, err := other.Marshal(); !errors.Is(err, client.ErrMalformedBundle) {
		t.Errorf("Marshal of claims out of order = %v", err)
	}
}

func FuzzParseBundle(f *testing.F) {
	w := newWorld(f)
	p := w.policy(f)
	l := bundleLog(f, w)
	src := &fakeSource{t: f, log: l, checkpoint: l.note(f, 5, 1, 2)}
	for _, d := range []string{good, evil} {
		b, err := client.NewBundle(context.Background(), src, d)
		if err != nil {
			f.Fatal(err)
		}
		if err := b.AddConsistencyProof(context.Background(), src, 2); err != nil {
			f.Fatal(err)
		}
		data, err := b.Marshal()
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		b, err := client.ParseBundle(data)
		if err != nil {
			return
		}
		again, err := b.Marshal()
		if err != nil || !bytes.Equal(again, data) {
			t.Fatalf("ParseBundle(%q).Marshal() = %q, %v", data, again, err)
		}
		// Verifying a parsed bundle never panics, whatever it holds.
		client.Verify(context.Background(), p, client.BundleSource{Bundle: b}, b.Digest, client.VerifyOptions{})
	})
}
