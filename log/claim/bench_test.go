package claim

import (
	"bytes"
	"testing"

	"golang.org/x/mod/sumdb/note"
)

// benchEnvelope is a claim as `attestlog bench` sends it: one subject, one
// signature, the statement NewStatement writes.
func benchEnvelope(b *testing.B) []byte {
	skey, vkey, err := note.GenerateKey(bytes.NewReader(bytes.Repeat([]byte{7}, 32)), "bench.attestlog.dev/builder0")
	if err != nil {
		b.Fatal(err)
	}
	s, err := note.NewSigner(skey)
	if err != nil {
		b.Fatal(err)
	}
	st, err := NewStatement(&Claim{
		Subjects:  []Subject{{Name: "artifact-1", SHA256: scanDigest}},
		Source:    "git+https://bench.attestlog.dev/project",
		Commit:    scanCommit,
		Recipe:    scanDigest,
		Platform:  "linux/amd64",
		BuilderID: "https://bench.attestlog.dev",
	})
	if err != nil {
		b.Fatal(err)
	}
	e, err := SignStatement(st, Key{Signer: s, VKey: vkey})
	if err != nil {
		b.Fatal(err)
	}
	return e.Envelope()
}

// BenchmarkParseEnvelope and BenchmarkParseStatement compare the scanners
// (scan) with the encoding/json path they replace on the common path (json).
func BenchmarkParseEnvelope(b *testing.B) {
	env := benchEnvelope(b)
	for _, scan := range []bool{true, false} {
		b.Run(map[bool]string{true: "scan", false: "json"}[scan], func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(env)))
			for b.Loop() {
				if _, err := parseEnvelope(env, scan); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkParseStatement(b *testing.B) {
	e, err := ParseEnvelope(benchEnvelope(b))
	if err != nil {
		b.Fatal(err)
	}
	for _, scan := range []bool{true, false} {
		b.Run(map[bool]string{true: "scan", false: "json"}[scan], func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(e.Payload)))
			for b.Loop() {
				if _, err := parseStatement(e.Payload, scan); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkValidateClaim is what the log does with each v1 claim before
// sequencing it: parse the envelope and the statement, verify the
// signature, and encode the entry.
func BenchmarkValidateClaim(b *testing.B) {
	env := benchEnvelope(b)
	b.ReportAllocs()
	for b.Loop() {
		e, err := ParseEnvelope(env)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := ParseStatement(e.Payload); err != nil {
			b.Fatal(err)
		}
		if _, err := e.Verify(); err != nil {
			b.Fatal(err)
		}
		e.Marshal()
	}
}
