// Package daemon runs what attestlog's serve, witness and migrate do once
// their flags are parsed into a [Config], [WitnessConfig] or
// [MigrateConfig]. Serve and Witness check every file and address before
// they create the data directory, remove what a failed start created, open
// the store, the archive and the object store, and run the log's HTTP and
// gRPC servers (or the witness's HTTP server) until their context is done,
// then shut them down gracefully. The flags, their environment variables
// and defaults stay in package main; see the reference in package usage.
//
// Serve, Witness and Migrate may run concurrently on different data
// directories and addresses.
package daemon

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"math"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"runtime/debug"
	"strconv"
	"time"

	"github.com/attestlog/attestlog/cmd/attestlog/internal/datadir"
	"github.com/attestlog/attestlog/cmd/attestlog/internal/netconf"
	"github.com/attestlog/attestlog/log"
	"github.com/attestlog/attestlog/log/archive"
	"github.com/attestlog/attestlog/log/objstore"
	"github.com/attestlog/attestlog/log/pgstore"
	"github.com/attestlog/attestlog/log/web"
	"github.com/attestlog/attestlog/tiles"
	"golang.org/x/sync/errgroup"
)

// Config is serve's command line. Data, HTTPAddr, GRPCAddr and Origin are
// required; the zero value of every other field means off, none or no
// limit, except the bounds of package log's ServiceConfig, whose zero
// values mean its defaults.
type Config struct {
	Data            string        // state directory: log.key, log.vkey, log.db, archive/
	Store           string        // URL of a PostgreSQL database for the log's state; empty: log.db in Data
	HTTPAddr        string        // HTTP listen address
	GRPCAddr        string        // gRPC listen address
	Origin          string        // checkpoint origin and signing key name
	Builders        string        // allowlist file of builder vkeys; empty accepts every key
	Rate            float64       // AddClaim calls per second, overall; 0 is unlimited
	BuilderRate     float64       // AddClaim calls per second per builder key; 0 is unlimited
	MaxArtifactSize int64         // largest artifact upload in bytes
	IndexEntries    int           // entries that make the verifiable index be committed
	IndexMaxTail    int           // entries after the latest commitment past which claims wait; -1 for no bound
	IndexAge        time.Duration // longest wait for an index commitment
	BatchLinger     time.Duration // longest wait for more claims before a busy log commits a batch; 0: none
	Pprof           string        // loopback address to serve net/http/pprof on; empty: off
	Policy          string        // witness policy file (c2sp.org/tlog-policy); empty publishes every checkpoint
	TLSCert         string        // PEM certificate chain for HTTP and gRPC; with TLSKey, else plaintext
	TLSKey          string        // PEM private key of TLSCert
	// WitnessCA is a PEM bundle of the CAs trusted for https witness URLs;
	// empty: the system roots.
	WitnessCA string

	MaxClaimBytes     int64         // bytes of claims in flight
	UploadIdleTimeout time.Duration // longest silence of an upload stream
	MaxUploadBytes    int64         // declared bytes of the uploads in progress together
	// MemoryLimit is the Go runtime's soft memory limit in bytes
	// (runtime/debug.SetMemoryLimit); 0 leaves the runtime's (GOMEMLIMIT,
	// or none).
	MemoryLimit int64

	ObjectsURL    string            // --objects as given, for the start line; empty: no object store
	Objects       objstore.Location // the buckets of ObjectsURL
	ArchiveNoLock bool              // accept an archive bucket without Object Lock
}

// limitedGCPercent is the garbage collector's target heap growth (GOGC)
// while serve's soft memory limit bounds the heap: a collection when the
// heap has grown by twice the live heap rather than by once, so that a
// small live heap is not collected over and over. At 400 a burst of large
// claims took the heap to the limit, and VmRSS past the 256 MiB bound
// (TestServeMemoryBoundedUnderBurst); at 200 its peaks were 188-233 MiB. The limit, not GOGC, then
// bounds the memory: the collector runs harder as the heap nears it. It cut
// serve's CPU per claim by about a sixth with the index committer idle
// (BENCHMARKS.md, "gRPC claim path (fourth pass)"). GOGC in the environment
// overrides it.
const limitedGCPercent = 200

// tileCacheShare is the part of the runtime's memory limit that the proof
// path's cache of expanded tiles may hold: a sixteenth, 13 MiB (835 tiles)
// under serve's default limit. The library's default, 4,096 tiles (64 MiB),
// filled as a large log grew, since every tile the sequencer writes is
// cached for the receipts' proofs: at 1,200,000 claims it held 45 MiB of
// the heap, which the committer's strata needed, and serve's RssAnon
// reached the 256 MiB bound (BENCHMARKS.md, "Ninth pass").
const tileCacheShare = 16

// tileCacheSize returns the [log.Config.TileCacheSize] for the runtime's
// memory limit: the library's default if there is none.
func tileCacheSize() int {
	limit := debug.SetMemoryLimit(-1)
	if limit <= 0 || limit == math.MaxInt64 {
		return 0
	}
	return log.TileCacheFor(limit / tileCacheShare)
}

// Serve runs the log with its HTTP and gRPC servers until ctx is done or
// one of them fails, then shuts everything down and closes the store. It
// prints the log's verifier key and bound addresses to stdout and logs to
// logger.
func Serve(ctx context.Context, c Config, stdout io.Writer, logger *slog.Logger) (err error) {
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
	objs, err := openObjects(ctx, c, logger)
	if err != nil {
		return err
	}
	dir, err := datadir.Create(c.Data)
	if err != nil {
		return err
	}
	started := false
	defer dir.CleanUpFailedStart(&err, &started)
	setMemoryLimit(c.MemoryLimit)

	dbPath := filepath.Join(c.Data, datadir.LogDB)
	_, statErr := os.Stat(dbPath)
	signer, vkey, err := datadir.OpenLogKey(c.Data, c.Origin, errors.Is(statErr, fs.ErrNotExist))
	if err != nil {
		return err
	}
	if err := checkPolicyLogKey(c.Policy, in.policy, vkey); err != nil {
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
	linger := c.BatchLinger
	if linger <= 0 {
		linger = -1 // log.Config's "never"
	}
	l, err := log.New(log.Config{Origin: c.Origin, Signer: signer, Store: store, Indexer: log.ClaimIndex{}, TileCacheSize: tileCacheSize(), BatchLinger: linger,
		Witnesses: in.policy, HTTPClient: in.witnessClient, Logger: logger, Publisher: objs.logPublisher()})
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
func announceServe(ctx context.Context, stdout io.Writer, logger *slog.Logger, c Config, in serveInputs, lns serveListeners, l *log.Log, vkey, dbPath string) {
	fmt.Fprintf(stdout, "log vkey: %s\n", vkey)
	if lns.pprof != nil {
		fmt.Fprintf(stdout, "pprof listening on %s\n", lns.pprof.Addr())
	}
	fmt.Fprintf(stdout, "http listening on %s\ngrpc listening on %s\n", lns.http.Addr(), lns.grpc.Addr())
	logger.InfoContext(ctx, "serving log",
		slog.String("origin", c.Origin),
		slog.Int64("tree_size", l.Checkpoint().Size),
		slog.String("http_addr", lns.http.Addr().String()),
		slog.String("grpc_addr", lns.grpc.Addr().String()),
		slog.Bool("tls", in.tls != nil),
		slog.String("data", c.Data),
		slog.String("store", storeName(c, dbPath)),
		slog.String("objects", c.ObjectsURL),
		policyAttr(c.Policy, in.policy),
		allowlistAttr(c.Builders, in.builders),
		slog.Float64("rate", c.Rate), slog.Float64("builder_rate", c.BuilderRate),
		slog.Int64("memory_limit", debug.SetMemoryLimit(-1)),
		slog.Int("tile_cache", tileCacheSize()),
		slog.String("gogc", gogc(c.MemoryLimit)))
}

// runServe runs the log, its index committer and publisher, and its
// servers until ctx is done or one of them fails.
func runServe(ctx context.Context, c Config, in serveInputs, lns serveListeners, l *log.Log, svc *log.Service, pages *web.Site, objs objects, logger *slog.Logger) error {
	committer, err := log.NewIndexCommitter(l, log.IndexConfig{Entries: c.IndexEntries, Age: c.IndexAge, MaxTail: c.IndexMaxTail, Logger: logger})
	if err != nil {
		return err
	}
	httpSrv := newHTTPServer(l, pages, logger, append(objs.metrics(), committer.Metrics()...)...)
	httpSrv.TLSConfig = in.tls
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error { return l.Run(gctx) })
	g.Go(func() error { return committer.Run(gctx) })
	if objs.publisher != nil {
		g.Go(func() error { return objs.publisher.Run(gctx, l) })
	}
	g.Go(func() error { return serveHTTP(gctx, httpSrv, lns.http) })
	logged := newLoggingService(svc, logger)
	g.Go(func() error { return logged.Run(gctx) })
	g.Go(func() error {
		// After the last call, so that its mismatches and its append are logged.
		defer logged.Flush(context.WithoutCancel(gctx))
		return serveGRPC(gctx, lns.grpc, logged, in.tls)
	})
	if lns.pprof != nil {
		g.Go(func() error { return serveHTTP(gctx, newPprofServer(logger), lns.pprof) })
	}
	return g.Wait()
}

// openStore opens the log's state: the PostgreSQL database of --store, or
// else the bbolt file at dbPath.
func openStore(ctx context.Context, c Config, dbPath, vkey string, logger *slog.Logger) (log.Store, error) {
	if _, err := os.Stat(dbPath); c.Store != "" && err == nil {
		return nil, fmt.Errorf("%s holds a log on bbolt, and --store names a PostgreSQL database: the key in %s must sign one tree only; use a data directory without %s with --store, or drop --store", dbPath, c.Data, datadir.LogDB)
	}
	if c.Store != "" {
		return pgstore.Open(ctx, pgstore.Config{URL: c.Store, Origin: c.Origin, VKey: vkey, Logger: logger})
	}
	s, err := log.OpenBolt(dbPath)
	if err != nil {
		return nil, err
	}
	return s, nil
}

// storeName names the log's store for logs, without a password.
func storeName(c Config, dbPath string) string {
	if c.Store != "" {
		return pgstore.Redact(c.Store)
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
func loadServeInputs(c Config) (in serveInputs, err error) {
	if in.tls, err = netconf.LoadServerTLS(c.TLSCert, c.TLSKey); err != nil {
		return in, err
	}
	if in.policy, err = readWitnessPolicy(c.Policy); err != nil {
		return in, err
	}
	if in.witnessClient, err = netconf.HTTPClientFor(c.WitnessCA); err != nil {
		return in, fmt.Errorf("--witness-tls-ca: %w", err)
	}
	if in.builders, err = readBuilders(c.Builders); err != nil {
		return in, err
	}
	return in, nil
}

// serveListeners are serve's listening sockets; pprof is nil unless asked for.
type serveListeners struct{ http, grpc, pprof net.Listener }

// listenServe listens on serve's addresses, so that a port in use fails
// the start before the data directory is touched.
func listenServe(ctx context.Context, c Config) (lns serveListeners, err error) {
	defer func() {
		if err != nil {
			lns.close()
		}
	}()
	var lc net.ListenConfig
	if lns.http, err = lc.Listen(ctx, "tcp", c.HTTPAddr); err != nil {
		return lns, fmt.Errorf("http: %w", err)
	}
	if lns.grpc, err = lc.Listen(ctx, "tcp", c.GRPCAddr); err != nil {
		return lns, fmt.Errorf("grpc: %w", err)
	}
	if c.Pprof != "" {
		if lns.pprof, err = netconf.ListenLoopback(ctx, "--pprof", c.Pprof); err != nil {
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
	builders, err := log.ParseBuildersFrom(b, log.KeyFilesBeside(path))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return builders, nil
}

// newService opens the artifact archive (in the data directory unless the
// object store has one) and returns
// the log's gRPC service, with the builder allowlist (nil: any key) and
// rate limits, and the archive.
func newService(c Config, l *log.Log, objs objects, builders map[string]bool, logger *slog.Logger) (*log.Service, archive.Store, error) {
	var a archive.Store = objs.archive
	if objs.archive == nil {
		dir := filepath.Join(c.Data, "archive")
		local, err := archive.Open(dir, archive.Config{MaxSize: c.MaxArtifactSize, Logger: logger})
		if err != nil {
			return nil, nil, err
		}
		if err := checkArchiveWritable(dir); err != nil {
			return nil, nil, err
		}
		a = local
	}
	cfg := log.ServiceConfig{GlobalRate: c.Rate, BuilderRate: c.BuilderRate, Logger: logger,
		MaxClaimBytes: c.MaxClaimBytes, UploadIdleTimeout: c.UploadIdleTimeout, MaxUploadBytes: c.MaxUploadBytes}
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

// setMemoryLimit sets the Go runtime's soft memory limit, if limit is
// positive, and GOGC as [gogc] says.
func setMemoryLimit(limit int64) {
	if limit <= 0 {
		return
	}
	debug.SetMemoryLimit(limit)
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(limitedGCPercent)
	}
}

// gogc returns the GOGC serve runs with: the environment's if it sets one
// (the runtime has read it), limitedGCPercent under serve's own memory
// limit, else the runtime's default.
func gogc(limit int64) string {
	switch {
	case os.Getenv("GOGC") != "":
		return os.Getenv("GOGC")
	case limit > 0:
		return strconv.Itoa(limitedGCPercent)
	}
	return "100"
}
