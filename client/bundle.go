package client

import (
	"bytes"
	"cmp"
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/attestlog/attestlog/log/claim"
	"github.com/attestlog/attestlog/log/claim/record"
	"github.com/transparency-dev/formats/proof"
	"golang.org/x/mod/sumdb/tlog"
)

// BundleFormat is the format field of every bundle file.
const BundleFormat = "attestlog.dev/bundle/v1"

// Bounds on what a bundle holds.
const (
	maxProofHashes       = 64  // an inclusion proof in a tree of up to 2^64 entries
	maxConsistencyHashes = 128 // a consistency proof in such a tree
)

var (
	// ErrMalformedBundle is wrapped by every error of [ParseBundle] and [Bundle.Marshal].
	ErrMalformedBundle = errors.New("client: malformed bundle")
	// ErrNotInBundle is wrapped by the errors of a [BundleSource] asked for
	// what its bundle does not hold.
	ErrNotInBundle = errors.New("client: not in the bundle")
)

// A Bundle is everything [Verify] needs to verify one digest offline, with
// no network: a witnessed checkpoint and every claim naming the digest,
// each with its inclusion proof against that checkpoint, plus every claim
// about the same builds (source, commit, platform), so that conflicts can be
// found offline, and the index proofs ([IndexProof]) that show both lists
// complete: a bundle is not trusted to be complete, Verify checks it. It
// holds no policy: the same bundle serves every verifier.
//
// # File format
//
// A bundle file is JSON, in the one spelling [Bundle.Marshal] gives
// (two-space indent, keys in this order, a final newline):
//
//	{
//	  "format": "attestlog.dev/bundle/v1",
//	  "sha256": "<64 lowercase hex digits>",
//	  "checkpoint": "<the witnessed checkpoint note, verbatim>",
//	  "claims": [
//	    {
//	      "entry": "<the entry bytes, standard base64>",
//	      "proof": "c2sp.org/tlog-proof@v1\nindex 3\n<base64 hash>\n...\n\n<the checkpoint note>"
//	    }
//	  ],
//	  "source_claims": [ <the same, for other claims about the builds> ],
//	  "consistency": [
//	    {"old_size": 10, "new_size": 12, "proof": ["<base64 hash>", ...]}
//	  ],
//	  "index": {
//	    "commitment": {"entry": "<base64>", "proof": "<c2sp.org/tlog-proof>"},
//	    "left": ["<base64 hash>", ...],
//	    "tail": ["<base64 entry>", ...],
//	    "digest_proof": "<base64 map proof>",
//	    "build_proofs": [
//	      {"source": "...", "commit": "...", "platform": "...", "proof": "<base64 map proof>"}
//	    ],
//	    "name_proofs": [
//	      {"name": "<file name>", "proof": "<base64 map proof>"}
//	    ]
//	  }
//	}
//
// Each "proof" is a complete c2sp.org/tlog-proof (no extra line) whose
// checkpoint is the bundle's, so it can be cut out into a .tlog-proof file
// and checked alone. Claims and source claims are in increasing index
// order, each index once over both lists, all below the checkpoint's size.
// Consistency proofs (optional; see [Bundle.AddConsistencyProof]) run
// between the checkpoint's size and another size, ordered by sizes; they let
// a verifier with a remembered checkpoint use the bundle offline. The index
// section holds the log's latest index commitment below the checkpoint's
// size ("commitment" null if it has none), the tail after it with the
// compact range before it, and the map proofs of the digest, of each
// build and of each file name, in order ("name_proofs", absent when there
// are none: for the digest-only claims of issue 11, whose conflicts Verify
// finds by file name); a bundle made before the index has none, and then
// Verify reports that nothing shows its lists complete. Source claims also
// hold the other digest-only claims about the file names.
type Bundle struct {
	Digest       string        // sha256 of the artifact, 64 lowercase hex digits
	Checkpoint   []byte        // the witnessed checkpoint note, verbatim
	Claims       []ProvenClaim // every claim naming Digest, proven against Checkpoint
	SourceClaims []ProvenClaim // every other claim about the builds of Claims, proven against Checkpoint
	Consistency  []ConsistencyProof
	Index        *BundleIndex // the proofs that Claims and the lookups by build are complete; nil in older bundles
}

// A BundleIndex is the index proofs of a bundle's lookups: one commitment
// and tail, shared by every lookup at the bundle's tree size, and one map
// proof per lookup.
type BundleIndex struct {
	Commitment *ProvenClaim // proven against the bundle's checkpoint; nil if the log made none below its size
	Left       []tlog.Hash
	Tail       [][]byte
	Digest     []byte       // the map proof for the bundle's digest
	Builds     []BuildProof // the map proofs of the builds, in order
	Names      []NameProof  // the map proofs of the file names, in order
}

// A NameProof is the map proof for the lookup of one file name.
type NameProof struct {
	Name  string
	Proof []byte
}

// A BuildProof is the map proof for the lookup of one build (source,
// commit and platform).
type BuildProof struct {
	Source, Commit, Platform string
	Proof                    []byte
}

// proof returns the IndexProof of the lookup whose map proof is mp.
func (bi *BundleIndex) proof(mp []byte) *IndexProof {
	return &IndexProof{Commitment: bi.Commitment, MapProof: mp, Left: slices.Clone(bi.Left), Tail: slices.Clone(bi.Tail)}
}

// A ConsistencyProof proves that the tree of size OldSize is a prefix of the
// tree of size NewSize.
type ConsistencyProof struct {
	OldSize, NewSize int64
	Proof            []tlog.Hash
}

type bundleJSON struct {
	Format       string            `json:"format"`
	SHA256       string            `json:"sha256"`
	Checkpoint   string            `json:"checkpoint"`
	Claims       []bundleClaim     `json:"claims"`
	SourceClaims []bundleClaim     `json:"source_claims"`
	Consistency  []consistencyJSON `json:"consistency"`
	Index        *bundleIndexJSON  `json:"index,omitempty"`
}

type bundleIndexJSON struct {
	Commitment  *bundleClaim `json:"commitment"`
	Left        []tlog.Hash  `json:"left"`
	Tail        [][]byte     `json:"tail"`
	DigestProof []byte       `json:"digest_proof"`
	BuildProofs []buildJSON  `json:"build_proofs"`
	NameProofs  []nameJSON   `json:"name_proofs,omitempty"`
}

type nameJSON struct {
	Name  string `json:"name"`
	Proof []byte `json:"proof"`
}

type buildJSON struct {
	Source   string `json:"source"`
	Commit   string `json:"commit"`
	Platform string `json:"platform"`
	Proof    []byte `json:"proof"`
}

type bundleClaim struct {
	Entry []byte `json:"entry"`
	Proof string `json:"proof"`
}

type consistencyJSON struct {
	OldSize int64       `json:"old_size"`
	NewSize int64       `json:"new_size"`
	Proof   []tlog.Hash `json:"proof"`
}

// NewBundle asks src for the bundle of a digest: its checkpoint, the claims
// naming the digest, and the claims about every build one of them names
// (whoever signed it: the bundle does not know the verifier's policy). It
// verifies nothing; [Verify] on a [BundleSource] does.
func NewBundle(ctx context.Context, src Source, sha256 string) (*Bundle, error) {
	d, err := claim.NormaliseDigest(sha256)
	if err != nil {
		return nil, fmt.Errorf("client: bundling sha256 %q: %v", sha256, err)
	}
	msg, err := src.Checkpoint(ctx)
	if err != nil {
		return nil, fmt.Errorf("fetching checkpoint: %w", err)
	}
	cp, err := noteCheckpoint(msg)
	if err != nil {
		return nil, fmt.Errorf("client: bundling: checkpoint: %w", err)
	}
	lk, err := src.ClaimsByDigest(ctx, d, cp.Size)
	if err != nil {
		return nil, fmt.Errorf("looking up claims for %s: %w", d, err)
	}
	b := &Bundle{Digest: d, Checkpoint: msg, Claims: lk.Claims}
	if lk.Index != nil {
		ip := lk.Index
		b.Index = &BundleIndex{Commitment: ip.Commitment, Left: ip.Left, Tail: ip.Tail, Digest: ip.MapProof}
	}
	have := map[int64]bool{}
	builds := map[build]bool{}
	names := map[string]bool{}
	for _, pc := range lk.Claims {
		have[pc.Index] = true
		bs, ns := digestKeys(pc.Entry, d)
		for _, bd := range bs {
			builds[bd] = true
		}
		for _, n := range ns {
			names[n] = true
		}
	}
	for _, bd := range slices.SortedFunc(maps.Keys(builds), compareBuilds) {
		lk, err := src.ClaimsBySource(ctx, bd.source, bd.commit, bd.platform, cp.Size)
		if err != nil {
			return nil, fmt.Errorf("looking up claims for %s@%s %s: %w", bd.source, bd.commit, bd.platform, err)
		}
		for _, pc := range lk.Claims {
			if !have[pc.Index] {
				have[pc.Index] = true
				b.SourceClaims = append(b.SourceClaims, pc)
			}
		}
		if err := b.addBuildProof(bd, lk.Index); err != nil {
			return nil, fmt.Errorf("client: bundling: %w", err)
		}
	}
	for _, n := range slices.Sorted(maps.Keys(names)) {
		lk, err := src.ClaimsByName(ctx, n, cp.Size)
		if err != nil {
			return nil, fmt.Errorf("looking up claims for file name %q: %w", n, err)
		}
		for _, pc := range lk.Claims {
			if !have[pc.Index] {
				have[pc.Index] = true
				b.SourceClaims = append(b.SourceClaims, pc)
			}
		}
		if err := b.addNameProof(n, lk.Index); err != nil {
			return nil, fmt.Errorf("client: bundling: %w", err)
		}
	}
	slices.SortFunc(b.SourceClaims, func(x, y ProvenClaim) int { return cmp.Compare(x.Index, y.Index) })
	if _, err := b.check(); err != nil {
		return nil, fmt.Errorf("client: bundling: the source's answers: %w", err)
	}
	return b, nil
}

func compareBuilds(a, b build) int {
	return cmp.Or(strings.Compare(a.source, b.source), strings.Compare(a.commit, b.commit), strings.Compare(a.platform, b.platform))
}

// decodeEntry returns what a log's index sees in an entry, or nil if it is
// no claim: a v1 entry parsed but its signatures not checked (a bundle's
// lists are sorted by what entries say; Verify checks them), a v2 entry
// decoded (its mapping is the verified document's).
func decodeEntry(entry []byte) *record.Record {
	if e, err := claim.ParseEntry(entry); err == nil {
		c, err := claim.ParseStatement(e.Payload)
		if err != nil {
			return nil
		}
		return record.FromV1(e, c)
	}
	r, err := record.Decode(entry)
	if err != nil {
		return nil
	}
	return r
}

// digestKeys returns the builds and (for a digest-only claim) the file
// names under which the claim in entry gives digest d, as Verify looks
// them up; none if the entry does not decode.
func digestKeys(entry []byte, d string) ([]build, []string) {
	r := decodeEntry(entry)
	if r == nil {
		return nil, nil
	}
	var (
		bs []build
		ns []string
	)
	for _, s := range r.Subjects {
		switch {
		case s.SHA256 != d:
		case r.DigestOnly():
			ns = appendOnce(ns, s.Name)
		case s.Platform != "":
			bs = appendOnce(bs, build{r.Source, r.Commit, s.Platform})
		}
	}
	return bs, ns
}

// aboutBuild reports whether a record has a subject of build bd.
func aboutBuild(r *record.Record, bd build) bool {
	return !r.DigestOnly() && r.Source == bd.source && r.Commit == bd.commit &&
		slices.ContainsFunc(r.Subjects, func(s record.Subject) bool { return s.Platform == bd.platform })
}

// namesFile reports whether a record is digest-only and names a file name.
func namesFile(r *record.Record, name string) bool {
	return r.DigestOnly() && slices.ContainsFunc(r.Subjects, func(s record.Subject) bool { return s.Name == name })
}

// AddConsistencyProof asks src for the consistency proof between the tree
// size of a client's remembered checkpoint and the bundle's, and adds it,
// so that a client remembering that size can verify the bundle offline.
// Sizes of 0 and the bundle's own need no proof.
func (b *Bundle) AddConsistencyProof(ctx context.Context, src Source, size int64) error {
	cp, err := noteCheckpoint(b.Checkpoint)
	if err != nil {
		return fmt.Errorf("%w: checkpoint: %v", ErrMalformedBundle, err)
	}
	if size <= 0 || size == cp.Size {
		return nil
	}
	old, new := min(size, cp.Size), max(size, cp.Size)
	p, err := src.ConsistencyProof(ctx, old, new)
	if err != nil {
		return fmt.Errorf("fetching consistency proof from %d to %d: %w", old, new, err)
	}
	b.Consistency = slices.DeleteFunc(b.Consistency, func(c ConsistencyProof) bool { return c.OldSize == old && c.NewSize == new })
	b.Consistency = append(b.Consistency, ConsistencyProof{OldSize: old, NewSize: new, Proof: p})
	slices.SortFunc(b.Consistency, func(x, y ConsistencyProof) int {
		return cmp.Or(cmp.Compare(x.OldSize, y.OldSize), cmp.Compare(x.NewSize, y.NewSize))
	})
	return nil
}

// check validates the form of b (see the file format) and returns the
// checkpoint's tree size.
func (b *Bundle) check() (int64, error) {
	if d, err := claim.NormaliseDigest(b.Digest); err != nil || d != b.Digest {
		return 0, fmt.Errorf("sha256 %q is not 64 lowercase hex digits", b.Digest)
	}
	if !utf8.Valid(b.Checkpoint) {
		return 0, errors.New("checkpoint is not UTF-8")
	}
	cp, err := noteCheckpoint(b.Checkpoint)
	if err != nil {
		return 0, fmt.Errorf("checkpoint: %v", err)
	}
	have := map[int64]bool{}
	for _, list := range []struct {
		name   string
		claims []ProvenClaim
	}{{"claims", b.Claims}, {"source_claims", b.SourceClaims}} {
		for i, pc := range list.claims {
			switch {
			case pc.Index < 0 || pc.Index >= cp.Size:
				return 0, fmt.Errorf("%s[%d]: index %d outside the tree of size %d", list.name, i, pc.Index, cp.Size)
			case have[pc.Index]:
				return 0, fmt.Errorf("%s[%d]: index %d twice", list.name, i, pc.Index)
			case i > 0 && pc.Index < list.claims[i-1].Index:
				return 0, fmt.Errorf("%s[%d]: index %d out of order", list.name, i, pc.Index)
			case len(pc.Entry) == 0 || len(pc.Entry) > claim.MaxEntrySize:
				return 0, fmt.Errorf("%s[%d]: entry of %d bytes", list.name, i, len(pc.Entry))
			case len(pc.Proof) > maxProofHashes:
				return 0, fmt.Errorf("%s[%d]: inclusion proof of %d hashes", list.name, i, len(pc.Proof))
			}
			have[pc.Index] = true
		}
	}
	for i, c := range b.Consistency {
		switch {
		case c.OldSize <= 0 || c.OldSize >= c.NewSize || (c.OldSize != cp.Size && c.NewSize != cp.Size):
			return 0, fmt.Errorf("consistency[%d]: sizes %d to %d, want 0 < old < new, one of them the checkpoint's %d", i, c.OldSize, c.NewSize, cp.Size)
		case i > 0 && cmp.Or(cmp.Compare(c.OldSize, b.Consistency[i-1].OldSize), cmp.Compare(c.NewSize, b.Consistency[i-1].NewSize)) <= 0:
			return 0, fmt.Errorf("consistency[%d]: out of order or twice", i)
		case len(c.Proof) > maxConsistencyHashes:
			return 0, fmt.Errorf("consistency[%d]: proof of %d hashes", i, len(c.Proof))
		}
	}
	if b.Index != nil {
		if err := b.Index.check(cp.Size); err != nil {
			return 0, err
		}
	}
	return cp.Size, nil
}

// Marshal returns the bundle file. It checks the form of b, not its
// signatures or proofs; errors wrap [ErrMalformedBundle].
func (b *Bundle) Marshal() ([]byte, error) {
	if _, err := b.check(); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrMalformedBundle, err)
	}
	j := bundleJSON{Format: BundleFormat, SHA256: b.Digest, Checkpoint: string(b.Checkpoint),
		Claims: b.claimsJSON(b.Claims), SourceClaims: b.claimsJSON(b.SourceClaims), Consistency: []consistencyJSON{}}
	for _, c := range b.Consistency {
		j.Consistency = append(j.Consistency, consistencyJSON{OldSize: c.OldSize, NewSize: c.NewSize, Proof: nonNil(c.Proof)})
	}
	j.Index = b.indexJSON()
	return marshalCanonical(&j)
}

func (b *Bundle) claimsJSON(claims []ProvenClaim) []bundleClaim {
	out := []bundleClaim{}
	for _, pc := range claims {
		p := proof.TLogProof{Index: uint64(pc.Index), Checkpoint: b.Checkpoint, Hashes: make([][32]byte, len(pc.Proof))}
		for i, h := range pc.Proof {
			p.Hashes[i] = h
		}
		out = append(out, bundleClaim{Entry: pc.Entry, Proof: string(p.Marshal())})
	}
	return out
}

func nonNil(hs []tlog.Hash) []tlog.Hash {
	if hs == nil {
		return []tlog.Hash{}
	}
	return hs
}

// ParseBundle parses a bundle file, accepting only the spelling of
// [Bundle.Marshal]. It checks the form, not signatures or proofs: use
// [Verify] with a [BundleSource]. Errors wrap [ErrMalformedBundle].
func ParseBundle(data []byte) (*Bundle, error) {
	var j bundleJSON
	if err := decodeStrict(data, &j); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrMalformedBundle, err)
	}
	if j.Format != BundleFormat {
		return nil, fmt.Errorf("%w: format %q, want %q", ErrMalformedBundle, j.Format, BundleFormat)
	}
	b := &Bundle{Digest: j.SHA256, Checkpoint: []byte(j.Checkpoint)}
	var err error
	if b.Claims, err = parseBundleClaims("claims", j.Claims, b.Checkpoint); err != nil {
		return nil, err
	}
	if b.SourceClaims, err = parseBundleClaims("source_claims", j.SourceClaims, b.Checkpoint); err != nil {
		return nil, err
	}
	for _, c := range j.Consistency {
		b.Consistency = append(b.Consistency, ConsistencyProof{OldSize: c.OldSize, NewSize: c.NewSize, Proof: c.Proof})
	}
	if b.Index, err = parseBundleIndex(j.Index, b.Checkpoint); err != nil {
		return nil, err
	}
	again, err := b.Marshal()
	if err != nil {
		return nil, err
	}
	if !bytes.Equal(again, data) {
		return nil, fmt.Errorf("%w: %v", ErrMalformedBundle, errNotCanonical)
	}
	return b, nil
}

func parseBundleClaims(name string, claims []bundleClaim, checkpoint []byte) ([]ProvenClaim, error) {
	var out []ProvenClaim
	for i, c := range claims {
		var p proof.TLogProof
		if err := p.Unmarshal([]byte(c.Proof)); err != nil {
			return nil, fmt.Errorf("%w: %s[%d].proof: %v", ErrMalformedBundle, name, i, err)
		}
		switch {
		case string(p.Marshal()) != c.Proof || p.ExtraData != nil:
			return nil, fmt.Errorf("%w: %s[%d].proof: not a c2sp.org/tlog-proof in canonical form without extra data", ErrMalformedBundle, name, i)
		case !bytes.Equal(p.Checkpoint, checkpoint):
			return nil, fmt.Errorf("%w: %s[%d].proof: its checkpoint is not the bundle's", ErrMalformedBundle, name, i)
		case p.Index > 1<<63-1:
			return nil, fmt.Errorf("%w: %s[%d].proof: index %d", ErrMalformedBundle, name, i, p.Index)
		}
		pc := ProvenClaim{Index: int64(p.Index), Entry: c.Entry, Proof: make([]tlog.Hash, len(p.Hashes))}
		for k, h := range p.Hashes {
			pc.Proof[k] = h
		}
		out = append(out, pc)
	}
	return out, nil
}

// A BundleSource is a [Source] that answers from a [Bundle] alone, with no
// network. Asked for anything the bundle does not hold (another digest or
// tree size, a consistency proof it lacks), it fails with an error wrapping
// [ErrNotInBundle]. It does not modify the bundle and is safe for
// concurrent use.
type BundleSource struct {
	Bundle *Bundle
}

var _ Source = BundleSource{}

// Checkpoint implements [Source].
func (s BundleSource) Checkpoint(context.Context) ([]byte, error) {
	return bytes.Clone(s.Bundle.Checkpoint), nil
}

func (s BundleSource) checkSize(treeSize int64) error {
	cp, err := noteCheckpoint(s.Bundle.Checkpoint)
	if err != nil {
		return fmt.Errorf("%w: checkpoint: %v", ErrMalformedBundle, err)
	}
	if treeSize != cp.Size {
		return fmt.Errorf("%w: claims proven in a tree of size %d (it holds size %d)", ErrNotInBundle, treeSize, cp.Size)
	}
	return nil
}

// ClaimsByDigest implements [Source] for the bundle's digest and tree size.
func (s BundleSource) ClaimsByDigest(_ context.Context, sha256 string, treeSize int64) (Lookup, error) {
	if sha256 != s.Bundle.Digest {
		return Lookup{}, fmt.Errorf("%w: claims for sha256 %s (it is for %s)", ErrNotInBundle, sha256, s.Bundle.Digest)
	}
	if err := s.checkSize(treeSize); err != nil {
		return Lookup{}, err
	}
	lk := Lookup{Claims: slices.Clone(s.Bundle.Claims)}
	if s.Bundle.Index != nil {
		lk.Index = s.Bundle.Index.proof(s.Bundle.Index.Digest)
	}
	return lk, nil
}

// ClaimsBySource implements [Source] for the bundle's tree size: it returns
// the bundle's claims about the build, and those whose statement does not
// parse, so that the caller sees them fail.
func (s BundleSource) ClaimsBySource(_ context.Context, source, commit, platform string, treeSize int64) (Lookup, error) {
	if err := s.checkSize(treeSize); err != nil {
		return Lookup{}, err
	}
	var lk Lookup
	for _, pc := range slices.Concat(s.Bundle.Claims, s.Bundle.SourceClaims) {
		r := decodeEntry(pc.Entry)
		if r == nil || aboutBuild(r, build{source, commit, platform}) {
			lk.Claims = append(lk.Claims, pc)
		}
	}
	slices.SortFunc(lk.Claims, func(x, y ProvenClaim) int { return cmp.Compare(x.Index, y.Index) })
	lk.Index = s.Bundle.buildProof(source, commit, platform)
	return lk, nil
}

// ClaimsByName implements [Source] for the bundle's tree size: it returns
// the bundle's digest-only claims naming the file, and those that do not
// decode, so that the caller sees them fail.
func (s BundleSource) ClaimsByName(_ context.Context, name string, treeSize int64) (Lookup, error) {
	if err := s.checkSize(treeSize); err != nil {
		return Lookup{}, err
	}
	var lk Lookup
	for _, pc := range slices.Concat(s.Bundle.Claims, s.Bundle.SourceClaims) {
		r := decodeEntry(pc.Entry)
		if r == nil || namesFile(r, name) {
			lk.Claims = append(lk.Claims, pc)
		}
	}
	slices.SortFunc(lk.Claims, func(x, y ProvenClaim) int { return cmp.Compare(x.Index, y.Index) })
	lk.Index = s.Bundle.nameProof(name)
	return lk, nil
}

// ConsistencyProof implements [Source] with the bundle's consistency proofs.
func (s BundleSource) ConsistencyProof(_ context.Context, oldSize, newSize int64) ([]tlog.Hash, error) {
	for _, c := range s.Bundle.Consistency {
		if c.OldSize == oldSize && c.NewSize == newSize {
			return slices.Clone(c.Proof), nil
		}
	}
	return nil, fmt.Errorf("%w: consistency proof from tree size %d to %d", ErrNotInBundle, oldSize, newSize)
}
