package format

import (
	"bytes"
	"fmt"
	"strings"
)

// maxSumsLines bounds the lines of a SHA256SUMS file.
const maxSumsLines = 4096

// A SumsLine is one line of a SHA256SUMS file.
type SumsLine struct {
	SHA256 string // 64 lowercase hex digits
	Binary bool   // the line was written in binary mode: "<hex> *<name>"
	Name   string
}

// ParseSHA256Sums parses the output of coreutils sha256sum, as guix.sigs
// publishes it: one line per file,
//
//	<64 lowercase hex>  <name>     (text mode: two spaces)
//	<64 lowercase hex> *<name>     (binary mode: space, asterisk)
//
// each ending in "\n". It refuses everything else: uppercase hex, the
// escaped form sha256sum writes for names holding a backslash or newline
// (a line starting with "\"), "--tag" (BSD) lines, blank lines, a missing
// final newline, a name twice, names with control, line separator or bidi
// characters or with a "/" (a subject is a file basename). FormatSHA256Sums
// of the result returns b.
func ParseSHA256Sums(b []byte) ([]SumsLine, error) {
	if len(b) == 0 {
		return nil, malformed("SHA256SUMS", "empty")
	}
	if b[len(b)-1] != '\n' {
		return nil, malformed("SHA256SUMS", "does not end with a newline")
	}
	lines := strings.Split(string(b[:len(b)-1]), "\n")
	if len(lines) > maxSumsLines {
		return nil, malformed("SHA256SUMS", "%d lines, at most %d", len(lines), maxSumsLines)
	}
	out := make([]SumsLine, 0, len(lines))
	seen := make(map[string]bool, len(lines))
	for i, l := range lines {
		what := fmt.Sprintf("SHA256SUMS line %d", i+1)
		if len(l) < 67 || !isLowerHex(l[:64]) || l[64] != ' ' || (l[65] != ' ' && l[65] != '*') {
			return nil, malformed(what, "%q is not \"<64 lowercase hex digits>  <name>\" or \"<hex> *<name>\"", truncate(l))
		}
		s := SumsLine{SHA256: l[:64], Binary: l[65] == '*', Name: l[66:]}
		if err := checkName(s.Name); err != nil {
			return nil, malformed(what, "%v", err)
		}
		if seen[s.Name] {
			return nil, malformed(what, "file %q is listed twice", s.Name)
		}
		seen[s.Name] = true
		out = append(out, s)
	}
	return out, nil
}

// FormatSHA256Sums returns the SHA256SUMS text of lines.
func FormatSHA256Sums(lines []SumsLine) []byte {
	var b bytes.Buffer
	for _, l := range lines {
		b.WriteString(l.SHA256)
		if l.Binary {
			b.WriteString(" *")
		} else {
			b.WriteString("  ")
		}
		b.WriteString(l.Name + "\n")
	}
	return b.Bytes()
}

func isLowerHex(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}

// MapSHA256Sums maps a SHA256SUMS file to a claim: one subject per line,
// with the platform of its file name ([ReleasePlatform]). A SHA256SUMS file
// signs no source, commit or recipe, so the claim is digest-only; the
// caller sets Scheme and KeyID.
func MapSHA256Sums(b []byte) (*Claim, error) {
	lines, err := ParseSHA256Sums(b)
	if err != nil {
		return nil, err
	}
	c := &Claim{Kind: SHA256Sums, Subjects: make([]Subject, len(lines))}
	for i, l := range lines {
		c.Subjects[i] = Subject{Name: l.Name, SHA256: l.SHA256, Platform: ReleasePlatform(l.Name)}
	}
	return c, nil
}
