package client

import (
	"bytes"
	"fmt"
	"testing"

	"github.com/attestlog/attestlog/log/claim/record"
	"github.com/attestlog/attestlog/log/claim/scheme"
	fnote "github.com/transparency-dev/formats/note"
	"golang.org/x/mod/sumdb/note"
)

// FuzzParsePolicy checks that ParsePolicy never panics, and that what it
// accepts formats to a canonical policy that parses to the same thing.
func FuzzParsePolicy(f *testing.F) {
	vkey := func(name string, seed byte) string {
		_, v, err := note.GenerateKey(bytes.NewReader(bytes.Repeat([]byte{seed}, 32)), name)
		if err != nil {
			f.Fatal(err)
		}
		return v
	}
	w1, err := fnote.VKeyToCosignatureV1(vkey("w1.example", 2))
	if err != nil {
		f.Fatal(err)
	}
	logKey, a, b, c := vkey("example.test/log", 1), vkey("a.example", 3), vkey("b.example", 4), vkey("c.example", 5)
	f.Add([]byte(fmt.Sprintf("log %s https://log.example/\nwitness w1 %s\nquorum w1\nbuilder a %s\nbuilder a %s\nbuilder b %s\nbuilders g any a b\nbuilders h all g a\nagree h\n", logKey, w1, a, c, b)))
	f.Add([]byte(fmt.Sprintf("# comment\nlog %s\nquorum none\n\tbuilder x %s\nbuilders y 1 x\nagree x\n", logKey, a)))
	f.Add([]byte(fmt.Sprintf("quorum none\nbuilder x %s\nagree x\nagree x\n", a)))
	f.Fuzz(func(t *testing.T, b []byte) {
		p, err := ParsePolicy(b)
		if err != nil {
			return
		}
		text := p.format()
		q, err := ParsePolicy(text)
		if err != nil {
			t.Fatalf("ParsePolicy(%q) = %v on the formatted policy of %q", text, err, b)
		}
		if again := q.format(); !bytes.Equal(again, text) {
			t.Fatalf("format changes on a second round trip:\n%s\n%s", text, again)
		}
		for _, bl := range p.Builders {
			for _, k := range bl.Keys {
				signer := record.Signer{Scheme: k.Scheme, KeyID: k.KeyID, Key: scheme.Format(k.Key)}
				if name, _, ok := q.BuilderOf(signer); !ok || name != bl.Name {
					t.Fatalf("key %s of %s is %q after a round trip", k.VKey, bl.Name, name)
				}
			}
		}
	})
}
