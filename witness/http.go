package witness

import (
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/attestlog/attestlog/internal/webui"
)

// Content types of the witness's responses.
const (
	contentTypeText = "text/plain; charset=utf-8"
	contentTypeSize = "text/x.tlog.size" // a 409's body, per c2sp.org/tlog-witness
	contentTypeJSON = "application/json"
)

// Handler returns the witness's HTTP API, rooted at "/", where the submission
// and monitoring prefixes of c2sp.org/tlog-witness are the same:
//
//	GET  /                        HTML status page: logs, latest cosigned sizes, evidence
//	GET  /static/style.css        its style sheet
//	POST /add-checkpoint          cosign a checkpoint; see [Witness.AddCheckpoint]
//	GET  /<origin hash>/checkpoint  the latest cosigned checkpoint of a log, by the
//	                              lowercase hex SHA-256 of its origin; 404 if none
//	GET  /evidence                JSON list of [Evidence] ids, origins, reasons and times
//	GET  /evidence/<id>           JSON of one [Evidence], with the notes
//	GET  /healthz                 liveness
//
// Other methods get 405, other paths 404. Refusals have a text/plain body
// saying what was wrong, except 409's, which is the witness's size for the
// origin as c2sp.org/tlog-witness requires. Mount it under a prefix with
// [http.StripPrefix].
func (w *Witness) Handler() http.Handler { return http.HandlerFunc(w.route) }

func (w *Witness) route(rw http.ResponseWriter, r *http.Request) {
	p := r.URL.Path
	if p == "/add-checkpoint" {
		if r.Method != http.MethodPost {
			rw.Header().Set("Allow", http.MethodPost)
			http.Error(rw, "add-checkpoint needs POST", http.StatusMethodNotAllowed)
			return
		}
		w.serveAddCheckpoint(rw, r)
		return
	}
	var serve func(http.ResponseWriter, *http.Request, string)
	arg := ""
	switch {
	case p == "/":
		serve = w.servePage
	case p == webui.StylePath:
		serve = func(rw http.ResponseWriter, r *http.Request, _ string) { webui.ServeStyle(rw, r) }
	case p == "/healthz":
		serve = serveHealth
	case p == "/evidence":
		serve = w.serveEvidenceList
	case strings.HasPrefix(p, "/evidence/"):
		serve, arg = w.serveEvidence, strings.TrimPrefix(p, "/evidence/")
	case strings.HasSuffix(p, "/checkpoint") && strings.Count(p, "/") == 2:
		serve, arg = w.serveCheckpoint, strings.TrimSuffix(strings.TrimPrefix(p, "/"), "/checkpoint")
	default:
		http.NotFound(rw, r)
		return
	}
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		rw.Header().Set("Allow", "GET, HEAD")
		http.Error(rw, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	serve(rw, r, arg)
}

func (w *Witness) serveAddCheckpoint(rw http.ResponseWriter, r *http.Request) {
	start := time.Now()
	origin, cosig, err := w.addCheckpointRequest(r)
	code := http.StatusOK
	if err != nil {
		code = w.writeError(rw, r, err)
	} else {
		rw.Header().Set("Content-Type", contentTypeText)
		rw.Write(cosig)
	}
	w.metrics.observeRequest(origin, code, time.Since(start))
}

func (w *Witness) addCheckpointRequest(r *http.Request) (origin string, cosig []byte, err error) {
	tooLarge := refuse(http.StatusBadRequest, "request body larger than %d bytes", MaxRequestSize)
	if r.ContentLength > MaxRequestSize {
		return "", nil, tooLarge
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, MaxRequestSize+1))
	if err != nil {
		return "", nil, refuse(http.StatusBadRequest, "reading request body: %v", err)
	}
	if len(body) > MaxRequestSize {
		return "", nil, tooLarge
	}
	return w.addCheckpoint(r.Context(), body)
}

// writeError writes the response for err and returns its status code: the
// one place the witness's HTTP API turns errors into codes.
func (w *Witness) writeError(rw http.ResponseWriter, r *http.Request, err error) int {
	h := rw.Header()
	var e *Error
	switch {
	case errors.As(err, &e):
		switch e.Status {
		case http.StatusConflict:
			h.Set("Content-Type", contentTypeSize)
			rw.WriteHeader(e.Status)
			io.WriteString(rw, strconv.FormatInt(e.Size, 10)+"\n")
			return e.Status
		case http.StatusTooManyRequests:
			h.Set("Retry-After", strconv.FormatInt(int64((e.RetryAfter+time.Second-1)/time.Second), 10))
		}
		http.Error(rw, e.Msg, e.Status)
		return e.Status
	case errors.Is(err, ErrNotFound):
		http.Error(rw, err.Error(), http.StatusNotFound)
		return http.StatusNotFound
	}
	w.log.ErrorContext(r.Context(), "serving witness request", slog.String("path", r.URL.Path), slog.Any("err", err))
	http.Error(rw, "internal error", http.StatusInternalServerError)
	return http.StatusInternalServerError
}

func serveHealth(rw http.ResponseWriter, _ *http.Request, _ string) {
	rw.Header().Set("Content-Type", contentTypeText)
	io.WriteString(rw, "ok\n")
}

func (w *Witness) serveCheckpoint(rw http.ResponseWriter, r *http.Request, originHash string) {
	origin, ok := w.byHash[originHash]
	if !ok {
		http.Error(rw, "no log with origin hash "+strconv.Quote(originHash), http.StatusNotFound)
		return
	}
	cp, err := w.Checkpoint(origin)
	if err != nil {
		w.writeError(rw, r, err)
		return
	}
	rw.Header().Set("Content-Type", contentTypeText)
	rw.Header().Set("Cache-Control", "no-cache")
	rw.Write(cp)
}

func (w *Witness) serveEvidenceList(rw http.ResponseWriter, r *http.Request, _ string) {
	list, err := w.ListEvidence()
	if err != nil {
		w.writeError(rw, r, err)
		return
	}
	writeJSON(rw, list)
}

func (w *Witness) serveEvidence(rw http.ResponseWriter, r *http.Request, idText string) {
	id, ok := parseSize(idText)
	if !ok || id == 0 {
		http.Error(rw, "no evidence "+strconv.Quote(idText), http.StatusNotFound)
		return
	}
	e, err := w.Evidence(uint64(id))
	if err != nil {
		w.writeError(rw, r, err)
		return
	}
	writeJSON(rw, e)
}

func writeJSON(rw http.ResponseWriter, v any) {
	rw.Header().Set("Content-Type", contentTypeJSON)
	enc := json.NewEncoder(rw)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	enc.Encode(v)
}
