package log

import (
	"compress/gzip"
	"errors"
	"log/slog"
	"net/http"
	"strings"

	"github.com/attestlog/attestlog/tiles"
)

// Cache lifetimes of the tlog-tiles resources.
const (
	cacheCheckpoint = "no-cache"                            // mutable; clients revalidate every time
	cachePartial    = "public, max-age=60"                  // may be dropped once the full tile exists
	cacheFull       = "public, max-age=31536000, immutable" // never changes
)

// Handler returns the c2sp.org/tlog-tiles read API, rooted at "/":
//
//	GET /checkpoint             text/plain; charset=utf-8
//	GET /tile/<L>/<N>[.p/<W>]   application/octet-stream
//	GET /tile/entries/<N>[.p/<W>]
//	GET /healthz
//
// Malformed paths get 400, resources beyond the latest checkpoint 404.
// While [Log.Status] reports an error (the first witness round after a
// start, or a store shown rolled back), /checkpoint and /healthz answer 503
// with that error as a one-line body; tiles are still served. Mount it
// under a prefix with [http.StripPrefix].
func (l *Log) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /checkpoint", l.serveResource)
	mux.HandleFunc("GET /tile/", l.serveResource)
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		if err := l.Status(); err != nil {
			http.Error(w, err.Error(), httpStatus(err))
			return
		}
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.Write([]byte("ok\n"))
	})
	return mux
}

func (l *Log) serveResource(w http.ResponseWriter, r *http.Request) {
	path := strings.TrimPrefix(r.URL.Path, "/")
	data, err := l.Fetch(r.Context(), path)
	if err != nil {
		code := httpStatus(err)
		if code == http.StatusInternalServerError {
			l.log.ErrorContext(r.Context(), "serving tlog-tiles resource", slog.String("path", path), slog.Any("err", err))
			http.Error(w, "internal error", code)
			return
		}
		http.Error(w, err.Error(), code)
		return
	}
	h := w.Header()
	if path == CheckpointPath {
		h.Set("Content-Type", "text/plain; charset=utf-8")
		h.Set("Cache-Control", cacheCheckpoint)
		w.Write(data)
		return
	}
	h.Set("Content-Type", "application/octet-stream")
	if strings.Contains(path, ".p/") {
		h.Set("Cache-Control", cachePartial)
	} else {
		h.Set("Cache-Control", cacheFull)
	}
	if strings.HasPrefix(path, "tile/entries/") {
		h.Add("Vary", "Accept-Encoding")
		if acceptsGzip(r) {
			h.Set("Content-Encoding", "gzip")
			gz, _ := gzip.NewWriterLevel(w, gzip.BestSpeed)
			gz.Write(data)
			gz.Close()
			return
		}
	}
	w.Write(data)
}

// httpStatus maps an error from Fetch to its HTTP status: the one place the
// tile API turns errors into codes.
func httpStatus(err error) int {
	switch {
	case errors.Is(err, tiles.ErrMalformedPath):
		return http.StatusBadRequest
	case errors.Is(err, ErrNotFound):
		return http.StatusNotFound
	case errors.Is(err, ErrUnconfirmed), errors.Is(err, ErrRolledBack):
		return http.StatusServiceUnavailable
	}
	return http.StatusInternalServerError
}

func acceptsGzip(r *http.Request) bool {
	for _, part := range strings.Split(r.Header.Get("Accept-Encoding"), ",") {
		coding, params, _ := strings.Cut(strings.TrimSpace(part), ";")
		if strings.EqualFold(strings.TrimSpace(coding), "gzip") && strings.ReplaceAll(params, " ", "") != "q=0" {
			return true
		}
	}
	return false
}
