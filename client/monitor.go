package client

import (
	"cmp"
	"context"
	"errors"
	"fmt"
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

// Kinds of [Finding]: what a monitor caught a log doing.
const (
	FindingCheckpoint       = "checkpoint"        // the checkpoint fails the policy (signature, witness quorum)
	FindingInconsistency    = "inconsistency"     // the checkpoint contradicts a remembered one; see MonitorReport.Evidence
	FindingStale            = "stale checkpoint"  // the checkpoint is smaller than a remembered one, or older than MaxAge
	FindingTile             = "tile"              // a hash tile does not authenticate against the checkpoint
	FindingBundle           = "bundle"            // an entry bundle's entries do not hash to their leaves
	FindingEntry            = "malformed entry"   // a logged entry is neither a well-formed claim nor an index commitment
	FindingSignature        = "bad signature"     // a logged claim carries a signature that does not verify
	FindingLookup           = "lookup"            // a lookup answer is malformed: bad proof, index twice or out of range
	FindingHiddenClaim      = "hidden claim"      // a lookup (by digest or by source) left out a claim it must return
	FindingInventedClaim    = "invented claim"    // a lookup returned an index that is no valid claim it names
	FindingMissingMismatch  = "missing mismatch"  // the log does not list (all of) a mismatch its entries show
	FindingInventedMismatch = "invented mismatch" // the log lists a mismatch (or a claim in one) its entries do not show
	FindingIndex            = "wrong index"       // an index commitment, or a map proof served for one, contradicts the entries; see MonitorReport.Evidence
)

// lookupsInFlight bounds the lookups in flight of a monitor pass.
const lookupsInFlight = 4

// An IndexSource answers what a log derives from its entries: the claims
// naming a digest, the claims about a source commit (and platform), the
// digest-only claims naming a file, and the list of mismatches, plus
// consistency proofs. It is
// what [MonitorLog] checks against the entries; package client/grpcsource
// implements it over the log's gRPC API. Implementations MUST be safe for
// concurrent use, and return errors only when they cannot answer.
type IndexSource interface {
	// ClaimsByDigest is [Source.ClaimsByDigest].
	ClaimsByDigest(ctx context.Context, sha256 string, treeSize int64) (Lookup, error)
	// ClaimsBySource is [Source.ClaimsBySource]; an empty platform asks
	// for the claims about the source commit on every platform.
	ClaimsBySource(ctx context.Context, source, commit, platform string, treeSize int64) (Lookup, error)
	// ClaimsByName is [Source.ClaimsByName].
	ClaimsByName(ctx context.Context, name string, treeSize int64) (Lookup, error)
	// ConsistencyProof is [Source.ConsistencyProof].
	ConsistencyProof(ctx context.Context, oldSize, newSize int64) ([]tlog.Hash, error)
	// Mismatches returns every mismatch the log lists, as it lists them.
	Mismatches(ctx context.Context) ([]Mismatch, error)
}

// A Mismatch is a build identity for which claims name different artifact
// digests: as a log lists it, or as [MonitorLog] derives it from entries.
// There is at most one per build identity.
type Mismatch struct {
	// ID identifies the mismatch: its identity's ID ([Identity.ID]).
	ID string `json:"id"`
	// Claim is the index of the claim that created the mismatch: the first
	// claim naming a digest other than the identity's first one. A claim
	// with several subjects can create several mismatches.
	Claim    int64            `json:"claim"`
	Identity Identity         `json:"identity"`
	Digests  []MismatchDigest `json:"digests"` // in order of first appearance
}

// A MismatchDigest is one digest claimed for a build identity.
type MismatchDigest struct {
	SHA256  string   `json:"sha256"`
	Claims  []int64  `json:"claims"`  // indexes of the claims naming it, in log order
	Recipes []string `json:"recipes"` // their recipe digests, in the same order
}

// MonitorConfig configures [MonitorLog]. Policy, Tiles, Index and State are
// required.
type MonitorConfig struct {
	// Policy gives the log's key, the witnesses and their quorum.
	Policy *Policy
	// Tiles reads the log's c2sp.org/tlog-tiles resources; its "checkpoint"
	// is the witnessed checkpoint the pass checks up to.
	Tiles Fetcher
	// Index is the log's API, whose answers the pass checks.
	Index IndexSource
	// State holds the checkpoints remembered per log and the monitor state.
	State *State
	// MaxAge, if positive, bounds how old the checkpoint may be, as
	// [VerifyOptions.MaxAge] does: if no witness of the policy cosigned it
	// within MaxAge, that is a stale-checkpoint finding.
	MaxAge time.Duration
	// Now is the clock of MaxAge; nil means time.Now.
	Now func() time.Time
	// OnClaim, if set, is called for each new valid claim of the pass, in
	// index order, after every check and before the state advances. If it
	// fails, the pass fails and the state stays: the next pass calls it
	// again for the same claims (at-least-once).
	OnClaim func(context.Context, MonitorClaim) error
}

// A MonitorReport is the outcome of one [MonitorLog] pass. It serialises to
// JSON as attestlog monitor --json prints it.
type MonitorReport struct {
	Origin     string `json:"origin"`
	OldSize    int64  `json:"old_size"`   // the size monitored before the pass
	Size       int64  `json:"size"`       // the size of the witnessed checkpoint checked against
	Checkpoint string `json:"checkpoint"` // that checkpoint, verbatim; empty if it did not verify
	Tiles      int    `json:"tiles"`      // hash tiles authenticated
	Bundles    int    `json:"bundles"`    // entry bundles re-hashed
	Entries    int64  `json:"entries"`    // new entries read
	// Claims are the new entries that are valid claims, in index order.
	Claims []MonitorClaim `json:"claims"`
	// Digests is how many digests were looked up, Sources how many
	// lookups by source were made, Names how many lookups by file name;
	// Mismatches how many mismatches the entries up to Size show.
	Digests    int `json:"digests_checked"`
	Sources    int `json:"sources_checked"`
	Names      int `json:"names_checked"`
	Mismatches int `json:"mismatches"`
	// Findings are what the log did wrong; empty if nothing.
	Findings []Finding `json:"findings"`
	// Evidence is the path of the evidence file of an inconsistency, or
	// of the first wrong index commitment the pass proved, if any.
	Evidence string `json:"evidence,omitempty"`
	// Saved is whether the monitor state advanced to Size.
	Saved bool `json:"saved"`
}

// A MonitorClaim is a new claim a monitor pass read.
type MonitorClaim struct {
	Index int64 `json:"index"`
	// Signers name the signers, in entry order: a signed-note key by its
	// vkey, any other by "<scheme>:<key ID>" (log/claim/record's Builder).
	Signers []string `json:"signers"`
	Kind    string   `json:"kind"` // "dsse-slsa" (v1) or the v2 document's format
	Source  string   `json:"source"`
	Commit  string   `json:"commit"`
	// Platform is the platform of the claim's subjects when they share one
	// (always, for a v1 claim); each subject also has its own.
	Platform string           `json:"platform"`
	Recipe   string           `json:"recipe"`
	Subjects []MonitorSubject `json:"subjects"`
	Entry    []byte           `json:"-"` // the entry bytes as logged
}

// A MonitorSubject is one artifact of a [MonitorClaim].
type MonitorSubject struct {
	Name     string `json:"name"`
	SHA256   string `json:"sha256"`
	Platform string `json:"platform,omitempty"`
}

// A Finding is one thing a log did wrong.
type Finding struct {
	Kind     string `json:"kind"`               // one of the Finding* constants
	Index    *int64 `json:"index,omitempty"`    // the entry concerned, if one
	SHA256   string `json:"sha256,omitempty"`   // the digest looked up, if any
	Mismatch string `json:"mismatch,omitempty"` // the ID of the mismatch concerned, if one
	Detail   string `json:"detail"`
}

// MonitorLog runs one pass of a monitor over the log of cfg.Policy that
// cfg.Tiles serves, from the state it remembers in cfg.State (nothing, the
// first time) to the log's current witnessed checkpoint:
//
//  1. The checkpoint must carry the log's signature and meet the witness
//     quorum; with cfg.MaxAge, be fresh; be consistent with the checkpoint
//     the state remembers for the log ([State.Update]) and with the one the
//     monitor last reached; and be no smaller than either (a smaller one,
//     even consistent, is a stale view: a lagging mirror or a rolled-back
//     log). Consistency proofs towards the new checkpoint are computed from
//     its authenticated tiles, not asked for; a proof towards a larger
//     remembered one is asked of cfg.Index. Evidence is written only when
//     the proof proves a fork ([CheckEvidence]).
//  2. Every hash tile covering a new entry is authenticated against the
//     checkpoint (tlog.TileHashReader); every new entry bundle is re-hashed
//     against the authenticated leaf hashes.
//  3. Every new entry must be a claim entry whose signatures all verify and
//     whose statement parses; the monitor adds each claim to its own index
//     of build identities (per identity: the digests, with claim indexes
//     and recipes), derived from entries alone.
//  4. For every digest a new claim names (and every digest with a finding
//     in an earlier pass), cfg.Index's lookup by digest, proven against the
//     checkpoint, must return exactly the claims the index holds: one left
//     out is a hidden claim, one that does not name the digest an invented
//     one.
//     Likewise, for the source commit of every new claim (and every lookup
//     by source with a finding in an earlier pass), cfg.Index's lookups by
//     source, for every platform and for the claim's platform, must return
//     exactly the claims the index holds about it: a log that hides a
//     dissenting claim from the lookup by source, which [Verify] uses to
//     find conflicts, is caught here. And for every file name a new
//     digest-only claim names (and every name with a finding in an
//     earlier pass), cfg.Index's lookup by name must return exactly the
//     digest-only claims naming it: [Verify] finds two trusted builders
//     disagreeing on a release file through it. Which lookups must return
//     an entry is [record.Record.Keys], the definition the log's index uses.
//  5. The mismatches the index shows must be exactly those cfg.Index lists
//     below the checkpoint's size, one per build identity, with the same
//     identity ID, creating claim, claims and recipes.
//  6. The verifiable index (package log/vindex): the monitor recomputes
//     the log's map from the entries as it reads them, and every new index
//     commitment must name a size at most its own index, no smaller than
//     the last, and the root of the map of the entries below that size;
//     and the map proof of every lookup of step 4, verified against its
//     commitment, must list what the entries give. A wrong list is a
//     [FindingIndex] with portable evidence ([IndexEvidence], in the state
//     directory, the first of a pass): the commitment in the witnessed
//     tree, the log's own proof and an entry it contradicts. A wrong root
//     alone is a finding without evidence: showing it to others takes a
//     key whose list differs, which only a lookup of that key under the
//     commitment gives.
//
// Then cfg.OnClaim runs for each new claim, and the monitor state advances
// to the checkpoint. If step 1 or 2 finds anything (but a checkpoint older
// than cfg.MaxAge, whose entries are still authentic), the pass stops there and
// the state stays, so every later pass reports it again. Findings of steps
// 3 to 5 leave the state advancing (the index is derived from authenticated
// entries), but digests with findings are looked up again by the next
// passes until their answers are right (so are lookups by source), and
// mismatches are compared in full on every pass.
//
// MonitorLog returns an error, with the report so far, only when it could
// not ask (the fetcher or index failed, the state directory failed,
// OnClaim failed, ctx done); what the log did wrong is in the report's
// findings. A monitor holds the new claims of a pass in memory, and its
// state grows with the number of claims in the log. The recomputed map is
// kept in memory between the passes of one process (cfg.State holds it);
// a process's first pass recomputes it from the entries the state covers,
// read again from the tiles (BENCHMARKS.md gives the cost: about a second
// per 100k entries on top of fetching them).
func MonitorLog(ctx context.Context, cfg MonitorConfig) (*MonitorReport, error) {
	if cfg.Policy == nil || cfg.Tiles == nil || cfg.Index == nil || cfg.State == nil {
		return nil, errors.New("client: MonitorLog: Policy, Tiles, Index and State are required")
	}
	msg, err := cfg.Tiles.Fetch(ctx, "checkpoint")
	if err != nil {
		return nil, fmt.Errorf("fetching checkpoint: %w", err)
	}
	r := &MonitorReport{Claims: []MonitorClaim{}, Findings: []Finding{}}
	vc, err := cfg.Policy.TLog.VerifyCheckpoint(msg)
	if vc != nil {
		r.Origin, r.Size = vc.Origin, vc.Size
	}
	if err != nil {
		r.find(FindingCheckpoint, nil, "%v", err)
		return r, nil
	}
	r.Checkpoint = string(msg)
	if cfg.MaxAge > 0 {
		now := time.Now
		if cfg.Now != nil {
			now = cfg.Now
		}
		switch err := checkFreshness(vc, cfg.MaxAge, now()); {
		case err != nil && len(vc.Cosigners) == 0:
			r.find(FindingStale, nil, "the checkpoint of tree size %d has no date: %v (a policy of quorum none dates no checkpoint: turn the age check off)", vc.Size, err)
		case err != nil:
			r.find(FindingStale, nil, "the checkpoint of tree size %d is too old: %v", vc.Size, err)
		}
	}
	ms, err := cfg.State.loadMonitor(vc)
	if err != nil {
		return r, err
	}
	r.OldSize = ms.Size
	mp := &monitorPass{cfg: cfg, r: r, vc: vc, ms: ms, w: newTileWalker(ctx, cfg.Tiles, tlog.Tree{N: vc.Size, Hash: vc.Hash}),
		sources: map[SourceLookup]bool{}, names: map[string]bool{}}
	if ok, err := mp.consistent(ctx); !ok || err != nil {
		return r, err
	}
	if err := mp.loadReplay(ctx); errors.Is(err, errReported) {
		return r, nil
	} else if err != nil {
		return r, err
	}
	digests := map[string]bool{}
	if ok, err := mp.entries(ctx, digests); !ok || err != nil {
		return r, err
	}
	for _, d := range ms.Recheck {
		digests[d] = true
	}
	recheck, err := mp.lookups(ctx, slices.Sorted(maps.Keys(digests)))
	if errors.Is(err, errReported) {
		return r, nil
	} else if err != nil {
		return r, err
	}
	for _, l := range ms.RecheckSources {
		mp.sources[l] = true
	}
	recheckSources, err := mp.sourceLookups(ctx)
	if errors.Is(err, errReported) {
		return r, nil
	} else if err != nil {
		return r, err
	}
	for _, n := range ms.RecheckNames {
		mp.names[n] = true
	}
	recheckNames, err := mp.nameLookups(ctx)
	if errors.Is(err, errReported) {
		return r, nil
	} else if err != nil {
		return r, err
	}
	if err := mp.mismatches(ctx); err != nil {
		return r, err
	}
	if cfg.OnClaim != nil {
		for _, c := range r.Claims {
			if err := cfg.OnClaim(ctx, c); err != nil {
				return r, fmt.Errorf("new claim %d: %w", c.Index, err)
			}
		}
	}
	ms.Size, ms.Checkpoint, ms.Recheck, ms.RecheckSources, ms.RecheckNames = vc.Size, string(vc.Note), recheck, recheckSources, recheckNames
	if err := cfg.State.saveMonitor(ms); err != nil {
		return r, err
	}
	cfg.State.putReplay(vc.Origin, mp.replay)
	r.Saved = true
	return r, nil
}

// monitorPass is the state of one MonitorLog call.
type monitorPass struct {
	cfg MonitorConfig
	r   *MonitorReport
	vc  *tiles.VerifiedCheckpoint
	ms  *monitorState
	w   *tileWalker
	// sources are the lookups by source to check: those of new claims and
	// those with findings in the last pass.
	sources map[SourceLookup]bool
	// names are the lookups by file name to check: those of new
	// digest-only claims and those with findings in the last pass.
	names map[string]bool
	// replay recomputes the log's map from the entries [0, ms.Size) and
	// then each new entry.
	replay *vindex.Replay
}

func (r *MonitorReport) find(kind string, index *int64, format string, args ...any) {
	r.Findings = append(r.Findings, Finding{Kind: kind, Index: index, Detail: fmt.Sprintf(format, args...)})
}

// tamper records a tamperError as a finding and reports whether err was one.
func (r *MonitorReport) tamper(err error) bool {
	var te *tamperError
	if !errors.As(err, &te) {
		return false
	}
	r.find(te.kind, nil, "%v", te.err)
	return true
}

// consistent does step 1 of MonitorLog after the policy and freshness
// checks, and reports whether the checkpoint is consistent with everything
// remembered and no smaller.
func (mp *monitorPass) consistent(ctx context.Context) (bool, error) {
	vc, ms, src := mp.vc, mp.ms, tileProofs{index: mp.cfg.Index, w: mp.w}
	remembered, err := mp.cfg.State.update(ctx, vc, src)
	if ok, err := mp.judge(remembered.Size, err); !ok || err != nil {
		return ok, err
	}
	newest := remembered.Size
	if ms.Size > 0 && (ms.Size != remembered.Size || ms.hash != remembered.Hash) {
		monitored := tiles.Checkpoint{Origin: vc.Origin, Size: ms.Size, Hash: ms.hash}
		if ms.Size > vc.Size {
			err = mp.cfg.State.compare(ctx, src, vc.Note, []byte(ms.Checkpoint), vc.Checkpoint, monitored)
		} else {
			err = mp.cfg.State.compare(ctx, src, []byte(ms.Checkpoint), vc.Note, monitored, vc.Checkpoint)
		}
		if ok, err := mp.judge(ms.Size, err); !ok || err != nil {
			return ok, err
		}
		newest = max(newest, ms.Size)
	}
	if vc.Size < newest {
		mp.r.find(FindingStale, nil, "the checkpoint has tree size %d, smaller than the tree size %d remembered: a stale view of the log "+
			"(a lagging mirror or a rolled-back log), though a prefix of the remembered tree", vc.Size, newest)
		return false, nil
	}
	return true, nil
}

// judge records what State.compare found comparing the checkpoint with a
// remembered one of tree size size, and reports whether the pass may go
// on. It returns an error only when the monitor could not ask.
func (mp *monitorPass) judge(size int64, err error) (bool, error) {
	var ie *InconsistencyError
	var ce *consistencyError
	switch {
	case err == nil:
		return true, nil
	case errors.As(err, &ie):
		mp.r.find(FindingInconsistency, nil, "%v", err)
		mp.r.Evidence = ie.Evidence
	case mp.r.tamper(err):
	case size > mp.vc.Size && errors.Is(err, errConsistencyProof):
		mp.r.find(FindingStale, nil, "the checkpoint has tree size %d, smaller than the tree size %d remembered, and the log does not show it a prefix of the remembered tree: %v",
			mp.vc.Size, size, err)
	case errors.As(err, &ce):
		// The proof came from the checkpoint's authenticated tiles: a fork,
		// which only a proof from a tree size that is a power of two fails
		// to show portably.
		mp.r.find(FindingInconsistency, nil, "the tree of the checkpoint (tree size %d, authenticated from its tiles) does not extend the remembered tree of size %d, so the log forked; no evidence file was written: %v",
			mp.vc.Size, size, ce)
	default:
		return false, err
	}
	return false, nil
}

// tileProofs gives State.Update consistency proofs towards the walker's
// tree from its authenticated tiles, and asks the index for any other.
type tileProofs struct {
	index IndexSource
	w     *tileWalker
}

func (s tileProofs) Checkpoint(context.Context) ([]byte, error) {
	return nil, errors.New("client: a monitor asks no checkpoint of its index")
}

func (s tileProofs) ClaimsByDigest(ctx context.Context, sha256 string, treeSize int64) (Lookup, error) {
	return s.index.ClaimsByDigest(ctx, sha256, treeSize)
}

func (s tileProofs) ClaimsBySource(context.Context, string, string, string, int64) (Lookup, error) {
	return Lookup{}, errors.New("client: a monitor does not look up sources")
}

func (s tileProofs) ClaimsByName(context.Context, string, int64) (Lookup, error) {
	return Lookup{}, errors.New("client: a monitor does not look up file names")
}

func (s tileProofs) ConsistencyProof(ctx context.Context, oldSize, newSize int64) ([]tlog.Hash, error) {
	if newSize == s.w.tree.N {
		return tlog.ProveTree(newSize, oldSize, s.w)
	}
	return s.index.ConsistencyProof(ctx, oldSize, newSize)
}

// entries does steps 2 and 3 of MonitorLog, adding the digests of new
// claims to digests, and reports whether the tiles and bundles held.
func (mp *monitorPass) entries(ctx context.Context, digests map[string]bool) (bool, error) {
	first, end := mp.ms.Size, mp.vc.Size
	defer func() { mp.r.Tiles = len(mp.w.tr.read) }()
	if first >= end {
		return true, nil
	}
	for n := first / tiles.Width; n*tiles.Width < end; n++ {
		entries, _, err := mp.w.bundle(ctx, n)
		if mp.r.tamper(err) {
			return false, nil
		} else if err != nil {
			return false, err
		}
		mp.r.Bundles++
		for i, e := range entries {
			if idx := n*tiles.Width + int64(i); idx >= first {
				mp.r.Entries++
				mp.entry(idx, e, digests)
			}
		}
	}
	return true, nil
}

// entry checks one new entry and adds its claim to the index. An entry is
// a claim or an index commitment (package log/vindex), which is no claim
// and needs only to be well formed here.
func (mp *monitorPass) entry(idx int64, e []byte, digests map[string]bool) {
	if c, err := replayEntry(mp.replay, e); c != nil && err != nil {
		mp.indexFinding(&idx, err.Error(), nil)
	}
	if vindex.IsCommitment(e) {
		if _, err := vindex.ParseCommitment(e); err != nil {
			mp.r.find(FindingEntry, &idx, "%v", err)
		}
		return
	}
	r, err := record.Decode(e)
	if err != nil {
		kind := FindingEntry
		if errors.Is(err, claim.ErrBadSignature) || errors.Is(err, claim.ErrBadKey) {
			kind = FindingSignature
		}
		mp.r.find(kind, &idx, "%v", err)
		return
	}
	keys := r.Keys()
	mc := MonitorClaim{Index: idx, Kind: r.Kind, Source: r.Source, Commit: r.Commit, Recipe: r.Recipe, Entry: e, Signers: keys.Builders}
	for j, s := range r.Subjects {
		mc.Subjects = append(mc.Subjects, MonitorSubject{Name: s.Name, SHA256: s.SHA256, Platform: s.Platform})
		if j == 0 || s.Platform == mc.Platform {
			mc.Platform = s.Platform
		} else {
			mc.Platform = ""
		}
	}
	identityDigests := make([]string, len(keys.Identities))
	for j, p := range r.IdentitySubjects() {
		identityDigests[j] = r.Subjects[p].SHA256
	}
	mp.ms.add(idx, keys, identityDigests, r.Recipe)
	for _, d := range keys.Digests {
		digests[d] = true
	}
	for _, b := range keys.Builds {
		for _, l := range sourceLookups(b) {
			mp.sources[l] = true
		}
	}
	for _, n := range keys.Names {
		mp.names[n] = true
	}
	mp.r.Claims = append(mp.r.Claims, mc)
}

// lookups does step 4 of MonitorLog and returns the digests with findings.
// The lookups run concurrently; their answers are judged in digest order.
func (mp *monitorPass) lookups(ctx context.Context, digests []string) ([]string, error) {
	mp.r.Digests = len(digests)
	answers := make([]Lookup, len(digests))
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(lookupsInFlight)
	for i, d := range digests {
		g.Go(func() error {
			lk, err := mp.cfg.Index.ClaimsByDigest(gctx, d, mp.vc.Size)
			if err != nil {
				return fmt.Errorf("looking up claims for %s: %w", d, err)
			}
			answers[i] = lk
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	recheck := []string{}
	for i, d := range digests {
		before := len(mp.r.Findings)
		mp.judgeLookup(d, answers[i])
		if err := mp.checkIndexProof(ctx, "by digest", vindex.DigestKey(d), mp.ms.byDigest[d], answers[i].Index); err != nil {
			return nil, err
		}
		for k := before; k < len(mp.r.Findings); k++ {
			mp.r.Findings[k].SHA256 = d
		}
		if len(mp.r.Findings) > before {
			recheck = append(recheck, d)
		}
	}
	return recheck, nil
}

// judgeLookup compares a lookup's answer for d with the monitor's index.
func (mp *monitorPass) judgeLookup(d string, lk Lookup) {
	mp.judgeAnswer("by digest", "naming the digest", mp.ms.byDigest[d], lk)
}

// sourceLookups does the lookups by source of step 4 of MonitorLog and
// returns those with findings. The lookups run concurrently; their answers
// are judged in order.
func (mp *monitorPass) sourceLookups(ctx context.Context) ([]SourceLookup, error) {
	lookups := slices.SortedFunc(maps.Keys(mp.sources), func(a, b SourceLookup) int {
		return cmp.Or(strings.Compare(a.Source, b.Source), strings.Compare(a.Commit, b.Commit), strings.Compare(a.Platform, b.Platform))
	})
	mp.r.Sources = len(lookups)
	answers := make([]Lookup, len(lookups))
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(lookupsInFlight)
	for i, l := range lookups {
		g.Go(func() error {
			lk, err := mp.cfg.Index.ClaimsBySource(gctx, l.Source, l.Commit, l.Platform, mp.vc.Size)
			if err != nil {
				return fmt.Errorf("looking up claims about %s: %w", l, err)
			}
			answers[i] = lk
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	var recheck []SourceLookup
	for i, l := range lookups {
		before := len(mp.r.Findings)
		what := fmt.Sprintf("by source (%s)", l)
		mp.judgeAnswer(what, "about that source commit", mp.ms.bySource[l], answers[i])
		key := vindex.SourceKey(l.Source, l.Commit)
		if l.Platform != "" {
			key = vindex.BuildKey(l.Source, l.Commit, l.Platform)
		}
		if err := mp.checkIndexProof(ctx, what, key, mp.ms.bySource[l], answers[i].Index); err != nil {
			return nil, err
		}
		if len(mp.r.Findings) > before {
			recheck = append(recheck, l)
		}
	}
	return recheck, nil
}

// nameLookups does the lookups by file name of step 4 of MonitorLog and
// returns the names with findings. The lookups run concurrently; their
// answers are judged in name order.
func (mp *monitorPass) nameLookups(ctx context.Context) ([]string, error) {
	names := slices.Sorted(maps.Keys(mp.names))
	mp.r.Names = len(names)
	answers := make([]Lookup, len(names))
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(lookupsInFlight)
	for i, n := range names {
		g.Go(func() error {
			lk, err := mp.cfg.Index.ClaimsByName(gctx, n, mp.vc.Size)
			if err != nil {
				return fmt.Errorf("looking up claims naming the file %q: %w", n, err)
			}
			answers[i] = lk
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	var recheck []string
	for i, n := range names {
		before := len(mp.r.Findings)
		what := fmt.Sprintf("by file name (%s)", n)
		mp.judgeAnswer(what, "naming that file in a digest-only claim", mp.ms.byName[n], answers[i])
		if err := mp.checkIndexProof(ctx, what, vindex.NameKey(n), mp.ms.byName[n], answers[i].Index); err != nil {
			return nil, err
		}
		if len(mp.r.Findings) > before {
			recheck = append(recheck, n)
		}
	}
	return recheck, nil
}

// judgeAnswer compares the answer of a lookup (named "by ...") with the claims
// the monitor's index says it must return, which are what.
func (mp *monitorPass) judgeAnswer(lookup, what string, want []int64, lk Lookup) {
	size, root := mp.vc.Size, mp.vc.Hash
	wanted := map[int64]bool{}
	for _, idx := range want {
		wanted[idx] = true
	}
	got := map[int64]bool{}
	for _, pc := range lk.Claims {
		idx := pc.Index
		switch {
		case idx < 0 || idx >= size:
			mp.r.find(FindingLookup, &idx, "the lookup %s returned an index outside the tree of size %d", lookup, size)
			continue
		case got[idx]:
			mp.r.find(FindingLookup, &idx, "the lookup %s returned this index twice", lookup)
			continue
		}
		got[idx] = true
		leaf := tlog.RecordHash(pc.Entry)
		if err := proof.VerifyInclusion(rfc6962.DefaultHasher, uint64(idx), uint64(size), leaf[:], hashSlices(pc.Proof), root[:]); err != nil {
			mp.r.find(FindingLookup, &idx, "the entry the lookup %s returned does not verify against the checkpoint of size %d: %v", lookup, size, err)
		}
		if !wanted[idx] {
			mp.r.find(FindingInventedClaim, &idx, "the lookup %s returned this entry, which is not a valid claim %s", lookup, what)
		}
	}
	for _, idx := range want {
		if !got[idx] {
			mp.r.find(FindingHiddenClaim, &idx, "the lookup %s against the tree of size %d left out this claim %s", lookup, size, what)
		}
	}
}

// mismatches does step 5 of MonitorLog.
func (mp *monitorPass) mismatches(ctx context.Context) error {
	listed, err := mp.cfg.Index.Mismatches(ctx)
	if err != nil {
		return fmt.Errorf("listing mismatches: %w", err)
	}
	derived := mp.ms.mismatches()
	mp.r.Mismatches = len(derived)
	byID := map[string]Mismatch{}
	for _, m := range listed {
		switch {
		case m.Claim < 0 || m.Claim >= mp.vc.Size:
			continue // created past the checkpoint
		case m.ID != m.Identity.ID():
			mp.findMismatch(FindingInventedMismatch, m.ID, "the log lists a mismatch of %s under the ID %s, which is not that identity's", describeIdentity(m.Identity), m.ID)
			continue
		}
		if _, ok := byID[m.ID]; ok {
			mp.findMismatch(FindingInventedMismatch, m.ID, "the log lists this mismatch twice")
			continue
		}
		byID[m.ID] = m
	}
	for _, m := range derived {
		l, ok := byID[m.ID]
		delete(byID, m.ID)
		switch {
		case !ok:
			mp.findMismatch(FindingMissingMismatch, m.ID, "the log does not list the mismatch of %s that claim %d created", describeIdentity(m.Identity), m.Claim)
		case l.Claim != m.Claim:
			mp.findMismatch(FindingMissingMismatch, m.ID, "the log lists the mismatch of %s as created by claim %d, the entries show claim %d", describeIdentity(m.Identity), l.Claim, m.Claim)
		default:
			mp.compareMismatch(m, l)
		}
	}
	for _, id := range slices.Sorted(maps.Keys(byID)) {
		mp.findMismatch(FindingInventedMismatch, id, "the log lists a mismatch of %s that the entries do not show", describeIdentity(byID[id].Identity))
	}
	return nil
}

// compareMismatch compares the claims of a derived mismatch with the listed one.
func (mp *monitorPass) compareMismatch(derived, listed Mismatch) {
	type claimAt struct {
		digest string
		index  int64
	}
	recipes := func(m Mismatch, limit int64) (map[claimAt]string, bool) {
		out := map[claimAt]string{}
		for _, d := range m.Digests {
			if len(d.Recipes) != len(d.Claims) {
				return nil, false
			}
			for i, idx := range d.Claims {
				if idx < limit {
					out[claimAt{d.SHA256, idx}] = d.Recipes[i]
				}
			}
		}
		return out, true
	}
	want, _ := recipes(derived, mp.vc.Size)
	got, ok := recipes(listed, mp.vc.Size)
	if !ok {
		mp.findMismatch(FindingInventedMismatch, derived.ID, "the log lists a digest with more or fewer recipes than claims")
		return
	}
	for _, c := range slices.SortedFunc(maps.Keys(want), func(a, b claimAt) int { return cmp.Compare(a.index, b.index) }) {
		if r, ok := got[c]; !ok {
			mp.findMismatch(FindingMissingMismatch, derived.ID, "the log does not list claim %d naming %s", c.index, c.digest)
		} else if r != want[c] {
			mp.findMismatch(FindingInventedMismatch, derived.ID, "the log lists claim %d with recipe %s, the entry has %s", c.index, r, want[c])
		}
	}
	for _, c := range slices.SortedFunc(maps.Keys(got), func(a, b claimAt) int { return cmp.Compare(a.index, b.index) }) {
		if _, ok := want[c]; !ok {
			mp.findMismatch(FindingInventedMismatch, derived.ID, "the log lists claim %d as naming %s, which the entries do not show", c.index, c.digest)
		}
	}
}

func (mp *monitorPass) findMismatch(kind string, id string, format string, args ...any) {
	mp.r.Findings = append(mp.r.Findings, Finding{Kind: kind, Mismatch: id, Detail: fmt.Sprintf(format, args...)})
}

func describeIdentity(id Identity) string {
	return fmt.Sprintf("%s@%s %s %s", id.Source, id.Commit, id.Platform, id.Artifact)
}
