// Package submit turns the documents builders already sign (a SHA256SUMS
// file with a detached OpenPGP, SSH or minisign signature, a clearsigned
// Debian .buildinfo, a minisign signature of a release file, an in-toto
// link, a DSSE envelope) into attestlog.dev/claim/v2 log entries, as
// "attestlog submit --format" does. The document is taken as its signer
// made it: nothing is re-signed, and the entry carries the signed bytes,
// the signature and the key (log/claim/record).
//
// [Prepare] reads the files a [Request] names, picks among the keys the
// submitter names the ones that verify the document, and encodes one entry
// per verifying key. A key is named as a policy line names it ([ParseKey]):
// its canonical text, or a file as the signer's tools write it, so that a
// whole keyring (guix.sigs' builder-keys) can be given and the signer found
// in it.
//
// minisign signs the BLAKE2b-512 of a file, not its sha256. When the
// trusted comment carries sha256: the entry stands alone; otherwise the log
// must hold the file in its archive before it accepts the entry, and
// [Entry.NeedsUpload] says so: the caller uploads the file first.
//
// [ReadClaimFiles] and [HashArtifacts] prepare the rest of a submission:
// v1 claim files as "attestlog attest" writes them, and the artifacts to
// upload with the claims.
//
// The package reads files and sends nothing (client/grpcsource sends
// them). Its functions are safe for concurrent use.
package submit

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/attestlog/attestlog/client"
	"github.com/attestlog/attestlog/client/attest"
	"github.com/attestlog/attestlog/log/claim"
	"github.com/attestlog/attestlog/log/claim/format"
	"github.com/attestlog/attestlog/log/claim/record"
	"github.com/attestlog/attestlog/log/claim/scheme"
)

// MaxMinisignFile bounds the file a minisign signature without sha256: in
// its trusted comment is checked over, which is read into memory.
const MaxMinisignFile = 2 << 30

// maxSignature bounds a detached signature file.
const maxSignature = 1 << 20

// A Request names a signed document by its files, as the command line of
// "attestlog submit --format" does. Which files each kind needs:
//
//	kind        Signed                                 Signature                   File
//	sha256sums  SHA256SUMS                             .asc, .sig (OpenPGP, SSH), .minisig  -
//	buildinfo   the .buildinfo, clearsigned or plain   - or a detached signature   -
//	minisign    -                                      the .minisig                the signed file (optional with sha256: in the trusted comment)
//	link        the .link                              -                           -
//	dsse        the envelope, or JSONL of envelopes    -                           -
type Request struct {
	Kind      format.Kind
	Signed    string   // path of the signed document
	Signature string   // path of the detached signature
	File      string   // path of the file a minisign signature is over
	Keys      []string // the signer's keys, each as [ParseKey] reads it
	KeyDir    string   // directory @FILE keys are relative to; "" is the current directory
	Supplied  format.Annotations
}

// An Entry is one claim ready to submit: a v2 log entry and what it claims.
type Entry struct {
	// Document names what the entry was made from, for messages: the
	// signed file or signature, and the line of a JSONL file.
	Document string
	Entry    []byte        // the attestlog.dev/claim/v2 entry the log must log byte for byte
	Claim    *format.Claim // what the entry claims, signer and supplied fields included
	// NeedsUpload is the sha256 of the file the log must hold in its
	// archive before it accepts Entry (a minisign signature whose trusted
	// comment names no sha256:); empty otherwise.
	NeedsUpload string
}

// A document is one signed document, with the name messages give it.
type document struct {
	name string
	doc  format.Document
}

// Prepare reads the files r names, and returns one entry per document and
// key that verifies it. Every key r names must verify at least one
// document, and every document (each line of a JSONL file) must be
// verified by at least one key; errors name the flag (--signed,
// --signature, --artifact, --key) and what to do.
func Prepare(r Request) ([]Entry, error) {
	if len(r.Keys) == 0 {
		return nil, errors.New("--key: no key given: name the signer's key as SCHEME:KEY or SCHEME:@FILE (for example openpgp:@builder-keys.gpg)")
	}
	docs, needs, err := readDocuments(r)
	if err != nil {
		return nil, err
	}
	var out []Entry
	for _, spec := range r.Keys {
		vs, err := ParseKey(spec, r.KeyDir)
		if err != nil {
			return nil, fmt.Errorf("--key: %w", err)
		}
		es, err := encodeAll(spec, vs, docs)
		if err != nil {
			return nil, err
		}
		for i := range es {
			es[i].NeedsUpload = needs
		}
		out = append(out, es...)
	}
	// Every document must be some named key's: a line of a JSONL file
	// that none verifies is not skipped silently.
	for _, d := range docs {
		if !slices.ContainsFunc(out, func(e Entry) bool { return e.Document == d.name }) {
			return nil, fmt.Errorf("%s: no --key verifies it: name its signer's key too", d.name)
		}
	}
	return dedupe(out), nil
}

// encodeAll encodes every document with every key of one --key that
// verifies it. A key that verifies none is an error naming why.
func encodeAll(spec string, vs []scheme.Verifier, docs []document) ([]Entry, error) {
	var (
		out   []Entry
		first error
	)
	for _, d := range docs {
		for _, v := range vs {
			c, err := format.Open(v, d.doc)
			if err != nil && !errors.Is(err, scheme.ErrVerify) {
				// A malformed document or signature, or a supplied
				// field the signature covers: no key would do.
				return nil, fmt.Errorf("%s with --key %s: %w", d.name, truncate(spec), err)
			}
			if err != nil {
				if first == nil {
					first = fmt.Errorf("%s: %w", d.name, err)
				}
				continue
			}
			e, err := record.Encode(v, d.doc)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", d.name, err)
			}
			out = append(out, Entry{Document: d.name, Entry: e, Claim: c})
		}
	}
	if len(out) > 0 {
		return out, nil
	}
	if len(vs) == 1 {
		return nil, fmt.Errorf("--key %s: the key does not verify the document: %w", truncate(spec), first)
	}
	return nil, fmt.Errorf("--key %s: none of its %d keys verifies the document (give the signer's key; the first key says: %w)", truncate(spec), len(vs), first)
}

// dedupe drops entries that are byte for byte one already listed (a key
// named twice).
func dedupe(es []Entry) []Entry {
	var out []Entry
	for _, e := range es {
		dup := false
		for _, o := range out {
			dup = dup || bytes.Equal(o.Entry, e.Entry)
		}
		if !dup {
			out = append(out, e)
		}
	}
	return out
}

// readDocuments reads the documents of r, and the sha256 of the file the
// log must hold first, if any.
func readDocuments(r Request) ([]document, string, error) {
	if _, err := format.ParseKind(string(r.Kind)); err != nil {
		return nil, "", fmt.Errorf("--format: %w", err)
	}
	if r.Kind != format.Minisign && r.File != "" {
		return nil, "", fmt.Errorf("--format %s: the signed file is given with --signed; --artifact only uploads (and is the signed file of a minisign signature)", r.Kind)
	}
	switch r.Kind {
	case format.SHA256Sums:
		if r.Signed == "" || r.Signature == "" {
			return nil, "", errors.New("--format sha256sums needs --signed SHA256SUMS and --signature with its detached signature (.asc, .sig, .minisig)")
		}
		return readDetached(r)
	case format.Buildinfo:
		if r.Signed == "" {
			return nil, "", errors.New("--format buildinfo needs --signed FILE.buildinfo (clearsigned, or plain with --signature)")
		}
		return readDetached(r)
	case format.Minisign:
		return readMinisign(r)
	case format.Link:
		if r.Signed == "" || r.Signature != "" {
			return nil, "", errors.New("--format link needs --signed FILE.link and no --signature: the link carries its signatures")
		}
		b, err := readFile("--signed", r.Signed, claim.MaxEntrySize)
		if err != nil {
			return nil, "", err
		}
		return []document{{r.Signed, format.Document{Kind: format.Link, Signed: b, Supplied: r.Supplied}}}, "", nil
	}
	return readEnvelopes(r)
}

func readDetached(r Request) ([]document, string, error) {
	signed, err := readFile("--signed", r.Signed, claim.MaxEntrySize)
	if err != nil {
		return nil, "", err
	}
	d := format.Document{Kind: r.Kind, Signed: signed, Supplied: r.Supplied}
	name := r.Signed
	if r.Signature != "" {
		if d.Signature, err = readFile("--signature", r.Signature, maxSignature); err != nil {
			return nil, "", err
		}
		name = r.Signed + " (signature " + r.Signature + ")"
	}
	return []document{{name, d}}, "", nil
}

// readMinisign reads a minisign signature and, if given, the file. Without
// sha256: in the trusted comment the file is required, and the log must
// hold it.
func readMinisign(r Request) ([]document, string, error) {
	if r.Signature == "" || r.Signed != "" {
		return nil, "", errors.New("--format minisign needs --signature FILE.minisig and --artifact FILE (the signed file), and no --signed")
	}
	sigFile, err := readFile("--signature", r.Signature, maxSignature)
	if err != nil {
		return nil, "", err
	}
	sig, err := scheme.ParseMinisignSignature(sigFile)
	if err != nil {
		return nil, "", fmt.Errorf("--signature %s: %w", r.Signature, err)
	}
	tc, err := format.ParseTrustedComment(sig.TrustedComment)
	if err != nil {
		return nil, "", fmt.Errorf("--signature %s: %w (see the trusted comment schema in the README's Zig guide)", r.Signature, err)
	}
	d := format.Document{Kind: format.Minisign, Signature: sigFile, Supplied: r.Supplied}
	digest, signed := tc.Get("sha256")
	switch {
	case signed && r.File != "":
		// The entry stands alone; the file is checked against the signed
		// sha256 without reading it into memory.
		got, _, err := client.HashFile(r.File)
		if err != nil {
			return nil, "", fmt.Errorf("--artifact: %w", err)
		}
		if got != digest {
			return nil, "", fmt.Errorf("--artifact %s has sha256 %s, but the trusted comment of %s names sha256 %s: give the file that was signed", r.File, got, r.Signature, digest)
		}
		return []document{{r.Signature, d}}, "", nil
	case signed:
		return []document{{r.Signature, d}}, "", nil
	case r.File == "":
		return nil, "", fmt.Errorf("--signature %s: its trusted comment has no sha256:, so the log needs the signed file: give --artifact FILE", r.Signature)
	}
	if d.File, err = readFile("--artifact", r.File, MaxMinisignFile); err != nil {
		return nil, "", err
	}
	sum := sha256.Sum256(d.File)
	return []document{{r.Signature, d}}, hex.EncodeToString(sum[:]), nil
}

// readEnvelopes reads a DSSE envelope, or a JSONL file of envelopes (OSS
// Rebuild's rebuild.intoto.jsonl), one document per line. A line that is a
// well-formed statement of another buildType (the bundle's
// ArtifactEquivalence attestation) is passed over; a file with no other
// line is an error.
func readEnvelopes(r Request) ([]document, string, error) {
	if r.Signed == "" || r.Signature != "" {
		return nil, "", errors.New("--format dsse needs --signed FILE (a DSSE envelope, or JSONL of envelopes) and no --signature: the envelope carries its signatures")
	}
	b, err := readFile("--signed", r.Signed, 64*claim.MaxEntrySize)
	if err != nil {
		return nil, "", err
	}
	if _, err := format.ParseEnvelope(b); err == nil {
		if len(b) > claim.MaxEntrySize {
			return nil, "", fmt.Errorf("--signed %s: the envelope is %d bytes, more than an entry holds (%d)", r.Signed, len(b), claim.MaxEntrySize)
		}
		return []document{{r.Signed, format.Document{Kind: format.DSSE, Signed: b, Supplied: r.Supplied}}}, "", nil
	}
	var (
		docs     []document
		notBuild error // the first line that is not a rebuild attestation
	)
	n := 0
	for line := range strings.Lines(string(b)) {
		n++
		line = strings.TrimSuffix(line, "\n")
		if strings.TrimSpace(line) == "" {
			continue
		}
		name := fmt.Sprintf("%s line %d", r.Signed, n)
		e, err := format.ParseEnvelope([]byte(line))
		if err != nil {
			return nil, "", fmt.Errorf("--signed %s: %w", name, err)
		}
		// OSS Rebuild's bundle holds an ArtifactEquivalence attestation
		// beside the Rebuild one: it claims no build, so it makes no entry.
		if _, err := format.MapOSSRebuild(e.PayloadType, e.Payload); errors.Is(err, format.ErrNotABuild) {
			if notBuild == nil {
				notBuild = fmt.Errorf("--signed %s: %w", name, err)
			}
			continue
		}
		docs = append(docs, document{name, format.Document{Kind: format.DSSE, Signed: []byte(line), Supplied: r.Supplied}})
	}
	if len(docs) == 0 && notBuild != nil {
		return nil, "", fmt.Errorf("%w: no line of it is a rebuild attestation", notBuild)
	}
	if len(docs) == 0 {
		return nil, "", fmt.Errorf("--signed %s: no DSSE envelope in it", r.Signed)
	}
	return docs, "", nil
}

// ParseAnnotations reads --annotate values, each one or more
// space-separated "source=URI", "commit=HASH" or "recipe=SHA256", into
// supplied fields, normalised as a claim's. Each field may be given once; a
// source may be any form of a git remote that [attest.SourceURI] accepts.
func ParseAnnotations(values []string) (format.Annotations, error) {
	var a format.Annotations
	for _, v := range values {
		for _, kv := range strings.Fields(v) {
			k, val, ok := strings.Cut(kv, "=")
			var f *string
			switch k {
			case "source":
				f = &a.Source
			case "commit":
				f = &a.Commit
			case "recipe":
				f = &a.Recipe
			}
			if !ok || f == nil || val == "" {
				return a, fmt.Errorf("--annotate %q: want source=URI, commit=HASH or recipe=SHA256", truncate(kv))
			}
			if *f != "" {
				return a, fmt.Errorf("--annotate: %s given twice", k)
			}
			var err error
			if *f, err = normaliseAnnotation(k, val); err != nil {
				return a, fmt.Errorf("--annotate %s: %w", k, err)
			}
		}
	}
	return a, nil
}

// normaliseAnnotation checks and normalises the value of a supplied field.
func normaliseAnnotation(field, v string) (string, error) {
	switch field {
	case "commit":
		return claim.NormaliseCommit(v)
	case "recipe":
		return claim.NormaliseDigest(v)
	}
	// The forms a git remote takes, as attest and lookup accept them.
	uri, err := attest.SourceURI(v)
	if err != nil {
		return "", err
	}
	src, ref, err := claim.NormaliseSource(uri)
	if err != nil {
		return "", err
	}
	if ref != "" {
		return "", fmt.Errorf("%q: give the source without an @ref", truncate(v))
	}
	return src, nil
}
