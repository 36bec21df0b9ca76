// Package varint reads the unsigned varints of attestlog's own binary
// records (index deltas, stratum patches, staged index writes, index
// proofs) in their one canonical form, so that a record has exactly one
// encoding: a reader that accepted 0x82 0x00 for 2 would let two different
// byte strings stand for the same record.
//
// The package is pure and safe for concurrent use.
package varint

import (
	"encoding/binary"
	"math/bits"
)

// Uvarint decodes the unsigned varint at the start of b, as
// [binary.Uvarint] does, and returns its value and the number of bytes it
// took. n is 0 if b ends before the varint does, and negative if the varint
// overflows 64 bits or is not in its shortest form (a final byte of zero
// after the first).
func Uvarint(b []byte) (v uint64, n int) {
	v, n = binary.Uvarint(b)
	if n > 1 && b[n-1] == 0 {
		return 0, -n
	}
	return v, n
}

// Bytes splits uvarint(len(v)) || v off the start of b. ok is false if the
// length is not canonical or b ends before v does.
func Bytes(b []byte) (v, rest []byte, ok bool) {
	n, w := Uvarint(b)
	if w <= 0 || uint64(len(b)-w) < n {
		return nil, nil, false
	}
	return b[w : w+int(n)], b[w+int(n):], true
}

// Size returns the number of bytes of the shortest encoding of v, the one
// [binary.AppendUvarint] writes.
func Size(v uint64) int { return (bits.Len64(v|1) + 6) / 7 }
