package client

import (
	"bytes"
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/attestlog/attestlog/log/claim"
	"github.com/attestlog/attestlog/log/claim/record"
	"github.com/attestlog/attestlog/log/vindex"
	"github.com/attestlog/attestlog/tiles"
	"github.com/transparency-dev/merkle/proof"
	"github.com/transparency-dev/merkle/rfc6962"
	"golang.org/x/mod/sumdb/tlog"
	"golang.org/x/sync/errgroup"
)

// VerifyOptions are the optional inputs of [Verify]. The zero value
// remembers no checkpoint and checks no freshness.
type VerifyOptions struct {
	// State, if not nil, holds the checkpoints remembered per log: the
	// source's checkpoint must be consistent with the one remembered for
	// its origin, and is remembered if it is larger; see [State.Update].
	State *State
	// MaxAge, if positive, bounds how old the checkpoint may be, measured
	// from the newest timestamp among the cosignatures by the policy's
	// witnesses that verified: some witness of the policy must have seen
	// this checkpoint as the latest within MaxAge. A checkpoint without such
	// cosignatures (policy "quorum none") then fails.
	MaxAge time.Duration
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// Require names builders (or builders groups) of the policy that must
	// be among those that agree, in addition to the agree rule: a required
	// builder without a vote, or a required group not met, leaves the
	// quorum unmet. Names the policy lacks make Verify fail.
	Require []string
	// K, if positive, replaces the policy's agree rule: at least K distinct
	// trusted identities of the policy must agree, whoever they are. K larger
	// than the number of trusted identities makes Verify fail, since it can
	// never be met. Builders groups are still evaluated, for the verdict.
	K int
	// File, if not nil, opens the artifact being verified (the file whose
	// sha256 is verified). A claim whose binding to the digest rests on a
	// signature over the file itself (a minisign signature whose trusted
	// comment does not name the sha256; see log/claim/record) is then
	// checked over it ([record.CheckFile]) and does not vote if that
	// fails. Without File such a claim votes on the log's word: the log
	// checked the signature over the archived file before logging it.
	File func() (io.ReadCloser, error)
	// MaxTail bounds the entries after the log's index commitment that
	// Verify reads and checks itself for each lookup (see [IndexProof]):
	// a longer tail is a problem. Default DefaultMaxTail.
	MaxTail int64
}

// check validates the options against the policy.
func (opts *VerifyOptions) check(p *Policy) error {
	switch {
	case opts.K < 0:
		return fmt.Errorf("client: K = %d, want at least 1 (or 0 for the policy's agree rule)", opts.K)
	case opts.K > len(p.Builders):
		return fmt.Errorf("client: K = %d, but the policy trusts %d builders", opts.K, len(p.Builders))
	}
	for _, name := range opts.Require {
		if !p.defines(name) {
			return fmt.Errorf("client: required builder %q is not a builder or builders group of the policy", name)
		}
	}
	return nil
}

// lookupConcurrency bounds the ClaimsBySource calls in flight.
const lookupConcurrency = 4

// Verify decides whether the trusted builders of policy p agree that sha256
// is the digest of what they built, from the material src gives:
//
//  1. The source's checkpoint must carry the log's signature and
//     cosignatures meeting the witness quorum; with opts.State, it must be
//     consistent with the checkpoint remembered for the log; with
//     opts.MaxAge, it must be fresh. If any of this fails, Verify looks no
//     further: the verdict has the problem and no votes.
//  2. Every claim the source returns naming the digest must parse, carry
//     only valid signatures, and be included in that checkpoint's tree.
//     A claim that fails is a problem and does not vote.
//  3. Each trusted builder whose key signed a verified claim gets one vote,
//     however many keys and claims it has; other signers are listed as
//     ignored. The policy's agree rule is evaluated over all the builders it
//     names: a silent builder counts as no.
//  4. For every build identity (source, commit, platform, artifact name) a
//     voting claim gives this digest, every claim about that source commit
//     and platform is fetched and verified; a trusted builder's claim
//     giving the identity another digest is a conflict. A builder that
//     claimed both digests keeps its vote and is listed as disagreeing.
//     Only claims signed by a trusted key bring their builds into this
//     step: otherwise anyone could tie a digest to a build whose trusted
//     builders made something else, and fail its verification.
//     A claim by untrusted signers giving a voted build another digest is
//     an open mismatch, listed in [Verdict.Others]. If no trusted builder
//     voted, up to 16 builds that untrusted signers gave the digest are
//     looked up too, and what trusted builders claimed for them is listed
//     there (they are not silent), with no effect on the exit code.
//  5. The two lookups must agree: every verified claim naming the digest
//     about a build looked up in step 4 must be in that lookup's answer. A
//     claim the lookup by source leaves out is a "hidden claim" problem: a
//     log that hides a claim from the lookup by source could hide a
//     dissenting claim the same way.
//  6. Each lookup must be proven complete by its [IndexProof]: the log's
//     index commitment below the checkpoint's size, included in its tree,
//     the map proof for the lookup's key against the commitment's root, and
//     the tail after it, authenticated against the checkpoint's root and
//     run through the map function here (at most opts.MaxTail entries).
//     Every entry these list that the answer left out is a "hidden claim"
//     problem naming its index; a missing or broken proof is an "index
//     proof" problem. What remains trusted is that the committed roots are
//     right, which a monitor recomputing the index checks.
//
// With opts.K the agree rule of step 3 is "at least K trusted identities";
// with opts.Require the named builders or groups must agree as well.
//
// Verify returns an error, and no verdict, only when it could not ask
// (sha256 malformed, opts naming what the policy lacks, the source failed,
// the state directory failed, ctx done); everything wrong with what the
// source answered is in the verdict.
// A consistency proof the source cannot give is a problem, not an error.
func Verify(ctx context.Context, p *Policy, src Source, sha256 string, opts VerifyOptions) (*Verdict, error) {
	d, err := claim.NormaliseDigest(sha256)
	if err != nil {
		return nil, fmt.Errorf("client: verifying sha256 %q: %v", sha256, err)
	}
	if err := opts.check(p); err != nil {
		return nil, err
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.MaxTail <= 0 {
		opts.MaxTail = DefaultMaxTail
	}
	vf := &verification{p: p, src: src, opts: opts, v: &Verdict{Digest: d, Agree: p.Agree, K: opts.K, Required: slices.Clone(opts.Require)},
		votes: map[string]*Vote{}, conflicted: map[string]bool{}, claimedOther: map[string]bool{}, ignored: map[string]*IgnoredSigner{},
		checked: map[int64]checkedClaim{}, byDigest: map[int64]bool{}, builds: map[int64][]build{}, names: map[int64][]string{},
		conflicts: map[Conflict]bool{}, tails: map[int64]*tail{}}
	ok, err := vf.checkpoint(ctx, opts)
	if err != nil {
		return nil, err
	}
	if ok {
		if err := vf.claims(ctx); err != nil {
			return nil, err
		}
	}
	vf.finish()
	return vf.v, nil
}

// verification is the state of one Verify call.
type verification struct {
	p          *Policy
	src        Source
	opts       VerifyOptions
	v          *Verdict
	size       int64
	root       tlog.Hash
	votes      map[string]*Vote // builder -> its vote
	conflicted map[string]bool  // builders with a conflict
	// claimedOther are the builders that claimed another digest for a
	// build only untrusted signers gave the digest.
	claimedOther map[string]bool
	ignored      map[string]*IgnoredSigner // signer (vkey or "<scheme>:<key ID>") -> claims
	checked      map[int64]checkedClaim    // index -> result of checking it
	byDigest     map[int64]bool            // verified claims naming the digest
	builds       map[int64][]build         // the builds in which each of them gives the digest
	names        map[int64][]string        // the file names under which each digest-only one gives it
	conflicts    map[Conflict]bool         // dedup of v.Disagreed
	tails        map[int64]*tail           // authenticated tails, by their first index
}

// checkedClaim is the outcome of checking one entry.
type checkedClaim struct {
	entry []byte
	rec   *record.Record // nil if the entry failed a check
}

// build is the part of a build identity a ClaimsBySource lookup names.
type build struct{ source, commit, platform string }

func (vf *verification) problem(what string, index *int64, format string, args ...any) {
	vf.v.Problems = append(vf.v.Problems, Problem{What: what, Index: index, Err: fmt.Sprintf(format, args...)})
}

// checkpoint does step 1 of Verify and reports whether the checkpoint holds.
func (vf *verification) checkpoint(ctx context.Context, opts VerifyOptions) (bool, error) {
	msg, err := vf.src.Checkpoint(ctx)
	if err != nil {
		return false, fmt.Errorf("fetching checkpoint: %w", err)
	}
	vc, err := vf.p.TLog.VerifyCheckpoint(msg)
	if vc != nil {
		vf.v.Checkpoint = checkpointInfo(vc)
	}
	if err != nil {
		vf.problem("checkpoint", nil, "%v", err)
		return false, nil
	}
	if opts.State != nil {
		err := opts.State.Update(ctx, vc, vf.src)
		var ie *InconsistencyError
		switch {
		case errors.As(err, &ie):
			vf.v.Inconsistency, vf.v.Evidence = ie, ie.Evidence
			vf.problem("consistency", nil, "%v", err)
			return false, nil
		case errors.Is(err, errConsistencyProof):
			vf.problem("consistency", nil, "%v", err)
			return false, nil
		case err != nil:
			return false, err
		}
	}
	if opts.MaxAge > 0 {
		if err := checkFreshness(vc, opts.MaxAge, opts.Now()); err != nil {
			vf.problem("freshness", nil, "%v", err)
			return false, nil
		}
	}
	vf.size, vf.root = vc.Size, vc.Hash
	return true, nil
}

func checkpointInfo(vc *tiles.VerifiedCheckpoint) *CheckpointInfo {
	ci := &CheckpointInfo{Origin: vc.Origin, Size: vc.Size, Hash: vc.Hash, Note: string(vc.Note), Witnesses: []Cosignature{}}
	for _, name := range slices.Sorted(maps.Keys(vc.Cosigners)) {
		ci.Witnesses = append(ci.Witnesses, Cosignature{Witness: name, Time: vc.Cosigners[name].UTC()})
	}
	return ci
}

// claims does steps 2 to 4 of Verify.
func (vf *verification) claims(ctx context.Context) error {
	lk, err := vf.src.ClaimsByDigest(ctx, vf.v.Digest, vf.size)
	if err != nil {
		return fmt.Errorf("looking up claims for %s: %w", vf.v.Digest, err)
	}
	vf.v.NoClaims = len(lk.Claims) == 0
	vf.v.Unwitnessed = slices.Sorted(slices.Values(lk.Unwitnessed))
	builds := map[build]map[string]bool{}    // -> artifact names given this digest by a vote
	untrusted := map[build]map[string]bool{} // -> artifact names given this digest by untrusted signers alone
	names := map[string]bool{}               // file names given this digest by a trusted digest-only claim
	seen := map[int64]bool{}
	for _, pc := range lk.Claims {
		r := vf.check(pc, seen)
		if r == nil {
			continue
		}
		var subjects []record.Subject
		for _, s := range r.Subjects {
			if s.SHA256 == vf.v.Digest {
				subjects = append(subjects, s)
			}
		}
		if len(subjects) == 0 {
			vf.problem("lookup", &pc.Index, "the claim names no artifact with sha256 %s", vf.v.Digest)
			continue
		}
		if r.FileSignatureUnchecked && vf.opts.File != nil {
			if err := vf.checkFile(r); err != nil {
				vf.problem("file signature", &pc.Index, "%v", err)
				continue
			}
		}
		vf.byDigest[pc.Index] = true
		trusted := vf.vote(pc.Index, r.Signers)
		into := untrusted
		if trusted {
			into = builds
		}
		for _, s := range subjects {
			if r.DigestOnly() {
				vf.names[pc.Index] = appendOnce(vf.names[pc.Index], s.Name)
				if trusted {
					names[s.Name] = true
				}
				continue
			}
			if s.Platform == "" {
				continue // no identity: nothing to conflict with
			}
			b := build{r.Source, r.Commit, s.Platform}
			vf.builds[pc.Index] = appendOnce(vf.builds[pc.Index], b)
			if into[b] == nil {
				into[b] = map[string]bool{}
			}
			into[b][s.Name] = true
		}
	}
	what := "the lookup by digest " + vf.v.Digest
	if want, ok := vf.complete(what, vindex.DigestKey(vf.v.Digest), lk.Index); ok {
		vf.hidden(what, want, seen)
	}
	if len(vf.votes) > 0 || len(untrusted) > maxUntrustedBuilds {
		untrusted = nil
	}
	if err := vf.checkBuilds(ctx, builds, untrusted); err != nil {
		return err
	}
	return vf.checkNames(ctx, names)
}

// checkFile checks a minisign claim's signature over the file being
// verified.
func (vf *verification) checkFile(r *record.Record) error {
	f, err := vf.opts.File()
	if err != nil {
		return fmt.Errorf("opening the file to check the signature over it: %w", err)
	}
	defer f.Close()
	return record.CheckFile(r, f)
}

// checkNames does step 4 of Verify for digest-only claims, which name no
// build: for every file name a trusted builder's digest-only claim gives
// the digest, every digest-only claim naming that file name is fetched and
// verified, and a trusted builder's claim giving the name another digest
// is a conflict. A guix.sigs release's file names carry its version, so a
// name is the release's identity for its file; this is the user's rule
// under their policy (the log records no mismatch for names, which
// unrelated projects share). Claims by untrusted signers are not counted.
func (vf *verification) checkNames(ctx context.Context, names map[string]bool) error {
	keys := slices.Sorted(maps.Keys(names))
	results := make([]Lookup, len(keys))
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(lookupConcurrency)
	for i, n := range keys {
		g.Go(func() error {
			lk, err := vf.src.ClaimsByName(gctx, n, vf.size)
			if err != nil {
				return fmt.Errorf("looking up claims for file name %q: %w", n, err)
			}
			results[i] = lk
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return err
	}
	for i, n := range keys {
		seen := map[int64]bool{}
		for _, pc := range results[i].Claims {
			r := vf.check(pc, seen)
			if r == nil {
				continue
			}
			if !r.DigestOnly() {
				vf.problem("lookup", &pc.Index, "the lookup by file name %q returned a claim with a build identity", n)
				continue
			}
			named := false
			for _, s := range r.Subjects {
				if s.Name != n {
					continue
				}
				named = true
				if s.SHA256 == vf.v.Digest {
					if !vf.byDigest[pc.Index] {
						vf.problem("lookup", &pc.Index, "the lookup by digest left out this claim naming %s", vf.v.Digest)
					}
					continue
				}
				vf.conflict(pc.Index, Identity{Artifact: n}, s.SHA256, r.Signers)
			}
			if !named {
				vf.problem("lookup", &pc.Index, "the claim names no file %q, the name looked up", n)
			}
		}
		what := fmt.Sprintf("the lookup by file name %q", n)
		if want, ok := vf.complete(what, vindex.NameKey(n), results[i].Index); ok {
			vf.hidden(what, want, seen)
		}
		for _, idx := range slices.Sorted(maps.Keys(vf.byDigest)) {
			if slices.Contains(vf.names[idx], n) && !seen[idx] {
				vf.problem("hidden claim", &idx, "the lookup by file name %q left out this claim naming %s, which the lookup by digest returned: the log hides claims from its index by name", n, vf.v.Digest)
			}
		}
	}
	return nil
}

// maxUntrustedBuilds bounds the builds Verify looks up for a digest only
// untrusted signers claimed: anyone can tie a digest to many builds.
const maxUntrustedBuilds = 16

// vote counts the signers of a verified claim naming the digest and reports
// whether a trusted builder signed it.
func (vf *verification) vote(index int64, sigs []record.Signer) bool {
	trusted := false
	for _, s := range sigs {
		name, key, ok := vf.p.BuilderOf(s)
		if !ok {
			ig := vf.ignored[s.Builder()]
			if ig == nil {
				ig = &IgnoredSigner{VKey: s.Builder()}
				vf.ignored[s.Builder()] = ig
			}
			ig.Claims = appendOnce(ig.Claims, index)
			continue
		}
		trusted = true
		v := vf.votes[name]
		if v == nil {
			v = &Vote{Builder: name}
			vf.votes[name] = v
		}
		v.Keys = appendOnce(v.Keys, key.Name())
		v.Claims = appendOnce(v.Claims, index)
	}
	return trusted
}

// checkBuilds does step 4 of Verify for the builds that votes gave the
// digest, with the artifact names: the lookups by source run concurrently,
// their results are judged in a fixed order. It also looks up the builds
// that only untrusted signers gave the digest, if any, for [Verdict.Others]:
// what trusted builders claimed for them conflicts with no vote.
func (vf *verification) checkBuilds(ctx context.Context, builds, untrusted map[build]map[string]bool) error {
	all := maps.Clone(builds)
	for b := range untrusted {
		if all[b] == nil {
			all[b] = map[string]bool{}
		}
	}
	keys := slices.SortedFunc(maps.Keys(all), func(a, b build) int {
		return cmp.Or(strings.Compare(a.source, b.source), strings.Compare(a.commit, b.commit), strings.Compare(a.platform, b.platform))
	})
	results := make([]Lookup, len(keys))
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(lookupConcurrency)
	for i, b := range keys {
		g.Go(func() error {
			lk, err := vf.src.ClaimsBySource(gctx, b.source, b.commit, b.platform, vf.size)
			if err != nil {
				return fmt.Errorf("looking up claims for %s@%s %s: %w", b.source, b.commit, b.platform, err)
			}
			results[i] = lk
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return err
	}
	for i, b := range keys {
		seen := map[int64]bool{}
		for _, pc := range results[i].Claims {
			r := vf.check(pc, seen)
			if r == nil {
				continue
			}
			if r.DigestOnly() || r.Source != b.source || r.Commit != b.commit || !slices.ContainsFunc(r.Subjects, func(s record.Subject) bool { return s.Platform == b.platform }) {
				vf.problem("lookup", &pc.Index, "the claim is not about the build looked up, %s@%s %s", b.source, b.commit, b.platform)
				continue
			}
			for _, s := range r.Subjects {
				if s.Platform != b.platform {
					continue
				}
				if s.SHA256 == vf.v.Digest && !vf.byDigest[pc.Index] {
					vf.problem("lookup", &pc.Index, "the lookup by digest left out this claim naming %s", vf.v.Digest)
				}
				if s.SHA256 == vf.v.Digest || !builds[b][s.Name] && !untrusted[b][s.Name] {
					continue
				}
				id := Identity{Source: r.Source, Commit: r.Commit, Platform: s.Platform, Artifact: s.Name}
				if builds[b][s.Name] {
					vf.conflict(pc.Index, id, s.SHA256, r.Signers)
				}
				vf.other(pc.Index, id, s.SHA256, r.Signers, builds[b][s.Name])
			}
		}
		what := fmt.Sprintf("the lookup by source %s@%s (platform %s)", b.source, b.commit, b.platform)
		if want, ok := vf.complete(what, vindex.BuildKey(b.source, b.commit, b.platform), results[i].Index); ok {
			vf.hidden(what, want, seen)
		}
		vf.crossCheck(b, seen)
	}
	return nil
}

// crossCheck does step 5 of Verify for build b, whose lookup by source
// returned the indexes in returned.
func (vf *verification) crossCheck(b build, returned map[int64]bool) {
	for _, idx := range slices.Sorted(maps.Keys(vf.byDigest)) {
		if slices.Contains(vf.builds[idx], b) && !returned[idx] {
			vf.problem("hidden claim", &idx, "the lookup by source (%s@%s, platform %s) left out this claim naming %s, which the lookup by digest returned: the log hides claims from its index by source",
				b.source, b.commit, b.platform, vf.v.Digest)
		}
	}
}

// other records a claim giving id another digest in [Verdict.Others]: its
// untrusted signers if a vote gave id the digest (voted), else its trusted
// ones.
func (vf *verification) other(index int64, id Identity, digest string, sigs []record.Signer, voted bool) {
	o := OtherClaim{Trusted: !voted, Signers: []string{}, Claim: index, Identity: id, SHA256: digest}
	for _, s := range sigs {
		name, _, ok := vf.p.BuilderOf(s)
		switch {
		case ok && !voted:
			o.Signers = appendOnce(o.Signers, name)
			vf.claimedOther[name] = true
		case !ok && voted:
			o.Signers = appendOnce(o.Signers, s.Builder())
		}
	}
	if len(o.Signers) > 0 {
		vf.v.Others = append(vf.v.Others, o)
	}
}

// conflict records the trusted signers of a claim giving id another digest.
func (vf *verification) conflict(index int64, id Identity, digest string, sigs []record.Signer) {
	for _, s := range sigs {
		name, key, ok := vf.p.BuilderOf(s)
		if !ok {
			continue
		}
		c := Conflict{Builder: name, Key: key.Name(), Claim: index, Identity: id, SHA256: digest}
		if !vf.conflicts[c] {
			vf.conflicts[c] = true
			vf.conflicted[name] = true
			vf.v.Disagreed = append(vf.v.Disagreed, c)
		}
	}
}

// check verifies one claim of a lookup: its index, its inclusion proof, and
// its entry, decoded with log/claim/record (encoding, signatures, mapped
// claim). It returns the record, or nil after recording the problem. seen
// holds the indexes this lookup returned so far; an entry checked in an
// earlier lookup with the same bytes is not checked, nor reported, again.
func (vf *verification) check(pc ProvenClaim, seen map[int64]bool) *record.Record {
	idx := pc.Index
	if idx < 0 || idx >= vf.size {
		vf.problem("lookup", &idx, "index outside the tree of size %d", vf.size)
		return nil
	}
	if seen[idx] {
		vf.problem("lookup", &idx, "the lookup returned this index twice")
		return nil
	}
	seen[idx] = true
	if cc, ok := vf.checked[idx]; ok && bytes.Equal(cc.entry, pc.Entry) {
		return cc.rec
	}
	cc := checkedClaim{entry: pc.Entry}
	defer func() { vf.checked[idx] = cc }()
	leaf := tlog.RecordHash(pc.Entry)
	if err := proof.VerifyInclusion(rfc6962.DefaultHasher, uint64(idx), uint64(vf.size), leaf[:], hashSlices(pc.Proof), vf.root[:]); err != nil {
		vf.problem("inclusion proof", &idx, "in the tree of size %d: %v", vf.size, err)
		return nil
	}
	r, err := record.Decode(pc.Entry)
	if err != nil {
		vf.problem(decodeProblem(err), &idx, "%v", err)
		return nil
	}
	cc.rec = r
	return r
}

// decodeProblem names the kind of problem a record.Decode error is.
func decodeProblem(err error) string {
	switch {
	case errors.Is(err, claim.ErrBadSignature), errors.Is(err, claim.ErrBadKey):
		return "signature"
	case errors.Is(err, claim.ErrInvalidClaim):
		return "statement"
	}
	return "entry"
}

// finish evaluates the agree rule and puts the verdict's lists in order.
func (vf *verification) finish() {
	v := vf.v
	voted := map[string]bool{}
	for name := range vf.votes {
		voted[name] = true
	}
	met, groups := vf.p.agreement(voted)
	v.QuorumMet, v.Groups = met[vf.p.Agree], groups
	if vf.opts.K > 0 {
		v.QuorumMet = len(voted) >= vf.opts.K
	}
	v.RequiredMissing = []string{}
	for _, name := range vf.opts.Require {
		if !met[name] && !slices.Contains(v.RequiredMissing, name) {
			v.RequiredMissing = append(v.RequiredMissing, name)
		}
	}
	if len(v.RequiredMissing) > 0 {
		v.QuorumMet = false
	}
	if v.Required == nil {
		v.Required = []string{}
	}
	v.Agreed, v.Silent = []Vote{}, []string{}
	for _, b := range vf.p.Builders {
		switch vote := vf.votes[b.Name]; {
		case vote != nil:
			slices.Sort(vote.Claims)
			v.Agreed = append(v.Agreed, *vote)
		case !vf.conflicted[b.Name] && !vf.claimedOther[b.Name]:
			v.Silent = append(v.Silent, b.Name)
		}
	}
	v.Ignored = []IgnoredSigner{}
	for _, vkey := range slices.Sorted(maps.Keys(vf.ignored)) {
		ig := vf.ignored[vkey]
		slices.Sort(ig.Claims)
		v.Ignored = append(v.Ignored, *ig)
	}
	slices.SortStableFunc(v.Disagreed, func(a, b Conflict) int { return cmp.Compare(a.Claim, b.Claim) })
	if v.Unwitnessed == nil {
		v.Unwitnessed = []int64{}
	}
	if v.Disagreed == nil {
		v.Disagreed = []Conflict{}
	}
	slices.SortStableFunc(v.Others, func(a, b OtherClaim) int { return cmp.Compare(a.Claim, b.Claim) })
	if v.Others == nil {
		v.Others = []OtherClaim{}
	}
	if v.Problems == nil {
		v.Problems = []Problem{}
	}
	if v.Groups == nil {
		v.Groups = []GroupResult{}
	}
}

// appendOnce appends x to a list unless it is there already.
func appendOnce[T comparable](list []T, x T) []T {
	if slices.Contains(list, x) {
		return list
	}
	return append(list, x)
}

// keyName returns the name part of a vkey.
func keyName(vkey string) string {
	name, _, _ := strings.Cut(vkey, "+")
	return name
}

func hashSlices(hs []tlog.Hash) [][]byte {
	out := make([][]byte, len(hs))
	for i := range hs {
		out[i] = hs[i][:]
	}
	return out
}
