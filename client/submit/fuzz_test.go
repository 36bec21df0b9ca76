package submit_test

import (
	"strings"
	"testing"

	"github.com/attestlog/attestlog/client/submit"
	"github.com/attestlog/attestlog/log/claim/scheme"
)

// FuzzParseAnnotations checks that --annotate values never panic the
// parser and that what it returns reads back the same.
func FuzzParseAnnotations(f *testing.F) {
	f.Add("source=https://github.com/bitcoin/bitcoin commit=" + strings.Repeat("ab", 20))
	f.Add("recipe=" + strings.Repeat("0", 64))
	f.Add("source=git@github.com:a/b.git")
	f.Fuzz(func(t *testing.T, s string) {
		a, err := submit.ParseAnnotations([]string{s})
		if err != nil {
			return
		}
		var parts []string
		for _, kv := range []struct{ k, v string }{{"source", a.Source}, {"commit", a.Commit}, {"recipe", a.Recipe}} {
			if kv.v != "" {
				parts = append(parts, kv.k+"="+kv.v)
			}
		}
		b, err := submit.ParseAnnotations([]string{strings.Join(parts, " ")})
		if err != nil || b != a {
			t.Fatalf("ParseAnnotations(%q) = %+v; again: %+v, %v", s, a, b, err)
		}
	})
}

// FuzzImportKeys checks that a key file of any scheme never panics the
// importer (the concatenated armored keyrings included), and that every key
// read has a canonical text that parses back to it.
func FuzzImportKeys(f *testing.F) {
	for _, s := range scheme.Schemes {
		f.Add(string(s), []byte("-----BEGIN PGP PUBLIC KEY BLOCK-----\n\n-----END PGP PUBLIC KEY BLOCK-----\n-----BEGIN PGP PUBLIC KEY BLOCK-----\n"))
	}
	f.Add("ssh", []byte("ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIKs0cW1cn5+UIyd3VaM+mSIJN0ScQkWkWX3dd3YqVR1n ci@example.org\n# comment\n"))
	f.Add("minisign", []byte("RWQf6LRCGA9i53mlYecO4IzT51TGPpvWucNSCh1CBM0QTaLn73Y7GFO3"))
	f.Add("ed25519", []byte(`{"keytype": "ed25519", "scheme": "ed25519", "keyval": {"public": "5d402bc765bcaf1344a5c919cd9a8ce629a383c2ed9652242bcb83cddf9771ec"}}`))
	f.Fuzz(func(t *testing.T, s string, b []byte) {
		vs, err := submit.ImportKeys(scheme.Scheme(s), b)
		if err != nil {
			return
		}
		for _, v := range vs {
			w, err := scheme.ParseVerifier(scheme.Format(v))
			if err != nil || w.KeyID() != v.KeyID() {
				t.Fatalf("ImportKeys(%s): key %s does not read back: %v", s, v.KeyID(), err)
			}
		}
	})
}
