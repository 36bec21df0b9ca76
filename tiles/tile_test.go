package tiles_test

import (
	"bytes"
	"cmp"
	"crypto/sha256"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/attestlog/attestlog/tiles"
	"golang.org/x/mod/sumdb/tlog"
)

// hashes returns n distinct, deterministic hashes.
func hashes(n int) []tlog.Hash {
	hs := make([]tlog.Hash, n)
	for i := range hs {
		hs[i] = sha256.Sum256(fmt.Appendf(nil, "hash %d", i))
	}
	return hs
}

func TestHashTileRoundTrip(t *testing.T) {
	for _, n := range []int{1, 2, 7, 255, 256} {
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			hs := hashes(n)
			data := tiles.FormatHashTile(hs)
			if len(data) != n*tlog.HashSize {
				t.Fatalf("FormatHashTile of %d hashes is %d bytes, want %d", n, len(data), n*tlog.HashSize)
			}
			for i, h := range hs {
				if !bytes.Equal(data[i*tlog.HashSize:(i+1)*tlog.HashSize], h[:]) {
					t.Fatalf("FormatHashTile: hash %d is not at offset %d", i, i*tlog.HashSize)
				}
			}
			got, err := tiles.ParseHashTile(data)
			if err != nil {
				t.Fatalf("ParseHashTile: %v", err)
			}
			if !slices.Equal(got, hs) {
				t.Fatalf("ParseHashTile(FormatHashTile(hs)) != hs")
			}
			// The caller owns the result: it must not alias data.
			clear(data)
			if !slices.Equal(got, hs) {
				t.Fatalf("ParseHashTile result aliases its input")
			}
		})
	}
}

func TestParseHashTileErrors(t *testing.T) {
	for _, tt := range []struct {
		desc string
		size int
	}{
		{"0 bytes", 0},
		{"1 byte", 1},
		{"31 bytes", 31},
		{"33 bytes", 33},
		{"255.5 hashes", 255*32 + 16},
		{"256 hashes and a byte", 256*32 + 1},
		{"257 hashes", 257 * 32},
		{"512 hashes", 512 * 32},
	} {
		t.Run(tt.desc, func(t *testing.T) {
			got, err := tiles.ParseHashTile(make([]byte, tt.size))
			if err == nil {
				t.Fatalf("ParseHashTile(%d bytes) = %d hashes, want error", tt.size, len(got))
			}
			if !errors.Is(err, tiles.ErrMalformedTile) {
				t.Errorf("ParseHashTile(%d bytes) error %q does not wrap ErrMalformedTile", tt.size, err)
			}
		})
	}
	if got, err := tiles.ParseHashTile(nil); err == nil || !errors.Is(err, tiles.ErrMalformedTile) {
		t.Errorf("ParseHashTile(nil) = %v, %v; want ErrMalformedTile", got, err)
	}
}

func FuzzParseHashTile(f *testing.F) {
	f.Add([]byte{})
	f.Add(make([]byte, 31))
	f.Add(make([]byte, 32))
	f.Add(tiles.FormatHashTile(hashes(3)))
	f.Add(tiles.FormatHashTile(hashes(256)))
	f.Add(tiles.FormatHashTile(hashes(257)))
	f.Fuzz(func(t *testing.T, data []byte) {
		hs, err := tiles.ParseHashTile(data)
		if err != nil {
			if !errors.Is(err, tiles.ErrMalformedTile) {
				t.Fatalf("ParseHashTile error %q does not wrap ErrMalformedTile", err)
			}
			return
		}
		if len(hs) < 1 || len(hs) > tiles.Width {
			t.Fatalf("ParseHashTile(%d bytes) = %d hashes, want 1 to %d", len(data), len(hs), tiles.Width)
		}
		if got := tiles.FormatHashTile(hs); !bytes.Equal(got, data) {
			t.Fatalf("FormatHashTile(ParseHashTile(%x)) = %x", data, got)
		}
	})
}

func compareTiles(a, b tlog.Tile) int {
	return cmp.Or(cmp.Compare(a.H, b.H), cmp.Compare(a.L, b.L), cmp.Compare(a.N, b.N), cmp.Compare(a.W, b.W))
}

// wantNewTiles is tlog.NewTiles with height 8 plus, for each level-0 tile,
// the entry bundle of the same index and width, sorted.
func wantNewTiles(oldSize, newSize int64) []tlog.Tile {
	ts := tlog.NewTiles(tiles.Height, oldSize, newSize)
	for _, t := range ts {
		if t.L == 0 {
			t.L = tiles.EntriesLevel
			ts = append(ts, t)
		}
	}
	slices.SortFunc(ts, compareTiles)
	return ts
}

func TestNewTilesMatchesTlog(t *testing.T) {
	type sizes struct{ old, new int64 }
	cases := []sizes{
		{0, 0}, {0, 1}, {0, 255}, {0, 256}, {0, 257}, {0, 511}, {0, 512}, {0, 65535}, {0, 65536}, {0, 65537},
		{0, 70000}, {1, 2}, {255, 256}, {256, 256}, {256, 257}, {100, 70000}, {65535, 65536}, {65536, 65536 + 256},
		{70000, 70001}, {1 << 20, 1<<20 + 1}, {0, 1 << 24}, {1<<40 - 1, 1 << 40}, {math.MaxInt64 - 1, math.MaxInt64},
	}
	rng := rand.New(rand.NewPCG(3, 4))
	for range 100 {
		a, b := rng.Int64N(1<<18), rng.Int64N(1<<18)
		cases = append(cases, sizes{min(a, b), max(a, b)})
	}
	for _, c := range cases {
		t.Run(fmt.Sprintf("%d-%d", c.old, c.new), func(t *testing.T) {
			got := tiles.NewTiles(c.old, c.new)
			slices.SortFunc(got, compareTiles)
			want := wantNewTiles(c.old, c.new)
			if !slices.Equal(got, want) {
				t.Fatalf("NewTiles(%d, %d) =\n%v\nwant\n%v", c.old, c.new, got, want)
			}
			for _, tt := range got {
				if w := tiles.TileWidth(tt.L, tt.N, c.new); w != tt.W {
					t.Errorf("NewTiles(%d, %d) has %+v, but TileWidth(%d, %d, %d) = %d", c.old, c.new, tt, tt.L, tt.N, c.new, w)
				}
				if v := panics(func() { tiles.Path(tt) }); v != nil {
					t.Errorf("NewTiles(%d, %d) has %+v, on which Path panics: %v", c.old, c.new, tt, v)
				}
			}
		})
	}
}

func TestNewTilesSpecExamples(t *testing.T) {
	type level struct {
		full    int   // number of full tiles, indexes 0 to full-1
		partial []int // widths of partial tiles, at index full
	}
	for _, tt := range []struct {
		size int64
		want map[int]level
	}{
		{0, map[int]level{}},
		{1, map[int]level{-1: {0, []int{1}}, 0: {0, []int{1}}}},
		{255, map[int]level{-1: {0, []int{255}}, 0: {0, []int{255}}}},
		{256, map[int]level{-1: {1, nil}, 0: {1, nil}, 1: {0, []int{1}}}},
		{257, map[int]level{-1: {1, []int{1}}, 0: {1, []int{1}}, 1: {0, []int{1}}}},
		{65536, map[int]level{-1: {256, nil}, 0: {256, nil}, 1: {1, nil}, 2: {0, []int{1}}}},
		// The tlog-tiles example: 273 full level-0 tiles and a partial one of
		// width 112, one full level-1 tile and a partial one of width 17, and a
		// partial level-2 tile of width 1.
		{70000, map[int]level{-1: {273, []int{112}}, 0: {273, []int{112}}, 1: {1, []int{17}}, 2: {0, []int{1}}}},
	} {
		t.Run(fmt.Sprint(tt.size), func(t *testing.T) {
			got := map[int]level{}
			for _, ti := range tiles.NewTiles(0, tt.size) {
				l := got[ti.L]
				if ti.H != tiles.Height {
					t.Errorf("tile %+v has height %d", ti, ti.H)
				}
				if ti.W == tiles.Width {
					if ti.N != int64(l.full) || len(l.partial) > 0 {
						t.Errorf("full tile %+v out of order", ti)
					}
					l.full++
				} else {
					if ti.N != int64(l.full) {
						t.Errorf("partial tile %+v has index %d, want %d", ti, ti.N, l.full)
					}
					l.partial = append(l.partial, ti.W)
				}
				got[ti.L] = l
			}
			if len(got) != len(tt.want) {
				t.Errorf("NewTiles(0, %d) has tiles at %d levels, want %d: %v", tt.size, len(got), len(tt.want), got)
			}
			for l, want := range tt.want {
				if g := got[l]; g.full != want.full || !slices.Equal(g.partial, want.partial) {
					t.Errorf("NewTiles(0, %d) at level %d: %d full tiles, partial widths %v; want %d, %v",
						tt.size, l, g.full, g.partial, want.full, want.partial)
				}
			}
		})
	}
}

var tileWidthTests = []struct {
	level   int
	n, size int64
	want    int
}{
	{0, 0, 0, 0},
	{tiles.EntriesLevel, 0, 0, 0},
	{0, 0, -1, 0},
	{0, 0, 1, 1},
	{0, 0, 255, 255},
	{0, 0, 256, 256},
	{0, 0, 257, 256},
	{0, 1, 256, 0},
	{0, 1, 257, 1},
	{0, 0, 70000, 256},
	{0, 272, 70000, 256},
	{0, 273, 70000, 112},
	{0, 274, 70000, 0},
	{0, 1000, 70000, 0},
	{tiles.EntriesLevel, 0, 70000, 256},
	{tiles.EntriesLevel, 273, 70000, 112},
	{tiles.EntriesLevel, 274, 70000, 0},
	{1, 0, 255, 0},
	{1, 0, 256, 1},
	{1, 0, 70000, 256},
	{1, 1, 70000, 17},
	{1, 2, 70000, 0},
	{2, 0, 70000, 1},
	{2, 1, 70000, 0},
	{3, 0, 70000, 0},
	{0, -1, 70000, 0},
	{-2, 0, 70000, 0},
	{64, 0, 70000, 0},
	{0, math.MaxInt64 >> 8, math.MaxInt64, 255},
	{0, math.MaxInt64>>8 - 1, math.MaxInt64, 256},
	{6, 0, math.MaxInt64, 256},
	{7, 0, math.MaxInt64, 127},
	{8, 0, math.MaxInt64, 0},
	{63, 0, math.MaxInt64, 0},
	// n<<Height overflows int64 for n >= 2^55.
	{0, 1 << 55, 1000, 0},
	{0, 1 << 56, 1000, 0},
	{0, math.MaxInt64, 1000, 0},
	{1, 1 << 60, 1 << 20, 0},
}

func TestTileWidth(t *testing.T) {
	for _, tt := range tileWidthTests {
		t.Run(fmt.Sprintf("L%d/N%d/size%d", tt.level, tt.n, tt.size), func(t *testing.T) {
			got := tiles.TileWidth(tt.level, tt.n, tt.size)
			if got != tt.want {
				t.Errorf("TileWidth(%d, %d, %d) = %d, want %d", tt.level, tt.n, tt.size, got, tt.want)
			}
		})
	}
}
