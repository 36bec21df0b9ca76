package claim

import (
	"errors"
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/attestlog/attestlog/internal/textsafe"
)

// Names that people read (key names, artifact names, source URIs, builder
// IDs) end up on terminals and in reports. A control character there can
// move the cursor, clear the screen or retitle the window, and a bidi
// control can make one name display as another, so such names are refused
// where they enter: in claims and builder keys.

// checkText returns an error naming the first character of s that is a C0
// or C1 control, DEL, a Unicode line or paragraph separator or a bidi
// control, or nil if there is none. The error shows the character as U+XXXX,
// never raw. s must be valid UTF-8.
func checkText(s string) error {
	i := strings.IndexFunc(s, textsafe.Hidden)
	if i < 0 {
		return nil
	}
	r, _ := utf8.DecodeRuneInString(s[i:])
	what := "a control character"
	if textsafe.IsBidi(r) {
		what = "a bidi control"
	} else if r == '\u2028' || r == '\u2029' {
		what = "a line separator"
	}
	return fmt.Errorf("%U at byte %d is %s, which may not appear here", r, i, what)
}

// CheckText returns nil if s may appear in a name people read (an artifact
// name, a source URI, a field of a signed document shown in reports), or an
// error naming the first forbidden character: a C0 or C1 control, DEL, a
// Unicode line or paragraph separator or a bidi control, shown as U+XXXX.
// s must be valid UTF-8.
func CheckText(s string) error { return checkText(s) }

// CheckKeyName returns nil if name is a signed-note key name attestlog
// accepts: non-empty valid UTF-8 with no space and no '+', as
// c2sp.org/signed-note requires, and with none of the control, line
// separator and bidi characters refused in claims. Otherwise its error says
// what is wrong, quoting name escaped.
func CheckKeyName(name string) error {
	switch {
	case name == "":
		return errors.New("key name is empty")
	case !utf8.ValidString(name):
		return fmt.Errorf("key name %q is not valid UTF-8", name)
	case strings.Contains(name, "+"):
		return fmt.Errorf("key name %q contains '+', which separates the parts of a signed-note key", name)
	}
	if err := checkText(name); err != nil {
		return fmt.Errorf("key name %q: %w", name, err)
	}
	if i := strings.IndexFunc(name, unicode.IsSpace); i >= 0 {
		r, _ := utf8.DecodeRuneInString(name[i:])
		return fmt.Errorf("key name %q contains a space (%U at byte %d)", name, r, i)
	}
	return nil
}
