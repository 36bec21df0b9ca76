package record

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"strings"

	"github.com/attestlog/attestlog/log/claim"
	"github.com/attestlog/attestlog/log/claim/format"
)

// EntryVersion is the first line of every v2 claim entry.
const EntryVersion = "attestlog.dev/claim/v2"

// clearsignBegin starts a clearsigned OpenPGP document.
const clearsignBegin = "-----BEGIN PGP SIGNED MESSAGE-----"

// entryV2 is the syntax of a v2 entry, before any key or signature is
// parsed; see the package doc for the bytes.
type entryV2 struct {
	kind       format.Kind
	key        string // "SCHEME KEY", scheme.Format text
	sig        []byte // the detached signature, canonical; nil when the body carries it
	fileSHA256 string // minisign without sha256: in its trusted comment only
	supplied   format.Annotations
	body       []byte // the signed document verbatim
}

// annotation names, in the (sorted) order they are written.
var annotationNames = []string{"commit", "recipe", "source"}

func (a *entryV2) annotation(name string) *string {
	switch name {
	case "commit":
		return &a.supplied.Commit
	case "recipe":
		return &a.supplied.Recipe
	case "source":
		return &a.supplied.Source
	}
	return nil
}

// marshal returns the canonical encoding of e.
func (e *entryV2) marshal() []byte {
	var b bytes.Buffer
	b.WriteString(EntryVersion + "\n")
	b.WriteString("format " + string(e.kind) + "\n")
	b.WriteString("key " + e.key + "\n")
	if e.sig != nil {
		b.WriteString("sig " + base64.StdEncoding.EncodeToString(e.sig) + "\n")
	}
	if e.fileSHA256 != "" {
		b.WriteString("file-sha256 " + e.fileSHA256 + "\n")
	}
	for _, name := range annotationNames {
		if v := *e.annotation(name); v != "" {
			b.WriteString("annotation " + name + " " + v + "\n")
		}
	}
	b.WriteString("\n")
	b.Write(e.body)
	return b.Bytes()
}

// parseV2 parses the syntax of a v2 entry, accepting only its canonical
// encoding. It parses no key and verifies nothing. The result does not
// alias b. Errors wrap [claim.ErrMalformedEntry] or [claim.ErrEntryTooLarge].
func parseV2(b []byte) (*entryV2, error) {
	if len(b) > claim.MaxEntrySize {
		return nil, fmt.Errorf("%w: %d bytes", claim.ErrEntryTooLarge, len(b))
	}
	header, body, ok := bytes.Cut(b, []byte("\n\n"))
	if !ok {
		return nil, malformed("no empty line before the signed document")
	}
	lines := strings.Split(string(header), "\n")
	if lines[0] != EntryVersion {
		return nil, malformed("first line %q, want %q", truncate(lines[0]), EntryVersion)
	}
	e := &entryV2{body: bytes.Clone(body)}
	next := func(prefix string) (string, bool) {
		if len(lines) > 1 {
			if v, ok := strings.CutPrefix(lines[1], prefix+" "); ok {
				lines = lines[1:]
				return v, true
			}
		}
		return "", false
	}
	kind, ok := next("format")
	if !ok {
		return nil, malformed("second line is not \"format <kind>\"")
	}
	var err error
	if e.kind, err = format.ParseKind(kind); err != nil {
		return nil, fmt.Errorf("%w: %w", claim.ErrMalformedEntry, err)
	}
	if e.key, ok = next("key"); !ok {
		return nil, malformed("third line is not \"key <scheme> <key>\"")
	}
	if s, ok := next("sig"); ok {
		e.sig, err = base64.StdEncoding.DecodeString(s)
		if err != nil || len(e.sig) == 0 || base64.StdEncoding.EncodeToString(e.sig) != s {
			return nil, malformed("sig line is not canonical standard base64 of a signature")
		}
	}
	if s, ok := next("file-sha256"); ok {
		if d, err := hex.DecodeString(s); err != nil || len(d) != 32 || hex.EncodeToString(d) != s {
			return nil, malformed("file-sha256 %q is not 64 lowercase hex digits", truncate(s))
		}
		e.fileSHA256 = s
	}
	for {
		s, ok := next("annotation")
		if !ok {
			break
		}
		name, value, _ := strings.Cut(s, " ")
		p := e.annotation(name)
		if p == nil || value == "" {
			return nil, malformed("annotation %q: want \"annotation <commit|recipe|source> <value>\"", truncate(s))
		}
		if *p != "" {
			return nil, malformed("annotation %s given twice", name)
		}
		*p = value
	}
	if len(lines) > 1 {
		return nil, malformed("unexpected header line %q", truncate(lines[1]))
	}
	if !bytes.Equal(e.marshal(), b) {
		return nil, malformed("not in canonical form (header lines out of order)")
	}
	return e, nil
}

// malformed returns an error wrapping claim.ErrMalformedEntry.
func malformed(f string, args ...any) error {
	return fmt.Errorf("%w: v2: %s", claim.ErrMalformedEntry, fmt.Sprintf(f, args...))
}

// truncate shortens s for an error message.
func truncate(s string) string {
	const max = 80
	if len(s) <= max {
		return s
	}
	return s[:max] + "..."
}
