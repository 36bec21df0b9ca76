package daemon

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"time"

	"github.com/attestlog/attestlog/log"
	"github.com/attestlog/attestlog/log/web"
	pb "github.com/attestlog/attestlog/proto/attestlog/v1"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/reflection"
)

// shutdownTimeout bounds how long serve and witness wait for in-flight
// HTTP requests and gRPC calls once asked to stop; then they drop them.
const shutdownTimeout = 10 * time.Second

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

// newHTTPServer returns a server for the log's status pages and tlog-tiles
// API at "/" and its metrics, with more, at "/metrics".
func newHTTPServer(l *log.Log, pages *web.Site, logger *slog.Logger, more ...prometheus.Collector) *http.Server {
	return newHTTPServerFor(newServerMux(pages.Handler(), "attestlog_log_", append(l.Metrics(), more...)), logger)
}

// newPprofServer returns a server for Go's profiles under /debug/pprof/,
// which serve runs on its own loopback listener: they reveal memory
// contents and cost CPU, so they stay off the public port.
func newPprofServer(logger *slog.Logger) *http.Server {
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	return newHTTPServerFor(mux, logger)
}

// serveHTTP serves HTTP on ln until ctx is done, then shuts srv down,
// waiting up to shutdownTimeout for in-flight requests.
func serveHTTP(ctx context.Context, srv *http.Server, ln net.Listener) error {
	errc := make(chan error, 1)
	go func() {
		if srv.TLSConfig != nil {
			errc <- srv.ServeTLS(ln, "", "")
		} else {
			errc <- srv.Serve(ln)
		}
	}()
	select {
	case err := <-errc:
		return fmt.Errorf("http: %w", err)
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), shutdownTimeout)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		srv.Close()
		<-errc
		return fmt.Errorf("http: shutting down: %w", err)
	}
	if err := <-errc; !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("http: %w", err)
	}
	return nil
}

// serveGRPC serves the log's LogService with the gRPC health and reflection
// services on ln, over TLS with tlsConfig unless it is nil, until ctx is
// done, then reports NOT_SERVING and stops gracefully, waiting up to
// shutdownTimeout for in-flight calls.
func serveGRPC(ctx context.Context, ln net.Listener, svc pb.LogServiceServer, tlsConfig *tls.Config) error {
	opts := log.GRPCServerOptions()
	if tlsConfig != nil {
		opts = append(opts, grpc.Creds(credentials.NewTLS(tlsConfig)))
	}
	srv := grpc.NewServer(opts...)
	pb.RegisterLogServiceServer(srv, svc)
	hs := health.NewServer()
	hs.SetServingStatus("", healthpb.HealthCheckResponse_SERVING)
	healthpb.RegisterHealthServer(srv, hs)
	reflection.Register(srv)

	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return fmt.Errorf("grpc: %w", err)
	case <-ctx.Done():
	}
	hs.Shutdown()
	stopped := make(chan struct{})
	go func() {
		srv.GracefulStop()
		close(stopped)
	}()
	t := time.NewTimer(shutdownTimeout)
	defer t.Stop()
	select {
	case <-stopped:
	case <-t.C:
		srv.Stop() // health Watch streams, for one, never end by themselves
		<-stopped
	}
	if err := <-errc; err != nil && !errors.Is(err, grpc.ErrServerStopped) {
		return fmt.Errorf("grpc: %w", err)
	}
	return nil
}
