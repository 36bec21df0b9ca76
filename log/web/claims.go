package web

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"github.com/attestlog/attestlog/log/claim"
	"golang.org/x/mod/sumdb/tlog"
)

// A claimRow is one logged claim as the pages show it.
type claimRow struct {
	Index   int64
	Claim   *claim.Claim // nil if the entry is not a claim this log accepts
	Signers []string     // verifier keys of the signatures
	Err     string       // why Claim is nil
	entry   *claim.Entry
	raw     []byte
}

func parseRow(idx int64, raw []byte) claimRow {
	row := claimRow{Index: idx, raw: raw}
	e, err := claim.ParseEntry(raw)
	if err != nil {
		row.Err = err.Error()
		return row
	}
	row.entry = e
	for _, sig := range e.Signatures {
		row.Signers = append(row.Signers, sig.VKey)
	}
	if row.Claim, err = claim.ParseStatement(e.Payload); err != nil {
		row.Err = err.Error()
	}
	return row
}

// recent returns up to n claims below size, newest first.
func (s *Site) recent(size int64, n int) ([]claimRow, error) {
	start := max(0, size-int64(n))
	entries, err := s.log.Entries(start, int(size-start))
	if err != nil {
		return nil, err
	}
	rows := make([]claimRow, len(entries))
	for i, e := range entries {
		rows[len(entries)-1-i] = parseRow(start+int64(i), e)
	}
	return rows, nil
}

// rows reads the claims at indexes, in that order.
func (s *Site) rows(indexes []int64) ([]claimRow, error) {
	rows := make([]claimRow, len(indexes))
	for i, idx := range indexes {
		e, err := s.log.Entries(idx, 1)
		if err != nil {
			return nil, err
		}
		rows[i] = parseRow(idx, e[0])
	}
	return rows, nil
}

// parseIndex parses an entry index in canonical decimal.
func parseIndex(s string) (int64, bool) {
	i, err := strconv.ParseInt(s, 10, 64)
	return i, err == nil && i >= 0 && strconv.FormatInt(i, 10) == s
}

// claimsPage is the body of /claims.
type claimsPage struct {
	Rows          []claimRow
	First, Last   int64 // the range listed, [First, Last)
	Size          int64
	Older, Newer  int64 // the before= of the neighbouring pages
	HasOlder, New bool
}

func (s *Site) serveClaims(w http.ResponseWriter, r *http.Request) {
	size := s.log.Checkpoint().Size
	before := size
	if b := r.URL.Query().Get("before"); b != "" {
		var ok bool
		if before, ok = parseIndex(b); !ok || before > size {
			s.fail(w, r, fmt.Errorf("%w: before=%q: want an index up to the tree size, %d", errBadRequest, b, size))
			return
		}
	}
	rows, err := s.recent(before, RecentPageSize)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	p := claimsPage{Rows: rows, Last: before, First: max(0, before-RecentPageSize), Size: size}
	p.Older, p.HasOlder = p.First, p.First > 0
	p.Newer, p.New = min(size, before+RecentPageSize), before < size
	s.render(w, r, "claims.html", http.StatusOK, page{Title: "Recent claims", Nav: "claims", Body: p})
}

// claimPage is the body of /claims/<index>.
type claimPage struct {
	claimRow
	Subjects []subjectView
	Valid    []bool   // per signer: the signature verifies
	Payload  []string // the statement, indented, line by line
	Proof    proofView
}

type subjectView struct {
	claim.Subject
	Archived   bool
	Size       int64
	MismatchID string // the identity's mismatch, if it has one
}

// proofView is the claim's inclusion in the latest checkpoint, and in the
// published one if that differs.
type proofView struct {
	Size        int64
	Hashes      int
	Verified    bool
	Published   int64 // the published checkpoint's size; 0 if none
	InPublished bool
}

func (s *Site) serveClaim(w http.ResponseWriter, r *http.Request) {
	cp := s.log.Checkpoint()
	idx, ok := parseIndex(r.PathValue("index"))
	if !ok || idx >= cp.Size {
		s.fail(w, r, fmt.Errorf("%w: no claim %q in a log of %d entries", errNotFound, r.PathValue("index"), cp.Size))
		return
	}
	rows, err := s.rows([]int64{idx})
	if err != nil {
		s.fail(w, r, err)
		return
	}
	p := claimPage{claimRow: rows[0]}
	proof, err := s.log.InclusionProof(idx, cp.Size)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	p.Proof = proofView{Size: cp.Size, Hashes: len(proof), Verified: tlog.CheckRecord(proof, cp.Size, cp.Hash, idx, tlog.RecordHash(p.raw)) == nil}
	if pub := s.log.Published(); pub != nil {
		p.Proof.Published, p.Proof.InPublished = pub.Size, idx < pub.Size
	}
	if p.entry != nil {
		for _, sig := range p.entry.Signatures {
			e := *p.entry
			e.Signatures = []claim.Signature{sig}
			_, err := e.Verify()
			p.Valid = append(p.Valid, err == nil)
		}
		var b bytes.Buffer
		if json.Indent(&b, p.entry.Payload, "", "  ") != nil {
			b.Reset()
			b.Write(p.entry.Payload)
		}
		p.Payload = strings.Split(b.String(), "\n")
	}
	if p.Claim != nil {
		if p.Subjects, err = s.subjects(p.Claim, cp.Size); err != nil {
			s.fail(w, r, err)
			return
		}
	}
	s.render(w, r, "claim.html", http.StatusOK, page{Title: fmt.Sprintf("Claim %d", idx), Nav: "claims", Body: p})
}

// subjects returns c's artifacts with whether each is archived and which
// mismatch its build identity has.
func (s *Site) subjects(c *claim.Claim, size int64) ([]subjectView, error) {
	var out []subjectView
	for i, id := range c.Identities() {
		v := subjectView{Subject: c.Subjects[i]}
		var err error
		if v.Size, v.Archived, err = s.cfg.Archive.Stat(v.SHA256); err != nil {
			return nil, err
		}
		m, ok, err := s.index.Mismatch(s.cfg.Store, id.Key(), size)
		if err != nil {
			return nil, err
		}
		if ok {
			v.MismatchID = m.ID()
		}
		out = append(out, v)
	}
	return out, nil
}
