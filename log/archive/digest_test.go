package archive_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/attestlog/attestlog/log/archive"
)

func TestParseDigest(t *testing.T) {
	good := hexDigest([]byte("artifact"))
	tests := []struct {
		name, in string
		ok       bool
	}{
		{"lowercase hex", good, true},
		{"all zero", strings.Repeat("0", 64), true},
		{"all f", strings.Repeat("f", 64), true},
	}
	for name, s := range malformedDigests(good) {
		tests = append(tests, struct {
			name, in string
			ok       bool
		}{name, s, false})
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			d, err := archive.ParseDigest(tc.in)
			if !tc.ok {
				if !errors.Is(err, archive.ErrMalformedDigest) {
					t.Errorf("ParseDigest(%q) = %v, want ErrMalformedDigest", tc.in, err)
				}
				return
			}
			if err != nil {
				t.Fatalf("ParseDigest(%q): %v", tc.in, err)
			}
			if d.String() != tc.in {
				t.Errorf("ParseDigest(%q).String() = %q", tc.in, d.String())
			}
		})
	}
}

func FuzzParseDigest(f *testing.F) {
	good := hexDigest([]byte("artifact"))
	f.Add(good)
	for _, s := range malformedDigests(good) {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		d, err := archive.ParseDigest(s)
		if err != nil {
			if !errors.Is(err, archive.ErrMalformedDigest) {
				t.Fatalf("ParseDigest(%q) = %v, want ErrMalformedDigest", s, err)
			}
			return
		}
		if d.String() != s {
			t.Fatalf("ParseDigest(%q).String() = %q", s, d.String())
		}
	})
}
