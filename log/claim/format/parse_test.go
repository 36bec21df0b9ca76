package format_test

import (
	"bytes"
	"strings"
	"testing"

	"github.com/attestlog/attestlog/log/claim/format"
	"github.com/attestlog/attestlog/log/claim/scheme"
)

const hexA = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"

func TestReleasePlatform(t *testing.T) {
	for name, want := range map[string]string{
		"bitcoin-28.0-x86_64-linux-gnu.tar.gz":            "linux/amd64",
		"bitcoin-28.0-x86_64-linux-gnu-debug.tar.gz":      "linux/amd64",
		"bitcoin-28.0-aarch64-linux-gnu.tar.gz":           "linux/arm64",
		"bitcoin-28.0-arm-linux-gnueabihf.tar.gz":         "linux/arm/v7",
		"bitcoin-28.0-powerpc64-linux-gnu.tar.gz":         "linux/ppc64",
		"bitcoin-28.0-riscv64-linux-gnu.tar.gz":           "linux/riscv64",
		"bitcoin-28.0-arm64-apple-darwin-unsigned.zip":    "darwin/arm64",
		"bitcoin-28.0-x86_64-apple-darwin.tar.gz":         "darwin/amd64",
		"bitcoin-28.0-win64-setup-unsigned.exe":           "windows/amd64",
		"bitcoin-28.0.tar.gz":                             "any",
		"zig-linux-x86_64-0.13.0.tar.xz":                  "linux/amd64",
		"zig-x86_64-linux-0.14.1.tar.xz":                  "linux/amd64",
		"zig-macos-aarch64-0.13.0.tar.xz":                 "darwin/arm64",
		"zig-windows-x86_64-0.13.0.zip":                   "windows/amd64",
		"zig-0.13.0.tar.xz":                               "any",
		"ripgrep-14.1.0-x86_64-unknown-linux-musl.tar.gz": "linux/amd64",
		"hello_2.10-3_amd64.deb":                          "", // a package, not a release: PackagePlatform
		"bitcoin-28.0-mips-linux.tar.gz":                  "", // unknown target
		"README.md":                                       "", // not a release file
		"notwin64x.tar.gz":                                "", // a target only between delimiters
		"SHA256SUMS":                                      "",
	} {
		if got := format.ReleasePlatform(name); got != want {
			t.Errorf("ReleasePlatform(%q) = %q, want %q", name, got, want)
		}
	}
	for name, want := range map[string]string{
		"hello_2.10-3_amd64.deb":                "linux/amd64",
		"hello-doc_2.10-3_all.deb":              "any",
		"libc6-udeb_2.40-3_arm64.udeb":          "linux/arm64",
		"hello-dbgsym_2.10-3_armhf.ddeb":        "linux/arm/v7",
		"hello_2.10-3_hurd-i386.deb":            "",
		"hello-2.12.1-2-x86_64.pkg.tar.zst":     "linux/amd64",
		"python-six-1.16.0-9-any.pkg.tar.zst":   "any",
		"bitcoin-28.0-aarch64-linux-gnu.tar.gz": "linux/arm64",
	} {
		if got := format.PackagePlatform(name); got != want {
			t.Errorf("PackagePlatform(%q) = %q, want %q", name, got, want)
		}
	}
}

func TestParseSHA256Sums(t *testing.T) {
	good := hexA + "  a.tar.gz\n" + strings.Repeat("b", 64) + " *b.zip\n"
	lines, err := format.ParseSHA256Sums([]byte(good))
	if err != nil || len(lines) != 2 || !lines[1].Binary || lines[1].Name != "b.zip" {
		t.Fatalf("ParseSHA256Sums(good) = %+v, %v", lines, err)
	}
	for _, tc := range []struct{ desc, in, want string }{
		{"empty", "", "empty"},
		{"no final newline", hexA + "  a", "newline"},
		{"uppercase hex", strings.ToUpper(hexA) + "  a\n", "line 1"},
		{"short hex", hexA[:63] + "  a\n", "line 1"},
		{"one space", hexA + " a\n", "line 1"},
		{"tab", hexA + "\ta\n", "line 1"},
		{"escaped name", `\` + hexA + "  a\\nb\n", "line 1"},
		{"BSD tag", "SHA256 (a) = " + hexA + "\n", "line 1"},
		{"blank line", hexA + "  a\n\n", "line 2"},
		{"duplicate", hexA + "  a\n" + hexA + " *a\n", "listed twice"},
		{"path", hexA + "  dir/a\n", "not a file basename"},
		{"dot dot", hexA + "  ..\n", "not a file basename"},
		{"control", hexA + "  a\x1b[2Jb\n", "U+001B"},
		{"bidi", hexA + "  a\u202eb\n", "U+202E"},
		{"carriage return", hexA + "  a\r\n", "U+000D"},
		{"invalid UTF-8", hexA + "  a\xff\n", "UTF-8"},
	} {
		_, err := format.ParseSHA256Sums([]byte(tc.in))
		wantMalformed(t, tc.desc, err, tc.want)
	}
}

func TestParseDeb822(t *testing.T) {
	good := "A: b\nLong:\n one\n  two\n .\n\nC: d\n"
	paras, err := format.ParseDeb822([]byte(good))
	if err != nil || len(paras) != 2 || !bytes.Equal(format.FormatDeb822(paras), []byte(good)) {
		t.Fatalf("ParseDeb822(good) = %+v, %v", paras, err)
	}
	if f, ok := paras[0].Get("long"); !ok || len(f.Lines) != 3 || f.Lines[1] != " two" {
		t.Fatalf("Get(long) = %+v", f)
	}
	for _, tc := range []struct{ desc, in, want string }{
		{"no newline", "A: b", "newline"},
		{"no space", "A:b\n", "one space"},
		{"two spaces", "A:  b\n", "one space"},
		{"trailing space", "A: b \n", "trailing space"},
		{"tab", "A: b\n\tc\n", "control character"},
		{"CR", "A: b\r\n", "control character"},
		{"leading blank", "\nA: b\n", "blank line"},
		{"two blanks", "A: b\n\n\nC: d\n", "blank line"},
		{"trailing blank", "A: b\n\n", "blank line at the end"},
		{"space-only line", "A: b\n \n", "trailing space"},
		{"continuation first", " b\n", "continuation line outside"},
		{"comment", "# c\nA: b\n", "is not"},
		{"duplicate", "A: b\na: c\n", "appears twice"},
		{"no colon", "A b\n", "is not"},
	} {
		_, err := format.ParseDeb822([]byte(tc.in))
		wantMalformed(t, tc.desc, err, tc.want)
	}
}

// minimalBuildinfo is a buildinfo with only the fields attestlog reads.
const minimalBuildinfo = `Format: 1.0
Source: hello
Binary: hello
Architecture: amd64 all
Version: 2.10-3
Checksums-Sha256:
 ` + hexA + ` 1183 hello_2.10-3.dsc
 bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb 53324 hello_2.10-3_amd64.deb
 cccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccc 100 hello-doc_2.10-3_all.deb
Build-Architecture: amd64
Installed-Build-Depends:
 zlib1g (= 1:1.3.dfsg-1),
 autoconf (= 2.72-3)
Environment:
 LANG="C.UTF-8"
 DEB_BUILD_OPTIONS="parallel=8"
`

func TestMapBuildinfo(t *testing.T) {
	c, err := format.MapBuildinfo([]byte(minimalBuildinfo))
	if err != nil {
		t.Fatal(err)
	}
	if c.Source != "deb:hello@2.10-3" || c.SourceDigest != hexA || len(c.Subjects) != 2 || c.Subjects[1].Platform != "any" || c.Subjects[0].Platform != "linux/amd64" {
		t.Fatalf("claim %+v", c)
	}
	d, _ := format.ParseBuildinfo([]byte(minimalBuildinfo))
	wantForm := "Build-Architecture: amd64\nInstalled-Build-Depends:\n autoconf (= 2.72-3)\n zlib1g (= 1:1.3.dfsg-1)\nEnvironment:\n DEB_BUILD_OPTIONS=\"parallel=8\"\n LANG=\"C.UTF-8\"\n"
	if got := string(d.RecipeForm()); got != wantForm {
		t.Fatalf("RecipeForm:\n%s\nwant\n%s", got, wantForm)
	}
	// The recipe does not depend on line wrapping or order, only on the set.
	rewrapped := strings.Replace(minimalBuildinfo, " zlib1g (= 1:1.3.dfsg-1),\n autoconf (= 2.72-3)", " autoconf (= 2.72-3), zlib1g (= 1:1.3.dfsg-1)", 1)
	if c2, err := format.MapBuildinfo([]byte(rewrapped)); err != nil || c2.Recipe != c.Recipe {
		t.Fatalf("rewrapped: %v, recipe %s, want %s", err, c2.Recipe, c.Recipe)
	}
	changed := strings.Replace(minimalBuildinfo, "2.72-3)", "2.72-4)", 1)
	if c2, err := format.MapBuildinfo([]byte(changed)); err != nil || c2.Recipe == c.Recipe {
		t.Fatalf("another dependency version gave the same recipe: %v", err)
	}
	for _, tc := range []struct{ desc, old, new, want string }{
		{"format", "Format: 1.0", "Format: 2.0", "Format"},
		{"source with bad version", "Source: hello", "Source: hello (x y)", "Source"},
		{"source name", "Source: hello", "Source: Hello", "not a Debian source package name"},
		{"version", "Version: 2.10-3", "Version: 2.10 3", "Version"},
		{"no checksums", "Checksums-Sha256:", "Checksums-Sha1:", "Checksums-Sha256"},
		{"bad checksum line", " bbbbbbbb", " Bbbbbbbb", "Checksums-Sha256 line 2"},
		{"duplicate file", "hello-doc_2.10-3_all.deb", "hello_2.10-3_amd64.deb", "listed twice"},
		{"arch not listed", "Architecture: amd64 all", "Architecture: amd64", "does not list"},
		{"no build depends", "Installed-Build-Depends:", "Installed-Build-Conflicts:", "Installed-Build-Depends"},
		{"unpinned dependency", "autoconf (= 2.72-3)", "autoconf (>= 2.72-3)", "entry 2"},
		{"duplicate dependency", "autoconf (= 2.72-3)", "zlib1g (= 2.72-3)", "listed twice"},
		{"environment", `LANG="C.UTF-8"`, `LANG`, "Environment line 1"},
		{"environment twice", `LANG="C.UTF-8"`, `DEB_BUILD_OPTIONS="x"`, "set twice"},
		{"two paragraphs", "Format: 1.0\n", "Format: 1.0\n\nX: y\n", "paragraphs"},
	} {
		_, err := format.MapBuildinfo([]byte(strings.Replace(minimalBuildinfo, tc.old, tc.new, 1)))
		wantMalformed(t, tc.desc, err, tc.want)
	}
	onlyDsc := strings.Replace(minimalBuildinfo, " bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb 53324 hello_2.10-3_amd64.deb\n cccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccc 100 hello-doc_2.10-3_all.deb\n", "", 1)
	_, err = format.MapBuildinfo([]byte(onlyDsc))
	wantMalformed(t, "source-only", err, "source-only")
}

func TestTrustedComment(t *testing.T) {
	const commit = "0123456789abcdef0123456789abcdef01234567"
	for _, s := range []string{
		"timestamp:1555779966\tfile:test",
		"timestamp:1784230084\tfile:test-data.json\thashed",
		"file:zig-0.13.0.tar.xz\tsource:git+https://github.com/ziglang/zig\tcommit:" + commit + "\trecipe:" + hexA + "\tplatform:any\tsha256:" + hexA,
	} {
		tc, err := format.ParseTrustedComment(s)
		if err != nil || format.FormatTrustedComment(tc) != s {
			t.Fatalf("ParseTrustedComment(%q) = %+v, %v", s, tc, err)
		}
	}
	for _, tc := range []struct{ desc, in, want string }{
		{"empty", "", "empty"},
		{"free text", "release 1.0", "not key:value"},
		{"unknown key", "file:a\tauthor:me", "unknown key"},
		{"twice", "file:a\tfile:b", "appears twice"},
		{"empty value", "file:", "empty value"},
		{"hashed with value", "hashed:yes", "takes no value"},
		{"timestamp", "timestamp:-1", "Unix time"},
		{"file path", "file:../a", "not a file basename"},
		{"source not normal", "source:git+https://GitHub.com/a/b.git", "not in normal form"},
		{"source with ref", "source:git+https://github.com/a/b@v1", "@ref"},
		{"short commit", "commit:abc", "not a full commit hash"},
		{"upper commit", "commit:" + strings.ToUpper(commit), "not in normal form"},
		{"sha256", "sha256:" + hexA[:10], "64 lowercase hex"},
		{"platform", "platform:Linux/AMD64", "os/arch"},
		{"double tab", "file:a\t\tsha256:" + hexA, "not key:value"},
	} {
		_, err := format.ParseTrustedComment(tc.in)
		wantMalformed(t, tc.desc, err, tc.want)
	}
	// platform: overrides the file name's.
	c, err := format.MapMinisign("file:zig-0.13.0.tar.xz\tplatform:linux/amd64\tsha256:"+hexA, "")
	if err != nil || c.Subjects[0].Platform != "linux/amd64" {
		t.Fatalf("MapMinisign: %+v, %v", c, err)
	}
	_, err = format.MapMinisign("file:a", "ABC")
	wantError(t, "bad file digest", err, "64 lowercase hex")
	_, err = format.MapMinisign("timestamp:1", hexA)
	wantMalformed(t, "no file", err, "no file: field")
}

func TestCanonicalJSON(t *testing.T) {
	for in, want := range map[string]string{
		`{"b": 1, "a": [true, false, null, "x"]}`: `{"a":[true,false,null,"x"],"b":1}`,
		`"\u0041\"\\\/\n"`:                        "\"A\\\"\\\\/\n\"",
		`{"é": 1, "z": 2, "A": 3}`:                `{"A":3,"z":2,"é":1}`,
		`-12`:                                     `-12`,
	} {
		got, err := format.CanonicalJSON([]byte(in))
		if err != nil || string(got) != want {
			t.Errorf("CanonicalJSON(%s) = %s, %v; want %s", in, got, err, want)
		}
	}
	for in, want := range map[string]string{
		`1.5`:           "not an integer",
		`1e3`:           "not an integer",
		`-0`:            "not an integer",
		`{"a":1,"a":2}`: "appears twice",
		"\"\xff\"":      "UTF-8",
		`{"a":1} {}`:    "after the JSON value",
		`{"a":}`:        "invalid JSON",
		strings.Repeat("[", 40) + strings.Repeat("]", 40): "too deep",
	} {
		_, err := format.CanonicalJSON([]byte(in))
		wantError(t, in, err, want)
	}
}

func TestSupplied(t *testing.T) {
	sums := []byte(hexA + "  hello-1.0.tar.gz\n")
	c, err := format.MapSHA256Sums(sums)
	if err != nil {
		t.Fatal(err)
	}
	if got := c.Signed(); len(got) != 2 || got[0] != format.FieldPlatform || got[1] != format.FieldSubjects {
		t.Fatalf("Signed() = %v", got)
	}
	bi, err := format.MapBuildinfo([]byte(minimalBuildinfo))
	if err != nil {
		t.Fatal(err)
	}
	if got := bi.Signed(); len(got) != 5 || got[0] != format.FieldSource || got[1] != format.FieldSourceDigest {
		t.Fatalf("buildinfo Signed() = %v", got)
	}
}

func TestParseKind(t *testing.T) {
	for _, k := range format.Kinds {
		if got, err := format.ParseKind(string(k)); err != nil || got != k {
			t.Fatalf("ParseKind(%q) = %q, %v", k, got, err)
		}
	}
	_, err := format.ParseKind("rpm")
	wantError(t, "unknown kind", err, "unknown format", "sha256sums")
}

func TestOpenArguments(t *testing.T) {
	key, err := scheme.ParseEd25519Key(strings.Repeat("ab", 32))
	if err != nil {
		t.Fatal(err)
	}
	_, err = format.Open(key, format.Document{Kind: "rpm", Signed: []byte("x")})
	wantError(t, "unknown kind", err, "unknown format")
	_, err = format.Open(key, format.Document{Kind: format.SHA256Sums, Signed: []byte(hexA + "  a\n"), Signature: []byte("s"), File: []byte("f")})
	wantError(t, "a file with a SHA256SUMS", err, "only with a minisign signature")
	_, err = format.Open(key, format.Document{Kind: format.Minisign, Signature: []byte("s")})
	wantError(t, "minisign with an ed25519 key", err, "not minisign")
	_, err = format.Open(key, format.Document{Kind: format.Link, Signed: []byte("{}"), Signature: []byte("s")})
	wantError(t, "a detached signature with a link", err, "carries its signature")
}
