package textsafe

import "testing"

func TestHidden(t *testing.T) {
	for _, r := range []rune{0, '\t', '\n', '\r', 0x1b, 0x7f, 0x80, 0x9b, 0x9f, '\u2028', '\u2029', '\u061c', '\u200e', '\u200f', '\u202a', '\u202e', '\u2066', '\u2069'} {
		if !Hidden(r) {
			t.Errorf("Hidden(%U) = false", r)
		}
	}
	for _, r := range []rune{' ', 'a', '~', 0xa0, 'é', '\u200b', '\u2027', '\u202f', '\u2065', '\u206a', '+', '<'} {
		if Hidden(r) {
			t.Errorf("Hidden(%U) = true", r)
		}
	}
}
