package objstore

import "github.com/prometheus/client_golang/prometheus"

// metrics are a Publisher's Prometheus collectors; cmd registers them.
type metrics struct {
	uploadedSize  prometheus.Gauge
	publishedSize prometheus.Gauge
	created       prometheus.Counter
	existing      prometheus.Counter
	failures      prometheus.Counter
	alarm         prometheus.Gauge
}

func newMetrics() *metrics {
	return &metrics{
		uploadedSize: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "objects_uploaded_size", Help: "Tree size whose tiles and entry bundles are all in the bucket.",
		}),
		publishedSize: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "objects_checkpoint_size", Help: "Tree size of the checkpoint in the bucket.",
		}),
		created: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "objects_created_total", Help: "Tiles and entry bundles created in the bucket.",
		}),
		existing: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "objects_existing_total", Help: "Creates that found identical bytes already stored (a repair after a crash, or a retry).",
		}),
		failures: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "objects_publish_failures_total", Help: "Publishing passes that failed and were retried.",
		}),
		alarm: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "objects_alarm", Help: "1 once the bucket was found to hold bytes other than the log's: publishing stopped.",
		}),
	}
}

// Metrics returns the Publisher's Prometheus collectors, for the caller to
// register (typically with the log's "attestlog_log_" prefix).
func (p *Publisher) Metrics() []prometheus.Collector {
	m := p.metrics
	return []prometheus.Collector{m.uploadedSize, m.publishedSize, m.created, m.existing, m.failures, m.alarm}
}
