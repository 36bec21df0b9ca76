package client

import (
	"cmp"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/attestlog/attestlog/log/claim"
	"github.com/attestlog/attestlog/tiles"
	"golang.org/x/mod/sumdb/tlog"
)

// MonitorStateFormat is the format field of a monitor's state file.
const MonitorStateFormat = "attestlog.dev/monitor/v1"

// monitorState is what a monitor remembers of one log, in the state
// directory as "<lowercase hex SHA-256 of the origin>.monitor.json", JSON in
// the one spelling of marshalCanonical:
//
//	{
//	  "format": "attestlog.dev/monitor/v1",
//	  "origin": "example.test/attestlog",
//	  "size": 12,
//	  "checkpoint": "<the witnessed checkpoint note the monitor reached, verbatim>",
//	  "builds": [
//	    {
//	      "identity": {"source": "git+https://example.org/hello", "commit": "...", "platform": "linux/amd64", "artifact": "hello"},
//	      "digests": [{"sha256": "...", "claims": [0, 4], "recipes": ["...", "..."]}]
//	    }
//	  ],
//	  "other_digests": [{"sha256": "...", "claims": [2, 5]}],
//	  "names": [{"name": "hello-1.0-x86_64-linux-gnu.tar.gz", "claims": [2, 5]}],
//	  "recheck": ["<digest whose lookup had a finding>"],
//	  "recheck_sources": [{"source": "...", "commit": "...", "platform": "<or empty: all>"}],
//	  "recheck_names": ["<file name whose lookup had a finding>"]
//	}
//
// Builds are every build identity the first size entries claim, sorted by
// source, commit, platform and artifact; digests in order of first
// appearance, claims in index order. other_digests are the digests claims
// name outside any build identity (the subjects of digest-only claims, and
// of unknown platform), with those claims; names the file names of
// digest-only claims (what a lookup by name returns), with their claims;
// both sorted, claims in index order: with builds they give every lookup's
// answer. other_digests, names, recheck_sources (the lookups by source that
// had a finding) and recheck_names are left out when empty (as files written
// before they existed are). It is replaced atomically.
type monitorState struct {
	Format         string         `json:"format"`
	Origin         string         `json:"origin"`
	Size           int64          `json:"size"`
	Checkpoint     string         `json:"checkpoint"`
	Builds         []derivedBuild `json:"builds"`
	OtherDigests   []digestClaims `json:"other_digests,omitempty"`
	Names          []nameClaims   `json:"names,omitempty"`
	Recheck        []string       `json:"recheck"`
	RecheckSources []SourceLookup `json:"recheck_sources,omitempty"`
	RecheckNames   []string       `json:"recheck_names,omitempty"`

	hash     tlog.Hash                // the checkpoint's root hash
	builds   map[Identity]int         // -> index in Builds
	byDigest map[string][]int64       // digest -> claim indexes, in log order
	bySource map[SourceLookup][]int64 // lookup by source -> claim indexes, in log order
	byName   map[string][]int64       // file name -> digest-only claim indexes, in log order
	// otherDigests is what OtherDigests holds: per digest, the claims
	// naming it outside any build identity, in log order.
	otherDigests map[string][]int64
	// digestAt is, per build, where each digest is in its Digests, so that
	// adding a claim costs the same however many digests a build has.
	digestAt map[Identity]map[string]int
}

// A SourceLookup is a lookup by source: a normalised source URI, a full
// commit and a platform, or every platform if Platform is empty.
type SourceLookup struct {
	Source   string `json:"source"`
	Commit   string `json:"commit"`
	Platform string `json:"platform"`
}

func (l SourceLookup) String() string {
	if l.Platform == "" {
		return fmt.Sprintf("%s@%s, every platform", l.Source, l.Commit)
	}
	return fmt.Sprintf("%s@%s, platform %s", l.Source, l.Commit, l.Platform)
}

// sourceLookups returns the lookups by source that must return a claim
// about build b: by its source and commit, for every platform and for its own.
func sourceLookups(b claim.Build) [2]SourceLookup {
	all := SourceLookup{Source: b.Source, Commit: b.Commit}
	one := all
	one.Platform = b.Platform
	return [2]SourceLookup{all, one}
}

// digestClaims are the claims that name a digest outside any build
// identity, in index order.
type digestClaims struct {
	SHA256 string  `json:"sha256"`
	Claims []int64 `json:"claims"`
}

// nameClaims are the digest-only claims that name a file, in index order.
type nameClaims struct {
	Name   string  `json:"name"`
	Claims []int64 `json:"claims"`
}

// A derivedBuild is one build identity of a monitor's index.
type derivedBuild struct {
	Identity Identity         `json:"identity"`
	Digests  []MismatchDigest `json:"digests"`
}

func (s *State) monitorPath(origin string) string {
	return filepath.Join(s.dir, originHash(origin)+".monitor.json")
}

// loadMonitor returns the monitor state of vc's log, or an empty one. The
// remembered checkpoint must verify with vc's log key.
func (s *State) loadMonitor(vc *tiles.VerifiedCheckpoint) (*monitorState, error) {
	path := s.monitorPath(vc.Origin)
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return newMonitorState(vc.Origin), nil
	}
	if err != nil {
		return nil, fmt.Errorf("client: reading monitor state: %w", err)
	}
	ms, err := parseMonitorState(b)
	if err != nil {
		return nil, fmt.Errorf("client: monitor state %s: %w", path, err)
	}
	cp, err := OpenCheckpoint([]byte(ms.Checkpoint), vc.Log.Verifier)
	switch {
	case err != nil:
		return nil, fmt.Errorf("client: monitor state %s: %w (if the log's key changed, remove the file)", path, err)
	case ms.Origin != vc.Origin || cp.Size != ms.Size:
		return nil, fmt.Errorf("client: monitor state %s: origin %q size %d, but its checkpoint has %q size %d", path, ms.Origin, ms.Size, cp.Origin, cp.Size)
	}
	ms.hash = cp.Hash
	for _, b := range ms.Builds {
		at := map[string]int{}
		ms.digestAt[b.Identity] = at
		for k, d := range b.Digests {
			if _, ok := at[d.SHA256]; ok || len(d.Claims) == 0 || len(d.Claims) != len(d.Recipes) || slices.ContainsFunc(d.Claims, func(i int64) bool { return i < 0 || i >= ms.Size }) {
				return nil, fmt.Errorf("client: monitor state %s: build %s: malformed digest %s", path, describeIdentity(b.Identity), d.SHA256)
			}
			at[d.SHA256] = k
			ms.byDigest[d.SHA256] = append(ms.byDigest[d.SHA256], d.Claims...)
			for _, l := range sourceLookups(claim.Build{Source: b.Identity.Source, Commit: b.Identity.Commit, Platform: b.Identity.Platform}) {
				ms.bySource[l] = append(ms.bySource[l], d.Claims...)
			}
		}
	}
	badClaims := func(c []int64) bool {
		return len(c) == 0 || c[0] < 0 || c[len(c)-1] >= ms.Size || !slices.IsSorted(c) || len(slices.Compact(slices.Clone(c))) != len(c)
	}
	for i, d := range ms.OtherDigests {
		if i > 0 && ms.OtherDigests[i-1].SHA256 >= d.SHA256 || badClaims(d.Claims) {
			return nil, fmt.Errorf("client: monitor state %s: other_digests: malformed or out of order at %s", path, d.SHA256)
		}
		ms.otherDigests[d.SHA256] = d.Claims
		ms.byDigest[d.SHA256] = append(ms.byDigest[d.SHA256], d.Claims...)
	}
	for i, n := range ms.Names {
		if i > 0 && ms.Names[i-1].Name >= n.Name || badClaims(n.Claims) {
			return nil, fmt.Errorf("client: monitor state %s: names: malformed or out of order at %q", path, n.Name)
		}
		ms.byName[n.Name] = n.Claims
	}
	for d, idx := range ms.byDigest {
		slices.Sort(idx)
		ms.byDigest[d] = slices.Compact(idx)
	}
	for l, idx := range ms.bySource {
		slices.Sort(idx)
		ms.bySource[l] = slices.Compact(idx)
	}
	return ms, nil
}

func newMonitorState(origin string) *monitorState {
	return &monitorState{Format: MonitorStateFormat, Origin: origin, Builds: []derivedBuild{}, Recheck: []string{},
		builds: map[Identity]int{}, byDigest: map[string][]int64{}, bySource: map[SourceLookup][]int64{},
		byName: map[string][]int64{}, otherDigests: map[string][]int64{}, digestAt: map[Identity]map[string]int{}}
}

func parseMonitorState(b []byte) (*monitorState, error) {
	ms := newMonitorState("")
	if err := unmarshalCanonical(b, ms, ms.marshal); err != nil {
		return nil, err
	}
	if ms.Format != MonitorStateFormat {
		return nil, fmt.Errorf("format %q, want %q", ms.Format, MonitorStateFormat)
	}
	for i, b := range ms.Builds {
		if _, ok := ms.builds[b.Identity]; ok || i > 0 && compareIdentities(ms.Builds[i-1].Identity, b.Identity) >= 0 {
			return nil, fmt.Errorf("builds out of order or twice at %s", describeIdentity(b.Identity))
		}
		ms.builds[b.Identity] = i
	}
	return ms, nil
}

func (ms *monitorState) marshal() ([]byte, error) {
	return marshalCanonical(ms)
}

// saveMonitor replaces the monitor state file atomically.
func (s *State) saveMonitor(ms *monitorState) error {
	slices.SortFunc(ms.Builds, func(a, b derivedBuild) int { return compareIdentities(a.Identity, b.Identity) })
	for i, b := range ms.Builds {
		ms.builds[b.Identity] = i
	}
	ms.OtherDigests = ms.OtherDigests[:0]
	for _, d := range slices.Sorted(maps.Keys(ms.otherDigests)) {
		ms.OtherDigests = append(ms.OtherDigests, digestClaims{SHA256: d, Claims: ms.otherDigests[d]})
	}
	ms.Names = ms.Names[:0]
	for _, n := range slices.Sorted(maps.Keys(ms.byName)) {
		ms.Names = append(ms.Names, nameClaims{Name: n, Claims: ms.byName[n]})
	}
	b, err := ms.marshal()
	if err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.write(s.monitorPath(ms.Origin), b)
}

// add records the claim at idx with its index keys, the digest of each of
// its identities, and its recipe. Claims are added in increasing index
// order. Its cost does not depend on how many claims or digests a build
// already has.
func (ms *monitorState) add(idx int64, keys claim.IndexKeys, digests []string, recipe string) {
	for j, cid := range keys.Identities {
		id, digest := Identity(cid), digests[j]
		i, ok := ms.builds[id]
		if !ok {
			i = len(ms.Builds)
			ms.builds[id] = i
			ms.Builds = append(ms.Builds, derivedBuild{Identity: id})
			ms.digestAt[id] = map[string]int{}
		}
		b := &ms.Builds[i]
		k, ok := ms.digestAt[id][digest]
		if !ok {
			k = len(b.Digests)
			ms.digestAt[id][digest] = k
			b.Digests = append(b.Digests, MismatchDigest{SHA256: digest})
		}
		b.Digests[k].Claims = append(b.Digests[k].Claims, idx)
		b.Digests[k].Recipes = append(b.Digests[k].Recipes, recipe)
	}
	for _, d := range keys.Digests {
		ms.byDigest[d] = appendIndex(ms.byDigest[d], idx)
		if !slices.Contains(digests, d) {
			ms.otherDigests[d] = appendIndex(ms.otherDigests[d], idx)
		}
	}
	for _, n := range keys.Names {
		ms.byName[n] = appendIndex(ms.byName[n], idx)
	}
	for _, b := range keys.Builds {
		for _, l := range sourceLookups(b) {
			ms.bySource[l] = appendIndex(ms.bySource[l], idx)
		}
	}
}

// appendIndex appends idx to a list in increasing order unless it ends it.
func appendIndex(list []int64, idx int64) []int64 {
	if len(list) > 0 && list[len(list)-1] == idx {
		return list
	}
	return append(list, idx)
}

// mismatches returns the mismatches the index shows, one per build with
// more than one digest, which the first claim of its second digest created;
// in the order of the creating claims, then of the identities.
func (ms *monitorState) mismatches() []Mismatch {
	var out []Mismatch
	for _, b := range ms.Builds {
		if len(b.Digests) > 1 {
			out = append(out, Mismatch{ID: b.Identity.ID(), Claim: b.Digests[1].Claims[0], Identity: b.Identity, Digests: b.Digests})
		}
	}
	slices.SortFunc(out, func(a, b Mismatch) int {
		return cmp.Or(cmp.Compare(a.Claim, b.Claim), compareIdentities(a.Identity, b.Identity))
	})
	return out
}

func compareIdentities(a, b Identity) int {
	return cmp.Or(strings.Compare(a.Source, b.Source), strings.Compare(a.Commit, b.Commit),
		strings.Compare(a.Platform, b.Platform), strings.Compare(a.Artifact, b.Artifact))
}
