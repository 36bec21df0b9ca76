package claim

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
)

// maxJSONDepth bounds the nesting of the JSON we read.
const maxJSONDepth = 32

// checkJSON checks that b is exactly one JSON value, nested at most
// maxJSONDepth deep, in which no object has a key twice. encoding/json
// silently keeps the last of duplicate keys, while other parsers keep the
// first: refusing duplicates means every parser reads a claim the same way.
// Keys are compared decoded, so "\u005ftype" is "_type".
func checkJSON(b []byte) error {
	if !json.Valid(b) {
		var v any
		err := json.Unmarshal(b, &v) // for the message
		return fmt.Errorf("invalid JSON: %v", err)
	}
	// b is valid JSON, so a single pass over its structure suffices.
	var keys []string  // keys of the open objects, innermost last
	var starts []int   // for each open container, where its keys start in keys; -1 for arrays
	expectKey := false // the next string in the innermost object is a key
	for i := 0; i < len(b); i++ {
		switch b[i] {
		case '{', '[':
			if len(starts) == maxJSONDepth {
				return errors.New("JSON nested too deep")
			}
			if b[i] == '{' {
				starts = append(starts, len(keys))
				expectKey = true
			} else {
				starts = append(starts, -1)
				expectKey = false
			}
		case '}', ']':
			if s := starts[len(starts)-1]; s >= 0 {
				keys = keys[:s]
			}
			starts = starts[:len(starts)-1]
			expectKey = false
		case ',':
			expectKey = starts[len(starts)-1] >= 0
		case '"':
			end := stringEnd(b, i)
			if expectKey {
				k, err := decodeKey(b[i : end+1])
				if err != nil {
					return err
				}
				for _, prev := range keys[starts[len(starts)-1]:] {
					if prev == k {
						return fmt.Errorf("key %q appears twice in one object", k)
					}
				}
				keys = append(keys, k)
				expectKey = false
			}
			i = end
		}
	}
	return nil
}

// stringEnd returns the index of the quote closing the string opened at b[i].
func stringEnd(b []byte, i int) int {
	for j := i + 1; j < len(b); j++ {
		switch b[j] {
		case '\\':
			j++
		case '"':
			return j
		}
	}
	return len(b) - 1 // unreachable for valid JSON
}

func decodeKey(quoted []byte) (string, error) {
	if bytes.IndexByte(quoted, '\\') < 0 {
		return string(quoted[1 : len(quoted)-1]), nil
	}
	var k string
	if err := json.Unmarshal(quoted, &k); err != nil {
		return "", fmt.Errorf("invalid JSON key %s: %v", quoted, err)
	}
	return k, nil
}
