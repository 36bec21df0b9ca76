package format

import (
	"regexp"
	"strings"
)

// releaseTargets maps target names as they appear in release file names to
// platforms; the package doc prints this table. A name matches a target
// when the target appears in it delimited by "-", "_" or "." (or the start
// or end of the name); the longest matching target wins, so
// "x86_64-apple-darwin" is not read as some shorter target.
var releaseTargets = []struct{ target, platform string }{
	// GNU triplets, as Bitcoin Core's guix builds name them.
	{"x86_64-linux-gnu", "linux/amd64"},
	{"aarch64-linux-gnu", "linux/arm64"},
	{"arm-linux-gnueabihf", "linux/arm/v7"},
	{"i686-linux-gnu", "linux/386"},
	{"powerpc64-linux-gnu", "linux/ppc64"},
	{"powerpc64le-linux-gnu", "linux/ppc64le"},
	{"riscv64-linux-gnu", "linux/riscv64"},
	{"s390x-linux-gnu", "linux/s390x"},
	{"x86_64-linux-musl", "linux/amd64"},
	{"aarch64-linux-musl", "linux/arm64"},
	{"x86_64-unknown-linux-gnu", "linux/amd64"},
	{"x86_64-unknown-linux-musl", "linux/amd64"},
	{"aarch64-unknown-linux-gnu", "linux/arm64"},
	{"aarch64-unknown-linux-musl", "linux/arm64"},
	{"x86_64-apple-darwin", "darwin/amd64"},
	{"arm64-apple-darwin", "darwin/arm64"},
	{"aarch64-apple-darwin", "darwin/arm64"},
	{"x86_64-w64-mingw32", "windows/amd64"},
	{"x86_64-pc-windows-msvc", "windows/amd64"},
	{"aarch64-pc-windows-msvc", "windows/arm64"},
	{"win64", "windows/amd64"},
	{"win32", "windows/386"},
	// Zig's release names: os-arch (up to 0.14) and arch-os (from 0.14.1).
	{"linux-x86_64", "linux/amd64"},
	{"x86_64-linux", "linux/amd64"},
	{"linux-aarch64", "linux/arm64"},
	{"aarch64-linux", "linux/arm64"},
	{"linux-riscv64", "linux/riscv64"},
	{"riscv64-linux", "linux/riscv64"},
	{"macos-x86_64", "darwin/amd64"},
	{"x86_64-macos", "darwin/amd64"},
	{"macos-aarch64", "darwin/arm64"},
	{"aarch64-macos", "darwin/arm64"},
	{"windows-x86_64", "windows/amd64"},
	{"x86_64-windows", "windows/amd64"},
	{"windows-aarch64", "windows/arm64"},
	{"aarch64-windows", "windows/arm64"},
	{"freebsd-x86_64", "freebsd/amd64"},
	{"x86_64-freebsd", "freebsd/amd64"},
}

// sourceTarballRE matches "<name>-<version>.<archive>" where the version
// starts with a digit: a source release, platform "any", when no target
// matched.
var sourceTarballRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._+]*(-[A-Za-z][A-Za-z0-9._+]*)*-[0-9][A-Za-z0-9.+~]*\.(tar\.gz|tar\.xz|tar\.bz2|tar\.zst|tgz|zip)$`)

// ReleasePlatform returns the platform of a release file from its name, by
// the table in the package doc, or "" if the name names no target it knows
// and is not a source tarball.
func ReleasePlatform(name string) string {
	best, platform := 0, ""
	for _, t := range releaseTargets {
		if len(t.target) > best && containsToken(name, t.target) {
			best, platform = len(t.target), t.platform
		}
	}
	if platform != "" {
		return platform
	}
	if sourceTarballRE.MatchString(name) {
		return "any"
	}
	return ""
}

// containsToken reports whether tok occurs in s with a delimiter ("-", "_",
// ".") or the end of s on both sides.
func containsToken(s, tok string) bool {
	for i := 0; ; {
		j := strings.Index(s[i:], tok)
		if j < 0 {
			return false
		}
		j += i
		end := j + len(tok)
		if (j == 0 || isDelim(s[j-1])) && (end == len(s) || isDelim(s[end])) {
			return true
		}
		i = j + 1
	}
}

func isDelim(c byte) bool { return c == '-' || c == '_' || c == '.' }

// debianArchs maps Debian architecture names to platforms; "all" is any.
var debianArchs = map[string]string{
	"all":      "any",
	"amd64":    "linux/amd64",
	"arm64":    "linux/arm64",
	"armhf":    "linux/arm/v7",
	"armel":    "linux/arm/v5",
	"i386":     "linux/386",
	"ppc64el":  "linux/ppc64le",
	"ppc64":    "linux/ppc64",
	"s390x":    "linux/s390x",
	"riscv64":  "linux/riscv64",
	"mips64el": "linux/mips64le",
	"loong64":  "linux/loong64",
}

// DebianPlatform returns the platform of a Debian architecture name, or ""
// if it is not in the package doc's table.
func DebianPlatform(arch string) string { return debianArchs[arch] }

// debFileRE matches a Debian binary package file name
// "<package>_<version without epoch>_<arch>.deb" (also .udeb, .ddeb).
var debFileRE = regexp.MustCompile(`^([a-z0-9][a-z0-9+.-]+)_([A-Za-z0-9.+~-]+)_([a-z0-9-]+)\.(deb|udeb|ddeb)$`)

// archFileRE matches an Arch Linux package file name
// "<name>-<pkgver>-<pkgrel>-<arch>.pkg.tar[.<compression>]".
var archFileRE = regexp.MustCompile(`^.+-[^-]+-[^-]+-(x86_64|aarch64|any|i686|riscv64)\.pkg\.tar(\.(zst|xz|gz|bz2))?$`)

var archLinuxArchs = map[string]string{
	"any":     "any",
	"x86_64":  "linux/amd64",
	"aarch64": "linux/arm64",
	"i686":    "linux/386",
	"riscv64": "linux/riscv64",
}

// PackagePlatform returns the platform of a distribution package from its
// file name: a Debian .deb, .udeb or .ddeb by its architecture suffix, an
// Arch Linux .pkg.tar.* by its, or else by [ReleasePlatform].
func PackagePlatform(name string) string {
	if m := debFileRE.FindStringSubmatch(name); m != nil {
		return DebianPlatform(m[3])
	}
	if m := archFileRE.FindStringSubmatch(name); m != nil {
		return archLinuxArchs[m[1]]
	}
	return ReleasePlatform(name)
}
