package web

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"github.com/attestlog/attestlog/log/claim"
	"github.com/attestlog/attestlog/log/claim/format"
	"github.com/attestlog/attestlog/log/claim/record"
	"github.com/attestlog/attestlog/log/claim/scheme"
	"golang.org/x/mod/sumdb/tlog"
)

// A claimRow is one logged claim as the pages show it.
type claimRow struct {
	Index int64
	Claim *claimView // nil if the entry is not a claim this log accepts
	// Signers name the signers for the builder search: a signed-note key
	// by its vkey, any other by "<scheme>:<key ID>".
	Signers []string
	// SignerViews are the signers with their scheme and key ID.
	SignerViews []signerView
	Err         string // why Claim is nil
	entry       *claim.Entry
	rec         *record.Record
	raw         []byte
}

// A claimView is what a claim says, from log/claim/record: the signed
// fields, and the supplied annotations, which the pages mark as such.
type claimView struct {
	Kind      string // "dsse-slsa" for v1, else the format of the signed document
	Scheme    string // the scheme of the (first) signer
	Source    string
	SourceRef string
	Commit    string
	// Platform is the subjects' platform when they share one.
	Platform     string
	Recipe       string
	BuilderID    string
	SourceDigest string
	DigestOnly   bool
	Subjects     []record.Subject
	Supplied     format.Annotations
}

// A signerView is one signer of a claim.
type signerView struct {
	Name   string // the key's name: a vkey's name, else "<scheme>:<key ID>"
	Search string // the builder search key
	Scheme string
	KeyID  string
}

func parseRow(idx int64, raw []byte) claimRow {
	row := claimRow{Index: idx, raw: raw}
	if e, err := claim.ParseEntry(raw); err == nil {
		row.entry = e // shown and checked signature by signature, even if one fails
		for _, sig := range e.Signatures {
			row.Signers = append(row.Signers, sig.VKey)
		}
	}
	r, err := record.Decode(raw)
	if err != nil {
		row.Err = err.Error()
		return row
	}
	row.rec = r
	row.Signers = nil
	for _, sg := range r.Signers {
		name := sg.Builder()
		if sg.Scheme == scheme.Note {
			name, _, _ = strings.Cut(sg.KeyID, "+")
		}
		row.Signers = append(row.Signers, sg.Builder())
		row.SignerViews = append(row.SignerViews, signerView{Name: name, Search: sg.Builder(), Scheme: string(sg.Scheme), KeyID: sg.KeyID})
	}
	v := &claimView{Kind: r.Kind, Scheme: string(r.Signers[0].Scheme), Source: r.Source, SourceRef: r.SourceRef, Commit: r.Commit,
		Recipe: r.Recipe, BuilderID: r.BuilderID, SourceDigest: r.SourceDigest, DigestOnly: r.DigestOnly(), Subjects: r.Subjects, Supplied: r.Supplied}
	for i, sb := range r.Subjects {
		if i == 0 || sb.Platform == v.Platform {
			v.Platform = sb.Platform
		} else {
			v.Platform = ""
		}
	}
	row.Claim = v
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
	Payload  []string // the statement, indented, or the signed document, line by line
	Proof    proofView
}

type subjectView struct {
	record.Subject
	Archived   bool
	Size       int64
	MismatchID string // the identity's mismatch, if it has one
	NoIdentity bool   // the subject forms no build identity (digest-only claim, or platform unknown)
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
	switch {
	case p.entry != nil:
		for _, sig := range p.entry.Signatures {
			e := *p.entry
			e.Signatures = []claim.Signature{sig}
			_, err := e.Verify()
			p.Valid = append(p.Valid, err == nil)
		}
		if p.SignerViews == nil { // the entry does not decode: show its signers as v1 did
			for _, sig := range p.entry.Signatures {
				name, _, _ := strings.Cut(sig.VKey, "+")
				p.SignerViews = append(p.SignerViews, signerView{Name: name, Search: sig.VKey, Scheme: string(scheme.Note)})
			}
		}
		var b bytes.Buffer
		if json.Indent(&b, p.entry.Payload, "", "  ") != nil {
			b.Reset()
			b.Write(p.entry.Payload)
		}
		p.Payload = strings.Split(b.String(), "\n")
	case p.rec != nil:
		p.Valid = []bool{true} // Decode verified the one signature
		p.Payload = strings.Split(strings.TrimSuffix(string(p.rec.Document()), "\n"), "\n")
	}
	if p.rec != nil {
		if p.Subjects, err = s.subjects(p.rec, cp.Size); err != nil {
			s.fail(w, r, err)
			return
		}
	}
	s.render(w, r, "claim.html", http.StatusOK, page{Title: fmt.Sprintf("Claim %d", idx), Nav: "claims", Body: p})
}

// subjects returns r's artifacts with whether each is archived and which
// mismatch its build identity has, if it has one.
func (s *Site) subjects(r *record.Record, size int64) ([]subjectView, error) {
	ids := map[int]claim.Identity{}
	for j, p := range r.IdentitySubjects() {
		ids[p] = r.Identities()[j]
	}
	var out []subjectView
	for i, sb := range r.Subjects {
		v := subjectView{Subject: sb}
		var err error
		if v.Size, v.Archived, err = s.cfg.Archive.Stat(v.SHA256); err != nil {
			return nil, err
		}
		id, ok := ids[i]
		v.NoIdentity = !ok
		if ok {
			m, ok, err := s.index.Mismatch(s.cfg.Store, id.Key(), size)
			if err != nil {
				return nil, err
			}
			if ok {
				v.MismatchID = m.ID()
			}
		}
		out = append(out, v)
	}
	return out, nil
}
