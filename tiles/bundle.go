package tiles

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
)

// MaxEntrySize is the largest entry an entry bundle can hold: its length is a big-endian uint16.
const MaxEntrySize = math.MaxUint16

var (
	// ErrEntryTooLarge means an entry is longer than [MaxEntrySize] bytes.
	ErrEntryTooLarge = errors.New("tiles: entry larger than 65535 bytes")
	// ErrMalformedBundle is wrapped by every error that [ParseEntryBundle] returns.
	ErrMalformedBundle = errors.New("tiles: malformed entry bundle")
)

// AppendEntry appends e to the entry bundle b as a length-prefixed entry:
//
//	uint16 big-endian length || entry bytes
//
// It returns [ErrEntryTooLarge] if e is longer than [MaxEntrySize].
func AppendEntry(b, e []byte) ([]byte, error) {
	if len(e) > MaxEntrySize {
		return b, fmt.Errorf("%w: %d bytes", ErrEntryTooLarge, len(e))
	}
	b = binary.BigEndian.AppendUint16(b, uint16(len(e)))
	return append(b, e...), nil
}

// FormatEntryBundle encodes entries as an entry bundle.
func FormatEntryBundle(entries [][]byte) ([]byte, error) {
	n := 0
	for _, e := range entries {
		n += 2 + len(e)
	}
	b := make([]byte, 0, n)
	for i, e := range entries {
		var err error
		if b, err = AppendEntry(b, e); err != nil {
			return nil, fmt.Errorf("entry %d: %w", i, err)
		}
	}
	return b, nil
}

// ParseEntryBundle decodes an entry bundle of 1 to [Width] entries. The
// returned entries alias b. Errors wrap [ErrMalformedBundle].
func ParseEntryBundle(b []byte) ([][]byte, error) {
	var entries [][]byte
	for off := 0; off < len(b); {
		if len(entries) == Width {
			return nil, fmt.Errorf("%w: more than %d entries", ErrMalformedBundle, Width)
		}
		if len(b)-off < 2 {
			return nil, fmt.Errorf("%w: truncated length of entry %d at offset %d", ErrMalformedBundle, len(entries), off)
		}
		n := int(binary.BigEndian.Uint16(b[off:]))
		off += 2
		if len(b)-off < n {
			return nil, fmt.Errorf("%w: entry %d at offset %d has length %d but %d bytes remain", ErrMalformedBundle, len(entries), off-2, n, len(b)-off)
		}
		entries = append(entries, b[off:off+n:off+n])
		off += n
	}
	if len(entries) == 0 {
		return nil, fmt.Errorf("%w: empty", ErrMalformedBundle)
	}
	return entries, nil
}
