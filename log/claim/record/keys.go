package record

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/attestlog/attestlog/log/claim"
	"github.com/attestlog/attestlog/log/claim/format"
	"github.com/attestlog/attestlog/log/claim/scheme"
)

// DigestOnly reports whether r forms no build identity: its signature
// names no source, or a git source without a commit. A deb: source needs
// no commit (the Debian archive never reuses a version). Such a claim
// vouches for digests under file names only; see [claim.IndexKeys.Names].
func (r *Record) DigestOnly() bool {
	switch {
	case strings.HasPrefix(r.Source, "deb:"):
		return false
	case r.Source != "" && r.Commit != "":
		return false
	}
	return true
}

// Identities returns the build identity of each subject that has one, in
// subject order, from signed fields only: none for a digest-only claim,
// none for a subject of unknown platform. Supplied annotations never enter
// an identity. For a v1 record it equals the statement's Identities.
func (r *Record) Identities() []claim.Identity {
	if r.DigestOnly() {
		return nil
	}
	var ids []claim.Identity
	for _, s := range r.Subjects {
		if s.Platform != "" {
			ids = append(ids, claim.Identity{Source: r.Source, Commit: r.Commit, Platform: s.Platform, Artifact: s.Name})
		}
	}
	return ids
}

// IdentitySubjects returns the position in Subjects of the subject of
// each of [Record.Identities], in the same order.
func (r *Record) IdentitySubjects() []int {
	if r.DigestOnly() {
		return nil
	}
	var ps []int
	for i, s := range r.Subjects {
		if s.Platform != "" {
			ps = append(ps, i)
		}
	}
	return ps
}

// Keys returns the index keys of r: the map function that the log's index,
// its verifiable index (log/vindex) and a monitor's recomputation all use.
// For a v1 record they are the keys log/claim's Keys has always given, byte
// for byte, so that existing indexes and index commitments stay valid.
func (r *Record) Keys() claim.IndexKeys {
	k := claim.IndexKeys{Identities: r.Identities()}
	seen := map[string]bool{}
	for _, s := range r.Subjects {
		if !seen[s.SHA256] {
			seen[s.SHA256] = true
			k.Digests = append(k.Digests, s.SHA256)
		}
	}
	for _, id := range k.Identities {
		b := claim.Build{Source: id.Source, Commit: id.Commit, Platform: id.Platform}
		if !slices.Contains(k.Builds, b) {
			k.Builds = append(k.Builds, b)
		}
	}
	if r.DigestOnly() {
		for _, s := range r.Subjects {
			if !slices.Contains(k.Names, s.Name) {
				k.Names = append(k.Names, s.Name)
			}
		}
	}
	for _, s := range r.Signers {
		k.Builders = append(k.Builders, s.Builder())
	}
	return k
}

// CheckFile checks a file against r, as a client that downloaded it does:
// its sha256 must be one of r's subjects' and, for a minisign record,
// minisign's signature over the file must verify, which is what binds the
// digest of a record with FileSignatureUnchecked to its signer. It reads
// file to its end. Errors name what failed; a wrong signature wraps
// [claim.ErrBadSignature] and [scheme.ErrVerify].
func CheckFile(r *Record, file io.Reader) error {
	b, err := io.ReadAll(file)
	if err != nil {
		return fmt.Errorf("record: reading the file: %w", err)
	}
	h := sha256.Sum256(b)
	digest := hex.EncodeToString(h[:])
	if !slices.ContainsFunc(r.Subjects, func(s Subject) bool { return s.SHA256 == digest }) {
		return fmt.Errorf("%w: the file's sha256 %s is not one the claim names", claim.ErrBadSignature, digest)
	}
	if r.v2 == nil || r.v2.kind != format.Minisign {
		return nil
	}
	k := r.vf.(*scheme.MinisignKey) // decodeV2 checked the scheme
	if _, err := k.Open(b, r.v2.body); err != nil {
		return fmt.Errorf("%w: minisign: %w", claim.ErrBadSignature, err)
	}
	return nil
}

// EntryKeys returns the index keys of a logged entry, as [Decode] then
// [Record.Keys] would, for code that recomputes the map over a log it
// trusts to hold only verified entries (the log's index commitments,
// which re-read every entry): a v1 entry's signatures are not verified
// again, which is what this costs without; a v2 entry is decoded in full,
// since its mapping is the verified document's.
func EntryKeys(entry []byte) (claim.IndexKeys, error) {
	if !bytes.HasPrefix(entry, []byte(claim.EntryVersion+"\n")) {
		r, err := Decode(entry)
		if err != nil {
			return claim.IndexKeys{}, err
		}
		return r.Keys(), nil
	}
	e, err := claim.ParseEntry(entry)
	if err != nil {
		return claim.IndexKeys{}, err
	}
	c, err := claim.ParseStatement(e.Payload)
	if err != nil {
		return claim.IndexKeys{}, err
	}
	return FromV1(e, c).Keys(), nil
}

// Document returns the signed bytes the entry holds, verbatim: a v2
// entry's document (the SHA256SUMS file, the .buildinfo, the .minisig
// file, the link or envelope JSON), a v1 entry's DSSE payload (the
// statement). The caller must not modify it.
func (r *Record) Document() []byte {
	if r.v2 != nil {
		return r.v2.body
	}
	if r.V1 != nil {
		return r.V1.Payload
	}
	return nil
}
