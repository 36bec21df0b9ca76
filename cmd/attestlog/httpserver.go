package main

import (
	"log/slog"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// newServerMux returns a mux serving api at "/" and, at "/metrics", the
// collectors registered under prefix with Go and process metrics.
func newServerMux(api http.Handler, prefix string, cs []prometheus.Collector) *http.ServeMux {
	reg := prometheus.NewRegistry()
	prometheus.WrapRegistererWithPrefix(prefix, reg).MustRegister(cs...)
	reg.MustRegister(
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
	)
	mux := http.NewServeMux()
	mux.Handle("/", api)
	mux.Handle("/metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{Registry: reg}))
	return mux
}

// newHTTPServerFor returns an HTTP server for h with the limits every
// attestlog server uses: header, read and idle timeouts, a header size cap,
// and a write timeout long enough for the largest response (a full entry
// bundle is up to 16 MiB).
func newHTTPServerFor(h http.Handler, logger *slog.Logger) *http.Server {
	return &http.Server{
		Handler:           h,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      2 * time.Minute,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
	}
}
