package tiles

import (
	"errors"
	"fmt"

	"golang.org/x/mod/sumdb/tlog"
)

// ErrMalformedTile is wrapped by every error that [ParseHashTile] returns.
var ErrMalformedTile = errors.New("tiles: malformed hash tile")

// FormatHashTile returns the encoding of a hash tile: its hashes concatenated.
func FormatHashTile(hashes []tlog.Hash) []byte {
	b := make([]byte, 0, len(hashes)*tlog.HashSize)
	for _, h := range hashes {
		b = append(b, h[:]...)
	}
	return b
}

// ParseHashTile decodes a hash tile of width 1 to [Width]. The caller owns the result.
func ParseHashTile(data []byte) ([]tlog.Hash, error) {
	if len(data) == 0 || len(data)%tlog.HashSize != 0 || len(data) > Width*tlog.HashSize {
		return nil, fmt.Errorf("%w: %d bytes is not 1 to %d hashes of %d bytes", ErrMalformedTile, len(data), Width, tlog.HashSize)
	}
	hashes := make([]tlog.Hash, len(data)/tlog.HashSize)
	for i := range hashes {
		copy(hashes[i][:], data[i*tlog.HashSize:])
	}
	return hashes, nil
}

// NewTiles returns the hash tiles and entry bundles that a tree of size
// newSize has and a tree of size oldSize lacks: every tile that a log must
// publish when it grows from oldSize to newSize. Full tiles come with W = [Width].
// With oldSize 0 it lists every resource of the tree.
func NewTiles(oldSize, newSize int64) []tlog.Tile {
	ts := tlog.NewTiles(Height, oldSize, newSize)
	for _, t := range ts {
		if t.L == 0 {
			t.L = EntriesLevel
			ts = append(ts, t)
		}
	}
	return ts
}

// TileWidth returns the width of tile (level, n) in a tree of the given size:
// [Width] for a full tile, 1 to 255 for a partial one, 0 if the tree has no
// such tile. Entry bundles ([EntriesLevel]) have the width of their level-0 tile.
func TileWidth(level int, n, size int64) int {
	if level == EntriesLevel {
		level = 0
	}
	if level < 0 || level > MaxLevel || n < 0 || size <= 0 {
		return 0
	}
	hashes := size >> (Height * uint(level)) // hashes at this level
	if n > hashes>>Height {
		return 0 // also keeps n << Height from overflowing
	}
	start := n << Height
	switch {
	case hashes <= start:
		return 0
	case hashes-start >= Width:
		return Width
	default:
		return int(hashes - start)
	}
}
