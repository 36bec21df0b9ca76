package record

// Reencode parses the syntax of a v2 entry and encodes it again, for the
// round-trip fuzz test.
func Reencode(b []byte) ([]byte, error) {
	e, err := parseV2(b)
	if err != nil {
		return nil, err
	}
	return e.marshal(), nil
}
