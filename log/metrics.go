package log

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// metrics are the log's Prometheus collectors; cmd registers them.
type metrics struct {
	queueDepth   prometheus.GaugeFunc
	treeSize     prometheus.Gauge
	appended     prometheus.Counter
	deduplicated prometheus.Counter
	pushback     prometheus.Counter
	batchSize    prometheus.Histogram
	commit       prometheus.Histogram
	// lockWait and lockHeld time the writer lock of a SharedStore: how long
	// a step waited for it, and held it.
	lockWait, lockHeld prometheus.Histogram
}

func newMetrics(l *Log) *metrics {
	return &metrics{
		queueDepth: prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "queue_depth", Help: "Entries waiting to be sequenced.",
		}, func() float64 { return float64(len(l.queue)) }),
		treeSize: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "tree_size", Help: "Tree size of the latest committed checkpoint.",
		}),
		appended: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "entries_appended_total", Help: "Entries added to the tree.",
		}),
		deduplicated: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "entries_deduplicated_total", Help: "Appends answered with the index of an identical entry.",
		}),
		pushback: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "pushback_total", Help: "Appends refused because the queue was full.",
		}),
		batchSize: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "batch_entries", Help: "Appends taken off the queue per sequencing step.",
			Buckets: prometheus.ExponentialBuckets(1, 4, 8),
		}),
		commit: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "commit_seconds", Help: "Latency of the store transaction of a sequencing step.",
			Buckets: prometheus.ExponentialBuckets(0.0002, 2, 14),
		}),
		lockWait: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "writer_lock_wait_seconds", Help: "Time a sequencing step waited for the writer lock of a store shared with other frontends.",
			Buckets: prometheus.ExponentialBuckets(0.0002, 2, 14),
		}),
		lockHeld: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "writer_lock_held_seconds", Help: "Time a sequencing step held the writer lock of a store shared with other frontends; summed over the frontends, the share of the time the one writer slot is busy.",
			Buckets: prometheus.ExponentialBuckets(0.0002, 2, 14),
		}),
	}
}

func (m *metrics) observeCommit(d time.Duration, entries, batch int) {
	m.commit.Observe(d.Seconds())
	m.batchSize.Observe(float64(batch))
	m.appended.Add(float64(entries))
}

// Metrics returns the log's Prometheus collectors, for the caller to register
// (typically with a "attestlog_log_" prefix).
func (l *Log) Metrics() []prometheus.Collector {
	m := l.metrics
	cs := []prometheus.Collector{m.queueDepth, m.treeSize, m.appended, m.deduplicated, m.pushback, m.batchSize, m.commit}
	if l.shared != nil {
		cs = append(cs, m.lockWait, m.lockHeld)
	}
	if l.witnessing != nil {
		cs = append(cs, l.witnessing.metrics.collectors()...)
	}
	return cs
}
