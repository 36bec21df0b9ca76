package witness

import (
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// metrics are the witness's Prometheus collectors; cmd registers them.
// Origins are labels: the logs are configured, so there are few. Requests
// that name no configured origin are counted with origin "".
type metrics struct {
	requests     *prometheus.CounterVec // origin, code
	cosignatures *prometheus.CounterVec // origin
	evidence     *prometheus.CounterVec // origin
	repeats      *prometheus.CounterVec // origin
	dropped      *prometheus.CounterVec // origin
	badProofs    *prometheus.CounterVec // origin
	replays      *prometheus.CounterVec // origin
	latency      prometheus.Histogram
}

func newMetrics(origins []string) *metrics {
	m := &metrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "add_checkpoint_requests_total", Help: "add-checkpoint requests by origin and HTTP status code.",
		}, []string{"origin", "code"}),
		cosignatures: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "cosignatures_total", Help: "Checkpoints cosigned, by origin.",
		}, []string{"origin"}),
		evidence: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "evidence_total", Help: "Evidence records kept: distinct validly signed checkpoints proven inconsistent with the cosigned one, by origin.",
		}, []string{"origin"}),
		repeats: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "evidence_repeats_total", Help: "Requests with a checkpoint already kept as evidence, counted on its record, by origin.",
		}, []string{"origin"}),
		dropped: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "evidence_dropped_total", Help: "Evidence not kept because the log already has the most records allowed, by origin.",
		}, []string{"origin"}),
		badProofs: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "bad_proofs_total", Help: "Consistency proofs that neither verify nor prove a fork (junk), answered 422 and not kept, by origin.",
		}, []string{"origin"}),
		replays: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "replays_total", Help: "Requests replaying the latest cosigned checkpoint, answered with the stored cosignature, by origin.",
		}, []string{"origin"}),
		latency: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "add_checkpoint_seconds", Help: "Latency of add-checkpoint requests, from the request's headers to its response.",
			Buckets: prometheus.ExponentialBuckets(0.0005, 2, 14),
		}),
	}
	for _, o := range origins {
		m.cosignatures.WithLabelValues(o)
		for _, c := range []*prometheus.CounterVec{m.evidence, m.repeats, m.dropped, m.badProofs, m.replays} {
			c.WithLabelValues(o)
		}
	}
	return m
}

func (m *metrics) observeRequest(origin string, code int, d time.Duration) {
	m.requests.WithLabelValues(origin, strconv.Itoa(code)).Inc()
	m.latency.Observe(d.Seconds())
}

// Metrics returns the witness's Prometheus collectors, for the caller to
// register (typically with an "attestlog_witness_" prefix).
func (w *Witness) Metrics() []prometheus.Collector {
	m := w.metrics
	return []prometheus.Collector{m.requests, m.cosignatures, m.evidence, m.repeats, m.dropped, m.badProofs, m.replays, m.latency}
}
