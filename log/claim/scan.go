package claim

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"unicode/utf8"
)

// The log verifies every claim it is sent, and parsing a claim's envelope
// and statement with encoding/json (a validity pass, a duplicate-key pass,
// a reflective decode, and for the statement a second decode of the
// predicate) cost as much CPU as the Ed25519 check (BENCHMARKS.md, issue
// 14). So ParseEnvelope and ParseStatement first try a decoder written for
// the exact shapes they accept, which reads the JSON once into the same Go
// values encoding/json would produce. It only ever answers "here are the
// values" or "not mine": anything it does not take on (an escaped or
// non-ASCII key, a null, a wrong type, a key that encoding/json would match
// case-insensitively, invalid JSON, any error at all) goes to the
// encoding/json path, which decides and words the error exactly as before.
// FuzzDecodeEnvelopeAgainstJSON and FuzzDecodeStatementAgainstJSON hold the
// two paths to the same answer.

// maxScanKeys bounds the keys of one object the scanner checks for
// duplicates (quadratically); larger objects go to the encoding/json path.
const maxScanKeys = 64

// A jsonScanner reads one JSON text from b, checking as it goes what
// checkJSON checks: the grammar, the nesting depth and duplicate keys.
type jsonScanner struct {
	b     []byte
	i     int
	depth int // containers open at i
}

func (s *jsonScanner) ws() {
	for s.i < len(s.b) {
		switch s.b[s.i] {
		case ' ', '\t', '\n', '\r':
			s.i++
		default:
			return
		}
	}
}

// peek returns the next byte after white space, or 0 at the end.
func (s *jsonScanner) peek() byte {
	s.ws()
	if s.i < len(s.b) {
		return s.b[s.i]
	}
	return 0
}

// consume skips white space and c, reporting whether c was there.
func (s *jsonScanner) consume(c byte) bool {
	if s.peek() == c {
		s.i++
		return true
	}
	return false
}

// end reports whether only white space is left.
func (s *jsonScanner) end() bool {
	s.ws()
	return s.i == len(s.b)
}

// str reads a string and returns what lies between its quotes; plain means
// it has no escape and only ASCII, so that it is its own decoded value.
func (s *jsonScanner) str() (raw []byte, plain, ok bool) {
	if s.peek() != '"' {
		return nil, false, false
	}
	start := s.i + 1
	plain = true
	for j := start; j < len(s.b); j++ {
		// Most bytes are printable ASCII (base64, hex, URIs): skip them in
		// a tight loop.
		for j < len(s.b) && s.b[j] >= 0x20 && s.b[j] < 0x80 && s.b[j] != '"' && s.b[j] != '\\' {
			j++
		}
		if j == len(s.b) {
			break
		}
		switch c := s.b[j]; {
		case c == '"':
			s.i = j + 1
			return s.b[start:j], plain, true
		case c < 0x20:
			return nil, false, false
		case c >= 0x80:
			plain = false
		case c == '\\':
			plain = false
			if j++; j >= len(s.b) {
				return nil, false, false
			}
			switch s.b[j] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
			case 'u':
				if j+4 >= len(s.b) {
					return nil, false, false
				}
				for _, h := range s.b[j+1 : j+5] {
					if !isHex(h) {
						return nil, false, false
					}
				}
				j += 4
			default:
				return nil, false, false
			}
		}
	}
	return nil, false, false
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

func isDigit(c byte) bool { return '0' <= c && c <= '9' }

// stringValue reads a string and decodes it as encoding/json does (an
// escape or invalid UTF-8 is left to encoding/json itself).
func (s *jsonScanner) stringValue() (string, bool) {
	raw, plain, ok := s.str()
	switch {
	case !ok:
		return "", false
	case plain || bytes.IndexByte(raw, '\\') < 0 && utf8.Valid(raw):
		return string(raw), true
	}
	var v string
	if err := json.Unmarshal(s.b[s.i-len(raw)-2:s.i], &v); err != nil {
		return "", false
	}
	return v, true
}

// bytesValue reads a string holding standard base64 and decodes it as
// encoding/json decodes a []byte field.
func (s *jsonScanner) bytesValue() ([]byte, bool) {
	raw, plain, ok := s.str()
	if !ok || !plain {
		return nil, false
	}
	b := make([]byte, base64.StdEncoding.DecodedLen(len(raw)))
	n, err := base64.StdEncoding.Decode(b, raw)
	if err != nil {
		return nil, false
	}
	return b[:n], true
}

// stringMap reads an object of strings into a map, as encoding/json
// decodes a map[string]string.
func (s *jsonScanner) stringMap() (map[string]string, bool) {
	m := make(map[string]string, 1)
	ok := s.object(func(key []byte) bool {
		v, ok := s.stringValue()
		m[string(key)] = v
		return ok
	})
	return m, ok
}

// number reads a number in JSON's grammar.
func (s *jsonScanner) number() bool {
	b, j := s.b, s.i
	if j < len(b) && b[j] == '-' {
		j++
	}
	switch {
	case j < len(b) && b[j] == '0':
		j++
	case j < len(b) && '1' <= b[j] && b[j] <= '9':
		for j++; j < len(b) && isDigit(b[j]); j++ {
		}
	default:
		return false
	}
	if j < len(b) && b[j] == '.' {
		if j++; j >= len(b) || !isDigit(b[j]) {
			return false
		}
		for ; j < len(b) && isDigit(b[j]); j++ {
		}
	}
	if j < len(b) && (b[j] == 'e' || b[j] == 'E') {
		if j++; j < len(b) && (b[j] == '+' || b[j] == '-') {
			j++
		}
		if j >= len(b) || !isDigit(b[j]) {
			return false
		}
		for ; j < len(b) && isDigit(b[j]); j++ {
		}
	}
	s.i = j
	return true
}

func (s *jsonScanner) literal(lit string) bool {
	if !bytes.HasPrefix(s.b[s.i:], []byte(lit)) {
		return false
	}
	s.i += len(lit)
	return true
}

// skip reads any value, checked as checkJSON checks it.
func (s *jsonScanner) skip() bool {
	switch s.peek() {
	case '"':
		_, _, ok := s.str()
		return ok
	case '{':
		return s.object(func([]byte) bool { return s.skip() })
	case '[':
		return s.array(s.skip)
	case 't':
		return s.literal("true")
	case 'f':
		return s.literal("false")
	case 'n':
		return s.literal("null")
	}
	return s.number()
}

// open enters a container, within checkJSON's depth.
func (s *jsonScanner) open(c byte) bool {
	if !s.consume(c) {
		return false
	}
	s.depth++
	return s.depth <= maxJSONDepth
}

// object reads an object whose keys are plain, none twice, calling field
// for each key with the scanner at its value; field must read the value.
func (s *jsonScanner) object(field func(key []byte) bool) bool {
	if !s.open('{') {
		return false
	}
	if s.consume('}') {
		s.depth--
		return true
	}
	var buf [8][]byte
	keys := buf[:0]
	for {
		k, plain, ok := s.str()
		if !ok || !plain || !s.consume(':') || len(keys) == maxScanKeys {
			return false
		}
		for _, prev := range keys {
			if bytes.Equal(prev, k) {
				return false
			}
		}
		keys = append(keys, k)
		if !field(k) {
			return false
		}
		if s.consume(',') {
			continue
		}
		if s.consume('}') {
			s.depth--
			return true
		}
		return false
	}
}

// array reads an array, calling elem with the scanner at each element;
// elem must read it.
func (s *jsonScanner) array(elem func() bool) bool {
	if !s.open('[') {
		return false
	}
	if s.consume(']') {
		s.depth--
		return true
	}
	for {
		if !elem() {
			return false
		}
		if s.consume(',') {
			continue
		}
		if s.consume(']') {
			s.depth--
			return true
		}
		return false
	}
}

// otherField skips the value of a key that is none of a struct's fields,
// unless encoding/json would match it to one of them, ignoring case.
func (s *jsonScanner) otherField(key []byte, fields ...string) bool {
	for _, f := range fields {
		if bytes.EqualFold(key, []byte(f)) {
			return false
		}
	}
	return s.skip()
}
