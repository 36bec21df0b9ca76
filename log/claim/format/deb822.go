package format

import (
	"bytes"
	"fmt"
	"strings"
	"unicode/utf8"
)

// Limits of the deb822 reader, far above real .buildinfo files (a large
// one has ~2,000 lines) and below what would let a document exhaust memory.
const (
	maxDeb822Size   = 4 << 20
	maxDeb822Fields = 1024
)

// A Paragraph is one deb822 paragraph: its fields in document order.
type Paragraph []Deb822Field

// A Deb822Field is one field of a paragraph. Value is the text after
// "Name: " on the field's first line; Lines are its continuation lines,
// each without its leading space.
type Deb822Field struct {
	Name  string
	Value string
	Lines []string
}

// Get returns the field named name (compared case-insensitively, as deb822
// field names are) and whether there is one.
func (p Paragraph) Get(name string) (Deb822Field, bool) {
	for _, f := range p {
		if strings.EqualFold(f.Name, name) {
			return f, true
		}
	}
	return Deb822Field{}, false
}

// ParseDeb822 parses deb822 text (Debian Policy 5.1) in the one spelling
// dpkg writes:
//
//	Name: value
//	Name:
//	 continuation line
//	<empty line between paragraphs>
//
// Every line ends in "\n". A field is "Name:" followed by nothing or by one
// space and a value; a continuation line starts with one space. Field names
// are printable ASCII without ':' or space, not starting with '#' or '-',
// and appear once per paragraph (case-insensitively). It refuses comments,
// tabs, a line of only spaces, trailing spaces, carriage returns and other
// control characters, invalid UTF-8, blank lines other than one between
// paragraphs, and empty documents. FormatDeb822 of the result returns b.
// Text from [scheme.ParseClearsigned] lacks the file's final "\n" when the
// signer was gpg --clearsign (Debian's buildd signing keeps it): add it.
func ParseDeb822(b []byte) ([]Paragraph, error) {
	switch {
	case len(b) == 0:
		return nil, malformed("deb822", "empty")
	case len(b) > maxDeb822Size:
		return nil, malformed("deb822", "%d bytes, at most %d", len(b), maxDeb822Size)
	case b[len(b)-1] != '\n':
		return nil, malformed("deb822", "does not end with a newline")
	case !utf8.Valid(b):
		return nil, malformed("deb822", "not valid UTF-8")
	}
	var (
		paras  []Paragraph
		cur    Paragraph
		fields int
	)
	lines := strings.Split(string(b[:len(b)-1]), "\n")
	for i, l := range lines {
		what := fmt.Sprintf("deb822 line %d", i+1)
		if j := strings.IndexFunc(l, func(r rune) bool { return r < 0x20 || r == 0x7f }); j >= 0 {
			return nil, malformed(what, "control character %U at byte %d", l[j], j)
		}
		if strings.HasSuffix(l, " ") {
			return nil, malformed(what, "trailing space")
		}
		switch {
		case l == "":
			if len(cur) == 0 {
				return nil, malformed(what, "blank line not between two paragraphs")
			}
			paras, cur = append(paras, cur), nil
		case l[0] == ' ':
			if len(cur) == 0 {
				return nil, malformed(what, "continuation line outside a field")
			}
			f := &cur[len(cur)-1]
			f.Lines = append(f.Lines, l[1:])
		default:
			name, value, ok := strings.Cut(l, ":")
			if !ok || !validFieldName(name) {
				return nil, malformed(what, "%q is not \"Name: value\"", truncate(l))
			}
			if value != "" {
				v, ok := strings.CutPrefix(value, " ")
				if !ok || v == "" || v[0] == ' ' {
					return nil, malformed(what, "field %s: want one space after the colon", name)
				}
				value = v
			}
			if _, dup := cur.Get(name); dup {
				return nil, malformed(what, "field %s appears twice in one paragraph", name)
			}
			if fields++; fields > maxDeb822Fields {
				return nil, malformed(what, "more than %d fields", maxDeb822Fields)
			}
			cur = append(cur, Deb822Field{Name: name, Value: value})
		}
	}
	if len(cur) == 0 {
		return nil, malformed("deb822", "blank line at the end")
	}
	return append(paras, cur), nil
}

func validFieldName(n string) bool {
	if n == "" || n[0] == '#' || n[0] == '-' {
		return false
	}
	for i := 0; i < len(n); i++ {
		if n[i] <= ' ' || n[i] > '~' || n[i] == ':' {
			return false
		}
	}
	return true
}

// FormatDeb822 returns the deb822 text of paragraphs.
func FormatDeb822(paras []Paragraph) []byte {
	var b bytes.Buffer
	for i, p := range paras {
		if i > 0 {
			b.WriteByte('\n')
		}
		for _, f := range p {
			b.WriteString(f.Name + ":")
			if f.Value != "" {
				b.WriteString(" " + f.Value)
			}
			b.WriteByte('\n')
			for _, l := range f.Lines {
				b.WriteString(" " + l + "\n")
			}
		}
	}
	return b.Bytes()
}
