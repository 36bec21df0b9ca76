package record_test

import (
	"bytes"
	"crypto/ed25519"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/mod/sumdb/note"

	"github.com/attestlog/attestlog/log/claim"
	"github.com/attestlog/attestlog/log/claim/format"
	"github.com/attestlog/attestlog/log/claim/record"
	"github.com/attestlog/attestlog/log/claim/record/recordtest"
	"github.com/attestlog/attestlog/log/claim/scheme"
)

// BenchmarkDecode measures record.Decode per kind and scheme: parse, verify
// the signature, map. It is what the log pays per AddClaim for validation
// and what a client or monitor pays per claim it re-verifies. The
// sha256sums/openpgp cases are the real guix.sigs documents of
// testdata/formats (RSA, ECDSA secp256k1, EdDSA); the others are made
// here by recordtest.
func BenchmarkDecode(b *testing.B) {
	entries := map[string][]byte{}
	guix := filepath.Join("..", "..", "..", "testdata", "formats", "guix.sigs-28.0")
	sums := readBench(b, filepath.Join(guix, "noncodesigned.SHA256SUMS"))
	for _, c := range []struct{ builder, algo string }{{"glozow", "rsa"}, {"kvaciral", "ecdsa-secp256k1"}, {"m3dwards", "eddsa"}} {
		keys, err := scheme.ReadOpenPGPKeyring(readBench(b, filepath.Join(guix, c.builder+".gpg")))
		if err != nil {
			b.Fatal(err)
		}
		entries["sha256sums/openpgp-"+c.algo] = recordtest.Encode(b, keys[0], format.Document{Kind: format.SHA256Sums, Signed: sums,
			Signature: readBench(b, filepath.Join(guix, c.builder+".noncodesigned.SHA256SUMS.asc"))})
	}
	ed := recordtest.NewEd25519(b, 1)
	entries["sha256sums/ed25519"] = ed.SumsEntry(b, sums, format.Annotations{})
	plain, _, err := scheme.ParseClearsigned(readBench(b, filepath.Join("..", "..", "..", "testdata", "formats", "debian", "rust-sniffglue_0.14.0-2_amd64.buildinfo")))
	if err != nil {
		b.Fatal(err)
	}
	entries["buildinfo/ed25519"] = recordtest.Encode(b, ed.Verifier, format.Document{Kind: format.Buildinfo, Signed: plain, Signature: ed25519.Sign(ed.Priv, plain)})
	file := []byte("zig tarball\n")
	ms := recordtest.NewMinisign(b, 2)
	entries["minisign/minisign"] = ms.Entry(b, "zig-x86_64-linux-0.14.1.tar.xz", file, true, "")
	entries["link/ed25519"] = recordtest.Encode(b, ed.Verifier, format.Document{Kind: format.Link,
		Signed: ed.Link(b, "rebuild hello_2.10-3_amd64.deb", map[string][]byte{"hello_2.10-3_amd64.buildinfo": plain}, map[string][]byte{"hello_2.10-3_amd64.deb": file})})
	ec := recordtest.NewECDSA(b, 3)
	entries["dsse/ecdsa-p256"] = recordtest.Encode(b, ec.Verifier, format.Document{Kind: format.DSSE,
		Signed: ec.OSSRebuild(b, "absl_py-2.0.0-py3-none-any.whl", file, "git+https://github.com/abseil/abseil-py", "37dad4d356ca9e13f1c533ad6309631b397a2b6b")})
	entries["dsse-slsa/note (v1)"] = v1Entry(b)

	for _, name := range []string{"dsse-slsa/note (v1)", "sha256sums/ed25519", "sha256sums/openpgp-eddsa", "sha256sums/openpgp-ecdsa-secp256k1",
		"sha256sums/openpgp-rsa", "buildinfo/ed25519", "minisign/minisign", "link/ed25519", "dsse/ecdsa-p256"} {
		e := entries[name]
		run := func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(e)))
			for b.Loop() {
				if _, err := record.Decode(e); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "decodes/s")
		}
		// Decode keeps the certificate of an OpenPGP entry parsed: the
		// first case is an entry of a certificate already kept (every
		// entry of a builder after its first), the second one as if none
		// were (a builder's first entry).
		b.Run(name, run)
		if strings.Contains(name, "openpgp") {
			record.WithoutCertCache(func() { b.Run(name+" (certificate not kept)", run) })
		}
	}
}

// v1Entry returns a v1 claim entry signed by one signed-note key.
func v1Entry(b *testing.B) []byte {
	skey, vkey, err := note.GenerateKey(bytes.NewReader(bytes.Repeat([]byte{7}, 32)), "builder.example/bench")
	if err != nil {
		b.Fatal(err)
	}
	signer, err := note.NewSigner(skey)
	if err != nil {
		b.Fatal(err)
	}
	st, err := claim.NewStatement(&claim.Claim{Source: "git+https://example.org/hello", Commit: "0123456789abcdef0123456789abcdef01234567",
		Platform: "linux/amd64", Recipe: recordtest.SHA256([]byte("go.mod")), BuilderID: "https://attestlog.dev/builders/bench",
		Subjects: []claim.Subject{{Name: "hello", SHA256: recordtest.SHA256([]byte("hello"))}}})
	if err != nil {
		b.Fatal(err)
	}
	e, err := claim.SignStatement(st, claim.Key{Signer: signer, VKey: vkey})
	if err != nil {
		b.Fatal(err)
	}
	return e.Marshal()
}

func readBench(b *testing.B, path string) []byte {
	b.Helper()
	d, err := os.ReadFile(path)
	if err != nil {
		b.Fatal(err)
	}
	return d
}

// BenchmarkDecodeOpenPGPKey measures the part of Decode that parses the
// entry's OpenPGP certificate (scheme.ParseVerifier checks that it is
// minimised, which verifies every self-signature it keeps), for the real
// guix.sigs certificates: it explains most of an OpenPGP entry's cost.
func BenchmarkDecodeOpenPGPKey(b *testing.B) {
	guix := filepath.Join("..", "..", "..", "testdata", "formats", "guix.sigs-28.0")
	for _, c := range []struct{ builder, algo string }{{"glozow", "rsa"}, {"kvaciral", "ecdsa-secp256k1"}, {"m3dwards", "eddsa"}} {
		keys, err := scheme.ReadOpenPGPKeyring(readBench(b, filepath.Join(guix, c.builder+".gpg")))
		if err != nil {
			b.Fatal(err)
		}
		text := scheme.Format(keys[0])
		b.Run(c.algo, func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(keys[0].Certificate())))
			for b.Loop() {
				if _, err := scheme.ParseVerifier(text); err != nil {
					b.Fatal(err)
				}
			}
		})
		// What Decode pays instead for a certificate it keeps.
		b.Run(c.algo+" (kept: Fresh)", func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := keys[0].Fresh(); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
