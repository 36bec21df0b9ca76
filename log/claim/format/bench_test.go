package format_test

import (
	"testing"

	"github.com/attestlog/attestlog/log/claim/format"
)

// Parse and map per kind, without signature verification (for which see
// log/claim/scheme's benchmarks).

func BenchmarkMapSHA256Sums(b *testing.B) {
	sums := readFile(b, testdata("guix.sigs-28.0", "noncodesigned.SHA256SUMS"))
	for b.Loop() {
		if _, err := format.MapSHA256Sums(sums); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkMapBuildinfo(b *testing.B) {
	doc := readFile(b, testdata("debian", "rust-sniffglue_0.14.0-2_amd64.buildinfo"))
	text := clearsignedText(b, doc)
	b.SetBytes(int64(len(text)))
	for b.Loop() {
		if _, err := format.MapBuildinfo(text); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkMapMinisign(b *testing.B) {
	tc := "timestamp:1718150245\tfile:zig-x86_64-linux-0.14.1.tar.xz\thashed\tsource:git+https://github.com/ziglang/zig\tcommit:0123456789abcdef0123456789abcdef01234567\tsha256:" + hexA
	for b.Loop() {
		if _, err := format.MapMinisign(tc, ""); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkMapLink(b *testing.B) {
	doc := readFile(b, testdata("rebuilderd", "spytrap-adb_0.3.5-1_amd64.link"))
	for b.Loop() {
		l, err := format.ParseLink(doc)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := format.MapLink(l); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkMapDSSE(b *testing.B) {
	payload := []byte(`{"_type":"https://in-toto.io/Statement/v1","predicateType":"https://slsa.dev/provenance/v1","subject":[{"name":"rebuild/a.tgz","digest":{"sha256":"` + hexA + `"}}],"predicate":{"buildDefinition":{"buildType":"https://docs.oss-rebuild.dev/builds/Rebuild@v0.1","externalParameters":{"artifact":"a.tgz"},"resolvedDependencies":[{"name":"git+https://github.com/a/b","digest":{"sha1":"0123456789abcdef0123456789abcdef01234567"}}]},"runDetails":{"byproducts":[{"name":"build.json","content":"e30="}]}}}`)
	for b.Loop() {
		if _, err := format.MapOSSRebuild(format.InTotoPayloadType, payload); err != nil {
			b.Fatal(err)
		}
	}
}
