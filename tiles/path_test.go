package tiles_test

import (
	"errors"
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/attestlog/attestlog/tiles"
	"golang.org/x/mod/sumdb/tlog"
)

// tile returns a tlog.Tile of height tiles.Height.
func tile(l int, n int64, w int) tlog.Tile {
	return tlog.Tile{H: tiles.Height, L: l, N: n, W: w}
}

var goodPaths = []struct {
	path string
	tile tlog.Tile
}{
	{"tile/0/000", tile(0, 0, 256)},
	{"tile/0/001", tile(0, 1, 256)},
	{"tile/0/999", tile(0, 999, 256)},
	{"tile/0/x001/000", tile(0, 1000, 256)},
	{"tile/0/x001/x234/067", tile(0, 1234067, 256)},
	{"tile/0/x001/x234/067.p/7", tile(0, 1234067, 7)},
	{"tile/0/x001/x000/000.p/1", tile(0, 1000000, 1)},
	{"tile/1/x999/999.p/128", tile(1, 999999, 128)},
	{"tile/10/123.p/128", tile(10, 123, 128)},
	{"tile/63/000", tile(63, 0, 256)},
	{"tile/63/x009/x223/x372/x036/x854/x775/807.p/255", tile(63, math.MaxInt64, 255)},
	{"tile/0/x009/x223/x372/x036/x854/x775/807", tile(0, math.MaxInt64, 256)},
	{"tile/entries/000", tile(tiles.EntriesLevel, 0, 256)},
	{"tile/entries/000.p/1", tile(tiles.EntriesLevel, 0, 1)},
	{"tile/entries/000.p/255", tile(tiles.EntriesLevel, 0, 255)},
	{"tile/entries/x001/x234/067.p/7", tile(tiles.EntriesLevel, 1234067, 7)},
}

var badPaths = []struct {
	desc string
	path string
}{
	{"empty", ""},
	{"no tile prefix", "0/000"},
	{"leading slash", "/tile/0/000"},
	{"upper-case tile", "TILE/0/000"},
	{"upper-case entries", "tile/ENTRIES/000"},
	{"upper-case p", "tile/0/000.P/7"},
	{"upper-case x", "tile/0/X001/000"},
	{"no index", "tile/0"},
	{"entries without index", "tile/entries"},
	{"entries with empty index", "tile/entries/"},
	{"empty level", "tile//000"},
	{"level leading zero", "tile/01/000"},
	{"level 00", "tile/00/000"},
	{"level 64", "tile/64/000"},
	{"level huge", "tile/99999999999999999999/000"},
	{"level negative", "tile/-1/000"},
	{"level plus", "tile/+1/000"},
	{"level data", "tile/data/000"},
	{"go sumdb height element", "tile/8/0/000"},
	{"width 0", "tile/0/000.p/0"},
	{"width 256", "tile/0/000.p/256"},
	{"width leading zero", "tile/0/000.p/007"},
	{"width leading zero 2", "tile/0/x001/x234/067.p/07"},
	{"width negative", "tile/0/000.p/-1"},
	{"width plus", "tile/0/000.p/+7"},
	{"width empty", "tile/0/000.p/"},
	{"width twice", "tile/0/000.p/7.p/7"},
	{"width then slash", "tile/0/000.p/7/"},
	{"missing x prefix", "tile/0/001/234"},
	{"x on last element", "tile/0/x001/x234"},
	{"x alone", "tile/0/x000"},
	{"leading zero element", "tile/0/x000/001"},
	{"leading zero element entries", "tile/entries/x000/x001/000"},
	{"two-digit element", "tile/0/01"},
	{"two-digit x element", "tile/0/x01/000"},
	{"four-digit element", "tile/0/0001"},
	{"four-digit x element", "tile/0/x0001/000"},
	{"one-digit x element", "tile/0/x1/000"},
	{"non-digit element", "tile/0/00a"},
	{"space in element", "tile/0/ 00"},
	{"negative index", "tile/0/-01"},
	{"negative index 2", "tile/0/x-01/000"},
	{"trailing slash", "tile/0/000/"},
	{"double slash", "tile/0/x001//000"},
	{"dot dot", "tile/0/../000"},
	{"dot dot in index", "tile/0/x001/../000"},
	{"dot", "tile/0/./000"},
	{"index overflows int64", "tile/0/x009/x223/x372/x036/x854/x775/808"},
	{"index overflows int64 by far", "tile/0/x010/x000/x000/x000/x000/x000/000"},
	{"index with too many elements", "tile/0/x001/x000/x000/x000/x000/x000/x000/000"},
	{"trailing newline", "tile/0/000\n"},
	{"nul byte", "tile/0/000\x00"},
}

func TestPathRoundTrip(t *testing.T) {
	for _, tt := range goodPaths {
		t.Run(tt.path, func(t *testing.T) {
			if got := tiles.Path(tt.tile); got != tt.path {
				t.Errorf("Path(%+v) = %q, want %q", tt.tile, got, tt.path)
			}
			got, err := tiles.ParsePath(tt.path)
			if err != nil {
				t.Fatalf("ParsePath(%q): %v", tt.path, err)
			}
			if got != tt.tile {
				t.Errorf("ParsePath(%q) = %+v, want %+v", tt.path, got, tt.tile)
			}
		})
	}
}

func TestParsePathErrors(t *testing.T) {
	for _, tt := range badPaths {
		t.Run(tt.desc, func(t *testing.T) {
			got, err := tiles.ParsePath(tt.path)
			if err == nil {
				t.Fatalf("ParsePath(%q) = %+v, want error", tt.path, got)
			}
			if !errors.Is(err, tiles.ErrMalformedPath) {
				t.Errorf("ParsePath(%q) error %q does not wrap ErrMalformedPath", tt.path, err)
			}
			if got != (tlog.Tile{}) {
				t.Errorf("ParsePath(%q) returned %+v with its error, want the zero Tile", tt.path, got)
			}
		})
	}
}

// tlogPath is the C2SP path of t computed by x/mod's tlog: the Go checksum
// database spelling with the height element dropped and "data" renamed "entries".
func tlogPath(t tlog.Tile) string {
	p := strings.TrimPrefix(t.Path(), "tile/8/")
	if d, ok := strings.CutPrefix(p, "data/"); ok {
		return "tile/entries/" + d
	}
	return "tile/" + p
}

// randomIndex returns a non-negative index whose magnitude is spread over
// all scales, from single digits to close to MaxInt64.
func randomIndex(rng *rand.Rand) int64 {
	return rng.Int64() >> rng.UintN(64)
}

func TestPathMatchesTlog(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for i := 0; i < 10000; i++ {
		tt := tile(rng.IntN(7)-1, randomIndex(rng), 1+rng.IntN(tiles.Width))
		if i%4 == 0 {
			tt.W = tiles.Width
		}
		want := tlogPath(tt)
		if got := tiles.Path(tt); got != want {
			t.Fatalf("Path(%+v) = %q, tlog gives %q", tt, got, want)
		}
		got, err := tiles.ParsePath(want)
		if err != nil || got != tt {
			t.Fatalf("ParsePath(%q) = %+v, %v; want %+v", want, got, err, tt)
		}
	}
}

// panics reports the value f panicked with, or nil if it returned normally.
func panics(f func()) (v any) {
	defer func() { v = recover() }()
	f()
	return nil
}

func TestPathPanics(t *testing.T) {
	for _, tt := range []struct {
		desc string
		tile tlog.Tile
	}{
		{"zero tile", tlog.Tile{}},
		{"height 0", tlog.Tile{H: 0, L: 0, N: 0, W: 256}},
		{"height 10", tlog.Tile{H: 10, L: 0, N: 0, W: 256}},
		{"level -2", tile(-2, 0, 256)},
		{"level 64", tile(64, 0, 256)},
		{"negative index", tile(0, -1, 256)},
		{"min index", tile(0, math.MinInt64, 256)},
		{"width 0", tile(0, 0, 0)},
		{"width -1", tile(0, 0, -1)},
		{"width 257", tile(0, 0, 257)},
		{"entries width 0", tile(tiles.EntriesLevel, 0, 0)},
	} {
		t.Run(tt.desc, func(t *testing.T) {
			var p string
			if v := panics(func() { p = tiles.Path(tt.tile) }); v == nil {
				t.Errorf("Path(%+v) = %q, want a panic", tt.tile, p)
			}
		})
	}
	// The boundaries themselves must not panic.
	for _, tt := range []tlog.Tile{tile(-1, 0, 1), tile(63, math.MaxInt64, 256)} {
		if v := panics(func() { tiles.Path(tt) }); v != nil {
			t.Errorf("Path(%+v) panicked: %v", tt, v)
		}
	}
}

func FuzzParsePath(f *testing.F) {
	for _, tt := range goodPaths {
		f.Add(tt.path)
	}
	for _, tt := range badPaths {
		f.Add(tt.path)
	}
	f.Fuzz(func(t *testing.T, path string) {
		tt, err := tiles.ParsePath(path)
		if err != nil {
			if !errors.Is(err, tiles.ErrMalformedPath) {
				t.Fatalf("ParsePath(%q) error %q does not wrap ErrMalformedPath", path, err)
			}
			return
		}
		var got string
		if v := panics(func() { got = tiles.Path(tt) }); v != nil {
			t.Fatalf("ParsePath(%q) = %+v, on which Path panics: %v", path, tt, v)
		}
		if got != path {
			t.Fatalf("Path(ParsePath(%q)) = %q", path, got)
		}
		if want := tlogPath(tt); got != want {
			t.Fatalf("Path(%+v) = %q, tlog gives %q", tt, got, want)
		}
	})
}
