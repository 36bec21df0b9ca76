package client

import (
	"cmp"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"

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
//	  "recheck": ["<digest whose lookup had a finding>"]
//	}
//
// Builds are every build identity the first size entries claim, sorted by
// source, commit, platform and artifact; digests in order of first
// appearance, claims in index order. It is replaced atomically.
type monitorState struct {
	Format     string         `json:"format"`
	Origin     string         `json:"origin"`
	Size       int64          `json:"size"`
	Checkpoint string         `json:"checkpoint"`
	Builds     []derivedBuild `json:"builds"`
	Recheck    []string       `json:"recheck"`

	hash     tlog.Hash          // the checkpoint's root hash
	builds   map[Identity]int   // -> index in Builds
	byDigest map[string][]int64 // digest -> claim indexes, in log order
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
		for _, d := range b.Digests {
			if len(d.Claims) == 0 || len(d.Claims) != len(d.Recipes) || slices.ContainsFunc(d.Claims, func(i int64) bool { return i < 0 || i >= ms.Size }) {
				return nil, fmt.Errorf("client: monitor state %s: build %s: malformed digest %s", path, describeIdentity(b.Identity), d.SHA256)
			}
			ms.byDigest[d.SHA256] = append(ms.byDigest[d.SHA256], d.Claims...)
		}
	}
	for d, idx := range ms.byDigest {
		slices.Sort(idx)
		ms.byDigest[d] = slices.Compact(idx)
	}
	return ms, nil
}

func newMonitorState(origin string) *monitorState {
	return &monitorState{Format: MonitorStateFormat, Origin: origin, Builds: []derivedBuild{}, Recheck: []string{},
		builds: map[Identity]int{}, byDigest: map[string][]int64{}}
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
	b, err := ms.marshal()
	if err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.write(s.monitorPath(ms.Origin), b)
}

// add records that the claim at idx gives id the digest, with recipe.
// Claims are added in increasing index order.
func (ms *monitorState) add(id Identity, digest string, idx int64, recipe string) {
	i, ok := ms.builds[id]
	if !ok {
		i = len(ms.Builds)
		ms.builds[id] = i
		ms.Builds = append(ms.Builds, derivedBuild{Identity: id})
	}
	b := &ms.Builds[i]
	k := slices.IndexFunc(b.Digests, func(d MismatchDigest) bool { return d.SHA256 == digest })
	if k < 0 {
		k = len(b.Digests)
		b.Digests = append(b.Digests, MismatchDigest{SHA256: digest})
	}
	b.Digests[k].Claims = append(b.Digests[k].Claims, idx)
	b.Digests[k].Recipes = append(b.Digests[k].Recipes, recipe)
	if list := ms.byDigest[digest]; len(list) == 0 || list[len(list)-1] != idx {
		ms.byDigest[digest] = append(list, idx)
	}
}

// mismatches returns the mismatches the index shows, by ID: a build with
// more than one digest was mismatched by the first claim of its second.
func (ms *monitorState) mismatches() []Mismatch {
	var out []Mismatch
	for _, b := range ms.Builds {
		if len(b.Digests) > 1 {
			out = append(out, Mismatch{ID: b.Digests[1].Claims[0], Identity: b.Identity, Digests: b.Digests})
		}
	}
	slices.SortFunc(out, func(a, b Mismatch) int { return cmp.Compare(a.ID, b.ID) })
	return out
}

func compareIdentities(a, b Identity) int {
	return cmp.Or(strings.Compare(a.Source, b.Source), strings.Compare(a.Commit, b.Commit),
		strings.Compare(a.Platform, b.Platform), strings.Compare(a.Artifact, b.Artifact))
}
