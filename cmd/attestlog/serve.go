package main

import (
	"context"
	"crypto/tls"
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
	"strings"
	"time"

	"github.com/attestlog/attestlog/cmd/attestlog/internal/netconf"
	"github.com/attestlog/attestlog/log"
	"github.com/attestlog/attestlog/log/archive"
	"github.com/attestlog/attestlog/log/pgstore"
	"github.com/attestlog/attestlog/log/web"
	pb "github.com/attestlog/attestlog/proto/attestlog/v1"
	"github.com/attestlog/attestlog/tiles"
	"github.com/prometheus/client_golang/prometheus"
	"golang.org/x/sync/errgroup"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/reflection"
)

// shutdownTimeout bounds how long serve waits for in-flight HTTP requests
// and gRPC calls once asked to stop; then it drops them.
const shutdownTimeout = 10 * time.Second

// serveConfig is the command line of serve.
type serveConfig struct {
	data         string
	store        string // URL of a PostgreSQL database for the log's state; empty: log.db in data
	objects      objectsConfig
	httpAddr     string
	grpcAddr     string
	origin       string
	level        slog.Level
	builders     string        // allowlist file of builder vkeys; empty accepts every key
	rate         float64       // AddClaim calls per second, overall; 0 is unlimited
	perKey       float64       // AddClaim calls per second per builder key; 0 is unlimited
	maxSize      int64         // largest artifact upload in bytes
	indexEntries int           // entries that make the verifiable index be committed
	indexAge     time.Duration // longest wait for an index commitment
	pprof        string        // loopback address to serve net/http/pprof on; empty: off
	policy       string        // witness policy file (c2sp.org/tlog-policy); empty publishes every checkpoint
	tlsCert      string        // PEM certificate chain for HTTP and gRPC; with tlsKey, else plaintext
	tlsKey       string        // PEM private key of tlsCert
	// witnessCA is a PEM bundle of the CAs trusted for https witness URLs;
	// empty: the system roots.
	witnessCA string

	bounds serveBounds // memory and temporary space
}

// parseServeFlags parses the flags of serve. Each flag's default comes from
// its environment variable if that is set.
func parseServeFlags(args []string, stderr io.Writer) (serveConfig, error) {
	var c serveConfig
	flags := flag.NewFlagSet("serve", flag.ContinueOnError)
	flags.SetOutput(stderr)
	flags.StringVar(&c.data, "data", envOr("ATTESTLOG_DATA", "./attestlog-data"), "state `dir`ectory: log.key, log.vkey, log.db (env ATTESTLOG_DATA)")
	flags.StringVar(&c.store, "store", envOr("ATTESTLOG_STORE", ""), "postgres://user:password@host:port/database `URL` of the PostgreSQL database holding the log's state; default the bbolt file log.db in --data (env ATTESTLOG_STORE)")
	c.objects.register(flags)
	flags.StringVar(&c.httpAddr, "http", envOr("ATTESTLOG_HTTP", "127.0.0.1:7380"), "HTTP listen `addr`ess (env ATTESTLOG_HTTP)")
	flags.StringVar(&c.grpcAddr, "grpc", envOr("ATTESTLOG_GRPC", "127.0.0.1:7381"), "gRPC listen `addr`ess (env ATTESTLOG_GRPC)")
	flags.StringVar(&c.origin, "origin", envOr("ATTESTLOG_ORIGIN", "localhost/attestlog"), "checkpoint `origin` and signing key name (env ATTESTLOG_ORIGIN)")
	flags.StringVar(&c.builders, "builders", envOr("ATTESTLOG_BUILDERS", ""), "allowlist `file` of builder vkeys, one per line; default accepts any key (env ATTESTLOG_BUILDERS)")
	flags.Float64Var(&c.rate, "rate", envFloat("ATTESTLOG_RATE", 0), "most claims per second overall, 0 for no limit (env ATTESTLOG_RATE)")
	flags.Float64Var(&c.perKey, "builder-rate", envFloat("ATTESTLOG_BUILDER_RATE", 0), "most claims per second per builder key, 0 for no limit (env ATTESTLOG_BUILDER_RATE)")
	flags.Int64Var(&c.maxSize, "max-artifact-size", int64(envFloat("ATTESTLOG_MAX_ARTIFACT_SIZE", float64(archive.DefaultMaxSize))), "largest artifact upload in `bytes` (env ATTESTLOG_MAX_ARTIFACT_SIZE)")
	c.bounds.register(flags)
	flags.StringVar(&c.policy, "policy", envOr("ATTESTLOG_POLICY", ""), "witness policy `file` (c2sp.org/tlog-policy with witness URLs); publish only checkpoints meeting its quorum (env ATTESTLOG_POLICY)")
	flags.StringVar(&c.pprof, "pprof", envOr("ATTESTLOG_PPROF", ""), "serve Go profiles under /debug/pprof/ on this loopback `addr`ess, e.g. 127.0.0.1:6060; default off (env ATTESTLOG_PPROF)")
	flags.StringVar(&c.tlsCert, "tls-cert", envOr("ATTESTLOG_TLS_CERT", ""), "PEM `file` of the certificate chain; with --tls-key, HTTP and gRPC are served over TLS (env ATTESTLOG_TLS_CERT)")
	flags.StringVar(&c.tlsKey, "tls-key", envOr("ATTESTLOG_TLS_KEY", ""), "PEM `file` of the TLS private key (env ATTESTLOG_TLS_KEY)")
	flags.StringVar(&c.witnessCA, "witness-tls-ca", envOr("ATTESTLOG_WITNESS_TLS_CA", ""), "PEM `file` of the CA certificates trusted for https witness URLs; default the system roots (env ATTESTLOG_WITNESS_TLS_CA)")
	flags.IntVar(&c.indexEntries, "index-entries", int(envFloat("ATTESTLOG_INDEX_ENTRIES", log.DefaultCommitEntries)), "commit the verifiable index once this many `entries` wait (env ATTESTLOG_INDEX_ENTRIES)")
	flags.DurationVar(&c.indexAge, "index-age", envDuration("ATTESTLOG_INDEX_AGE", log.DefaultCommitAge), "commit the verifiable index at least this often while entries wait (env ATTESTLOG_INDEX_AGE)")
	level := flags.String("log-level", envOr("ATTESTLOG_LOG_LEVEL", "info"), "log `level`: debug, info, warn or error (env ATTESTLOG_LOG_LEVEL)")
	if err := parseFlags(flags, args); err != nil {
		return c, err
	}
	if flags.NArg() > 0 {
		return c, usageErrorf("serve: unexpected argument %q", flags.Arg(0))
	}
	if c.store != "" && !strings.HasPrefix(c.store, "postgres://") && !strings.HasPrefix(c.store, "postgresql://") {
		return c, usageErrorf("serve: --store %s: not a postgres:// URL", pgstore.Redact(c.store))
	}
	if err := c.objects.parse(); err != nil {
		return c, err
	}
	if err := c.level.UnmarshalText([]byte(*level)); err != nil {
		return c, usageErrorf("serve: --log-level: %v", err)
	}
	if err := checkKeyName(c.origin); err != nil {
		return c, usageErrorf("serve: --origin %q: %v", c.origin, err)
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

	// Everything that can fail without the data directory fails before it
	// is created; what fails later removes what this start created.
	in, err := loadServeInputs(c)
	if err != nil {
		return err
	}
	lns, err := listenServe(ctx, c)
	if err != nil {
		return err
	}
	defer lns.close() // the servers close them too; this is for a failed start
	objs, err := openObjects(ctx, c.objects, c.maxSize, logger)
	if err != nil {
		return err
	}
	dir, err := createDataDir(c.data)
	if err != nil {
		return err
	}
	started := false
	defer dir.cleanUpFailedStart(&err, &started)

	dbPath := filepath.Join(c.data, dbFile)
	_, statErr := os.Stat(dbPath)
	signer, vkey, err := openLogKey(c.data, c.origin, errors.Is(statErr, fs.ErrNotExist))
	if err != nil {
		return err
	}
	if err := checkPolicyLogKey(c.policy, in.policy, vkey); err != nil {
		return err
	}
	store, err := openStore(ctx, c, dbPath, vkey, logger)
	if err != nil {
		return err
	}
	defer func() {
		if cerr := store.Close(); cerr != nil && err == nil {
			err = fmt.Errorf("closing log store: %w", cerr)
		}
	}()
	if err := objs.attach(store); err != nil {
		return err
	}
	l, err := log.New(log.Config{Origin: c.origin, Signer: signer, Store: store, Indexer: log.ClaimIndex{}, Witnesses: in.policy, HTTPClient: in.witnessClient, Logger: logger, Publisher: objs.logPublisher()})
	if err != nil {
		return err
	}
	svc, a, err := newService(c, l, objs, in.builders, logger)
	if err != nil {
		return err
	}
	pages, err := web.New(web.Config{Log: l, Store: store, Archive: a, VerifierKey: vkey, Witnesses: in.policy, Logger: logger})
	if err != nil {
		return err
	}
	started = true
	announceServe(ctx, stdout, logger, c, in, lns, l, vkey, dbPath)
	err = runServe(ctx, c, in, lns, l, svc, pages, objs, logger)
	logger.InfoContext(ctx, "stopped", slog.Int64("tree_size", l.Checkpoint().Size))
	return err
}

// announceServe prints the log's verifier key and bound addresses to stdout,
// and logs what serve runs with.
func announceServe(ctx context.Context, stdout io.Writer, logger *slog.Logger, c serveConfig, in serveInputs, lns serveListeners, l *log.Log, vkey, dbPath string) {
	fmt.Fprintf(stdout, "log vkey: %s\n", vkey)
	if lns.pprof != nil {
		fmt.Fprintf(stdout, "pprof listening on %s\n", lns.pprof.Addr())
	}
	fmt.Fprintf(stdout, "http listening on %s\ngrpc listening on %s\n", lns.http.Addr(), lns.grpc.Addr())
	logger.InfoContext(ctx, "serving log",
		slog.String("origin", c.origin),
		slog.Int64("tree_size", l.Checkpoint().Size),
		slog.String("http_addr", lns.http.Addr().String()),
		slog.String("grpc_addr", lns.grpc.Addr().String()),
		slog.Bool("tls", in.tls != nil),
		slog.String("data", c.data),
		slog.String("store", storeName(c, dbPath)),
		slog.String("objects", c.objects.url),
		policyAttr(c.policy, in.policy),
		allowlistAttr(c.builders, in.builders),
		slog.Float64("rate", c.rate), slog.Float64("builder_rate", c.perKey))
}

// runServe runs the log, its index committer and publisher, and its
// servers until ctx is done or one of them fails.
func runServe(ctx context.Context, c serveConfig, in serveInputs, lns serveListeners, l *log.Log, svc *log.Service, pages *web.Site, objs objects, logger *slog.Logger) error {
	httpSrv := newHTTPServer(l, pages, logger, objs.metrics()...)
	httpSrv.TLSConfig = in.tls
	g, gctx := errgroup.WithContext(ctx)
	committer, err := log.NewIndexCommitter(l, log.IndexConfig{Entries: c.indexEntries, Age: c.indexAge, Logger: logger})
	if err != nil {
		return err
	}
	g.Go(func() error { return l.Run(gctx) })
	g.Go(func() error { return committer.Run(gctx) })
	if objs.publisher != nil {
		g.Go(func() error { return objs.publisher.Run(gctx, l) })
	}
	g.Go(func() error { return serveHTTP(gctx, httpSrv, lns.http) })
	logged := newLoggingService(svc, logger)
	g.Go(func() error { return logged.Run(gctx) })
	g.Go(func() error { return serveGRPC(gctx, lns.grpc, logged, in.tls) })
	if lns.pprof != nil {
		g.Go(func() error { return serveHTTP(gctx, newPprofServer(logger), lns.pprof) })
	}
	return g.Wait()
}

// openStore opens the log's state: the PostgreSQL database of --store, or
// else the bbolt file at dbPath.
func openStore(ctx context.Context, c serveConfig, dbPath, vkey string, logger *slog.Logger) (log.Store, error) {
	if _, err := os.Stat(dbPath); c.store != "" && err == nil {
		return nil, fmt.Errorf("%s holds a log on bbolt, and --store names a PostgreSQL database: the key in %s must sign one tree only; use a data directory without %s with --store, or drop --store", dbPath, c.data, dbFile)
	}
	if c.store != "" {
		return pgstore.Open(ctx, pgstore.Config{URL: c.store, Origin: c.origin, VKey: vkey, Logger: logger})
	}
	s, err := log.OpenBolt(dbPath)
	if err != nil {
		return nil, err
	}
	return s, nil
}

// storeName names the log's store for logs, without a password.
func storeName(c serveConfig, dbPath string) string {
	if c.store != "" {
		return pgstore.Redact(c.store)
	}
	return dbPath
}

// policyAttr describes the witness policy for serve's start line.
func policyAttr(path string, p *tiles.Policy) slog.Attr {
	if p == nil {
		return slog.String("policy", "none: every signed checkpoint is published")
	}
	return slog.Group("policy", slog.String("file", path), slog.Int("witnesses", len(p.Witnesses)), slog.String("quorum", p.Quorum))
}

// allowlistAttr describes the builder allowlist for serve's start line.
func allowlistAttr(path string, builders map[string]bool) slog.Attr {
	if builders == nil {
		return slog.String("builders", "any key")
	}
	return slog.Group("builders", slog.String("file", path), slog.Int("keys", len(builders)))
}

// serveInputs is what serve reads from files other than its data directory.
type serveInputs struct {
	tls           *tls.Config     // nil: plaintext
	policy        *tiles.Policy   // nil: no witnesses
	witnessClient *http.Client    // nil: http.DefaultClient
	builders      map[string]bool // nil: any builder key
}

// loadServeInputs reads and checks every file serve needs besides its data
// directory.
func loadServeInputs(c serveConfig) (in serveInputs, err error) {
	if in.tls, err = netconf.LoadServerTLS(c.tlsCert, c.tlsKey); err != nil {
		return in, err
	}
	if in.policy, err = readWitnessPolicy(c.policy); err != nil {
		return in, err
	}
	if in.witnessClient, err = netconf.HTTPClientFor(c.witnessCA); err != nil {
		return in, fmt.Errorf("--witness-tls-ca: %w", err)
	}
	if in.builders, err = readBuilders(c.builders); err != nil {
		return in, err
	}
	return in, nil
}

// serveListeners are serve's listening sockets; pprof is nil unless asked for.
type serveListeners struct{ http, grpc, pprof net.Listener }

// listenServe listens on serve's addresses, so that a port in use fails
// the start before the data directory is touched.
func listenServe(ctx context.Context, c serveConfig) (lns serveListeners, err error) {
	defer func() {
		if err != nil {
			lns.close()
		}
	}()
	var lc net.ListenConfig
	if lns.http, err = lc.Listen(ctx, "tcp", c.httpAddr); err != nil {
		return lns, fmt.Errorf("http: %w", err)
	}
	if lns.grpc, err = lc.Listen(ctx, "tcp", c.grpcAddr); err != nil {
		return lns, fmt.Errorf("grpc: %w", err)
	}
	if c.pprof != "" {
		if lns.pprof, err = netconf.ListenLoopback(ctx, "--pprof", c.pprof); err != nil {
			return lns, err
		}
	}
	return lns, nil
}

func (lns serveListeners) close() {
	for _, ln := range []net.Listener{lns.http, lns.grpc, lns.pprof} {
		if ln != nil {
			ln.Close()
		}
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

// readWitnessPolicy reads the log's witness policy, if any.
func readWitnessPolicy(path string) (*tiles.Policy, error) {
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
	return p, nil
}

// checkPolicyLogKey checks that a log line in the witness policy p, read
// from path, is this log's own key.
func checkPolicyLogKey(path string, p *tiles.Policy, vkey string) error {
	if p == nil {
		return nil
	}
	for _, l := range p.Logs {
		if l.VKey != vkey {
			return fmt.Errorf("%s: lists log %s, but this log's key is %s", path, l.VKey, vkey)
		}
	}
	return nil
}

// readBuilders reads the builder allowlist, if any.
func readBuilders(path string) (map[string]bool, error) {
	if path == "" {
		return nil, nil
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("reading builder allowlist: %w", err)
	}
	builders, err := log.ParseBuilders(b)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return builders, nil
}

// newService opens the artifact archive (in the data directory unless the
// object store has one) and returns
// the log's gRPC service, with the builder allowlist (nil: any key) and
// rate limits, and the archive.
func newService(c serveConfig, l *log.Log, objs objects, builders map[string]bool, logger *slog.Logger) (*log.Service, archive.Store, error) {
	var a archive.Store = objs.archive
	if objs.archive == nil {
		dir := filepath.Join(c.data, "archive")
		local, err := archive.Open(dir, archive.Config{MaxSize: c.maxSize, Logger: logger})
		if err != nil {
			return nil, nil, err
		}
		if err := checkArchiveWritable(dir); err != nil {
			return nil, nil, err
		}
		a = local
	}
	cfg := log.ServiceConfig{GlobalRate: c.rate, BuilderRate: c.perKey, Logger: logger,
		MaxClaimBytes: c.bounds.claimBytes, UploadIdleTimeout: c.bounds.uploadIdle, MaxUploadBytes: c.bounds.uploadBytes}
	cfg.Builders = builders
	svc, err := log.NewService(l, a, cfg)
	return svc, a, err
}

// checkArchiveWritable checks that serve can store uploads in the archive
// at dir, as the archive does: write a file in tmp/ and link it into
// objects/. Without it, serve would accept claims and then fail every
// upload of their binaries with Internal.
func checkArchiveWritable(dir string) (err error) {
	objects, tmp := filepath.Join(dir, "objects"), filepath.Join(dir, "tmp")
	defer func() {
		if err != nil {
			err = fmt.Errorf("the archive %s is not writable, so uploads of binaries would fail: %w; give the user running serve write permission on %s and %s (and check the file system is not read-only)", dir, err, objects, tmp)
		}
	}()
	f, err := os.CreateTemp(tmp, "write-check-")
	if err != nil {
		return err
	}
	defer os.Remove(f.Name())
	if _, err := f.Write([]byte("attestlog serve checks it can write here\n")); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	linked := filepath.Join(objects, ".write-check-"+filepath.Base(f.Name()))
	if err := os.Link(f.Name(), linked); err != nil {
		return err
	}
	return os.Remove(linked)
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
