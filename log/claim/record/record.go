package record

import (
	"bytes"
	"errors"
	"fmt"
	"strings"

	"github.com/attestlog/attestlog/log/claim"
	"github.com/attestlog/attestlog/log/claim/format"
	"github.com/attestlog/attestlog/log/claim/scheme"
)

// KindV1 is the Kind of every v1 entry: a DSSE envelope holding attestlog's
// SLSA statement profile (package log/claim).
const KindV1 = "dsse-slsa"

// A Record is a claim entry of either version, decoded and verified: what
// its signers said, in one shape for every consumer.
type Record struct {
	Version int    // 1 or 2
	Kind    string // KindV1 for v1, else the format.Kind of the signed document
	// Signers are the keys whose signatures verified: one per sig line of
	// a v1 entry, in entry order, and exactly one for a v2 entry.
	Signers []Signer

	// The fields the signature covers; "" means not signed. SourceRef and
	// BuilderID are v1 only. Source is "git+https://..." or, for a Debian
	// buildinfo, "deb:<source>@<version>" with an empty Commit.
	Source, SourceRef, Commit, SourceDigest, Recipe, BuilderID string
	// Subjects are the artifacts; in a v1 entry every subject has the
	// statement's platform. A subject with an empty Platform forms no
	// identity.
	Subjects []Subject
	// Supplied holds what the submitter of a v2 entry added beside the
	// signed document: shown, marked as supplied, and never counted.
	Supplied format.Annotations
	// FileSignatureUnchecked reports a minisign entry whose trusted comment
	// does not name the file's sha256: the entry's file-sha256 line binds
	// the digest, and only minisign's signature over the file, which
	// [Decode] cannot check without the file, makes that binding the
	// signer's. The log checks it against its archive before logging such
	// an entry; a client holding the file checks it with [CheckFile].
	FileSignatureUnchecked bool

	// V1 is the parsed entry of a v1 record, for code that needs the DSSE
	// parts (receipts, bundles); nil for v2.
	V1 *claim.Entry
	// Statement is the parsed statement of a v1 record; nil for v2.
	Statement *claim.Claim

	v2 *entryV2        // v2 only
	vf scheme.Verifier // v2 only: the signer's key
}

// A Subject is one artifact of a claim: file name, sha256 (64 lowercase
// hex digits) and platform ("os/arch[/variant]", "any", or "" when
// unknown).
type Subject = format.Subject

// A Signer is a key whose signature on an entry verified.
type Signer struct {
	Scheme scheme.Scheme
	KeyID  string // the key's canonical ID (scheme.Verifier.KeyID)
	Key    string // "SCHEME KEY", the scheme.Format text a policy line holds
}

// Builder returns the name of s in an index: a signed-note key's vkey, as
// v1 entries were always indexed, or "<scheme>:<key ID>" for any other
// scheme. It is the builder lookup key of [claim.IndexKeys].
func (s Signer) Builder() string {
	if s.Scheme == scheme.Note {
		return strings.TrimPrefix(s.Key, string(scheme.Note)+" ")
	}
	return string(s.Scheme) + ":" + s.KeyID
}

// Encode verifies document d with key v, maps it (log/claim/format), and
// returns its v2 entry. Resubmitting the same document with the same key
// gives the same bytes. A link or envelope with several signatures needs
// one that v verifies; the entry names v. For a minisign document whose
// trusted comment does not name the file's sha256, d.File must hold the
// file: its signature is checked and the entry carries its sha256 in a
// file-sha256 line. Errors name what failed and wrap
// [claim.ErrBadSignature] (a signature that does not verify),
// [claim.ErrMalformedEntry] (a malformed document or key) or
// [claim.ErrEntryTooLarge].
func Encode(v scheme.Verifier, d format.Document) ([]byte, error) {
	if err := checkKey(v); err != nil {
		return nil, err
	}
	c, err := format.Open(v, d)
	if err != nil {
		return nil, documentError(d.Kind, v, err)
	}
	e := &entryV2{kind: d.Kind, key: scheme.Format(v), supplied: c.Supplied, body: d.Signed}
	switch d.Kind {
	case format.Minisign:
		e.body = d.Signature
		if !commentHasSHA256(d.Signature) {
			e.fileSHA256 = c.Subjects[0].SHA256
		}
	case format.SHA256Sums, format.Buildinfo:
		if d.Signature != nil {
			if e.sig, err = canonicalSignature(v, d.Signature); err != nil {
				return nil, documentError(d.Kind, v, err)
			}
		}
	}
	b := e.marshal()
	if len(b) > claim.MaxEntrySize {
		return nil, fmt.Errorf("%w: the %s entry is %d bytes", claim.ErrEntryTooLarge, d.Kind, len(b))
	}
	if _, err := parseV2(b); err != nil {
		return nil, fmt.Errorf("record: encoding a %s entry: %w", d.Kind, err) // a document ending the header early
	}
	return b, nil
}

// checkKey refuses keys an entry must not name: a signed-note key whose
// name log/claim refuses (it is an index key and is shown).
func checkKey(v scheme.Verifier) error {
	if v.Scheme() == scheme.Note {
		if _, err := claim.ParseVKey(v.String()); err != nil {
			return fmt.Errorf("%w: %w", claim.ErrMalformedEntry, err)
		}
	}
	return nil
}

// canonicalSignature returns the one encoding of a detached signature an
// entry holds: an OpenPGP signature as one binary packet (armor removed),
// any other scheme's as given (their parsers accept one spelling).
func canonicalSignature(v scheme.Verifier, sig []byte) ([]byte, error) {
	if v.Scheme() == scheme.OpenPGP {
		return scheme.ParseOpenPGPSignature(sig)
	}
	return bytes.Clone(sig), nil
}

// commentHasSHA256 reports whether a minisign signature file's trusted
// comment names the file's sha256. The file has been verified when this
// is asked, so it parses.
func commentHasSHA256(minisig []byte) bool {
	s, err := scheme.ParseMinisignSignature(minisig)
	if err != nil {
		return false
	}
	tc, err := format.ParseTrustedComment(s.TrustedComment)
	if err != nil {
		return false
	}
	_, ok := tc.Get("sha256")
	return ok
}

// documentError wraps an error of log/claim/format or scheme so that the
// log's one error mapping sees what kind of failure it is.
func documentError(kind format.Kind, v scheme.Verifier, err error) error {
	if errors.Is(err, scheme.ErrVerify) {
		return fmt.Errorf("%w: %s document, %s key %s: %w", claim.ErrBadSignature, kind, v.Scheme(), v.KeyID(), err)
	}
	return fmt.Errorf("%w: %s document, %s key %s: %w", claim.ErrMalformedEntry, kind, v.Scheme(), v.KeyID(), err)
}

// Decode parses a claim entry of either version, verifies every signature
// and maps the claim. A v1 entry (attestlog.dev/claim/v1) goes through
// log/claim (ParseEntry, Verify, ParseStatement); a v2 entry's key is
// parsed, its document verified and mapped by log/claim/format. Errors
// name what failed and wrap [claim.ErrMalformedEntry],
// [claim.ErrEntryTooLarge], [claim.ErrBadSignature] (also
// [scheme.ErrVerify] for v2), [claim.ErrBadKey] or [claim.ErrInvalidClaim].
// The record does not alias entry.
func Decode(entry []byte) (*Record, error) {
	switch {
	case bytes.HasPrefix(entry, []byte(claim.EntryVersion+"\n")):
		return decodeV1(entry)
	case bytes.HasPrefix(entry, []byte(EntryVersion+"\n")):
		return decodeV2(entry)
	}
	first, _, _ := bytes.Cut(entry, []byte("\n"))
	return nil, fmt.Errorf("%w: first line %q is neither %s nor %s", claim.ErrMalformedEntry, truncate(string(first)), claim.EntryVersion, EntryVersion)
}

func decodeV1(entry []byte) (*Record, error) {
	e, err := claim.ParseEntry(entry)
	if err != nil {
		return nil, err
	}
	if _, err := e.Verify(); err != nil {
		return nil, err
	}
	c, err := claim.ParseStatement(e.Payload)
	if err != nil {
		return nil, err
	}
	return FromV1(e, c), nil
}

// FromV1 returns the record of a v1 entry e whose statement is c, which
// the caller has parsed and verified (the log's AddClaim does so from a
// DSSE envelope). [Decode] of e.Marshal() returns an equal record.
func FromV1(e *claim.Entry, c *claim.Claim) *Record {
	r := &Record{
		Version: 1, Kind: KindV1,
		Source: c.Source, SourceRef: c.SourceRef, Commit: c.Commit, Recipe: c.Recipe, BuilderID: c.BuilderID,
		V1: e, Statement: c,
	}
	for _, s := range e.Signatures {
		// A vkey is "<name>+<hash>+<key>"; its key ID is the vkey without the key.
		id := s.VKey
		if i := strings.LastIndex(id, "+"); i >= 0 {
			id = id[:i]
		}
		r.Signers = append(r.Signers, Signer{Scheme: scheme.Note, KeyID: id, Key: string(scheme.Note) + " " + s.VKey})
	}
	for _, s := range c.Subjects {
		r.Subjects = append(r.Subjects, Subject{Name: s.Name, SHA256: s.SHA256, Platform: c.Platform})
	}
	return r
}

func decodeV2(entry []byte) (*Record, error) {
	e, err := parseV2(entry)
	if err != nil {
		return nil, err
	}
	v, err := parseKey(e.key)
	if err != nil {
		return nil, fmt.Errorf("%w: v2: key: %w", claim.ErrMalformedEntry, err)
	}
	if err := checkKey(v); err != nil {
		return nil, err
	}
	c, err := openV2(e, v)
	if err != nil {
		return nil, documentError(e.kind, v, err)
	}
	if c.Supplied != e.supplied {
		return nil, malformed("annotations are not in normalised form (want source %q, commit %q, recipe %q)", c.Supplied.Source, c.Supplied.Commit, c.Supplied.Recipe)
	}
	r := &Record{
		Version: 2, Kind: string(e.kind),
		Signers: []Signer{{Scheme: v.Scheme(), KeyID: v.KeyID(), Key: scheme.Format(v)}},
		Source:  c.Source, Commit: c.Commit, SourceDigest: c.SourceDigest, Recipe: c.Recipe,
		Subjects: c.Subjects, Supplied: c.Supplied,
		FileSignatureUnchecked: e.fileSHA256 != "",
		v2:                     e, vf: v,
	}
	return r, nil
}

// openV2 verifies and maps the document of a parsed v2 entry with its key,
// checking the rules of the package doc on which header lines each kind
// takes.
func openV2(e *entryV2, v scheme.Verifier) (*format.Claim, error) {
	d := format.Document{Kind: e.kind, Signed: e.body, Signature: e.sig, Supplied: e.supplied}
	switch e.kind {
	case format.Minisign:
		if e.sig != nil {
			return nil, errors.New("a minisign entry holds the signature file as its document, and no sig line")
		}
		d.Signed, d.Signature = nil, e.body
		if e.fileSHA256 != "" {
			return openMinisignComment(v, e)
		}
	default:
		if e.fileSHA256 != "" {
			return nil, errors.New("a file-sha256 line is for minisign entries only")
		}
		if e.sig != nil {
			sig, err := canonicalSignature(v, e.sig)
			if err != nil {
				return nil, err
			}
			if !bytes.Equal(sig, e.sig) {
				return nil, errors.New("the sig line does not hold the signature in canonical form (an OpenPGP signature as one binary packet)")
			}
		}
	}
	return format.Open(v, d)
}

// openMinisignComment verifies the global signature of a minisign entry
// whose trusted comment does not name the sha256, and maps it with the
// digest of the file-sha256 line.
func openMinisignComment(v scheme.Verifier, e *entryV2) (*format.Claim, error) {
	k, ok := v.(*scheme.MinisignKey)
	if !ok {
		return nil, fmt.Errorf("minisign signature: key is %s, not minisign", v.Scheme())
	}
	if commentHasSHA256(e.body) {
		return nil, errors.New("the trusted comment names the sha256, so the entry takes no file-sha256 line")
	}
	tc, err := k.OpenComment(e.body)
	if err != nil {
		return nil, fmt.Errorf("minisign: %w", err)
	}
	c, err := format.MapMinisign(tc, e.fileSHA256)
	if err != nil {
		return nil, err
	}
	c.Scheme, c.KeyID = v.Scheme(), v.KeyID()
	if err := c.Supply(e.supplied); err != nil {
		return nil, err
	}
	return c, nil
}
