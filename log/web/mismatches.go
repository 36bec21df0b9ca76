package web

import (
	"fmt"
	"io"
	"log/slog"
	"math"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/attestlog/attestlog/internal/webui"
	"github.com/attestlog/attestlog/log"
	"github.com/attestlog/attestlog/log/claim"
)

// parseCursor parses the after= of /mismatches, "<claim>.<subject>" as the
// gRPC API's page tokens are, both canonical decimals.
func parseCursor(s string) (log.MismatchCursor, bool) {
	c, sub, ok := strings.Cut(s, ".")
	ci, ok1 := parseIndex(c)
	si, ok2 := parseIndex(sub)
	if !ok || !ok1 || !ok2 || si > math.MaxUint32 {
		return log.MismatchCursor{}, false
	}
	return log.MismatchCursor{Claim: ci, Subject: int(si)}, true
}

// mismatchesPage is the body of /mismatches.
type mismatchesPage struct {
	Mismatches []log.MismatchRecord
	Next       string // after= of the next page; empty on the last
	First      bool
}

func (s *Site) serveMismatches(w http.ResponseWriter, r *http.Request) {
	after := log.MismatchCursor{Claim: -1}
	if a := r.URL.Query().Get("after"); a != "" {
		var ok bool
		if after, ok = parseCursor(a); !ok {
			s.fail(w, r, fmt.Errorf("%w: after=%q: want <claim index>.<subject>", errBadRequest, a))
			return
		}
	}
	ms, err := s.index.Mismatches(s.cfg.Store, after, MismatchPageSize, s.log.Checkpoint().Size)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	p := mismatchesPage{Mismatches: ms, First: after.Claim < 0}
	if len(ms) == MismatchPageSize {
		last := ms[len(ms)-1]
		p.Next = fmt.Sprintf("%d.%d", last.Claim, last.Subject)
	}
	s.render(w, r, "mismatches.html", http.StatusOK, page{Title: "Mismatches", Nav: "mismatches", Body: p})
}

// mismatchPage is the body of /mismatches/<id>.
type mismatchPage struct {
	log.MismatchRecord
	Digests []digestView
	Command string // the evidence command
}

// digestView is one column of a mismatch: a digest and who claimed it.
type digestView struct {
	SHA256   string
	Archived bool
	Size     int64
	Claims   []claimRow // the first MismatchClaims
	More     int        // claims not shown
	Recipes  []string   // distinct recipe digests, in order of first claim
	Signers  []string   // distinct signer keys, in order of first claim
}

func (s *Site) serveMismatch(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	key, err := claim.ParseIdentityID(id)
	if err != nil {
		s.fail(w, r, fmt.Errorf("%w: %v", errNotFound, err))
		return
	}
	m, ok, err := s.index.Mismatch(s.cfg.Store, key, s.log.Checkpoint().Size)
	if err != nil {
		s.fail(w, r, err)
		return
	} else if !ok {
		s.fail(w, r, fmt.Errorf("%w: no mismatch %s", errNotFound, id))
		return
	}
	p := mismatchPage{MismatchRecord: m, Command: "attestlog evidence pull " + m.ID()}
	for _, d := range m.Digests {
		v := digestView{SHA256: d.SHA256}
		if v.Size, v.Archived, err = s.cfg.Archive.Stat(d.SHA256); err != nil {
			s.fail(w, r, err)
			return
		}
		for _, rcp := range d.Recipes {
			if !slices.Contains(v.Recipes, rcp) {
				v.Recipes = append(v.Recipes, rcp)
			}
		}
		shown := d.Claims[:min(len(d.Claims), MismatchClaims)]
		v.More = len(d.Claims) - len(shown)
		if v.Claims, err = s.rows(shown); err != nil {
			s.fail(w, r, err)
			return
		}
		for _, row := range v.Claims {
			for _, k := range row.Signers {
				if !slices.Contains(v.Signers, k) {
					v.Signers = append(v.Signers, k)
				}
			}
		}
		p.Digests = append(p.Digests, v)
	}
	s.render(w, r, "mismatch.html", http.StatusOK, page{Title: "Mismatch " + webui.Short(m.ID()), Nav: "mismatches", Body: p})
}

// serveArtifact serves an archived binary as an attachment: never shown
// inline, whatever its bytes look like.
func (s *Site) serveArtifact(w http.ResponseWriter, r *http.Request) {
	d, err := claim.NormaliseDigest(r.PathValue("sha256"))
	if err != nil {
		s.fail(w, r, fmt.Errorf("%w: %v", errNotFound, err))
		return
	}
	obj, err := s.cfg.Archive.Get(d)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	defer obj.Close()
	h := w.Header()
	webui.SetHeaders(h)
	h.Set("Content-Type", "application/octet-stream")
	h.Set("Content-Disposition", `attachment; filename="`+d+`.bin"`)
	h.Set("Content-Length", strconv.FormatInt(obj.Size(), 10))
	h.Set("Cache-Control", "public, max-age=31536000, immutable")
	// The archive checks the digest as the bytes go out; on a mismatch the
	// response ends short of Content-Length, which clients see as a failed
	// download.
	if _, err := io.Copy(w, obj); err != nil && r.Context().Err() == nil {
		s.logger.ErrorContext(r.Context(), "serving archived artifact", slog.String("sha256", d), slog.Any("err", err))
	}
}
