package web

import (
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/attestlog/attestlog/log/claim"
	"github.com/attestlog/attestlog/log/claim/scheme"
)

// A query is what the search box asked for.
type query struct {
	kind   queryKind
	digest string // byDigest: 64 lowercase hex digits
	vkey   string // byBuilder
	index  int64  // byIndex
	// bySource: the normalised source URI, full commit and, if given, platform.
	source, commit, platform string
}

type queryKind int

const (
	byDigest queryKind = iota + 1
	byBuilder
	byIndex
	bySource
)

// maxQueryLen bounds the search text; a source URI and a commit fit.
const maxQueryLen = 2048

// parseQuery reads the search box: an artifact sha256 (64 hex digits, an
// optional "sha256:" prefix), a builder's signed-note verifier key, a claim
// index, or a source URI and full commit, optionally followed by a
// platform, separated by white space. Its errors say what it accepts.
func parseQuery(q string) (query, error) {
	fields := strings.Fields(q)
	if len(q) > maxQueryLen {
		return query{}, fmt.Errorf("%w: the search text is longer than %d bytes", errBadRequest, maxQueryLen)
	}
	switch len(fields) {
	case 1:
		f := fields[0]
		if i, ok := parseIndex(f); ok {
			return query{kind: byIndex, index: i}, nil
		}
		if d, err := claim.NormaliseDigest(f); err == nil {
			return query{kind: byDigest, digest: d}, nil
		}
		if _, err := claim.ParseVKey(f); err == nil {
			return query{kind: byBuilder, vkey: f}, nil
		}
		if isBuilderName(f) {
			return query{kind: byBuilder, vkey: f}, nil
		}
	case 2, 3:
		src, _, err := claim.NormaliseSource(fields[0])
		if err != nil {
			return query{}, fmt.Errorf("%w: source: %v", errBadRequest, err)
		}
		commit, err := claim.NormaliseCommit(fields[1])
		if err != nil {
			return query{}, fmt.Errorf("%w: commit: %v", errBadRequest, err)
		}
		qq := query{kind: bySource, source: src, commit: commit}
		if len(fields) == 3 {
			qq.platform = strings.ToLower(fields[2])
		}
		return qq, nil
	}
	return query{}, fmt.Errorf("%w: search for an artifact sha256, a builder key, a claim index, or a source URI and commit (git+https://host/repo <40 or 64 hex digits> [platform])", errBadRequest)
}

// String returns the query as the search box would show it; parseQuery
// reads it back as the same query.
func (q query) String() string {
	switch q.kind {
	case byDigest:
		return q.digest
	case byBuilder:
		return q.vkey
	case byIndex:
		return strconv.FormatInt(q.index, 10)
	case bySource:
		return strings.TrimSpace(q.source + " " + q.commit + " " + q.platform)
	}
	return ""
}

// searchPage is the body of /search.
type searchPage struct {
	What       string // what was searched for, in words
	Rows       []claimRow
	More       bool
	MismatchID string // a mismatch whose ID the query also is
	Err        string
}

func (s *Site) serveSearch(w http.ResponseWriter, r *http.Request) {
	text := r.URL.Query().Get("q")
	p := page{Title: "Search", Nav: "search", Query: text}
	if strings.TrimSpace(text) == "" {
		s.render(w, r, "search.html", http.StatusOK, p)
		return
	}
	q, err := parseQuery(text)
	if err != nil {
		p.Body = searchPage{Err: err.Error()}
		s.render(w, r, "search.html", http.StatusBadRequest, p)
		return
	}
	if q.kind == byIndex {
		http.Redirect(w, r, "/claims/"+strconv.FormatInt(q.index, 10), http.StatusSeeOther)
		return
	}
	body, err := s.search(q)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	p.Body = body
	s.render(w, r, "search.html", http.StatusOK, p)
}

func (s *Site) search(q query) (searchPage, error) {
	size := s.log.Checkpoint().Size
	var (
		idx  []int64
		more bool
		err  error
		p    searchPage
	)
	switch q.kind {
	case byDigest:
		p.What = "claims naming artifact sha256 " + q.digest
		idx, more, err = s.index.FirstByDigest(s.cfg.Store, q.digest, SearchLimit, size)
		if key, kerr := claim.ParseIdentityID(q.digest); err == nil && kerr == nil {
			var ok bool
			if _, ok, err = s.index.Mismatch(s.cfg.Store, key, size); ok {
				p.MismatchID = q.digest
			}
		}
	case byBuilder:
		p.What = "claims signed by " + q.vkey
		idx, more, err = s.index.FirstByBuilder(s.cfg.Store, q.vkey, SearchLimit, size)
	case bySource:
		p.What = "claims about " + q.String()
		idx, more, err = s.index.FirstBySource(s.cfg.Store, q.source, q.commit, q.platform, SearchLimit, size)
	default:
		return p, errors.New("web: unknown query kind")
	}
	if err != nil {
		return p, err
	}
	p.More = more
	p.Rows, err = s.rows(idx)
	return p, err
}

// isBuilderName reports whether f names a signer of another scheme than
// signed-note, as the index names it: "<scheme>:<key ID>" (log/claim/record).
func isBuilderName(f string) bool {
	name, id, ok := strings.Cut(f, ":")
	if !ok || id == "" || claim.CheckText(id) != nil {
		return false
	}
	return name != string(scheme.Note) && slices.Contains(scheme.Schemes, scheme.Scheme(name))
}
