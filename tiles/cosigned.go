package tiles

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	fnote "github.com/transparency-dev/formats/note"
	"golang.org/x/mod/sumdb/note"
)

// ErrQuorum means a checkpoint is validly signed by a log but the witnesses
// that cosigned it do not meet the policy's quorum.
var ErrQuorum = errors.New("tiles: witness quorum not met")

// A VerifiedCheckpoint is a checkpoint that a [Policy] accepts.
type VerifiedCheckpoint struct {
	Checkpoint
	Note      []byte               // the note as verified, every signature included
	Log       PolicyLog            // the log that signed it
	Cosigners map[string]time.Time // witness name -> cosignature timestamp
}

// VerifyCheckpoint opens a checkpoint note with the policy's keys: it must
// carry a valid signature by one of the logs, whose origin it names, and
// valid cosignatures by witnesses meeting the quorum. A signature by a known
// key that fails to verify rejects the whole note, as c2sp.org/signed-note
// requires; signatures by unknown keys are ignored. A note that is fine but
// for the quorum returns the VerifiedCheckpoint with an error wrapping
// [ErrQuorum], so that callers can say who did cosign.
func (p *Policy) VerifyCheckpoint(msg []byte) (*VerifiedCheckpoint, error) {
	var vs []note.Verifier
	for _, l := range p.Logs {
		vs = append(vs, l.Verifier)
	}
	for _, w := range p.Witnesses {
		vs = append(vs, w.Verifier)
	}
	if len(p.Logs) == 0 {
		return nil, errors.New("tiles: the policy lists no log")
	}
	n, err := note.Open(msg, note.VerifierList(vs...))
	if err != nil {
		return nil, fmt.Errorf("tiles: verifying checkpoint signatures: %w", err)
	}
	vc := &VerifiedCheckpoint{Note: msg, Cosigners: map[string]time.Time{}}
	logSigned := false
	for _, s := range n.Sigs {
		for _, l := range p.Logs {
			if s.Name == l.Verifier.Name() && s.Hash == l.Verifier.KeyHash() {
				vc.Log, logSigned = l, true
			}
		}
		for _, w := range p.Witnesses {
			if s.Name == w.Verifier.Name() && s.Hash == w.Verifier.KeyHash() {
				t, err := fnote.CoSigV1Timestamp(s)
				if err != nil || t.Unix() == 0 {
					return nil, fmt.Errorf("tiles: cosignature by witness %s has no timestamp: %v", w.Name, err)
				}
				vc.Cosigners[w.Name] = t
			}
		}
	}
	if !logSigned {
		return nil, errors.New("tiles: checkpoint has no signature by a log of the policy")
	}
	if vc.Checkpoint, err = ParseCheckpoint([]byte(n.Text)); err != nil {
		return nil, err
	}
	if vc.Origin != vc.Log.Origin() {
		return nil, fmt.Errorf("tiles: checkpoint origin %q differs from its log's key name %q", vc.Origin, vc.Log.Origin())
	}
	if !p.Satisfied(vc.cosigned()) {
		return vc, fmt.Errorf("%w: quorum %s, cosigned by [%s]", ErrQuorum, p.Quorum, strings.Join(vc.names(), " "))
	}
	return vc, nil
}

func (vc *VerifiedCheckpoint) cosigned() map[string]bool {
	m := map[string]bool{}
	for name := range vc.Cosigners {
		m[name] = true
	}
	return m
}

func (vc *VerifiedCheckpoint) names() []string {
	return slices.Sorted(maps.Keys(vc.Cosigners))
}
