package web

import (
	"embed"
	"errors"
	"fmt"
	"html/template"
	"log/slog"
	"net/http"
	"time"

	"github.com/attestlog/attestlog/internal/webui"
	"github.com/attestlog/attestlog/log"
	"github.com/attestlog/attestlog/log/archive"
	"github.com/attestlog/attestlog/tiles"
	"golang.org/x/mod/sumdb/note"
)

// Page sizes. Each bounds the entries one page reads.
const (
	// RecentPageSize is how many claims a page of /claims lists.
	RecentPageSize = 25
	// HomeClaims is how many recent claims the home page lists.
	HomeClaims = 8
	// SearchLimit is the most claims a search lists.
	SearchLimit = 100
	// MismatchPageSize is how many mismatches a page of /mismatches lists.
	MismatchPageSize = 25
	// MismatchClaims is the most claims per digest a mismatch page details.
	MismatchClaims = 20
)

// Config configures a [Site]. Log, Store, Archive and VerifierKey are
// required; every other zero value means the documented default.
type Config struct {
	Log *log.Log
	// Store is the Log's store, which the pages query through
	// [log.ClaimIndex]; the Log must index claims.
	Store   log.Store
	Archive archive.Store
	// VerifierKey is the log's signed-note verifier key, shown on the home
	// page and used to read cosignature times from witnessed checkpoints.
	VerifierKey string
	// Witnesses is the log's witness policy, as given to the Log; nil if it
	// has none.
	Witnesses *tiles.Policy
	// Logger receives errors of pages; nil discards them.
	Logger *slog.Logger
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

// A Site is a log's status pages.
type Site struct {
	cfg    Config
	log    *log.Log
	index  log.ClaimIndex
	logger *slog.Logger
	now    func() time.Time
	// policy is Witnesses with this log as its one log, to read
	// cosignature times; nil without witnesses.
	policy *tiles.Policy
	pages  map[string]*template.Template // by file name; read-only after New
	rate   *rateTracker
}

//go:embed templates/*.html
var templateFS embed.FS

// New returns the status pages of cfg.Log.
func New(cfg Config) (*Site, error) {
	switch {
	case cfg.Log == nil, cfg.Store == nil, cfg.Archive == nil:
		return nil, errors.New("web: config: Log, Store and Archive are required")
	}
	v, err := note.NewVerifier(cfg.VerifierKey)
	if err != nil {
		return nil, fmt.Errorf("web: config: verifier key: %w", err)
	}
	if v.Name() != cfg.Log.Checkpoint().Origin {
		return nil, fmt.Errorf("web: config: verifier key is named %q, the log's origin is %q", v.Name(), cfg.Log.Checkpoint().Origin)
	}
	s := &Site{cfg: cfg, log: cfg.Log, logger: cfg.Logger, now: cfg.Now, pages: map[string]*template.Template{}}
	if s.logger == nil {
		s.logger = slog.New(slog.DiscardHandler)
	}
	if s.now == nil {
		s.now = time.Now
	}
	if cfg.Witnesses != nil {
		p := *cfg.Witnesses
		p.Logs = []tiles.PolicyLog{{VKey: cfg.VerifierKey, Verifier: v}}
		s.policy = &p
	}
	for _, name := range []string{"home.html", "claims.html", "claim.html", "search.html", "mismatches.html", "mismatch.html", "error.html"} {
		t, err := template.New(name).Funcs(webui.Funcs(s.now)).ParseFS(templateFS, "templates/layout.html", "templates/"+name)
		if err != nil {
			return nil, fmt.Errorf("web: parsing template %s: %w", name, err)
		}
		s.pages[name] = t
	}
	s.rate = newRateTracker(s.now(), cfg.Log.Checkpoint().Size)
	return s, nil
}

// Handler returns the pages listed in the package documentation, with
// every other path passed to the log's [log.Log.Handler].
func (s *Site) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.Handle("/", s.log.Handler())
	mux.HandleFunc("GET /{$}", s.serveHome)
	mux.HandleFunc("GET /claims", s.serveClaims)
	mux.HandleFunc("GET /claims/{index}", s.serveClaim)
	mux.HandleFunc("GET /search", s.serveSearch)
	mux.HandleFunc("GET /mismatches", s.serveMismatches)
	mux.HandleFunc("GET /mismatches/{id}", s.serveMismatch)
	mux.HandleFunc("GET /artifacts/{sha256}", s.serveArtifact)
	mux.HandleFunc("GET "+webui.StylePath, webui.ServeStyle)
	return mux
}

// page is what every template gets: the layout's fields and the page's own.
type page struct {
	Title  string
	Origin string
	Nav    string // the navigation entry to mark active
	Query  string // the search box's text
	Body   any
}

// render writes the page made by template name.
func (s *Site) render(w http.ResponseWriter, r *http.Request, name string, code int, p page) {
	p.Origin = s.log.Checkpoint().Origin
	if err := webui.Render(w, s.pages[name], code, p); err != nil {
		s.logger.ErrorContext(r.Context(), "rendering web page", slog.String("page", name), slog.Any("err", err))
		http.Error(w, "internal error", http.StatusInternalServerError)
	}
}

// Errors of the pages' own checks, mapped to status codes by fail.
var (
	errBadRequest = errors.New("web: bad request")
	errNotFound   = errors.New("web: not found")
)

// fail writes the error page for err: the one place the pages turn errors
// into status codes. Internal errors are logged, not shown.
func (s *Site) fail(w http.ResponseWriter, r *http.Request, err error) {
	code := http.StatusInternalServerError
	switch {
	case errors.Is(err, errBadRequest):
		code = http.StatusBadRequest
	case errors.Is(err, errNotFound), errors.Is(err, log.ErrOutOfRange), errors.Is(err, archive.ErrNotFound):
		code = http.StatusNotFound
	}
	msg := err.Error()
	if code == http.StatusInternalServerError {
		s.logger.ErrorContext(r.Context(), "serving web page", slog.String("path", r.URL.Path), slog.Any("err", err))
		msg = "internal error"
	}
	s.render(w, r, "error.html", code, page{Title: http.StatusText(code), Body: msg})
}
