// Package textsafe says which characters of outside text must never reach
// a reader as they are: the one definition that the claim parser (which
// refuses them), the terminal output (which escapes them) and the web pages
// (which show them by code point) share.
//
// The package is pure and safe for concurrent use.
package textsafe

// Hidden reports whether r could control a terminal or mislead a reader
// about what text says: a C0 control, DEL, a C1 control, a Unicode line or
// paragraph separator, or a bidi formatting character ([IsBidi]).
func Hidden(r rune) bool {
	return r < 0x20 || (r >= 0x7f && r < 0xa0) || r == '\u2028' || r == '\u2029' || IsBidi(r)
}

// IsBidi reports whether r is one of Unicode's bidirectional formatting
// characters: the marks and the embedding, override and isolate controls.
func IsBidi(r rune) bool {
	switch {
	case r == '\u061c', r == '\u200e', r == '\u200f':
		return true
	case r >= '\u202a' && r <= '\u202e':
		return true
	case r >= '\u2066' && r <= '\u2069':
		return true
	}
	return false
}
