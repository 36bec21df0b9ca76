package web

import (
	"encoding/base64"
	"errors"
	"net/http"
	"sort"
	"sync"
	"time"

	"github.com/attestlog/attestlog/log"
)

// home is the home page's body.
type home struct {
	VerifierKey string
	Health      health
	Latest      checkpointView
	Witnessed   *checkpointView // nil without witnesses or before the first quorum
	Lag         int64           // entries of Latest beyond Witnessed
	Quorum      string
	Witnesses   []witnessView
	Rate        rate
	Recent      []claimRow
}

// health says whether the log publishes checkpoints and accepts appends.
type health struct {
	Class string // "ok", "warn" or "bad", for the badge
	Label string
	Msg   string
}

type checkpointView struct {
	Origin string
	Size   int64
	Root   string // standard base64
	Note   string // the signed note verbatim
}

type witnessView struct {
	Name, URL string
	// Cosigned is the cosignature's time on the witnessed checkpoint; zero
	// if the witness did not cosign it.
	Cosigned time.Time
}

func healthOf(err error) health {
	var rb *log.RolledBackError
	switch {
	case err == nil:
		return health{"ok", "healthy", "The log accepts claims and publishes checkpoints."}
	case errors.As(err, &rb):
		return health{"bad", "rolled back", err.Error()}
	case errors.Is(err, log.ErrUnconfirmed):
		return health{"warn", "starting", "Waiting for the witnesses to confirm the stored checkpoint; claims are not accepted yet."}
	}
	return health{"bad", "unhealthy", err.Error()}
}

func viewOf(s *log.Signed) checkpointView {
	return checkpointView{Origin: s.Origin, Size: s.Size, Root: base64.StdEncoding.EncodeToString(s.Hash[:]), Note: string(s.Note)}
}

func (s *Site) serveHome(w http.ResponseWriter, r *http.Request) {
	cp := s.log.Checkpoint()
	h := home{VerifierKey: s.cfg.VerifierKey, Health: healthOf(s.log.Status()), Latest: viewOf(cp)}
	h.Rate = s.rate.observe(s.now(), cp.Size)
	if s.policy != nil {
		h.Quorum = s.policy.Quorum
		var cosigned map[string]time.Time
		if pub := s.log.Published(); pub != nil {
			v := viewOf(pub)
			h.Witnessed, h.Lag = &v, cp.Size-pub.Size
			if vc, err := s.policy.VerifyCheckpoint(pub.Note); vc != nil {
				cosigned = vc.Cosigners
			} else {
				s.logger.WarnContext(r.Context(), "reading cosignatures of the witnessed checkpoint", "err", err)
			}
		}
		for _, pw := range s.policy.Witnesses {
			h.Witnesses = append(h.Witnesses, witnessView{Name: pw.Name, URL: pw.URL, Cosigned: cosigned[pw.Name]})
		}
	}
	recent, err := s.recent(cp.Size, HomeClaims)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	h.Recent = recent
	s.render(w, r, "home.html", http.StatusOK, page{Title: "Status", Nav: "home", Body: h})
}

// rate is the append rate over a recent window.
type rate struct {
	PerMinute float64
	Over      time.Duration
	Known     bool // false until the window spans rateMinSpan
}

// Rate sampling: the home page records the tree size at most every
// rateSpacing and keeps rateWindow of samples, so that the rate it shows is
// recent, and costs nothing between views.
const (
	rateSpacing = 10 * time.Second
	rateWindow  = 15 * time.Minute
	rateMinSpan = 5 * time.Second
)

type sample struct {
	at   time.Time
	size int64
}

// A rateTracker estimates the append rate from tree sizes sampled when the
// home page is viewed. It is safe for concurrent use.
type rateTracker struct {
	mu      sync.Mutex
	samples []sample // guarded by mu; oldest first, never empty
}

func newRateTracker(now time.Time, size int64) *rateTracker {
	return &rateTracker{samples: []sample{{now, size}}}
}

// observe records the tree size at now and returns the rate since the
// oldest sample in the window (or the newest before it, if none is).
func (t *rateTracker) observe(now time.Time, size int64) rate {
	t.mu.Lock()
	defer t.mu.Unlock()
	if last := t.samples[len(t.samples)-1]; now.Sub(last.at) >= rateSpacing {
		t.samples = append(t.samples, sample{now, size})
	}
	// Keep one sample at or before the window's start, so that the window
	// is always covered.
	i := sort.Search(len(t.samples), func(i int) bool { return now.Sub(t.samples[i].at) < rateWindow })
	t.samples = t.samples[max(0, i-1):]
	oldest := t.samples[0]
	span := now.Sub(oldest.at)
	if span < rateMinSpan {
		return rate{}
	}
	return rate{PerMinute: float64(size-oldest.size) / span.Minutes(), Over: span.Truncate(time.Second), Known: true}
}
