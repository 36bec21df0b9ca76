package tiles

import (
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"

	"golang.org/x/mod/sumdb/tlog"
)

// ErrMalformedCheckpoint is wrapped by every error that [ParseCheckpoint] returns.
var ErrMalformedCheckpoint = errors.New("tiles: malformed checkpoint")

// A Checkpoint is the body of a c2sp.org/tlog-checkpoint note.
type Checkpoint struct {
	Origin     string    // unique identifier of the log, by convention its scheme-less URL prefix
	Size       int64     // number of entries in the tree
	Hash       tlog.Hash // RFC 6962 root hash of the tree
	Extensions []string  // optional extension lines, without their newlines
}

// Format returns the checkpoint body:
//
//	<origin>
//	<tree size, decimal>
//	<root hash, standard base64>
//	[extension lines]
//
// each line ending in a newline.
func (c Checkpoint) Format() []byte {
	var b strings.Builder
	b.WriteString(c.Origin)
	b.WriteByte('\n')
	b.WriteString(strconv.FormatInt(c.Size, 10))
	b.WriteByte('\n')
	b.WriteString(base64.StdEncoding.EncodeToString(c.Hash[:]))
	b.WriteByte('\n')
	for _, e := range c.Extensions {
		b.WriteString(e)
		b.WriteByte('\n')
	}
	return []byte(b.String())
}

// ParseCheckpoint parses the body of a c2sp.org/tlog-checkpoint note, as
// described at [Checkpoint.Format]. It accepts exactly one spelling: a
// non-empty origin, a size with no sign or leading zeros, a canonical base64
// 32-byte hash, non-empty extension lines, every line ending in "\n", valid
// UTF-8 and no control characters. It does not verify signatures; pass
// the note's text after [golang.org/x/mod/sumdb/note.Open] succeeded.
// Errors wrap [ErrMalformedCheckpoint].
func ParseCheckpoint(text []byte) (Checkpoint, error) {
	bad := func(format string, args ...any) (Checkpoint, error) {
		return Checkpoint{}, fmt.Errorf("%w: "+format, append([]any{ErrMalformedCheckpoint}, args...)...)
	}
	s := string(text)
	if !utf8.ValidString(s) {
		return bad("not valid UTF-8")
	}
	if !strings.HasSuffix(s, "\n") {
		return bad("does not end with a newline")
	}
	lines := strings.Split(s[:len(s)-1], "\n")
	if len(lines) < 3 {
		return bad("has %d lines, want at least 3", len(lines))
	}
	for i, l := range lines {
		if l == "" {
			return bad("line %d is empty", i+1)
		}
		if strings.IndexFunc(l, isControl) >= 0 {
			return bad("line %d has a control character", i+1)
		}
	}
	size, ok := parseDecimal(lines[1], 1<<63-1)
	if !ok {
		return bad("tree size %q is not a decimal without leading zeros", lines[1])
	}
	h, err := base64.StdEncoding.DecodeString(lines[2])
	if err != nil || len(h) != tlog.HashSize || base64.StdEncoding.EncodeToString(h) != lines[2] {
		return bad("root hash %q is not a canonical base64 SHA-256 hash", lines[2])
	}
	c := Checkpoint{Origin: lines[0], Size: size, Hash: tlog.Hash(h)}
	if len(lines) > 3 {
		c.Extensions = lines[3:]
	}
	return c, nil
}

func isControl(r rune) bool { return r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0) }
