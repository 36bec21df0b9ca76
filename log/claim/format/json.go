package format

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"regexp"
	"slices"
	"strings"
	"unicode/utf8"
)

// maxJSONDepth bounds the nesting of the JSON documents read here.
const maxJSONDepth = 32

var integerRE = regexp.MustCompile(`^(0|-?[1-9][0-9]*)$`)

// decodeJSON parses b as exactly one JSON value into nil, bool, string,
// json.Number (integers only), []any and map[string]any. It refuses
// invalid UTF-8 (encoding/json would silently replace it), an object with a
// key twice (parsers disagree on which one wins), numbers that are not
// integers or are "-0" (canonical JSON has only integers, one spelling
// each), and nesting deeper than maxJSONDepth.
func decodeJSON(b []byte) (any, error) {
	if !utf8.Valid(b) {
		return nil, errors.New("not valid UTF-8")
	}
	d := json.NewDecoder(bytes.NewReader(b))
	d.UseNumber()
	v, err := decodeValue(d, 0)
	if err != nil {
		return nil, err
	}
	if _, err := d.Token(); err != io.EOF {
		return nil, errors.New("data after the JSON value")
	}
	return v, nil
}

func decodeValue(d *json.Decoder, depth int) (any, error) {
	t, err := d.Token()
	if err != nil {
		return nil, fmt.Errorf("invalid JSON: %v", err)
	}
	switch t := t.(type) {
	case json.Delim:
		if depth == maxJSONDepth {
			return nil, errors.New("JSON nested too deep")
		}
		if t == '[' {
			a := []any{}
			for d.More() {
				v, err := decodeValue(d, depth+1)
				if err != nil {
					return nil, err
				}
				a = append(a, v)
			}
			if _, err := d.Token(); err != nil {
				return nil, fmt.Errorf("invalid JSON: %v", err)
			}
			return a, nil
		}
		if t != '{' {
			return nil, fmt.Errorf("invalid JSON: unexpected %v", t)
		}
		m := map[string]any{}
		for d.More() {
			kt, err := d.Token()
			if err != nil {
				return nil, fmt.Errorf("invalid JSON: %v", err)
			}
			k, ok := kt.(string)
			if !ok {
				return nil, errors.New("invalid JSON: object key is not a string")
			}
			if _, dup := m[k]; dup {
				return nil, fmt.Errorf("key %q appears twice in one object", k)
			}
			v, err := decodeValue(d, depth+1)
			if err != nil {
				return nil, err
			}
			m[k] = v
		}
		if _, err := d.Token(); err != nil {
			return nil, fmt.Errorf("invalid JSON: %v", err)
		}
		return m, nil
	case json.Number:
		if !integerRE.MatchString(string(t)) {
			return nil, fmt.Errorf("number %s is not an integer in canonical form (canonical JSON has no fractions, exponents or -0)", truncate(string(t)))
		}
		return t, nil
	default: // nil, bool, string
		return t, nil
	}
}

// Canonical returns the canonical JSON of v, a value as decodeJSON returns
// it, in the OLPC form that securesystemslib's encode_canonical writes and
// in-toto signs: no whitespace, object keys sorted by their UTF-8 bytes
// (which is code point order), strings with only '"' and '\' escaped and
// every other byte as it is, integers in decimal, true, false, null.
// See the package doc.
func canonical(v any) []byte {
	var b bytes.Buffer
	writeCanonical(&b, v)
	return b.Bytes()
}

func writeCanonical(b *bytes.Buffer, v any) {
	switch v := v.(type) {
	case nil:
		b.WriteString("null")
	case bool:
		if v {
			b.WriteString("true")
		} else {
			b.WriteString("false")
		}
	case json.Number:
		b.WriteString(string(v))
	case string:
		writeCanonicalString(b, v)
	case []any:
		b.WriteByte('[')
		for i, e := range v {
			if i > 0 {
				b.WriteByte(',')
			}
			writeCanonical(b, e)
		}
		b.WriteByte(']')
	case map[string]any:
		keys := make([]string, 0, len(v))
		for k := range v {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		b.WriteByte('{')
		for i, k := range keys {
			if i > 0 {
				b.WriteByte(',')
			}
			writeCanonicalString(b, k)
			b.WriteByte(':')
			writeCanonical(b, v[k])
		}
		b.WriteByte('}')
	default:
		// decodeJSON returns no other type.
		panic(fmt.Sprintf("format: canonical JSON of %T", v))
	}
}

func writeCanonicalString(b *bytes.Buffer, s string) {
	b.WriteByte('"')
	for i := 0; i < len(s); i++ {
		if s[i] == '"' || s[i] == '\\' {
			b.WriteByte('\\')
		}
		b.WriteByte(s[i])
	}
	b.WriteByte('"')
}

// CanonicalJSON parses a JSON document and returns its canonical form (see
// the package doc). The document must pass the checks of the package's JSON
// reader: valid UTF-8, no duplicate keys, integers only.
func CanonicalJSON(b []byte) ([]byte, error) {
	v, err := decodeJSON(b)
	if err != nil {
		return nil, fmt.Errorf("format: canonical JSON: %v", err)
	}
	return canonical(v), nil
}

// Helpers for reading decoded JSON with messages that name the field.

func jsonObject(v any, field string) (map[string]any, error) {
	m, ok := v.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("%s: not an object", field)
	}
	return m, nil
}

func jsonString(v any, field string) (string, error) {
	s, ok := v.(string)
	if !ok {
		return "", fmt.Errorf("%s: not a string", field)
	}
	return s, nil
}

func jsonArray(v any, field string) ([]any, error) {
	a, ok := v.([]any)
	if !ok {
		return nil, fmt.Errorf("%s: not an array", field)
	}
	return a, nil
}

// onlyKeys refuses keys of m outside allowed.
func onlyKeys(m map[string]any, field string, allowed ...string) error {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		if !slices.Contains(allowed, k) {
			return fmt.Errorf("%s: unknown field %q (want %s)", field, truncate(k), strings.Join(allowed, ", "))
		}
	}
	return nil
}

// needKeys refuses an m that lacks one of keys.
func needKeys(m map[string]any, field string, keys ...string) error {
	for _, k := range keys {
		if _, ok := m[k]; !ok {
			return fmt.Errorf("%s: missing field %q", field, k)
		}
	}
	return nil
}
