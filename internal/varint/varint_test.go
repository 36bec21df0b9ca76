package varint

import (
	"bytes"
	"encoding/binary"
	"testing"
)

func TestUvarintRefusesLongForms(t *testing.T) {
	for _, c := range []struct {
		in    []byte
		v     uint64
		n     int
		valid bool
	}{
		{[]byte{0}, 0, 1, true},
		{[]byte{2}, 2, 1, true},
		{[]byte{0x80, 1}, 128, 2, true},
		{[]byte{0x82, 0}, 0, 0, false},
		{[]byte{0x80, 0x80, 0}, 0, 0, false},
		{[]byte{0x80}, 0, 0, false},
		{[]byte{}, 0, 0, false},
		{bytes.Repeat([]byte{0xff}, 11), 0, 0, false},
	} {
		v, n := Uvarint(c.in)
		if c.valid && (v != c.v || n != c.n) || !c.valid && n > 0 {
			t.Errorf("Uvarint(%x) = %d, %d", c.in, v, n)
		}
	}
	if _, _, ok := Bytes([]byte{0x81, 0, 'a'}); ok {
		t.Error("Bytes accepted a length in a long form")
	}
	if v, rest, ok := Bytes([]byte{1, 'a', 'b'}); !ok || string(v) != "a" || string(rest) != "b" {
		t.Errorf("Bytes(01 61 62) = %q, %q, %v", v, rest, ok)
	}
}

// FuzzUvarint checks that every varint Uvarint accepts is the one
// binary.AppendUvarint writes for its value.
func FuzzUvarint(f *testing.F) {
	f.Add([]byte{0x82, 0})
	f.Add([]byte{0x80, 1})
	f.Fuzz(func(t *testing.T, b []byte) {
		v, n := Uvarint(b)
		if n <= 0 {
			return
		}
		if again := binary.AppendUvarint(nil, v); !bytes.Equal(again, b[:n]) {
			t.Fatalf("Uvarint accepted %x for %d, whose form is %x", b[:n], v, again)
		}
	})
}

// TestSize checks Size against the encoding binary.AppendUvarint writes.
func TestSize(t *testing.T) {
	for _, v := range []uint64{0, 1, 127, 128, 16383, 16384, 1<<21 - 1, 1 << 21, 1<<63 - 1, 1 << 63, ^uint64(0)} {
		if got, want := Size(v), len(binary.AppendUvarint(nil, v)); got != want {
			t.Errorf("Size(%d) = %d, want %d", v, got, want)
		}
	}
}
