package pgstore

import (
	"bytes"
	"net/url"
	"strconv"
	"strings"
	"testing"
)

// FuzzPrefixEnd checks the range condition IndexScan uses instead of LIKE:
// a key has the prefix exactly when prefix <= key < prefixEnd(prefix),
// bytewise, as PostgreSQL compares bytea.
func FuzzPrefixEnd(f *testing.F) {
	f.Add([]byte{0x01, 0xff}, []byte{0x02})
	f.Add([]byte{0xff, 0xff}, []byte{0xff, 0xff, 0x00})
	f.Add([]byte{}, []byte{0x00})
	f.Add([]byte{0x01, 0xfe, 0xff}, []byte{0x01, 0xff})
	f.Fuzz(func(t *testing.T, prefix, key []byte) {
		end := prefixEnd(prefix)
		in := bytes.Compare(key, prefix) >= 0 && (end == nil || bytes.Compare(key, end) < 0)
		if in != bytes.HasPrefix(key, prefix) {
			t.Fatalf("prefix %x, key %x: range [%x, %x) says %v", prefix, key, prefix, end, in)
		}
	})
}

// FuzzRedact checks that Redact never panics and never shows a password
// given in the URL's user information or its query.
func FuzzRedact(f *testing.F) {
	f.Add("postgres://u:secret@h:5432/db?sslmode=disable")
	f.Add("postgres://h/db?password=secret&sslpassword=other")
	f.Add("postgresql://u@%zz/db")
	f.Fuzz(func(t *testing.T, u string) {
		r := Redact(u)
		if _, err := url.Parse(u); err != nil {
			return
		}
		rp, err := url.Parse(r)
		if err != nil {
			t.Fatalf("Redact(%q) = %q, which does not parse: %v", u, r, err)
		}
		if _, ok := rp.User.Password(); ok {
			t.Fatalf("Redact(%q) = %q keeps a password", u, r)
		}
		for k, vs := range rp.Query() {
			for _, v := range vs {
				if strings.Contains(strings.ToLower(k), "password") && v != "xxxxx" {
					t.Fatalf("Redact(%q) = %q keeps %s", u, r, k)
				}
			}
		}
	})
}

// FuzzNoteSize checks that noteSize never panics, and that the size it
// returns is the second line exactly, in its only spelling, as the SQL
// swap of SetWitnessed reads it back.
func FuzzNoteSize(f *testing.F) {
	f.Add([]byte("example.com/log\n42\nAAAA\n\n— example.com/log sig\n"))
	f.Add([]byte("o\n007\n"))
	f.Add([]byte("o\n-1\n"))
	f.Add([]byte("o\n9223372036854775807\n"))
	f.Fuzz(func(t *testing.T, note []byte) {
		size, err := noteSize(note)
		if err != nil {
			return
		}
		if line := strings.SplitN(string(note), "\n", 3)[1]; line != strconv.FormatInt(size, 10) || size < 0 {
			t.Fatalf("noteSize(%q) = %d, second line %q", note, size, line)
		}
	})
}
