package log

import (
	"bufio"
	"bytes"
	"fmt"
	"strings"

	"github.com/attestlog/attestlog/log/claim"
)

// ParseBuilders parses a builder allowlist: one builder vkey per line, blank
// lines and "#" comments ignored. It returns the set of vkeys. Errors name
// the line.
func ParseBuilders(b []byte) (map[string]bool, error) {
	keys := map[string]bool{}
	sc := bufio.NewScanner(bytes.NewReader(b))
	for n := 1; sc.Scan(); n++ {
		line, _, _ := strings.Cut(sc.Text(), "#")
		line = strings.TrimSpace(line)
		if line == "" {
			continue
		}
		if _, err := claim.ParseVKey(line); err != nil {
			return nil, fmt.Errorf("builders line %d: %w", n, err)
		}
		if keys[line] {
			return nil, fmt.Errorf("builders line %d: key %s listed twice", n, line)
		}
		keys[line] = true
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("reading builders: %w", err)
	}
	return keys, nil
}
