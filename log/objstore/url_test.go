package objstore_test

import (
	"errors"
	"testing"

	"github.com/attestlog/attestlog/log/objstore"
)

func TestParseURL(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want objstore.Location // zero: an error
	}{
		{"s3://tiles", objstore.Location{Bucket: "tiles"}},
		{"s3://tiles?endpoint=http://127.0.0.1:7480&archive=bins", objstore.Location{Bucket: "tiles", Endpoint: "http://127.0.0.1:7480", Archive: "bins"}},
		{"s3://tiles?endpoint=https://s3.example.org&region=eu-west-1&archive=bins&retention_days=3650",
			objstore.Location{Bucket: "tiles", Endpoint: "https://s3.example.org", Region: "eu-west-1", Archive: "bins", RetentionDays: 3650}},
		{"s3://my.log-tiles?region=us-east-2", objstore.Location{Bucket: "my.log-tiles", Region: "us-east-2"}},
		{"s3://tiles?archive=bins&endpoint=http://127.0.0.1:7480", objstore.Location{}}, // not the one spelling
		{"s3://tiles?endpoint=http%3A%2F%2F127.0.0.1%3A7480", objstore.Location{}},      // ditto
		{"s3://key:secret@tiles", objstore.Location{}},                                  // credentials
		{"s3://tiles/prefix", objstore.Location{}},                                      // a path
		{"s3://tiles?archive=tiles", objstore.Location{}},                               // one bucket for both
		{"s3://tiles?retention_days=3", objstore.Location{}},                            // retention without archive
		{"s3://tiles?archive=bins&retention_days=0", objstore.Location{}},               // zero days
		{"s3://tiles?archive=bins&retention_days=007", objstore.Location{}},             // leading zeros
		{"s3://tiles?endpoint=ftp://host", objstore.Location{}},                         // not http
		{"s3://tiles?endpoint=http://host/path", objstore.Location{}},                   // a path
		{"s3://tiles?endpoint=http://a&endpoint=http://b", objstore.Location{}},         // twice
		{"s3://tiles?bucket=x", objstore.Location{}},                                    // unknown
		{"s3://Tiles", objstore.Location{}},                                             // upper case
		{"s3://ab", objstore.Location{}},                                                // too short
		{"s3://-tiles", objstore.Location{}},                                            // leading hyphen
		{"postgres://tiles", objstore.Location{}},                                       // scheme
		{"s3://tiles#frag", objstore.Location{}},                                        // fragment
		{"s3://tiles?endpoint=", objstore.Location{}},                                   // empty value
	} {
		got, err := objstore.ParseURL(tc.in)
		if tc.want == (objstore.Location{}) {
			if err == nil || !errors.Is(err, objstore.ErrMalformedURL) {
				t.Errorf("ParseURL(%q) = %+v, %v; want ErrMalformedURL", tc.in, got, err)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("ParseURL(%q) = %+v, %v; want %+v", tc.in, got, err, tc.want)
		}
	}
}

// FuzzParseURL: ParseURL never panics, and what it accepts formats back to
// the same string.
func FuzzParseURL(f *testing.F) {
	f.Add("s3://tiles?endpoint=http://127.0.0.1:7480&region=r&archive=bins&retention_days=30")
	f.Add("s3://a.b-c?endpoint=https://h:1/&archive=x-y")
	f.Fuzz(func(t *testing.T, s string) {
		loc, err := objstore.ParseURL(s)
		if err != nil {
			return
		}
		if loc.String() != s {
			t.Fatalf("ParseURL(%q).String() = %q", s, loc.String())
		}
		if again, err := objstore.ParseURL(loc.String()); err != nil || again != loc {
			t.Fatalf("ParseURL(%q) again: %+v, %v", s, again, err)
		}
	})
}
