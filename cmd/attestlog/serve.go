package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/attestlog/attestlog/log"
	"github.com/attestlog/attestlog/log/archive"
	pb "github.com/attestlog/attestlog/proto/attestlog/v1"
	"github.com/attestlog/attestlog/tiles"
	"golang.org/x/sync/errgroup"
	"google.golang.org/grpc"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/reflection"
)

// shutdownTimeout bounds how long serve waits for in-flight HTTP requests
// and gRPC calls once asked to stop; then it drops them.
const shutdownTimeout = 10 * time.Second

// serveConfig is the command line of serve.
type serveConfig struct {
	data     string
	httpAddr string
	grpcAddr string
	origin   string
	level    slog.Level
	builders string  // allowlist file of builder vkeys; empty accepts every key
	rate     float64 // AddClaim calls per second, overall; 0 is unlimited
	perKey   float64 // AddClaim calls per second per builder key; 0 is unlimited
	maxSize  int64   // largest artifact upload in bytes
	pprof    bool    // serve net/http/pprof under /debug/pprof/
	policy   string  // witness policy file (c2sp.org/tlog-policy); empty publishes every checkpoint

	bounds serveBounds // memory and temporary space
}

// parseServeFlags parses the flags of serve. Each flag's default comes from
// its environment variable if that is set.
func parseServeFlags(args []string, stderr io.Writer) (serveConfig, error) {
	var c serveConfig
	flags := flag.NewFlagSet("serve", flag.ContinueOnError)
	flags.SetOutput(stderr)
	flags.StringVar(&c.data, "data", envOr("ATTESTLOG_DATA", "./attestlog-data"), "state `dir`ectory: log.key, log.vkey, log.db (env ATTESTLOG_DATA)")
	flags.StringVar(&c.httpAddr, "http", envOr("ATTESTLOG_HTTP", "127.0.0.1:7380"), "HTTP listen `addr`ess (env ATTESTLOG_HTTP)")
	flags.StringVar(&c.grpcAddr, "grpc", envOr("ATTESTLOG_GRPC", "127.0.0.1:7381"), "gRPC listen `addr`ess (env ATTESTLOG_GRPC)")
	flags.StringVar(&c.origin, "origin", envOr("ATTESTLOG_ORIGIN", "localhost/attestlog"), "checkpoint `origin` and signing key name (env ATTESTLOG_ORIGIN)")
	flags.StringVar(&c.builders, "builders", envOr("ATTESTLOG_BUILDERS", ""), "allowlist `file` of builder vkeys, one per line; default accepts any key (env ATTESTLOG_BUILDERS)")
	flags.Float64Var(&c.rate, "rate", envFloat("ATTESTLOG_RATE", 0), "most claims per second overall, 0 for no limit (env ATTESTLOG_RATE)")
	flags.Float64Var(&c.perKey, "builder-rate", envFloat("ATTESTLOG_BUILDER_RATE", 0), "most claims per second per builder key, 0 for no limit (env ATTESTLOG_BUILDER_RATE)")
	flags.Int64Var(&c.maxSize, "max-artifact-size", int64(envFloat("ATTESTLOG_MAX_ARTIFACT_SIZE", float64(archive.DefaultMaxSize))), "largest artifact upload in `bytes` (env ATTESTLOG_MAX_ARTIFACT_SIZE)")
	c.bounds.register(flags)
	flags.StringVar(&c.policy, "policy", envOr("ATTESTLOG_POLICY", ""), "witness policy `file` (c2sp.org/tlog-policy with witness URLs); publish only checkpoints meeting its quorum (env ATTESTLOG_POLICY)")
	flags.BoolVar(&c.pprof, "pprof", false, "serve Go profiles under /debug/pprof/ on the HTTP address (for operators; keep it off in public)")
	level := flags.String("log-level", envOr("ATTESTLOG_LOG_LEVEL", "info"), "log `level`: debug, info, warn or error (env ATTESTLOG_LOG_LEVEL)")
	if err := parseFlags(flags, args); err != nil {
		return c, err
	}
	if flags.NArg() > 0 {
		return c, usageErrorf("serve: unexpected argument %q", flags.Arg(0))
	}
	if err := c.level.UnmarshalText([]byte(*level)); err != nil {
		return c, usageErrorf("serve: --log-level: %v", err)
	}
	return c, nil
}

func envFloat(name string, def float64) float64 {
	if v, err := strconv.ParseFloat(os.Getenv(name), 64); err == nil {
		return v
	}
	return def
}

func envOr(name, def string) string {
	if v, ok := os.LookupEnv(name); ok && v != "" {
		return v
	}
	return def
}

// serve runs the log with its HTTP and gRPC servers until ctx is done or
// one of them fails, then shuts everything down and closes the store.
func serve(ctx context.Context, args []string, stdout, stderr io.Writer) (err error) {
	c, err := parseServeFlags(args, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return nil
	} else if err != nil {
		return err
	}
	logger := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: c.level}))

	if err := os.MkdirAll(c.data, 0o700); err != nil {
		return fmt.Errorf("creating data directory: %w", err)
	}
	dbPath := filepath.Join(c.data, dbFile)
	_, statErr := os.Stat(dbPath)
	signer, vkey, err := openLogKey(c.data, c.origin, errors.Is(statErr, fs.ErrNotExist))
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "log vkey: %s\n", vkey)
	store, err := log.OpenBolt(dbPath)
	if err != nil {
		return err
	}
	defer func() {
		if cerr := store.Close(); cerr != nil && err == nil {
			err = fmt.Errorf("closing log store: %w", cerr)
		}
	}()
	policy, err := loadWitnessPolicy(c.policy, vkey)
	if err != nil {
		return err
	}
	l, err := log.New(log.Config{Origin: c.origin, Signer: signer, Store: store, Indexer: log.ClaimIndex{}, Witnesses: policy, Logger: logger})
	if err != nil {
		return err
	}
	svc, err := newService(c, l, logger)
	if err != nil {
		return err
	}

	var lc net.ListenConfig
	httpLn, err := lc.Listen(ctx, "tcp", c.httpAddr)
	if err != nil {
		return fmt.Errorf("http: %w", err)
	}
	grpcLn, err := lc.Listen(ctx, "tcp", c.grpcAddr)
	if err != nil {
		httpLn.Close()
		return fmt.Errorf("grpc: %w", err)
	}
	fmt.Fprintf(stdout, "http listening on %s\ngrpc listening on %s\n", httpLn.Addr(), grpcLn.Addr())
	logger.InfoContext(ctx, "serving log",
		slog.String("origin", c.origin),
		slog.Int64("tree_size", l.Checkpoint().Size),
		slog.String("http_addr", httpLn.Addr().String()),
		slog.String("grpc_addr", grpcLn.Addr().String()),
		slog.String("data", c.data))

	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error { return l.Run(gctx) })
	g.Go(func() error { return serveHTTP(gctx, newHTTPServer(l, logger, c.pprof), httpLn) })
	g.Go(func() error { return serveGRPC(gctx, grpcLn, svc) })
	err = g.Wait()
	logger.InfoContext(ctx, "stopped", slog.Int64("tree_size", l.Checkpoint().Size))
	return err
}

// newHTTPServer returns a server for the log's tlog-tiles API at "/" and
// its metrics at "/metrics".
func newHTTPServer(l *log.Log, logger *slog.Logger, withPprof bool) *http.Server {
	mux := newServerMux(l.Handler(), "attestlog_log_", l.Metrics())
	if withPprof {
		mux.HandleFunc("/debug/pprof/", pprof.Index)
		mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
		mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
		mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	}
	return newHTTPServerFor(mux, logger)
}

// serveHTTP serves HTTP on ln until ctx is done, then shuts srv down,
// waiting up to shutdownTimeout for in-flight requests.
func serveHTTP(ctx context.Context, srv *http.Server, ln net.Listener) error {
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
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

// loadWitnessPolicy reads the log's witness policy, if any. A log line in it
// must be this log's own key.
func loadWitnessPolicy(path, vkey string) (*tiles.Policy, error) {
	if path == "" {
		return nil, nil
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("reading witness policy: %w", err)
	}
	p, err := tiles.ParsePolicy(b)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	for _, l := range p.Logs {
		if l.VKey != vkey {
			return nil, fmt.Errorf("%s: lists log %s, but this log's key is %s", path, l.VKey, vkey)
		}
	}
	return p, nil
}

// newService opens the artifact archive in the data directory and returns
// the log's gRPC service, with the builder allowlist and rate limits.
func newService(c serveConfig, l *log.Log, logger *slog.Logger) (*log.Service, error) {
	a, err := archive.Open(filepath.Join(c.data, "archive"), archive.Config{MaxSize: c.maxSize, Logger: logger})
	if err != nil {
		return nil, err
	}
	cfg := log.ServiceConfig{GlobalRate: c.rate, BuilderRate: c.perKey, Logger: logger,
		MaxClaimBytes: c.bounds.claimBytes, UploadIdleTimeout: c.bounds.uploadIdle, MaxUploadBytes: c.bounds.uploadBytes}
	if c.builders != "" {
		b, err := os.ReadFile(c.builders)
		if err != nil {
			return nil, fmt.Errorf("reading builder allowlist: %w", err)
		}
		if cfg.Builders, err = log.ParseBuilders(b); err != nil {
			return nil, fmt.Errorf("%s: %w", c.builders, err)
		}
	}
	return log.NewService(l, a, cfg)
}

// serveGRPC serves the log's LogService with the gRPC health and reflection
// services on ln until ctx is done, then reports NOT_SERVING and stops
// gracefully, waiting up to shutdownTimeout for in-flight calls.
func serveGRPC(ctx context.Context, ln net.Listener, svc pb.LogServiceServer) error {
	srv := grpc.NewServer(log.GRPCServerOptions()...)
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
