package log

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/attestlog/attestlog/tiles"
	"github.com/attestlog/attestlog/witness"
	"github.com/prometheus/client_golang/prometheus"
	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"
)

// DefaultWitnessInterval is the default shortest time between two rounds of
// cosignature requests.
const DefaultWitnessInterval = time.Second

// witnessTimeout bounds one add-checkpoint request.
const witnessTimeout = 10 * time.Second

// A witnessPeer is one witness of the policy, as the witnessing loop sees it.
type witnessPeer struct {
	w      tiles.PolicyWitness
	client *witness.Client
	// The fields below are owned by the loop.
	size    int64   // the witness's latest cosigned size as far as we know
	refused *treeID // the last checkpoint it refused for good, never sent to it again
	lie     int64   // the size of the last unproven refusal logged, so that it is logged once
}

// A treeID names a checkpoint's tree.
type treeID struct {
	size int64
	hash tlog.Hash
}

func idOf(cp *Signed) treeID { return treeID{cp.Size, cp.Hash} }

// witnessing is the state of the loop that collects cosignatures.
type witnessing struct {
	policy   *tiles.Policy
	peers    []*witnessPeer
	interval time.Duration
	kick     chan struct{} // poked after each commit; capacity 1
	metrics  *witnessMetrics
	self     note.Verifier // the log's own key, to check checkpoints witnesses serve
	// confirmed is closed by the loop once its first round has heard from
	// every witness or given up; see [Log.Status].
	confirmed chan struct{}
}

func newWitnessing(cfg Config) (*witnessing, error) {
	if cfg.Witnesses == nil {
		return nil, nil
	}
	self, err := selfVerifier(cfg)
	if err != nil {
		return nil, err
	}
	w := &witnessing{policy: cfg.Witnesses, interval: cfg.WitnessInterval, kick: make(chan struct{}, 1), metrics: newWitnessMetrics(),
		self: self, confirmed: make(chan struct{})}
	if w.interval == 0 {
		w.interval = DefaultWitnessInterval
	}
	for _, pw := range cfg.Witnesses.Witnesses {
		if pw.URL == "" {
			return nil, fmt.Errorf("log: config: witness %s has no URL in the policy", pw.Name)
		}
		w.peers = append(w.peers, &witnessPeer{w: pw, client: &witness.Client{URL: pw.URL, HTTP: cfg.HTTPClient}})
	}
	return w, nil
}

// Published returns the checkpoint the log publishes at /checkpoint: with a
// witness policy, the latest one whose cosignatures meet the quorum (nil
// before the first, and nil while [Log.Status] reports an error); without,
// the latest one it signed.
func (l *Log) Published() *Signed {
	if l.witnessing == nil {
		return l.Checkpoint()
	}
	if l.Status() != nil {
		return nil
	}
	return l.witnessed.Load()
}

// visibleSize returns the size of the tree that clients verify lookups
// at: the published checkpoint's, 0 before there is one. With witnesses
// it trails the tree by a round, and stops while they are down: the tail
// a client reads is from a commitment to this size (see indexGate).
func (l *Log) visibleSize() int64 {
	if p := l.Published(); p != nil {
		return p.Size
	}
	return 0
}

// poke tells the witnessing loop that a new checkpoint exists.
func (l *Log) poke() {
	if l.witnessing != nil {
		select {
		case l.witnessing.kick <- struct{}{}:
		default:
		}
	}
}

// witnessLoop requests cosignatures for the newest checkpoint after each
// commit, at most once per interval, and retries after an interval while
// the published checkpoint lags, until ctx is done. Its first round, for
// the stored checkpoint, confirms the store (see [Log.Status]); once the
// store is shown rolled back it sends nothing more.
func (l *Log) witnessLoop(ctx context.Context) {
	w := l.witnessing
	first := true
	var last time.Time
	retry := time.NewTimer(0)
	defer retry.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-w.kick:
		case <-retry.C:
		}
		if wait := w.interval - time.Since(last); wait > 0 {
			select {
			case <-ctx.Done():
				return
			case <-time.After(wait):
			}
		}
		last = time.Now()
		cp := l.Checkpoint()
		if pub := l.witnessed.Load(); !first && pub != nil && pub.Size == cp.Size && pub.Hash == cp.Hash {
			continue
		}
		published, answered := l.witnessRound(ctx, cp)
		if first {
			if ctx.Err() != nil {
				return
			}
			first = false
			if answered == 0 {
				l.log.WarnContext(ctx, "no witness answered the first round after the start: the log cannot tell whether its store was rolled back, and goes on with the stored checkpoint",
					slog.Int64("tree_size", cp.Size))
			}
			close(w.confirmed)
		}
		if l.rolledBack.Load() != nil {
			return
		}
		if !published {
			retry.Reset(w.interval)
		}
	}
}

// witnessRound asks every witness to cosign cp and publishes cp with the
// cosignatures that verify if they meet the quorum. It reports whether it
// did, and how many witnesses answered at all.
func (l *Log) witnessRound(ctx context.Context, cp *Signed) (published bool, answered int) {
	w := l.witnessing
	lines := make([][]byte, len(w.peers))
	heard := make([]bool, len(w.peers))
	var wg sync.WaitGroup
	for i, p := range w.peers {
		wg.Go(func() { lines[i], heard[i] = l.cosign(ctx, p, cp) })
	}
	wg.Wait()
	for _, h := range heard {
		if h {
			answered++
		}
	}
	if l.rolledBack.Load() != nil {
		return false, answered
	}
	msg := bytes.Clone(cp.Note)
	cosigned := map[string]bool{}
	for i, p := range w.peers {
		if lines[i] != nil {
			msg = append(msg, lines[i]...)
			cosigned[p.w.Name] = true
		}
	}
	w.metrics.lag.Set(float64(cp.Size - l.publishedSize()))
	if !w.policy.Satisfied(cosigned) {
		l.log.WarnContext(ctx, "witness quorum not met", slog.Int64("tree_size", cp.Size), slog.Int("cosignatures", len(cosigned)))
		return false, answered
	}
	if err := l.store.SetWitnessed(msg); errors.Is(err, ErrStaleWitnessed) {
		// Another frontend of a shared store published a newer one.
		l.log.InfoContext(ctx, "a newer witnessed checkpoint is stored", slog.Int64("tree_size", cp.Size), slog.Any("err", err))
		if err := l.adoptWitnessed(); err != nil {
			l.log.ErrorContext(ctx, "reading the stored witnessed checkpoint", slog.Any("err", err))
		}
		return false, answered
	} else if err != nil {
		l.log.ErrorContext(ctx, "storing witnessed checkpoint", slog.Any("err", err))
		return false, answered
	}
	l.witnessed.Store(&Signed{Note: msg, Checkpoint: cp.Checkpoint})
	w.metrics.lag.Set(float64(l.Checkpoint().Size - cp.Size))
	w.metrics.published.SetToCurrentTime()
	l.log.DebugContext(ctx, "published witnessed checkpoint", slog.Int64("tree_size", cp.Size), slog.Int("cosignatures", len(cosigned)))
	return true, answered
}

func (l *Log) publishedSize() int64 {
	if p := l.witnessed.Load(); p != nil {
		return p.Size
	}
	return 0
}

// cosign asks one witness to cosign cp, with a consistency proof from the
// size it is known to have, retrying once from the size a 409 names. It
// returns the witness's cosignature lines that verify, or nil, and whether
// the witness answered at all. A 409 naming a size larger than cp's, or a
// 422, is judged by [Log.judgeRefusal]; a checkpoint the witness refused
// for good is not sent to it again.
func (l *Log) cosign(ctx context.Context, p *witnessPeer, cp *Signed) (own []byte, answered bool) {
	m := l.witnessing.metrics
	if p.refused != nil && *p.refused == idOf(cp) {
		return nil, false
	}
	for attempt := 0; ; attempt++ {
		proof, err := l.ConsistencyProof(p.size, cp.Size)
		if err != nil {
			m.requests.WithLabelValues(p.w.Name, "error").Inc()
			l.log.ErrorContext(ctx, "proving consistency for a witness", slog.String("witness", p.w.Name), slog.Int64("witness_size", p.size), slog.Any("err", err))
			p.size = 0 // ask again from scratch next time
			return nil, answered
		}
		rctx, cancel := context.WithTimeout(ctx, witnessTimeout)
		t0 := time.Now()
		lines, err := p.client.AddCheckpoint(rctx, p.size, proof, cp.Note)
		cancel()
		m.latency.WithLabelValues(p.w.Name).Observe(time.Since(t0).Seconds())
		var conflict *witness.ConflictError
		var status *witness.StatusError
		switch {
		case errors.As(err, &conflict):
			answered = true
			if conflict.Size > cp.Size {
				// The witness says it cosigned a larger tree than ours:
				// this store was rolled back, or the witness lies.
				m.requests.WithLabelValues(p.w.Name, "ahead").Inc()
				l.judgeRefusal(ctx, p, cp, conflict.Size)
				return nil, true
			}
			m.requests.WithLabelValues(p.w.Name, "409").Inc()
			p.size = conflict.Size
			if attempt == 0 {
				continue
			}
			return nil, true
		case errors.As(err, &status):
			m.requests.WithLabelValues(p.w.Name, strconv.Itoa(status.Code)).Inc()
			if status.Code == http.StatusUnprocessableEntity {
				// A checkpoint this log signed, with a proof from its own
				// tree, is inconsistent with what the witness cosigned.
				l.judgeRefusal(ctx, p, cp, 0)
				return nil, true
			}
			l.log.WarnContext(ctx, "witness refused checkpoint", slog.String("witness", p.w.Name), slog.Int64("tree_size", cp.Size), slog.Any("err", err))
			return nil, true
		case err != nil:
			m.requests.WithLabelValues(p.w.Name, "error").Inc()
			l.log.WarnContext(ctx, "witness unreachable", slog.String("witness", p.w.Name), slog.Any("err", err))
			return nil, answered
		}
		own, err := ownCosignature(p.w.Verifier, cp.Note, lines)
		if err != nil {
			m.requests.WithLabelValues(p.w.Name, "bad cosignature").Inc()
			l.log.ErrorContext(ctx, "witness returned a bad cosignature", slog.String("witness", p.w.Name), slog.Any("err", err))
			return nil, true
		}
		m.requests.WithLabelValues(p.w.Name, "200").Inc()
		p.size = cp.Size
		return own, true
	}
}

// ownCosignature returns the lines of a witness's response made with its
// policy key, checked against the note: other lines (other keys, or lines
// claiming someone else's name) are dropped, so that a witness can add
// nothing but its own cosignature to the published note.
func ownCosignature(v note.Verifier, checkpoint, lines []byte) ([]byte, error) {
	var own []byte
	for _, l := range strings.SplitAfter(string(lines), "\n") {
		name, sig64, ok := strings.Cut(strings.TrimSuffix(strings.TrimPrefix(l, "— "), "\n"), " ")
		sig, err := base64.StdEncoding.DecodeString(sig64)
		if ok && err == nil && len(sig) >= 4 && name == v.Name() && binary.BigEndian.Uint32(sig) == v.KeyHash() {
			own = append(own, l...)
		}
	}
	if own == nil {
		return nil, errors.New("no cosignature by the witness's key")
	}
	if _, err := note.Open(append(bytes.Clone(checkpoint), own...), note.VerifierList(v)); err != nil {
		return nil, err
	}
	return own, nil
}

// witnessMetrics are the witnessing loop's collectors.
type witnessMetrics struct {
	requests   *prometheus.CounterVec   // by witness and outcome (status code, "ahead" for a 409 beyond the tree, "error", "bad cosignature")
	latency    *prometheus.HistogramVec // by witness
	lag        prometheus.Gauge
	published  prometheus.Gauge
	rolledBack prometheus.Gauge
}

func newWitnessMetrics() *witnessMetrics {
	return &witnessMetrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "witness_requests_total", Help: "add-checkpoint requests to witnesses, by witness and outcome.",
		}, []string{"witness", "outcome"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "witness_request_seconds", Help: "Latency of add-checkpoint requests, by witness.",
			Buckets: prometheus.ExponentialBuckets(0.001, 2, 14),
		}, []string{"witness"}),
		lag: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "witnessed_lag_entries", Help: "Entries in the latest checkpoint beyond the published witnessed one.",
		}),
		published: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "witnessed_published_timestamp_seconds", Help: "When a witnessed checkpoint was last published.",
		}),
		rolledBack: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "rolled_back", Help: "1 once a witness has shown the store to be rolled back or forked: appends are refused until an operator restores it.",
		}),
	}
}

func (m *witnessMetrics) collectors() []prometheus.Collector {
	return []prometheus.Collector{m.requests, m.latency, m.lag, m.published, m.rolledBack}
}
