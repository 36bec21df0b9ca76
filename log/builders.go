package log

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/attestlog/attestlog/log/claim/record"
)

// ParseBuilders parses a builder allowlist whose lines are the forms of
// [ParseBuildersFrom] without key files.
func ParseBuilders(b []byte) (map[string]bool, error) {
	return ParseBuildersFrom(b, nil)
}

// ParseBuildersFrom parses a builder allowlist, one key per line, blank
// lines and "#" comments ignored, in any of the forms a policy's builder
// lines take (fields separated by spaces or tabs):
//
//	<vkey>                          a signed-note key (the form before issue 11)
//	builder <name> <vkey>           the same, named
//	builder <name> <scheme> <key>   any scheme, the key in its canonical text
//	builder <name> <scheme> @<file> a key file as its tool writes it
//
// readFile reads the file of an @<file> form, relative to the allowlist's
// directory; nil refuses those forms. It returns the set of keys as
// [ServiceConfig] Builders holds them (record.TrustKey). A key listed
// twice, by (scheme, key ID), is refused. Errors name the line.
func ParseBuildersFrom(b []byte, readFile func(name string) ([]byte, error)) (map[string]bool, error) {
	keys := map[string]bool{}
	ids := map[string]int{} // "<scheme> <key ID>" -> line
	sc := bufio.NewScanner(bytes.NewReader(b))
	sc.Buffer(make([]byte, 0, 64<<10), 1<<20) // an inline OpenPGP certificate is a long line
	for n := 1; sc.Scan(); n++ {
		line, _, _ := strings.Cut(sc.Text(), "#")
		fields := strings.Fields(line)
		if len(fields) == 0 {
			continue
		}
		if fields[0] == "builder" {
			if len(fields) < 3 {
				return nil, fmt.Errorf("builders line %d: want \"builder <name> <scheme> <key>\" or \"builder <name> <vkey>\"", n)
			}
			fields = fields[2:]
		} else if len(fields) != 1 {
			return nil, fmt.Errorf("builders line %d: want a vkey or \"builder <name> <scheme> <key>\"", n)
		}
		v, err := record.ParseBuilderKey(fields, readFile)
		if err != nil {
			return nil, fmt.Errorf("builders line %d: %w", n, err)
		}
		id := string(v.Scheme()) + " " + v.KeyID()
		if first, ok := ids[id]; ok {
			return nil, fmt.Errorf("builders line %d: %s key %s listed twice (first on line %d)", n, v.Scheme(), v.KeyID(), first)
		}
		ids[id] = n
		keys[record.TrustKey(v)] = true
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("reading builders: %w", err)
	}
	return keys, nil
}

// KeyFilesBeside returns the readFile of [ParseBuildersFrom] for the
// allowlist at path: "@<file>" names a file inside the allowlist's
// directory, as a policy's builder lines do.
func KeyFilesBeside(path string) func(name string) ([]byte, error) {
	dir := filepath.Dir(path)
	return func(name string) ([]byte, error) {
		if !filepath.IsLocal(name) {
			return nil, fmt.Errorf("key file %q is not a path inside the allowlist's directory", name)
		}
		return os.ReadFile(filepath.Join(dir, name))
	}
}
