package client_test

import (
	"context"
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/attestlog/attestlog/client"
	"github.com/attestlog/attestlog/log/claim"
	"golang.org/x/mod/sumdb/tlog"
)

var (
	good = sha("good binary")
	evil = sha("evil binary")
)

// An entrySpec is a claim to append: artifact has digest, for platform.
type entrySpec struct {
	artifact, digest, platform string
	signers                    []string
	badSignature               bool
	// commit, if set, makes this an index commitment to every entry before it.
	commit bool
}

func e(digest string, signers ...string) entrySpec {
	return entrySpec{artifact: "hello", digest: digest, platform: "linux/amd64", signers: signers}
}

// verifyCase is one scenario of TestVerify.
type verifyCase struct {
	desc      string
	entries   []entrySpec
	size      int64 // checkpoint size; 0 means all entries
	witnesses []int // nil means w1 and w2
	source    func(*fakeSource)
	opts      func(*client.VerifyOptions)

	wantCode      int
	wantAgreed    string // builder names, space-separated
	wantSilent    string
	wantDisagreed string
	wantIgnored   string // key names
	wantProblems  string // Problem.What, with index: "inclusion proof@2"
	check         func(*testing.T, *client.Verdict)
}

// build appends the entries of tc to a new log and returns a source for it.
func (w *world) build(t *testing.T, entries []entrySpec, size int64, witnesses []int) *fakeSource {
	t.Helper()
	l := &fakeLog{w: w}
	for _, es := range entries {
		if es.commit {
			l.commit(t, int64(len(l.entries)))
			continue
		}
		b := w.claimEntry(t, es.artifact, es.digest, es.platform, es.signers...)
		if es.badSignature {
			ent, err := claim.ParseEntry(b)
			if err != nil {
				t.Fatal(err)
			}
			ent.Signatures[0].Sig[5] ^= 1
			b = ent.Marshal()
		}
		l.append(t, b)
	}
	if size == 0 {
		size = int64(len(l.entries))
	}
	if witnesses == nil {
		witnesses = []int{1, 2}
	}
	return &fakeSource{t: t, log: l, checkpoint: l.note(t, size, witnesses...)}
}

func TestVerify(t *testing.T) {
	w := newWorld(t)
	p := w.policy(t)
	flip := func(index int64, proof bool) func(*client.Lookup) {
		return func(lk *client.Lookup) {
			for i := range lk.Claims {
				if lk.Claims[i].Index != index {
					continue
				}
				if proof {
					lk.Claims[i].Proof[0][3] ^= 1
				} else {
					lk.Claims[i].Entry = []byte(strings.Replace(string(lk.Claims[i].Entry), "hello", "hellp", 1))
				}
			}
		}
	}
	tests := []verifyCase{
		{desc: "quorum met", entries: []entrySpec{e(good, "ci-a"), e(good, "alice"), e(good, "bob")},
			wantAgreed: "ci alice bob", wantSilent: "carol",
			check: func(t *testing.T, v *client.Verdict) {
				if v.Checkpoint == nil || v.Checkpoint.Size != 3 || v.Checkpoint.Origin != testOrigin || len(v.Checkpoint.Witnesses) != 2 ||
					v.Checkpoint.Witnesses[0].Witness != "w1" || v.Checkpoint.Witnesses[0].Time.IsZero() {
					t.Errorf("checkpoint %+v", v.Checkpoint)
				}
				if !slices.Equal(v.Agreed[1].Claims, []int64{1}) || !slices.Equal(v.Agreed[1].Keys, []string{"alice.example"}) {
					t.Errorf("alice's vote %+v", v.Agreed[1])
				}
			}},
		{desc: "one rebuilder silent", entries: []entrySpec{e(good, "ci-a"), e(good, "alice")},
			wantCode: client.ExitNoQuorum, wantAgreed: "ci alice", wantSilent: "bob carol"},
		{desc: "required builder silent", entries: []entrySpec{e(good, "alice"), e(good, "bob"), e(good, "carol")},
			wantCode: client.ExitNoQuorum, wantAgreed: "alice bob carol", wantSilent: "ci"},
		{desc: "trusted builder conflicts", entries: []entrySpec{e(good, "ci-a"), e(good, "alice"), e(good, "bob"), e(evil, "carol")},
			wantCode: client.ExitConflict, wantAgreed: "ci alice bob", wantDisagreed: "carol",
			check: func(t *testing.T, v *client.Verdict) {
				want := client.Conflict{Builder: "carol", Key: "carol.example", Claim: 3, SHA256: evil,
					Identity: client.Identity{Source: testSource, Commit: testCommit, Platform: "linux/amd64", Artifact: "hello"}}
				if v.Disagreed[0] != want {
					t.Errorf("conflict %+v, want %+v", v.Disagreed[0], want)
				}
			}},
		{desc: "conflict found before the agreeing claims", entries: []entrySpec{e(evil, "carol"), e(good, "ci-a"), e(good, "alice"), e(good, "bob")},
			wantCode: client.ExitConflict, wantAgreed: "ci alice bob", wantDisagreed: "carol"},
		{desc: "builder claiming both digests", entries: []entrySpec{e(good, "ci-a"), e(good, "alice"), e(good, "bob"), e(evil, "ci-b")},
			wantCode: client.ExitConflict, wantAgreed: "ci alice bob", wantDisagreed: "ci", wantSilent: "carol"},
		{desc: "another digest for another platform is no conflict",
			entries:    []entrySpec{e(good, "ci-a"), e(good, "alice"), e(good, "bob"), {artifact: "hello", digest: evil, platform: "linux/arm64", signers: []string{"carol"}}},
			wantAgreed: "ci alice bob", wantSilent: "carol"},
		{desc: "another digest for another artifact is no conflict",
			entries:    []entrySpec{e(good, "ci-a"), e(good, "alice"), e(good, "bob"), {artifact: "hello.sig", digest: evil, platform: "linux/amd64", signers: []string{"carol"}}},
			wantAgreed: "ci alice bob", wantSilent: "carol"},
		{desc: "untrusted builder ignored", entries: []entrySpec{e(good, "ci-a"), e(good, "alice"), e(good, "mallory")},
			wantCode: client.ExitNoQuorum, wantAgreed: "ci alice", wantSilent: "bob carol", wantIgnored: "mallory.example"},
		{desc: "untrusted conflict ignored", entries: []entrySpec{e(good, "ci-a"), e(good, "alice"), e(good, "bob"), e(evil, "mallory")},
			wantAgreed: "ci alice bob", wantSilent: "carol"},
		{desc: "untrusted claim of another build drags in no conflict",
			entries: []entrySpec{e(good, "ci-a"), e(good, "alice"), e(good, "bob"),
				{artifact: "tool", digest: good, platform: "linux/amd64", signers: []string{"mallory"}},
				{artifact: "tool", digest: evil, platform: "linux/amd64", signers: []string{"carol"}}},
			wantAgreed: "ci alice bob", wantSilent: "carol", wantIgnored: "mallory.example"},
		{desc: "two keys of one identity counted once", entries: []entrySpec{e(good, "ci-a"), e(good, "ci-b"), e(good, "alice")},
			wantCode: client.ExitNoQuorum, wantAgreed: "ci alice", wantSilent: "bob carol",
			check: func(t *testing.T, v *client.Verdict) {
				if !slices.Equal(v.Agreed[0].Keys, []string{"ci-a.example", "ci-b.example"}) || !slices.Equal(v.Agreed[0].Claims, []int64{0, 1}) {
					t.Errorf("ci's vote %+v", v.Agreed[0])
				}
				if g := v.Groups[2]; g.Name != "cipair" || g.Agreed != 1 || g.Met {
					t.Errorf("group cipair %+v, want 1 agreed, not met", g)
				}
			}},
		{desc: "co-signed claim votes for each trusted signer", entries: []entrySpec{e(good, "ci-a", "alice", "bob", "mallory")},
			wantAgreed: "ci alice bob", wantSilent: "carol", wantIgnored: "mallory.example"},
		{desc: "no claims", entries: []entrySpec{e(evil, "ci-a")},
			wantCode: client.ExitNoClaims | client.ExitNoQuorum, wantSilent: "ci alice bob carol"},
		{desc: "witness quorum missing", entries: []entrySpec{e(good, "ci-a"), e(good, "alice"), e(good, "bob")}, witnesses: []int{3},
			wantCode: client.ExitNoQuorum | client.ExitVerifyErr, wantSilent: "ci alice bob carol", wantProblems: "checkpoint",
			check: func(t *testing.T, v *client.Verdict) {
				if v.Checkpoint == nil || len(v.Checkpoint.Witnesses) != 1 || v.Checkpoint.Witnesses[0].Witness != "w3" {
					t.Errorf("checkpoint %+v, want the one cosignature by w3 reported", v.Checkpoint)
				}
			}},
		{desc: "checkpoint not signed by the log", entries: []entrySpec{e(good, "ci-a")},
			source:   func(s *fakeSource) { s.checkpoint = []byte(strings.Replace(string(s.checkpoint), "\n1\n", "\n2\n", 1)) },
			wantCode: client.ExitNoQuorum | client.ExitVerifyErr, wantSilent: "ci alice bob carol", wantProblems: "checkpoint",
			check: func(t *testing.T, v *client.Verdict) {
				if v.Checkpoint != nil {
					t.Errorf("checkpoint %+v reported", v.Checkpoint)
				}
			}},
		{desc: "tampered entry", entries: []entrySpec{e(good, "ci-a"), e(good, "alice"), e(good, "bob")},
			source:   func(s *fakeSource) { s.tamperDigest = flip(2, false) },
			wantCode: client.ExitNoQuorum | client.ExitVerifyErr, wantAgreed: "ci alice", wantSilent: "bob carol", wantProblems: "inclusion proof@2 lookup@2"},
		{desc: "tampered proof", entries: []entrySpec{e(good, "ci-a"), e(good, "alice"), e(good, "bob")},
			source:   func(s *fakeSource) { s.tamper = flip(1, true) },
			wantCode: client.ExitNoQuorum | client.ExitVerifyErr, wantAgreed: "ci bob", wantSilent: "alice carol", wantProblems: "inclusion proof@1"},
		{desc: "logged claim with a bad signature", entries: []entrySpec{e(good, "ci-a"), e(good, "alice"), {artifact: "hello", digest: good, platform: "linux/amd64", signers: []string{"bob"}, badSignature: true}},
			wantCode: client.ExitNoQuorum | client.ExitVerifyErr, wantAgreed: "ci alice", wantSilent: "bob carol", wantProblems: "signature@2"},
		{desc: "lookup returns a claim not naming the digest", entries: []entrySpec{e(good, "ci-a"), e(good, "alice"), e(good, "bob"), e(evil, "mallory")},
			source: func(s *fakeSource) {
				s.tamperDigest = func(lk *client.Lookup) {
					lk.Claims = append(lk.Claims, client.ProvenClaim{Index: 3, Entry: s.log.entries[3], Proof: proveRecord(t, s.log, 4, 3)})
				}
			},
			wantCode: client.ExitVerifyErr, wantAgreed: "ci alice bob", wantSilent: "carol", wantProblems: "lookup@3"},
		{desc: "lookup by digest leaves out a claim", entries: []entrySpec{e(good, "ci-a"), e(good, "alice"), e(good, "bob")},
			source: func(s *fakeSource) {
				s.tamperDigest = func(lk *client.Lookup) { lk.Claims = lk.Claims[:2] }
			},
			wantCode: client.ExitNoQuorum | client.ExitVerifyErr, wantAgreed: "ci alice", wantSilent: "bob carol", wantProblems: "hidden claim@2 lookup@2"},
		{desc: "lookup by source hides a claim the lookup by digest returned", entries: []entrySpec{e(good, "ci-a"), e(good, "alice"), e(good, "bob")},
			source: func(s *fakeSource) {
				s.tamperSource = func(lk *client.Lookup) {
					lk.Claims = slices.DeleteFunc(lk.Claims, func(pc client.ProvenClaim) bool { return pc.Index == 2 })
				}
			},
			wantCode: client.ExitVerifyErr, wantAgreed: "ci alice bob", wantSilent: "carol", wantProblems: "hidden claim@2 hidden claim@2"},
		{desc: "lookup returns an index twice", entries: []entrySpec{e(good, "ci-a"), e(good, "alice"), e(good, "bob")},
			source: func(s *fakeSource) {
				s.tamperDigest = func(lk *client.Lookup) { lk.Claims = append(lk.Claims, lk.Claims[0]) }
			},
			wantCode: client.ExitVerifyErr, wantAgreed: "ci alice bob", wantSilent: "carol", wantProblems: "lookup@0"},
		{desc: "unwitnessed claim does not vote", entries: []entrySpec{e(good, "ci-a"), e(good, "alice"), e(good, "bob")}, size: 2,
			source:   func(s *fakeSource) { s.unwitnessed = 3 },
			wantCode: client.ExitNoQuorum, wantAgreed: "ci alice", wantSilent: "bob carol",
			check: func(t *testing.T, v *client.Verdict) {
				if !slices.Equal(v.Unwitnessed, []int64{2}) {
					t.Errorf("unwitnessed %v, want [2]", v.Unwitnessed)
				}
			}},
		{desc: "fresh checkpoint", entries: []entrySpec{e(good, "ci-a"), e(good, "alice"), e(good, "bob")},
			opts:       func(o *client.VerifyOptions) { o.MaxAge = time.Hour },
			wantAgreed: "ci alice bob", wantSilent: "carol"},
		{desc: "stale checkpoint", entries: []entrySpec{e(good, "ci-a"), e(good, "alice"), e(good, "bob")},
			opts: func(o *client.VerifyOptions) {
				o.MaxAge = time.Hour
				o.Now = func() time.Time { return time.Now().Add(2 * time.Hour) }
			},
			wantCode: client.ExitNoQuorum | client.ExitVerifyErr, wantSilent: "ci alice bob carol", wantProblems: "freshness"},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			src := w.build(t, tt.entries, tt.size, tt.witnesses)
			if tt.source != nil {
				tt.source(src)
			}
			var opts client.VerifyOptions
			if tt.opts != nil {
				tt.opts(&opts)
			}
			v, err := client.Verify(context.Background(), p, src, good, opts)
			if err != nil {
				t.Fatalf("Verify: %v", err)
			}
			checkVerdict(t, v, tt)
		})
	}
}

func checkVerdict(t *testing.T, v *client.Verdict, tt verifyCase) {
	t.Helper()
	var agreed, disagreed, ignored, problems []string
	for _, a := range v.Agreed {
		agreed = append(agreed, a.Builder)
	}
	for _, d := range v.Disagreed {
		disagreed = append(disagreed, d.Builder)
	}
	for _, ig := range v.Ignored {
		ignored = append(ignored, keyNameOf(ig.VKey))
	}
	for _, p := range v.Problems {
		s := p.What
		if p.Index != nil {
			s += "@" + itoa(*p.Index)
		}
		problems = append(problems, s)
	}
	for _, c := range []struct {
		what      string
		got, want string
	}{
		{"agreed", strings.Join(agreed, " "), tt.wantAgreed},
		{"silent", strings.Join(v.Silent, " "), tt.wantSilent},
		{"disagreed", strings.Join(disagreed, " "), tt.wantDisagreed},
		{"ignored", strings.Join(ignored, " "), tt.wantIgnored},
		{"problems", strings.Join(problems, " "), tt.wantProblems},
	} {
		if c.got != c.want {
			t.Errorf("%s: %q, want %q", c.what, c.got, c.want)
		}
	}
	if got := v.ExitCode(); got != tt.wantCode {
		j, _ := json.MarshalIndent(v, "", "  ")
		t.Errorf("ExitCode() = %d, want %d; verdict:\n%s", got, tt.wantCode, j)
	}
	if tt.check != nil {
		tt.check(t, v)
	}
}

func keyNameOf(vkey string) string { name, _, _ := strings.Cut(vkey, "+"); return name }

func itoa(i int64) string { b, _ := json.Marshal(i); return string(b) }

func proveRecord(t testing.TB, l *fakeLog, size, index int64) []tlog.Hash {
	t.Helper()
	p, err := tlog.ProveRecord(size, index, l.reader())
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func TestExitCode(t *testing.T) {
	idx := int64(4)
	tests := []struct {
		v    client.Verdict
		want int
	}{
		{client.Verdict{QuorumMet: true}, 0},
		{client.Verdict{NoClaims: true}, 3},
		{client.Verdict{}, 2},
		{client.Verdict{QuorumMet: true, Disagreed: []client.Conflict{{Builder: "x"}}}, 4},
		{client.Verdict{QuorumMet: true, Problems: []client.Problem{{What: "inclusion proof", Index: &idx}}}, 8},
		{client.Verdict{Disagreed: []client.Conflict{{}}, Problems: []client.Problem{{}}}, 14},
		{client.Verdict{NoClaims: true, Problems: []client.Problem{{}}}, 11},
	}
	for _, tt := range tests {
		if got := tt.v.ExitCode(); got != tt.want {
			t.Errorf("%+v.ExitCode() = %d, want %d", tt.v, got, tt.want)
		}
	}
}

func TestVerdictJSON(t *testing.T) {
	w := newWorld(t)
	src := w.build(t, []entrySpec{e(good, "ci-a"), e(good, "alice"), e(evil, "bob")}, 0, nil)
	v, err := client.Verify(context.Background(), w.policy(t), src, "SHA256:"+strings.ToUpper(good), client.VerifyOptions{})
	if err != nil {
		t.Fatal(err)
	}
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	var back client.Verdict
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	if back.ExitCode() != v.ExitCode() || back.ExitCode() != client.ExitNoQuorum|client.ExitConflict || back.Digest != good {
		t.Fatalf("round trip: %s", b)
	}
	for _, field := range []string{`"sha256":`, `"agreed":[{"builder":"ci"`, `"silent":["carol"]`, `"disagreed":[{"builder":"bob"`, `"problems":[]`, `"ignored":[]`, `"unwitnessed":[]`} {
		if !strings.Contains(string(b), field) {
			t.Errorf("JSON lacks %s:\n%s", field, b)
		}
	}
}

func TestVerifyBadDigest(t *testing.T) {
	w := newWorld(t)
	src := w.build(t, []entrySpec{e(good, "ci-a")}, 0, nil)
	for _, d := range []string{"", "abc", "sha1:" + good[:40], good + "00"} {
		if _, err := client.Verify(context.Background(), w.policy(t), src, d, client.VerifyOptions{}); err == nil {
			t.Errorf("Verify(%q) succeeded", d)
		}
	}
}

func TestVerifyRequireAndK(t *testing.T) {
	w := newWorld(t)
	p := w.policy(t)
	all := []entrySpec{e(good, "ci-a"), e(good, "alice"), e(good, "bob")}
	require := func(names ...string) func(*client.VerifyOptions) {
		return func(o *client.VerifyOptions) { o.Require = names }
	}
	k := func(n int) func(*client.VerifyOptions) { return func(o *client.VerifyOptions) { o.K = n } }
	missing := func(want ...string) func(*testing.T, *client.Verdict) {
		return func(t *testing.T, v *client.Verdict) {
			if !slices.Equal(v.RequiredMissing, append([]string{}, want...)) {
				t.Errorf("required missing %q, want %q", v.RequiredMissing, want)
			}
		}
	}
	tests := []verifyCase{
		{desc: "required builder agreed", entries: all, opts: require("alice", "ci"),
			wantAgreed: "ci alice bob", wantSilent: "carol", check: missing()},
		{desc: "required builder silent", entries: all, opts: require("alice", "carol"),
			wantCode: client.ExitNoQuorum, wantAgreed: "ci alice bob", wantSilent: "carol", check: missing("carol")},
		{desc: "required group not met", entries: all, opts: require("cipair"),
			wantCode: client.ExitNoQuorum, wantAgreed: "ci alice bob", wantSilent: "carol", check: missing("cipair")},
		{desc: "required group met", entries: all, opts: require("rebuilders"),
			wantAgreed: "ci alice bob", wantSilent: "carol", check: missing()},
		{desc: "required builder that conflicts still agreed", entries: append(slices.Clone(all), e(evil, "alice")), opts: require("alice"),
			wantCode: client.ExitConflict, wantAgreed: "ci alice bob", wantSilent: "carol", wantDisagreed: "alice", check: missing()},
		{desc: "K below the agree rule", entries: []entrySpec{e(good, "ci-a"), e(good, "alice")}, opts: k(2),
			wantAgreed: "ci alice", wantSilent: "bob carol",
			check: func(t *testing.T, v *client.Verdict) {
				if v.K != 2 || v.Agree != "release" || v.Groups[1].Met {
					t.Errorf("K %d, agree %q, release %+v", v.K, v.Agree, v.Groups[1])
				}
			}},
		{desc: "K above the agree rule", entries: all, opts: k(4),
			wantCode: client.ExitNoQuorum, wantAgreed: "ci alice bob", wantSilent: "carol"},
		{desc: "K counts identities, not keys", entries: []entrySpec{e(good, "ci-a"), e(good, "ci-b")}, opts: k(2),
			wantCode: client.ExitNoQuorum, wantAgreed: "ci", wantSilent: "alice bob carol"},
		{desc: "K counts no untrusted signer", entries: []entrySpec{e(good, "ci-a"), e(good, "mallory")}, opts: k(2),
			wantCode: client.ExitNoQuorum, wantAgreed: "ci", wantSilent: "alice bob carol", wantIgnored: "mallory.example"},
		{desc: "K with a required builder", entries: all, opts: func(o *client.VerifyOptions) { o.K, o.Require = 1, []string{"carol"} },
			wantCode: client.ExitNoQuorum, wantAgreed: "ci alice bob", wantSilent: "carol", check: missing("carol")},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			src := w.build(t, tt.entries, 0, nil)
			var opts client.VerifyOptions
			tt.opts(&opts)
			v, err := client.Verify(context.Background(), p, src, good, opts)
			if err != nil {
				t.Fatalf("Verify: %v", err)
			}
			checkVerdict(t, v, tt)
		})
	}
	src := w.build(t, all, 0, nil)
	for _, opts := range []client.VerifyOptions{{K: -1}, {K: 5}, {Require: []string{"mallory"}}, {Require: []string{"w1"}}} {
		if v, err := client.Verify(context.Background(), p, src, good, opts); err == nil {
			t.Errorf("Verify with %+v = %+v, want an error", opts, v)
		}
	}
}
