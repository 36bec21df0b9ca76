package claim

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
)

// maxJSONDepth bounds the nesting of the JSON we read.
const maxJSONDepth = 32

// checkJSON checks that b is exactly one JSON value, nested at most
// maxJSONDepth deep, in which no object has a key twice. encoding/json
// silently keeps the last of duplicate keys, while other parsers keep the
// first: refusing duplicates means every parser reads a claim the same way.
func checkJSON(b []byte) error {
	d := json.NewDecoder(bytes.NewReader(b))
	d.UseNumber()
	type frame struct {
		object bool
		keys   map[string]bool
		key    bool // next token in an object is a key
	}
	var stack []*frame
	for values := 0; ; {
		tok, err := d.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			return fmt.Errorf("invalid JSON: %v", err)
		}
		if len(stack) == 0 {
			if values++; values > 1 {
				return errors.New("more than one JSON value")
			}
		}
		var top *frame
		if len(stack) > 0 {
			top = stack[len(stack)-1]
		}
		if k, ok := tok.(string); ok && top != nil && top.object && top.key {
			if top.keys[k] {
				return fmt.Errorf("key %q appears twice in one object", k)
			}
			top.keys[k] = true
			top.key = false
			continue
		}
		switch tok {
		case json.Delim('{'):
			stack = append(stack, &frame{object: true, keys: map[string]bool{}, key: true})
		case json.Delim('['):
			stack = append(stack, &frame{})
		case json.Delim('}'), json.Delim(']'):
			stack = stack[:len(stack)-1]
		}
		if len(stack) > maxJSONDepth {
			return errors.New("JSON nested too deep")
		}
		if tok != json.Delim('{') && tok != json.Delim('[') && len(stack) > 0 && stack[len(stack)-1].object {
			stack[len(stack)-1].key = true // a value (or a closed container) ends; a key comes next
		}
	}
	return nil
}
