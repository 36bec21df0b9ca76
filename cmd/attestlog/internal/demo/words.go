package demo

import (
	"fmt"
	"slices"
	"strings"

	"github.com/attestlog/attestlog/client"
)

// width is the longest line say prints, but for a single long word.
const width = 100

// say prints a paragraph of the story, indented and wrapped.
func (d *demo) say(format string, args ...any) {
	fmt.Fprint(d.out, wrap(fmt.Sprintf(format, args...)))
}

// wrap indents text by three spaces and wraps it at width, keeping words
// longer than a line whole.
func wrap(text string) string {
	var b strings.Builder
	line := "  "
	for _, w := range strings.Fields(text) {
		if len(line)+1+len(w) > width && len(line) > 2 {
			b.WriteString(line + "\n")
			line = "  "
		}
		line += " " + w
	}
	b.WriteString(line + "\n")
	return b.String()
}

// exitMeaning spells out the bits of a verify exit code: "builder quorum
// not met", or "2: builder quorum not met + 8: proof, ...".
func exitMeaning(code int) string {
	bits := []int{client.ExitNoClaims, client.ExitNoQuorum, client.ExitConflict, client.ExitVerifyErr}
	texts := []string{"no claims", "builder quorum not met", "conflict by a trusted builder", "proof, signature or checkpoint failure"}
	var parts []string
	for i, b := range bits {
		if code&b != 0 {
			parts = append(parts, fmt.Sprintf("%d: %s", b, texts[i]))
		}
	}
	if len(parts) == 1 {
		_, text, _ := strings.Cut(parts[0], ": ")
		return text
	}
	return strings.Join(parts, " + ")
}

// claimList names claim indexes: "claim 4 names", "claims 0, 1 and 2 name".
func claimList(indexes []uint64) string {
	s := make([]string, len(indexes))
	for i, x := range indexes {
		s[i] = fmt.Sprint(x)
	}
	if len(s) == 1 {
		return "claim " + s[0] + " names"
	}
	return "claims " + andList(s) + " name"
}

// andList joins names as "a, b and c".
func andList(names []string) string {
	if len(names) < 2 {
		return strings.Join(names, "")
	}
	return strings.Join(names[:len(names)-1], ", ") + " and " + names[len(names)-1]
}

// keyName returns the key name of a verifier key.
func keyName(vkey string) string {
	name, _, _ := strings.Cut(vkey, "+")
	return name
}

// short abbreviates a hex digest to 12 digits.
func short(hex string) string {
	if len(hex) > 12 {
		return hex[:12]
	}
	return hex
}

// appendOnce appends x to list unless list holds it already.
func appendOnce[T comparable](list []T, x T) []T {
	if slices.Contains(list, x) {
		return list
	}
	return append(list, x)
}
