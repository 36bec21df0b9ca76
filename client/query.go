package client

import (
	"fmt"
	"slices"
	"strings"

	"github.com/attestlog/attestlog/log/claim/record"
)

// A ClaimQuery names what a lookup asks a log for, as "attestlog lookup"
// does: the claims naming an artifact digest (Digest), the claims without
// a source naming a release file (Name), or the claims about a source
// commit (Source and Commit; a deb:NAME@VERSION Source alone), for one
// platform if Platform is set. Exactly one of Digest, Name or Source is
// set, normalised as the log's index keys them.
type ClaimQuery struct {
	Digest, Name, Source, Commit, Platform string
}

// String says what q looks up, for messages: "naming sha256 HEX",
// "naming file NAME without a source", "about SOURCE@COMMIT for PLATFORM".
func (q ClaimQuery) String() string {
	src := q.Source
	if q.Commit != "" {
		src += "@" + q.Commit
	}
	switch {
	case q.Digest != "":
		return "naming sha256 " + q.Digest
	case q.Name != "":
		return "naming file " + q.Name + " without a source"
	case q.Platform != "":
		return "about " + src + " for " + q.Platform
	}
	return "about " + src
}

// Check checks that every claim of a log's answer to q is about what q
// asks: a log cannot pad an answer with unrelated, valid claims.
func (q ClaimQuery) Check(vcs []VerifiedClaim) error {
	for _, vc := range vcs {
		r, err := record.Decode(vc.Entry)
		if err != nil {
			return fmt.Errorf("claim at index %d: %w", vc.Index, err)
		}
		names := func(f func(record.Subject) bool) bool { return slices.ContainsFunc(r.Subjects, f) }
		switch {
		case q.Digest != "" && !names(func(s record.Subject) bool { return s.SHA256 == q.Digest }):
			return fmt.Errorf("claim at index %d does not name sha256 %s", vc.Index, q.Digest)
		case q.Name != "" && (!r.DigestOnly() || !names(func(s record.Subject) bool { return s.Name == q.Name })):
			return fmt.Errorf("claim at index %d is not a claim without a source naming %s", vc.Index, q.Name)
		case q.Source != "" && (r.Source != q.Source || r.Commit != q.Commit):
			return fmt.Errorf("claim at index %d is about %s@%s", vc.Index, r.Source, r.Commit)
		case q.Platform != "" && !names(func(s record.Subject) bool { return s.Platform == strings.ToLower(q.Platform) }):
			return fmt.Errorf("claim at index %d is for another platform than %s", vc.Index, q.Platform)
		}
	}
	return nil
}
