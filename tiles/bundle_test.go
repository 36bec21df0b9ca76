package tiles_test

import (
	"bytes"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/attestlog/attestlog/tiles"
)

// entriesN returns n distinct entries of varying lengths, some empty.
func entriesN(n int) [][]byte {
	es := make([][]byte, n)
	for i := range es {
		es[i] = []byte(strings.Repeat(fmt.Sprint(i%10), i%7))
	}
	return es
}

var bundleTests = []struct {
	desc    string
	entries [][]byte
	want    []byte // nil: not checked
}{
	{"one empty entry", [][]byte{{}}, []byte{0, 0}},
	{"one entry", [][]byte{[]byte("abc")}, []byte{0, 3, 'a', 'b', 'c'}},
	{"empty entries between", [][]byte{[]byte("a"), {}, {}, []byte("bc")}, []byte{0, 1, 'a', 0, 0, 0, 0, 0, 2, 'b', 'c'}},
	{"256-byte entry", [][]byte{bytes.Repeat([]byte{0xff}, 256)}, append([]byte{1, 0}, bytes.Repeat([]byte{0xff}, 256)...)},
	{"largest entry", [][]byte{bytes.Repeat([]byte{'x'}, tiles.MaxEntrySize)}, append([]byte{0xff, 0xff}, bytes.Repeat([]byte{'x'}, tiles.MaxEntrySize)...)},
	{"largest entries and an empty one", [][]byte{make([]byte, tiles.MaxEntrySize), {}, make([]byte, tiles.MaxEntrySize)}, nil},
	{"255 entries", entriesN(255), nil},
	{"256 empty entries", make([][]byte, 256), make([]byte, 512)},
	{"256 entries", entriesN(256), nil},
}

func TestEntryBundleRoundTrip(t *testing.T) {
	for _, tt := range bundleTests {
		t.Run(tt.desc, func(t *testing.T) {
			b, err := tiles.FormatEntryBundle(tt.entries)
			if err != nil {
				t.Fatalf("FormatEntryBundle: %v", err)
			}
			if tt.want != nil && !bytes.Equal(b, tt.want) {
				t.Fatalf("FormatEntryBundle = %x, want %x", b, tt.want)
			}
			var appended []byte
			for _, e := range tt.entries {
				if appended, err = tiles.AppendEntry(appended, e); err != nil {
					t.Fatalf("AppendEntry: %v", err)
				}
			}
			if !bytes.Equal(appended, b) {
				t.Fatalf("AppendEntry for each entry = %x, FormatEntryBundle = %x", appended, b)
			}
			got, err := tiles.ParseEntryBundle(b)
			if err != nil {
				t.Fatalf("ParseEntryBundle: %v", err)
			}
			if !slices.EqualFunc(got, tt.entries, bytes.Equal) {
				t.Fatalf("ParseEntryBundle(FormatEntryBundle(entries)) = %q, want %q", got, tt.entries)
			}
		})
	}
}

func TestParseEntryBundleDoesNotLeak(t *testing.T) {
	b := []byte{0, 1, 'a', 0, 1, 'b'}
	es, err := tiles.ParseEntryBundle(b)
	if err != nil {
		t.Fatal(err)
	}
	// The entries alias b, but appending to one must not overwrite the next.
	_ = append(es[0], 'X', 'X', 'X')
	if want := []byte{0, 1, 'a', 0, 1, 'b'}; !bytes.Equal(b, want) {
		t.Errorf("appending to an entry changed the bundle to %x, want %x", b, want)
	}
}

func TestAppendEntry(t *testing.T) {
	prefix := []byte{0, 1, 'p'}
	for _, tt := range []struct {
		desc    string
		size    int
		wantErr error
	}{
		{"empty", 0, nil},
		{"one byte", 1, nil},
		{"65535 bytes", 65535, nil},
		{"65536 bytes", 65536, tiles.ErrEntryTooLarge},
		{"1 MiB", 1 << 20, tiles.ErrEntryTooLarge},
	} {
		t.Run(tt.desc, func(t *testing.T) {
			e := bytes.Repeat([]byte{'e'}, tt.size)
			b, err := tiles.AppendEntry(slices.Clone(prefix), e)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("AppendEntry(%d bytes) error = %v, want %v", tt.size, err, tt.wantErr)
			}
			if err != nil {
				if !bytes.Equal(b, prefix) {
					t.Errorf("AppendEntry(%d bytes) failed but changed the bundle to %d bytes", tt.size, len(b))
				}
				if _, err := tiles.FormatEntryBundle([][]byte{[]byte("ok"), e}); !errors.Is(err, tt.wantErr) {
					t.Errorf("FormatEntryBundle with a %d-byte entry: error = %v, want %v", tt.size, err, tt.wantErr)
				}
				return
			}
			want := append(slices.Clone(prefix), byte(tt.size>>8), byte(tt.size))
			want = append(want, e...)
			if !bytes.Equal(b, want) {
				t.Errorf("AppendEntry(%d bytes) = %x..., want %x...", tt.size, b[:min(len(b), 8)], want[:min(len(want), 8)])
			}
		})
	}
}

var badBundles = []struct {
	desc   string
	bundle []byte
}{
	{"nil", nil},
	{"empty", []byte{}},
	{"truncated length", []byte{0}},
	{"truncated length after entry", []byte{0, 1, 'a', 0}},
	{"truncated body", []byte{0, 5, 'a', 'b'}},
	{"length without body", []byte{0, 1}},
	{"largest length without body", []byte{0xff, 0xff}},
	{"truncated largest entry", append([]byte{0xff, 0xff}, make([]byte, 65534)...)},
	{"truncated body after entry", []byte{0, 1, 'a', 0, 2, 'b'}},
	{"257 empty entries", make([]byte, 2*257)},
	{"256 entries and a truncated length", make([]byte, 2*256+1)},
}

func TestParseEntryBundleErrors(t *testing.T) {
	for _, tt := range badBundles {
		t.Run(tt.desc, func(t *testing.T) {
			got, err := tiles.ParseEntryBundle(tt.bundle)
			if err == nil {
				t.Fatalf("ParseEntryBundle(%x) = %q, want error", tt.bundle, got)
			}
			if !errors.Is(err, tiles.ErrMalformedBundle) {
				t.Errorf("ParseEntryBundle error %q does not wrap ErrMalformedBundle", err)
			}
			if got != nil {
				t.Errorf("ParseEntryBundle returned %d entries with its error", len(got))
			}
		})
	}
}

func FuzzParseEntryBundle(f *testing.F) {
	for _, tt := range bundleTests {
		if b, err := tiles.FormatEntryBundle(tt.entries); err == nil && len(b) < 4096 {
			f.Add(b)
		}
	}
	for _, tt := range badBundles {
		if len(tt.bundle) < 4096 {
			f.Add(tt.bundle)
		}
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		es, err := tiles.ParseEntryBundle(b)
		if err != nil {
			if !errors.Is(err, tiles.ErrMalformedBundle) {
				t.Fatalf("ParseEntryBundle error %q does not wrap ErrMalformedBundle", err)
			}
			return
		}
		if len(es) < 1 || len(es) > tiles.Width {
			t.Fatalf("ParseEntryBundle(%x) = %d entries, want 1 to %d", b, len(es), tiles.Width)
		}
		got, err := tiles.FormatEntryBundle(es)
		if err != nil {
			t.Fatalf("FormatEntryBundle(ParseEntryBundle(%x)): %v", b, err)
		}
		if !bytes.Equal(got, b) {
			t.Fatalf("FormatEntryBundle(ParseEntryBundle(%x)) = %x", b, got)
		}
	})
}
