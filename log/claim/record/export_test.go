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

// CachedCerts returns how many OpenPGP certificates Decode keeps parsed.
func CachedCerts() int { return certs.len() }

// WithoutCertCache runs f with Decode keeping no certificate, as before
// the cache, for benchmarks to compare.
func WithoutCertCache(f func()) {
	kept := certs
	certs = newCertCache(0, 0)
	defer func() { certs = kept }()
	f()
}
