package format_test

import (
	"bytes"
	"encoding/json"
	"os"
	"reflect"
	"testing"

	"github.com/attestlog/attestlog/log/claim/format"
)

// seeds adds the real documents kept in testdata/formats to f's corpus.
func seeds(f *testing.F, paths ...[]string) {
	for _, p := range paths {
		b, err := os.ReadFile(testdata(p...))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
}

func FuzzParseSHA256Sums(f *testing.F) {
	seeds(f, []string{"guix.sigs-28.0", "noncodesigned.SHA256SUMS"})
	f.Add([]byte(hexA + " *a\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		lines, err := format.ParseSHA256Sums(b)
		if err != nil {
			return
		}
		if got := format.FormatSHA256Sums(lines); !bytes.Equal(got, b) {
			t.Fatalf("FormatSHA256Sums(ParseSHA256Sums(%q)) = %q", b, got)
		}
		if _, err := format.MapSHA256Sums(b); err != nil {
			t.Fatalf("MapSHA256Sums refuses what ParseSHA256Sums accepts: %v", err)
		}
	})
}

func FuzzParseDeb822(f *testing.F) {
	seeds(f, []string{"in-toto", "hello_2.10-3_amd64.buildinfo"})
	f.Add([]byte(minimalBuildinfo))
	f.Add([]byte("A: b\nLong:\n one\n .\n\nC: d\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		paras, err := format.ParseDeb822(b)
		if err != nil {
			return
		}
		if got := format.FormatDeb822(paras); !bytes.Equal(got, b) {
			t.Fatalf("FormatDeb822(ParseDeb822(%q)) = %q", b, got)
		}
	})
}

func FuzzMapBuildinfo(f *testing.F) {
	f.Add([]byte(minimalBuildinfo))
	f.Fuzz(func(t *testing.T, b []byte) {
		c, err := format.MapBuildinfo(b)
		if err != nil {
			return
		}
		if c.DigestOnly() || len(c.Subjects) == 0 || len(c.Recipe) != 64 {
			t.Fatalf("MapBuildinfo(%q) = %+v", b, c)
		}
	})
}

func FuzzParseTrustedComment(f *testing.F) {
	f.Add("timestamp:1784230084\tfile:test-data.json\thashed")
	f.Add("file:a\tsource:git+https://example.org/a\tcommit:0123456789abcdef0123456789abcdef01234567\tsha256:" + hexA)
	f.Fuzz(func(t *testing.T, s string) {
		tc, err := format.ParseTrustedComment(s)
		if err != nil {
			return
		}
		if got := format.FormatTrustedComment(tc); got != s {
			t.Fatalf("FormatTrustedComment(ParseTrustedComment(%q)) = %q", s, got)
		}
		format.MapMinisign(s, hexA)
	})
}

func FuzzCanonicalJSON(f *testing.F) {
	seeds(f, []string{"canonicaljson", "canonical-input.json"}, []string{"rebuilderd", "spytrap-adb_0.3.5-1_amd64.link"})
	f.Fuzz(func(t *testing.T, b []byte) {
		c, err := format.CanonicalJSON(b)
		if err != nil {
			return
		}
		// Canonical JSON writes control characters raw, which JSON does
		// not allow; otherwise the canonical form is JSON with the same
		// value, and a fixed point.
		c2, err := format.CanonicalJSON(c)
		if err != nil {
			if !bytes.ContainsFunc(c, func(r rune) bool { return r < 0x20 }) {
				t.Fatalf("CanonicalJSON(%q) = %q, which does not parse: %v", b, c, err)
			}
			return
		}
		var v1, v2 any
		if !bytes.Equal(c, c2) || json.Unmarshal(b, &v1) != nil || json.Unmarshal(c, &v2) != nil || !reflect.DeepEqual(v1, v2) {
			t.Fatalf("CanonicalJSON(%q) = %q, whose canonical form is %q", b, c, c2)
		}
	})
}

func FuzzParseLink(f *testing.F) {
	seeds(f, []string{"rebuilderd", "spytrap-adb_0.3.5-1_amd64.link"}, []string{"in-toto", "rebuild-hello_2.10-3_amd64.deb.3e501b56.link"})
	f.Fuzz(func(t *testing.T, b []byte) {
		l, err := format.ParseLink(b)
		if err != nil {
			return
		}
		format.MapLink(l)
		// Canonical JSON writes control characters raw (as in-toto's
		// does, so that signatures over it verify), which JSON does not
		// allow: such a form does not parse back.
		c := l.Canonical()
		l2, err := format.ParseLink(c)
		if err != nil && bytes.ContainsFunc(c, func(r rune) bool { return r < 0x20 }) {
			return
		}
		if err != nil || !bytes.Equal(l2.SignedBytes(), l.SignedBytes()) || !bytes.Equal(l2.Canonical(), c) {
			t.Fatalf("the canonical form of link %q does not parse back the same: %v", b, err)
		}
	})
}

func FuzzParseEnvelope(f *testing.F) {
	f.Add([]byte(`{"payloadType":"application/vnd.in-toto+json","payload":"e30=","signatures":[{"keyid":"k","sig":"AAAA"}]}`))
	// The two envelopes of the real OSS Rebuild bundle.
	for line := range bytes.Lines(readFile(f, testdata("oss-rebuild", "chalk-5.6.0.tgz.rebuild.intoto.jsonl"))) {
		f.Add(bytes.TrimSuffix(line, []byte("\n")))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		e, err := format.ParseEnvelope(b)
		if err != nil {
			return
		}
		if len(e.Payload) == 0 || len(e.Signatures) == 0 {
			t.Fatalf("ParseEnvelope(%q) = %+v", b, e)
		}
		format.MapOSSRebuild(e.PayloadType, e.Payload)
	})
}

func FuzzMapOSSRebuild(f *testing.F) {
	f.Add([]byte(`{"_type":"https://in-toto.io/Statement/v1","predicateType":"https://slsa.dev/provenance/v1","subject":[{"name":"rebuild/a.tgz","digest":{"sha256":"` + hexA + `"}}],"predicate":{"buildDefinition":{"buildType":"https://docs.oss-rebuild.dev/builds/Rebuild@v0.1","externalParameters":{"artifact":"a.tgz"},"resolvedDependencies":[{"name":"git+https://github.com/a/b","digest":{"sha1":"0123456789abcdef0123456789abcdef01234567"}}]},"runDetails":{"byproducts":[{"name":"build.json","content":"e30="}]}}}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		c, err := format.MapOSSRebuild(format.InTotoPayloadType, b)
		if err != nil {
			return
		}
		if c.DigestOnly() || len(c.Subjects) != 1 {
			t.Fatalf("MapOSSRebuild(%q) = %+v", b, c)
		}
	})
}
