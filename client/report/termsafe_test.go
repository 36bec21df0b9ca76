package report

import (
	"fmt"
	"strings"
	"testing"
	"unicode/utf8"
)

// rawControl returns the first character of out that a terminal could obey
// or be misled by (the test's own list: C0 but newline, DEL, C1, line
// separators, bidi controls), or a byte that is not UTF-8, and whether there
// is one.
func rawControl(out string) (string, bool) {
	for i, r := range out {
		switch {
		case r == utf8.RuneError && !strings.HasPrefix(out[i:], "\uFFFD"),
			r < 0x20 && r != '\n', r >= 0x7f && r <= 0x9f, r == 0x2028, r == 0x2029,
			r == 0x061c, r == 0x200e, r == 0x200f, r >= 0x202a && r <= 0x202e, r >= 0x2066 && r <= 0x2069:
			return fmt.Sprintf("%U at byte %d", r, i), true
		}
	}
	return "", false
}

func TestTermSafe(t *testing.T) {
	for in, want := range map[string]string{
		"":                                "",
		"ci.example.org/release":          "ci.example.org/release",
		"bäcker 例え \uFFFD C:\\x1b":        "bäcker 例え \uFFFD C:\\x1b", // printable text and backslashes stay
		"a\x1b[2Jb":                       `a\x1b[2Jb`,
		"line\r\nTRUSTED: x\tz":           `line\x0d\x0aTRUSTED: x\x09z`,
		"del\x7f nul\x00":                 `del\x7f nul\x00`,
		"csi\u009b2J nel\u0085":           `csi\u009b2J nel\u0085`,
		"evil\u202eexe.sh":                `evil\u202eexe.sh`,
		"\u061c\u200e\u200f\u202a\u2069x": `\u061c\u200e\u200f\u202a\u2069x`,
		"ls\u2028ps\u2029":                `ls\u2028ps\u2029`,
		"bad\xff\xc3utf8":                 `bad\xff\xc3utf8`,
		"\xe2\x80\xae":                    `\u202e`,
	} {
		if got := TermSafe(in); got != want {
			t.Errorf("TermSafe(%q) = %q, want %q", in, got, want)
		}
	}
	if got := TermSafeText("one\n\ttwo\x1b[2J\r"); got != "one\n\ttwo\\x1b[2J\\x0d" {
		t.Errorf("termSafeText kept or escaped the wrong characters: %q", got)
	}
}

func FuzzTermSafe(f *testing.F) {
	for _, s := range []string{"", "plain", "a\x1b[2Jb\u009b\u202e\xff", "\r\n\t", "\\x1b"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got := TermSafe(s)
		if c, ok := rawControl(got); ok || strings.Contains(got, "\n") {
			t.Fatalf("TermSafe(%q) = %q holds a raw %s", s, got, c)
		}
		if _, ok := rawControl(s); !ok && !strings.Contains(s, "\n") && got != s {
			t.Fatalf("TermSafe(%q) = %q changed safe text", s, got)
		}
		if text := TermSafeText(s); strings.Count(text, "\n") != strings.Count(s, "\n") {
			t.Fatalf("TermSafeText(%q) = %q changed the lines", s, text)
		}
	})
}
