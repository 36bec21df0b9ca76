package format

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"regexp"
	"slices"
	"strings"
)

// A BuildinfoDoc is the part of a Debian .buildinfo (deb-buildinfo(5))
// that attestlog reads.
type BuildinfoDoc struct {
	Source        string   // source package name
	SourceVersion string   // the version in parentheses after Source, if any (binNMUs)
	Version       string   // the Version field: the version of what was built
	Architecture  []string // the Architecture field, split on spaces
	BuildArch     string   // Build-Architecture
	Binary        []string // the Binary field, split on spaces, if present
	Checksums     []BuildinfoFile
	BuildDepends  []string // Installed-Build-Depends, one "package (= version)" each, in document order
	Environment   []string // Environment, one line each, in document order
}

// A BuildinfoFile is one line of Checksums-Sha256.
type BuildinfoFile struct {
	SHA256 string
	Size   int64
	Name   string
}

var (
	debSourceRE  = regexp.MustCompile(`^[a-z0-9][a-z0-9+.-]+$`)
	debVersionRE = regexp.MustCompile(`^([0-9]+:)?[0-9A-Za-z][0-9A-Za-z.+~-]*$`)
	debArchRE    = regexp.MustCompile(`^[a-z0-9][a-z0-9-]*$`)
	debDependRE  = regexp.MustCompile(`^[a-z0-9][a-z0-9+.-]+(:[a-z0-9-]+)? \(= ([0-9]+:)?[0-9A-Za-z][0-9A-Za-z.+~:-]*\)$`)
	sizeRE       = regexp.MustCompile(`^(0|[1-9][0-9]{0,17})$`)
)

// ParseBuildinfo parses the text of a .buildinfo file (clearsigned ones
// through [scheme.ParseClearsigned] first, see [ParseDeb822]) with
// [ParseDeb822] and checks the fields attestlog maps: exactly one
// paragraph; Format "1.0"; Source "<name>" or "<name> (<version>)";
// Version; Architecture (architecture names and "source"); a single
// Build-Architecture; Checksums-Sha256 with lines
// "<64 lowercase hex> <size> <file basename>", each file once and at most one
// .dsc; Installed-Build-Depends with entries "<package>[:<arch>] (= <version>)"
// separated by ",", each once; Environment lines, each "NAME=..." with NAME
// once. Other fields are allowed and ignored.
func ParseBuildinfo(text []byte) (*BuildinfoDoc, error) {
	paras, err := ParseDeb822(text)
	if err != nil {
		return nil, err
	}
	if len(paras) != 1 {
		return nil, malformed("buildinfo", "%d paragraphs, want 1", len(paras))
	}
	p := paras[0]
	one := func(name string) (string, error) {
		f, ok := p.Get(name)
		switch {
		case !ok:
			return "", malformed("buildinfo", "no %s field", name)
		case f.Value == "" || len(f.Lines) > 0:
			return "", malformed("buildinfo", "%s: want a one-line value", name)
		}
		return f.Value, nil
	}
	d := &BuildinfoDoc{}
	if v, err := one("Format"); err != nil {
		return nil, err
	} else if v != "1.0" {
		return nil, malformed("buildinfo", "Format %q, want 1.0", truncate(v))
	}
	src, err := one("Source")
	if err != nil {
		return nil, err
	}
	name, ver, hasVer := strings.Cut(src, " ")
	if hasVer {
		v, ok := strings.CutPrefix(ver, "(")
		v, ok2 := strings.CutSuffix(v, ")")
		if !ok || !ok2 || !debVersionRE.MatchString(v) {
			return nil, malformed("buildinfo", "Source %q is not \"<name>\" or \"<name> (<version>)\"", truncate(src))
		}
		d.SourceVersion = v
	}
	if !debSourceRE.MatchString(name) {
		return nil, malformed("buildinfo", "Source: %q is not a Debian source package name", truncate(name))
	}
	d.Source = name
	if d.Version, err = one("Version"); err != nil {
		return nil, err
	}
	if !debVersionRE.MatchString(d.Version) {
		return nil, malformed("buildinfo", "Version %q is not a Debian version", truncate(d.Version))
	}
	arch, err := one("Architecture")
	if err != nil {
		return nil, err
	}
	d.Architecture = strings.Split(arch, " ")
	for _, a := range d.Architecture {
		if !debArchRE.MatchString(a) {
			return nil, malformed("buildinfo", "Architecture %q: %q is not an architecture name", truncate(arch), truncate(a))
		}
	}
	if d.BuildArch, err = one("Build-Architecture"); err != nil {
		return nil, err
	}
	if !debArchRE.MatchString(d.BuildArch) {
		return nil, malformed("buildinfo", "Build-Architecture %q is not an architecture name", truncate(d.BuildArch))
	}
	if f, ok := p.Get("Binary"); ok {
		if len(f.Lines) > 0 || f.Value == "" {
			return nil, malformed("buildinfo", "Binary: want a one-line value")
		}
		d.Binary = strings.Split(f.Value, " ")
	}
	if d.Checksums, err = parseChecksums(p); err != nil {
		return nil, err
	}
	if d.BuildDepends, err = parseBuildDepends(p); err != nil {
		return nil, err
	}
	if d.Environment, err = parseEnvironment(p); err != nil {
		return nil, err
	}
	return d, nil
}

func parseChecksums(p Paragraph) ([]BuildinfoFile, error) {
	f, ok := p.Get("Checksums-Sha256")
	if !ok || f.Value != "" || len(f.Lines) == 0 {
		return nil, malformed("buildinfo", "Checksums-Sha256: want the field with one continuation line per file")
	}
	var files []BuildinfoFile
	seen := map[string]bool{}
	dsc := false
	for i, l := range f.Lines {
		what := fmt.Sprintf("buildinfo: Checksums-Sha256 line %d", i+1)
		parts := strings.Split(l, " ")
		if len(parts) != 3 || len(parts[0]) != 64 || !isLowerHex(parts[0]) || !sizeRE.MatchString(parts[1]) {
			return nil, malformed(what, "%q is not \"<64 lowercase hex> <size> <file>\"", truncate(l))
		}
		var size int64
		fmt.Sscan(parts[1], &size) // sizeRE admits only what fits
		if err := checkName(parts[2]); err != nil {
			return nil, malformed(what, "%v", err)
		}
		if seen[parts[2]] {
			return nil, malformed(what, "file %q is listed twice", parts[2])
		}
		seen[parts[2]] = true
		if strings.HasSuffix(parts[2], ".dsc") {
			if dsc {
				return nil, malformed(what, "a second .dsc file %q", parts[2])
			}
			dsc = true
		}
		files = append(files, BuildinfoFile{SHA256: parts[0], Size: size, Name: parts[2]})
	}
	return files, nil
}

func parseBuildDepends(p Paragraph) ([]string, error) {
	f, ok := p.Get("Installed-Build-Depends")
	if !ok {
		return nil, malformed("buildinfo", "no Installed-Build-Depends field: without it the build environment is not fixed")
	}
	all := strings.Join(append([]string{f.Value}, f.Lines...), " ")
	var deps []string
	seen := map[string]bool{}
	for i, d := range strings.Split(all, ",") {
		d = strings.TrimSpace(d)
		if !debDependRE.MatchString(d) {
			return nil, malformed("buildinfo", "Installed-Build-Depends entry %d: %q is not \"<package>[:<arch>] (= <version>)\"", i+1, truncate(d))
		}
		pkg, _, _ := strings.Cut(d, " ")
		if seen[pkg] {
			return nil, malformed("buildinfo", "Installed-Build-Depends: %s listed twice", pkg)
		}
		seen[pkg] = true
		deps = append(deps, d)
	}
	return deps, nil
}

func parseEnvironment(p Paragraph) ([]string, error) {
	f, ok := p.Get("Environment")
	if !ok {
		return nil, nil
	}
	if f.Value != "" {
		return nil, malformed("buildinfo", "Environment: want one continuation line per variable")
	}
	seen := map[string]bool{}
	for i, l := range f.Lines {
		name, _, ok := strings.Cut(l, "=")
		if !ok || name == "" || strings.ContainsAny(name, " \"") {
			return nil, malformed("buildinfo", "Environment line %d: %q is not NAME=\"value\"", i+1, truncate(l))
		}
		if seen[name] {
			return nil, malformed("buildinfo", "Environment: %s set twice", name)
		}
		seen[name] = true
	}
	return slices.Clone(f.Lines), nil
}

// RecipeForm returns the canonical form of the build environment that a
// buildinfo's recipe digest covers (see the package doc):
//
//	Build-Architecture: <arch>
//	Installed-Build-Depends:
//	 <package (= version)>     one line each, sorted bytewise
//	Environment:
//	 <NAME="value">            one line each, sorted bytewise
//
// every line ending in "\n". Sorting makes the digest independent of the
// order a tool lists the same set in; the line wrapping and commas of the
// document do not enter it.
func (d *BuildinfoDoc) RecipeForm() []byte {
	var b bytes.Buffer
	b.WriteString("Build-Architecture: " + d.BuildArch + "\n")
	b.WriteString("Installed-Build-Depends:\n")
	for _, dep := range sortedCopy(d.BuildDepends) {
		b.WriteString(" " + dep + "\n")
	}
	b.WriteString("Environment:\n")
	for _, e := range sortedCopy(d.Environment) {
		b.WriteString(" " + e + "\n")
	}
	return b.Bytes()
}

func sortedCopy(s []string) []string {
	c := slices.Clone(s)
	slices.Sort(c)
	return c
}

// MapBuildinfo maps the text of a .buildinfo file (as [ParseBuildinfo]
// takes it) to a claim: source "deb:<Source>@<Version>", the .dsc's sha256
// as SourceDigest when listed, recipe the sha256 of [BuildinfoDoc.RecipeForm],
// and one subject per Checksums-Sha256 file other than the .dsc, with the
// platform of its architecture suffix ([PackagePlatform]). A subject whose
// architecture is not in the Architecture field is refused, and there must
// be at least one. The caller sets Scheme and KeyID.
func MapBuildinfo(text []byte) (*Claim, error) {
	d, err := ParseBuildinfo(text)
	if err != nil {
		return nil, err
	}
	h := sha256.Sum256(d.RecipeForm())
	c := &Claim{Kind: Buildinfo, Source: "deb:" + d.Source + "@" + d.Version, Recipe: hex.EncodeToString(h[:])}
	for _, f := range d.Checksums {
		if strings.HasSuffix(f.Name, ".dsc") {
			c.SourceDigest = f.SHA256
			continue
		}
		s := Subject{Name: f.Name, SHA256: f.SHA256, Platform: PackagePlatform(f.Name)}
		if m := debFileRE.FindStringSubmatch(f.Name); m != nil && !slices.Contains(d.Architecture, m[3]) {
			return nil, malformed("buildinfo", "Checksums-Sha256: %s is for architecture %s, which the Architecture field %q does not list", f.Name, m[3], strings.Join(d.Architecture, " "))
		}
		c.Subjects = append(c.Subjects, s)
	}
	if len(c.Subjects) == 0 {
		return nil, malformed("buildinfo", "Checksums-Sha256 lists no built file (only a .dsc): a source-only buildinfo is not a build claim")
	}
	return c, nil
}
