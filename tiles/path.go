package tiles

import (
	"errors"
	"fmt"
	"strconv"
	"strings"

	"golang.org/x/mod/sumdb/tlog"
)

const (
	// Height is the height of every tile: a full tile holds 2^Height hashes.
	Height = 8
	// Width is the number of hashes in a full tile and of entries in a full entry bundle.
	Width = 1 << Height
	// EntriesLevel is the tlog.Tile level that denotes an entry bundle.
	EntriesLevel = -1
	// MaxLevel is the largest hash-tile level a path may name.
	MaxLevel = 63
)

// ErrMalformedPath is wrapped by every error that [ParsePath] returns.
var ErrMalformedPath = errors.New("tiles: malformed tile path")

// Path returns the tlog-tiles path of t relative to the log prefix, for example
// "tile/0/x001/x234/067.p/7" or "tile/entries/000". t.H must be [Height],
// t.L between [EntriesLevel] and [MaxLevel], t.N non-negative and t.W between 1 and [Width];
// Path panics otherwise, because such a tile can only come from a bug.
func Path(t tlog.Tile) string {
	if t.H != Height || t.L < EntriesLevel || t.L > MaxLevel || t.N < 0 || t.W < 1 || t.W > Width {
		panic(fmt.Sprintf("tiles.Path: invalid tile %+v", t))
	}
	var b strings.Builder
	b.WriteString("tile/")
	if t.L == EntriesLevel {
		b.WriteString("entries")
	} else {
		b.WriteString(strconv.Itoa(t.L))
	}
	b.WriteByte('/')
	b.WriteString(formatIndex(t.N))
	if t.W < Width {
		b.WriteString(".p/")
		b.WriteString(strconv.Itoa(t.W))
	}
	return b.String()
}

// formatIndex encodes n as zero-padded 3-digit path elements, all but the last prefixed with "x".
func formatIndex(n int64) string {
	s := fmt.Sprintf("%03d", n%1000)
	for n >= 1000 {
		n /= 1000
		s = fmt.Sprintf("x%03d/%s", n%1000, s)
	}
	return s
}

// ParsePath parses a tlog-tiles path relative to the log prefix, as produced
// by [Path]. It accepts exactly the spelling Path produces: no leading zeros in
// the level or width, no superfluous "x000/" elements, no ".p/256".
// Errors wrap [ErrMalformedPath].
func ParsePath(path string) (tlog.Tile, error) {
	bad := func(why string) (tlog.Tile, error) {
		return tlog.Tile{}, fmt.Errorf("%w %q: %s", ErrMalformedPath, path, why)
	}
	rest, ok := strings.CutPrefix(path, "tile/")
	if !ok {
		return bad(`does not start with "tile/"`)
	}
	levelText, rest, ok := strings.Cut(rest, "/")
	if !ok {
		return bad("no tile index")
	}
	t := tlog.Tile{H: Height, W: Width}
	if levelText == "entries" {
		t.L = EntriesLevel
	} else {
		l, ok := parseDecimal(levelText, MaxLevel)
		if !ok {
			return bad("level is not a decimal from 0 to 63")
		}
		t.L = int(l)
	}
	if index, width, ok := strings.Cut(rest, ".p/"); ok {
		w, ok := parseDecimal(width, Width-1)
		if !ok || w == 0 {
			return bad("partial width is not a decimal from 1 to 255")
		}
		t.W = int(w)
		rest = index
	}
	n, err := parseIndex(rest)
	if err != nil {
		return bad(err.Error())
	}
	t.N = n
	return t, nil
}

// parseIndex parses the N element of a tile path: "x001/x234/067".
func parseIndex(s string) (int64, error) {
	elems := strings.Split(s, "/")
	var n int64
	for i, e := range elems {
		last := i == len(elems)-1
		if !last {
			var ok bool
			if e, ok = strings.CutPrefix(e, "x"); !ok {
				return 0, errors.New(`index element other than the last lacks the "x" prefix`)
			}
		}
		if len(e) != 3 || !isDigits(e) {
			return 0, errors.New("index element is not three decimal digits")
		}
		if i == 0 && e == "000" && !last {
			return 0, errors.New("index has a leading zero element")
		}
		d, _ := strconv.ParseInt(e, 10, 64)
		if n > (1<<63-1-d)/1000 {
			return 0, errors.New("index overflows int64")
		}
		n = n*1000 + d
	}
	return n, nil
}

// parseDecimal parses a decimal in [0, max] with no sign and no leading zeros.
func parseDecimal(s string, max int64) (int64, bool) {
	if s == "" || !isDigits(s) || (len(s) > 1 && s[0] == '0') || len(s) > 19 {
		return 0, false
	}
	v, err := strconv.ParseInt(s, 10, 64)
	return v, err == nil && v <= max
}

func isDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}
