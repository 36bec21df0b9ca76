package report

import (
	"fmt"
	"strconv"
	"strings"
)

// Count formats n things: "1 tile", "2 tiles".
func Count(n int, one, many string) string { return Count64(int64(n), one, many) }

// Count64 is [Count] for an int64.
func Count64(n int64, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return fmt.Sprintf("%d %s", n, many)
}

// joinAnd joins names as people write them: "a", "a and b", "a, b and c".
func joinAnd(names []string) string {
	if len(names) < 2 {
		return strings.Join(names, "")
	}
	return strings.Join(names[:len(names)-1], ", ") + " and " + names[len(names)-1]
}

// Plural returns one if n is 1, else many.
func Plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

func joinInts(xs []int64) string {
	s := make([]string, len(xs))
	for i, x := range xs {
		s[i] = strconv.FormatInt(x, 10)
	}
	return strings.Join(s, ", ")
}

// YesNo formats a bool for people.
func YesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

// Short abbreviates a hex digest or commit to 12 digits, for tables.
func Short(hex string) string {
	if len(hex) > 12 {
		return hex[:12]
	}
	return hex
}

// sourceAt names a source at a commit, "SOURCE@COMMIT", or the source
// alone when it has no commit (a Debian "deb:<source>@<version>").
func sourceAt(source, commit string) string {
	if commit == "" {
		return source
	}
	return source + "@" + commit
}
