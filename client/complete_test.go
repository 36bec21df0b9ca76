package client_test

import (
	"context"
	"slices"
	"testing"

	"github.com/attestlog/attestlog/client"
)

// commitment is the entrySpec of an index commitment to every entry before it.
var commitment = entrySpec{commit: true}

// TestVerifyIndex checks that Verify proves each lookup complete with the
// log's index proof: a claim left out of both lookups alike (which the
// lookups' cross-check cannot see) is a hidden claim, named by its index,
// whether the committed map or the tail lists it; a broken or missing
// proof, a tampered tail and a tail past the bound are problems.
func TestVerifyIndex(t *testing.T) {
	w := newWorld(t)
	p := w.policy(t)
	// carol's dissent (index 3) is committed; mallory's claim (index 5) is in the tail.
	committed := []entrySpec{e(good, "ci-a"), e(good, "alice"), e(good, "bob"), e(evil, "carol"), commitment, e(good, "mallory")}
	// carol's dissent (index 4) is in the tail.
	inTail := []entrySpec{e(good, "ci-a"), e(good, "alice"), e(good, "bob"), commitment, e(evil, "carol")}
	drop := func(index int64) func(*client.Lookup) {
		return func(lk *client.Lookup) {
			lk.Claims = slices.DeleteFunc(lk.Claims, func(pc client.ProvenClaim) bool { return pc.Index == index })
		}
	}
	tests := []verifyCase{
		{desc: "honest, with a commitment and a tail", entries: committed,
			wantCode: client.ExitConflict, wantAgreed: "ci alice bob", wantDisagreed: "carol", wantIgnored: "mallory.example"},
		{desc: "honest, all in the tail", entries: committed[:4],
			wantCode: client.ExitConflict, wantAgreed: "ci alice bob", wantDisagreed: "carol"},
		{desc: "log hides a committed dissent from the lookup by source", entries: committed,
			source: func(s *fakeSource) { s.tamperSource = drop(3) },
			// Without the index proof, the verdict was "trusted".
			wantCode: client.ExitVerifyErr, wantAgreed: "ci alice bob", wantSilent: "carol", wantIgnored: "mallory.example", wantProblems: "hidden claim@3"},
		{desc: "log hides a dissent in the tail from the lookup by source", entries: inTail,
			source:   func(s *fakeSource) { s.tamperSource = drop(4) },
			wantCode: client.ExitVerifyErr, wantAgreed: "ci alice bob", wantSilent: "carol", wantProblems: "hidden claim@4"},
		{desc: "log hides a claim from both lookups", entries: committed,
			source:   func(s *fakeSource) { s.tamper = drop(2) },
			wantCode: client.ExitNoQuorum | client.ExitConflict | client.ExitVerifyErr, wantAgreed: "ci alice", wantSilent: "bob", wantDisagreed: "carol", wantIgnored: "mallory.example",
			wantProblems: "hidden claim@2 hidden claim@2"},
		{desc: "tampered map proof", entries: committed,
			source: func(s *fakeSource) {
				s.tamperSource = func(lk *client.Lookup) { lk.Index.MapProof[len(lk.Index.MapProof)-1] ^= 1 }
			},
			wantCode: client.ExitConflict | client.ExitVerifyErr, wantAgreed: "ci alice bob", wantDisagreed: "carol", wantIgnored: "mallory.example",
			wantProblems: "index proof@4"},
		{desc: "map proof for another key", entries: committed,
			source: func(s *fakeSource) {
				s.tamperSource = func(lk *client.Lookup) {
					other, _ := s.ClaimsByDigest(context.Background(), good, 6)
					lk.Index.MapProof = other.Index.MapProof
				}
			},
			wantCode: client.ExitConflict | client.ExitVerifyErr, wantAgreed: "ci alice bob", wantDisagreed: "carol", wantIgnored: "mallory.example",
			wantProblems: "index proof@4"},
		{desc: "commitment not in the tree", entries: committed,
			source: func(s *fakeSource) {
				s.tamperDigest = func(lk *client.Lookup) { lk.Index.Commitment.Proof[0][0] ^= 1 }
			},
			wantCode: client.ExitConflict | client.ExitVerifyErr, wantAgreed: "ci alice bob", wantDisagreed: "carol", wantIgnored: "mallory.example",
			wantProblems: "index proof@4"},
		{desc: "tail entry changed", entries: inTail,
			source: func(s *fakeSource) {
				s.tamperSource = func(lk *client.Lookup) { lk.Index.Tail[1] = lk.Index.Tail[0] }
			},
			wantCode: client.ExitConflict | client.ExitVerifyErr, wantAgreed: "ci alice bob", wantDisagreed: "carol", wantProblems: "index proof"},
		{desc: "tail entry left out", entries: inTail,
			source: func(s *fakeSource) {
				s.tamperSource = func(lk *client.Lookup) { lk.Index.Tail = lk.Index.Tail[:1] }
			},
			wantCode: client.ExitConflict | client.ExitVerifyErr, wantAgreed: "ci alice bob", wantDisagreed: "carol", wantProblems: "index proof"},
		{desc: "tail past the bound", entries: committed[:4], opts: func(o *client.VerifyOptions) { o.MaxTail = 3 },
			wantCode: client.ExitConflict | client.ExitVerifyErr, wantAgreed: "ci alice bob", wantDisagreed: "carol", wantProblems: "index proof index proof"},
		{desc: "no index proof", entries: committed,
			source:   func(s *fakeSource) { s.tamper = func(lk *client.Lookup) { lk.Index = nil } },
			wantCode: client.ExitConflict | client.ExitVerifyErr, wantAgreed: "ci alice bob", wantDisagreed: "carol", wantIgnored: "mallory.example",
			wantProblems: "index proof index proof"},
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
			for _, pr := range v.Problems {
				t.Logf("%s: %s", pr.What, pr.Err)
			}
		})
	}
}
