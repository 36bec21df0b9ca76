package vindex

import (
	"bytes"
	"errors"
	"strings"
	"testing"
)

func TestCommitmentRoundTrip(t *testing.T) {
	c := Commitment{Size: 1234, Root: Hash(DigestKey("x"))}
	b := c.Marshal()
	want := "attestlog.dev/index-commitment/v1\nsize 1234\nroot "
	if !strings.HasPrefix(string(b), want) || !IsCommitment(b) {
		t.Fatalf("Marshal() = %q, want it to start with %q", b, want)
	}
	got, err := ParseCommitment(b)
	if err != nil || got != c {
		t.Fatalf("ParseCommitment(%q) = %+v, %v, want %+v", b, got, err, c)
	}
}

func TestParseCommitmentRefuses(t *testing.T) {
	good := string(Commitment{Size: 7, Root: Hash(DigestKey("r"))}.Marshal())
	root := good[strings.Index(good, "root ")+5 : len(good)-1]
	for _, tc := range []struct{ desc, in string }{
		{"empty", ""},
		{"claim entry", "attestlog.dev/claim/v1\ntype x\n\n{}"},
		{"leading zero", "attestlog.dev/index-commitment/v1\nsize 07\nroot " + root + "\n"},
		{"plus sign", "attestlog.dev/index-commitment/v1\nsize +7\nroot " + root + "\n"},
		{"negative", "attestlog.dev/index-commitment/v1\nsize -7\nroot " + root + "\n"},
		{"no final newline", strings.TrimSuffix(good, "\n")},
		{"extra line", good + "x\n"},
		{"CR", strings.Replace(good, "\nroot", "\r\nroot", 1)},
		{"short root", "attestlog.dev/index-commitment/v1\nsize 7\nroot AAAA\n"},
		{"url base64", strings.ReplaceAll(strings.ReplaceAll(good, "+", "-"), "/", "_")},
		{"padding bits", "attestlog.dev/index-commitment/v1\nsize 7\nroot AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAB=\n"},
	} {
		if tc.desc == "url base64" && !strings.ContainsAny(good, "+/") {
			continue
		}
		if _, err := ParseCommitment([]byte(tc.in)); !errors.Is(err, ErrMalformedCommitment) {
			t.Errorf("%s: ParseCommitment(%q) = %v, want ErrMalformedCommitment", tc.desc, tc.in, err)
		}
	}
}

func TestEntryKeys(t *testing.T) {
	keys, ok := EntryKeys(Commitment{Size: 1}.Marshal())
	if !ok || keys != nil {
		t.Errorf("EntryKeys(commitment) = %v, %v, want no keys, ok", keys, ok)
	}
	for _, e := range []string{"not a claim", "attestlog.dev/index-commitment/v1\nsize 01\n"} {
		if keys, ok := EntryKeys([]byte(e)); ok || keys != nil {
			t.Errorf("EntryKeys(%q) = %v, %v, want not ok", e, keys, ok)
		}
	}
}

func FuzzParseCommitment(f *testing.F) {
	f.Add(Commitment{Size: 0}.Marshal())
	f.Add(Commitment{Size: 1 << 40, Root: Hash(DigestKey("a"))}.Marshal())
	f.Add([]byte("attestlog.dev/index-commitment/v1\nsize 1\nroot \n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		c, err := ParseCommitment(b)
		if err != nil {
			return
		}
		if again := c.Marshal(); !bytes.Equal(again, b) {
			t.Fatalf("ParseCommitment(%q).Marshal() = %q", b, again)
		}
		if !IsCommitment(b) {
			t.Fatalf("ParseCommitment accepted %q, which IsCommitment refuses", b)
		}
	})
}
