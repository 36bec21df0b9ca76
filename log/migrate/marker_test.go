package migrate

import (
	"bytes"
	"testing"
)

func FuzzParseMarker(f *testing.F) {
	f.Add(marker{Origin: "example.test/log", Size: 10, Entries: 4}.format())
	f.Add(marker{Origin: "example.test/log", Size: 10, Entries: 10, Space: "digest", Key: []byte{1, 2}}.format())
	f.Add([]byte(markerHeader + "\norigin o\nsource 1 AAAA\nentries 0\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := parseMarker(b)
		if err == nil && !bytes.Equal(m.format(), b) {
			t.Fatalf("parseMarker(%q).format() = %q", b, m.format())
		}
	})
}

func TestMarkerRoundTrip(t *testing.T) {
	for _, m := range []marker{
		{Origin: "example.test/log", Size: 0},
		{Origin: "example.test/log", Size: 300, Entries: 256},
		{Origin: "example.test/log", Size: 300, Entries: 300, Space: "vindex-node", Key: []byte{0, 0xff}},
	} {
		got, err := parseMarker(m.format())
		if err != nil || !bytes.Equal(got.format(), m.format()) {
			t.Errorf("parseMarker(%q) = %+v, %v", m.format(), got, err)
		}
	}
	for _, bad := range []string{
		"",
		"origin x\n",
		markerHeader + "\norigin o\nsource 1 " + "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=" + "\nentries 2\n", // entries beyond the source
		markerHeader + "\norigin o\nsource 1 " + "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=" + "\nentries 01\n",
		markerHeader + "\norigin o\nsource 1 " + "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=" + "\nentries 1\nindex 61 \n",
	} {
		if _, err := parseMarker([]byte(bad)); err == nil {
			t.Errorf("parseMarker(%q) succeeded", bad)
		}
	}
}
