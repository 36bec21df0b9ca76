package witness

import (
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"

	"github.com/attestlog/attestlog/tiles"
	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"
)

// MaxRequestSize is the largest add-checkpoint request body, in bytes, that
// the witness accepts: room for 63 proof lines and a checkpoint with many
// signatures.
const MaxRequestSize = 16 << 10

// MaxProofLines is the most consistency proof lines an add-checkpoint
// request may have (c2sp.org/tlog-witness).
const MaxProofLines = 63

// errMalformedRequest is wrapped by every error parseRequest returns.
var errMalformedRequest = errors.New("malformed add-checkpoint request")

// A request is an add-checkpoint request body:
//
//	old <size, decimal, no leading zeros>
//	<consistency proof hash, standard base64>   0 to 63 lines
//	<empty line>
//	<signed checkpoint note>
//
// each line ending in "\n".
type request struct {
	old        int64
	proof      []tlog.Hash
	note       []byte           // the signed checkpoint note, verbatim
	text       string           // its text, the checkpoint body
	checkpoint tiles.Checkpoint // its body, parsed
}

// format returns the request body.
func (r request) format() []byte {
	b := fmt.Appendf(nil, "old %d\n", r.old)
	for _, h := range r.proof {
		b = base64.StdEncoding.AppendEncode(b, h[:])
		b = append(b, '\n')
	}
	b = append(b, '\n')
	return append(b, r.note...)
}

// parseRequest parses an add-checkpoint request body strictly: it accepts
// exactly the bytes [request.format] writes, a well-formed signed note and a
// checkpoint body that tiles.ParseCheckpoint accepts. It verifies no
// signature. Errors wrap errMalformedRequest.
func parseRequest(body []byte) (request, error) {
	bad := func(format string, args ...any) (request, error) {
		return request{}, fmt.Errorf("%w: "+format, append([]any{errMalformedRequest}, args...)...)
	}
	if len(body) > MaxRequestSize {
		return bad("body larger than %d bytes", MaxRequestSize)
	}
	line, rest, ok := bytes.Cut(body, []byte("\n"))
	if !ok {
		return bad("no old size line")
	}
	sizeText, ok := bytes.CutPrefix(line, []byte("old "))
	if !ok {
		return bad("first line %q is not \"old <size>\"", line)
	}
	var r request
	r.old, ok = parseSize(string(sizeText))
	if !ok {
		return bad("old size %q is not a decimal without leading zeros", sizeText)
	}
	for {
		line, rest, ok = bytes.Cut(rest, []byte("\n"))
		if !ok {
			return bad("no empty line after the consistency proof")
		}
		if len(line) == 0 {
			break
		}
		if len(r.proof) == MaxProofLines {
			return bad("more than %d consistency proof lines", MaxProofLines)
		}
		h, err := base64.StdEncoding.DecodeString(string(line))
		if err != nil || len(h) != tlog.HashSize || base64.StdEncoding.EncodeToString(h) != string(line) {
			return bad("consistency proof line %d is not a canonical base64 SHA-256 hash", len(r.proof)+1)
		}
		r.proof = append(r.proof, tlog.Hash(h))
	}
	// Opening with no known keys checks the note's syntax: a well-formed note
	// fails only because none of its signatures is verified.
	_, err := note.Open(rest, note.VerifierList())
	var unverified *note.UnverifiedNoteError
	if !errors.As(err, &unverified) {
		return bad("checkpoint is not a signed note")
	}
	r.note, r.text = rest, unverified.Note.Text
	if r.checkpoint, err = tiles.ParseCheckpoint([]byte(unverified.Note.Text)); err != nil {
		return bad("%v", err)
	}
	return r, nil
}

// parseSize parses a tree size: a decimal int64 with no sign and no leading zeros.
func parseSize(s string) (int64, bool) {
	n, err := strconv.ParseInt(s, 10, 64)
	return n, err == nil && n >= 0 && strconv.FormatInt(n, 10) == s
}
