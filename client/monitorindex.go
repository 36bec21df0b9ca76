package client

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/attestlog/attestlog/log/vindex"
	"github.com/attestlog/attestlog/tiles"
	"golang.org/x/mod/sumdb/tlog"
)

// replayEntry adds the entry e, at index r.Size(), to the replay of the
// log's map, and checks it if it is an index commitment: its size must be
// at most its own index and no smaller than the last one checked, and its
// root must be the map of the entries below its size. It returns the
// commitment (nil for a claim) and what is wrong with it, if anything.
// The monitor and [CheckLog] both check commitments here.
func replayEntry(r *vindex.Replay, e []byte) (*vindex.Commitment, error) {
	idx := r.Size()
	r.Add(e)
	if !vindex.IsCommitment(e) {
		return nil, nil
	}
	c, err := vindex.ParseCommitment(e)
	switch {
	case err != nil:
		return nil, err
	case c.Size > idx:
		return &c, fmt.Errorf("the index commitment at %d names size %d, past itself", idx, c.Size)
	case c.Size < r.Applied():
		return &c, fmt.Errorf("the index commitment at %d names size %d, smaller than the size %d of an earlier commitment: commitments must grow", idx, c.Size, r.Applied())
	}
	root, err := r.RootAt(c.Size)
	if err != nil {
		return &c, err
	}
	if root != c.Root {
		return &c, fmt.Errorf("the index commitment at %d gives the map of the entries below %d the root %s, but those entries give %s: the log committed a wrong index",
			idx, c.Size, c.Root, root)
	}
	return &c, nil
}

// takeReplay returns the replay of the map of the entries [0, size) of
// origin's log that the last pass of this process left, or nil. The
// caller owns it until it hands it back with putReplay.
func (s *State) takeReplay(origin string, size int64) *vindex.Replay {
	s.replayMu.Lock()
	defer s.replayMu.Unlock()
	r := s.replays[origin]
	delete(s.replays, origin)
	if r == nil || r.Size() != size {
		return nil
	}
	return r
}

// putReplay keeps r for the next pass over origin's log.
func (s *State) putReplay(origin string, r *vindex.Replay) {
	s.replayMu.Lock()
	defer s.replayMu.Unlock()
	if s.replays == nil {
		s.replays = map[string]*vindex.Replay{}
	}
	s.replays[origin] = r
}

// loadReplay gives the pass the replay of the map of the entries the
// monitor already read, [0, ms.Size): the one this process kept, or one
// recomputed from the entries, read from the tiles and authenticated
// against the pass's checkpoint (whose tree extends the monitored one: the
// pass checked that before). Commitments among them were checked by the
// passes that read them first, so only the map is rebuilt.
func (mp *monitorPass) loadReplay(ctx context.Context) error {
	size := mp.ms.Size
	if mp.replay = mp.cfg.State.takeReplay(mp.vc.Origin, size); mp.replay != nil {
		return nil
	}
	mp.replay = &vindex.Replay{}
	for n := int64(0); n*tiles.Width < size; n++ {
		entries, _, err := mp.w.bundle(ctx, n)
		if mp.r.tamper(err) {
			return errReported
		} else if err != nil {
			return err
		}
		for _, e := range entries {
			if mp.replay.Size() < size {
				replayEntry(mp.replay, e)
			}
		}
	}
	return nil
}

// errReported means a problem was recorded as a finding and the pass
// stops.
var errReported = errors.New("client: reported as a finding")

// checkIndexProof checks a lookup's index proof (for key, naming the
// lookup) against the entries: the commitment it names and the list its
// map proof gives, verified against the pass's checkpoint, must be what
// the entries give. want holds the indexes the monitor's own index has
// under the lookup, the first candidates for a contradiction. A list that
// contradicts an entry is a [FindingIndex] with evidence, once per pass.
func (mp *monitorPass) checkIndexProof(ctx context.Context, lookup string, key vindex.Key, want []int64, ip *IndexProof) error {
	if ip == nil || ip.Commitment == nil {
		return nil // Verify reports a lookup without an index proof; the map has nothing to compare
	}
	cp := mp.vc.Checkpoint
	c := &ProvenEntryJSON{Index: ip.Commitment.Index, Entry: ip.Commitment.Entry, Proof: ip.Commitment.Proof}
	cm, err := provenCommitment(cp, c)
	var list []int64
	if err == nil {
		list, err = vindex.VerifyProof(cm.Root, key, ip.MapProof)
	}
	if err != nil {
		idx := c.Index
		mp.r.find(FindingLookup, &idx, "the index proof of the lookup %s does not verify: %v", lookup, err)
		return nil
	}
	var candidates []int64
	for _, i := range want {
		if i < cm.Size && !slices.Contains(list, i) {
			candidates = append(candidates, i)
		}
	}
	for _, i := range list {
		if !slices.Contains(want, i) {
			candidates = append(candidates, i)
		}
	}
	for _, i := range candidates {
		if i >= cp.Size {
			continue // no entry to show
		}
		entry, incl, err := mp.provenEntry(ctx, i)
		if mp.r.tamper(err) {
			return errReported
		} else if err != nil {
			return err
		}
		contradiction, err := contradicts(cm, key, list, i, entry)
		if err != nil {
			continue // the monitor's index differs, the entry does not: nothing shown
		}
		detail := fmt.Sprintf("the lookup %s came with the map proof of the index commitment at %d, whose list %s", lookup, c.Index, contradiction)
		ev := &IndexEvidence{Format: IndexEvidenceFormat, Description: detail, Origin: cp.Origin, Checkpoint: string(mp.vc.Note),
			Commitment: *c, Key: key.String(), MapProof: ip.MapProof, Entry: ProvenEntryJSON{Index: i, Entry: entry, Proof: incl}}
		mp.indexFinding(&c.Index, detail, ev)
		return nil
	}
	return nil
}

// provenEntry returns the entry at idx of the pass's tree, authenticated,
// and its inclusion proof.
func (mp *monitorPass) provenEntry(ctx context.Context, idx int64) ([]byte, []tlog.Hash, error) {
	entries, _, err := mp.w.bundle(ctx, idx/tiles.Width)
	if err != nil {
		return nil, nil, err
	}
	p, err := tlog.ProveRecord(mp.vc.Size, idx, mp.w)
	if err != nil {
		return nil, nil, err
	}
	return entries[idx%tiles.Width], p, nil
}

// indexFinding records a [FindingIndex] and, for the first evidence of the
// pass, writes it to the state directory.
func (mp *monitorPass) indexFinding(index *int64, detail string, ev *IndexEvidence) {
	if ev == nil || mp.r.Evidence != "" {
		mp.r.find(FindingIndex, index, "%s", detail)
		return
	}
	now := time.Now
	if mp.cfg.State.Now != nil {
		now = mp.cfg.State.Now
	}
	ev.Time = now().UTC()
	b, err := ev.Marshal()
	if err == nil {
		mp.r.Evidence, err = mp.cfg.State.writeEvidence(ev.Origin, ev.Time, b)
	}
	if err != nil {
		mp.r.find(FindingIndex, index, "%s (no evidence file: %v)", detail, err)
		return
	}
	mp.r.find(FindingIndex, index, "%s (evidence in %s)", detail, mp.r.Evidence)
}
