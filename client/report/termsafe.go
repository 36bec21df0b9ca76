// Package report formats what attestlog's client commands show people:
// verdicts, monitor reports, tables of claims and mismatches. Every field
// that came from outside (a log, a builder, a witness, an evidence file)
// goes through [TermSafe] on its way to a terminal; the JSON forms are data
// and are not escaped.
//
// It does no I/O beyond writing to the io.Writer it is given, verifies
// nothing (package client does), and its functions are safe for concurrent
// use.
package report

import (
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/attestlog/attestlog/internal/textsafe"
)

// Human-readable output shows text that came from outside: claim fields,
// key and signer names, checkpoint origins, evidence files, witness names,
// answers and errors of a log. Such text may hold bytes that a terminal
// obeys (ESC and CSI sequences that clear the screen, move the cursor or
// retitle the window; CR that overwrites a line) or that reorder what it
// shows (bidi controls), so a hostile log or builder could forge a verdict
// line or pose as a trusted builder. Every such field goes through
// [TermSafe] on its way to a person. JSON output (--json) does not: it is
// data, encoding/json escapes the C0 controls, and it must stay exact.

// TermSafe returns s with every character that could control or mislead a
// terminal replaced by a visible escape: C0 controls (tab, newline and CR
// included: a field's own line breaks could forge lines of output) and DEL
// as \xNN, C1 controls, line separators and bidi controls as \uNNNN, and
// each byte that is not valid UTF-8 as \xNN. Other text, backslashes
// included, is unchanged, so ordinary names print as they are.
func TermSafe(s string) string {
	return escapeTerm(s, "")
}

// TermSafeText is [TermSafe] for multi-line text that the program composed
// itself around outside fields, such as error messages: it keeps newlines
// and tabs, and escapes everything else TermSafe does.
func TermSafeText(s string) string {
	return escapeTerm(s, "\n\t")
}

// TermSafeJoin is TermSafe of each element of xs, joined by sep.
func TermSafeJoin(xs []string, sep string) string {
	out := make([]string, len(xs))
	for i, x := range xs {
		out[i] = TermSafe(x)
	}
	return strings.Join(out, sep)
}

// escapeTerm is TermSafe, keeping the characters in keep as they are.
func escapeTerm(s, keep string) string {
	i := 0
	for i < len(s) {
		r, n := utf8.DecodeRuneInString(s[i:])
		if (r == utf8.RuneError && n == 1) || (textsafe.Hidden(r) && !strings.ContainsRune(keep, r)) {
			break
		}
		i += n
	}
	if i == len(s) {
		return s // the common case: nothing to escape, no allocation
	}
	var b strings.Builder
	b.Grow(len(s) + 8)
	b.WriteString(s[:i])
	for i < len(s) {
		r, n := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && n == 1:
			fmt.Fprintf(&b, `\x%02x`, s[i])
		case textsafe.Hidden(r) && !strings.ContainsRune(keep, r) && r < 0x80:
			fmt.Fprintf(&b, `\x%02x`, r)
		case textsafe.Hidden(r) && !strings.ContainsRune(keep, r):
			fmt.Fprintf(&b, `\u%04x`, r)
		default:
			b.WriteString(s[i : i+n])
		}
		i += n
	}
	return b.String()
}
