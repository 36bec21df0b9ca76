package scheme_test

import (
	"bytes"
	"testing"

	"github.com/ProtonMail/go-crypto/openpgp/packet"
	openpgp "github.com/ProtonMail/go-crypto/openpgp/v2"

	"github.com/attestlog/attestlog/log/claim/scheme"
)

// BenchmarkVerify measures one signature verification per scheme, over a
// short message (a SHA256SUMS line or a DSSE PAE): the cost a log pays per
// submitted signature, key parsing excluded.
func BenchmarkVerify(b *testing.B) {
	ss := seeds(b)
	for _, sch := range scheme.Schemes {
		s := ss[sch]
		name := string(sch)
		if sch == scheme.OpenPGP {
			name = "openpgp-eddsa"
		}
		b.Run(name, func(b *testing.B) { benchVerify(b, s) })
	}
	b.Run("openpgp-rsa3072", func(b *testing.B) {
		cfg := &packet.Config{Algorithm: packet.PubKeyAlgoRSA, RSABits: 3072}
		e, err := openpgp.NewEntity("RSA", "", "rsa@example.org", cfg)
		if err != nil {
			b.Fatal(err)
		}
		var cert, sig bytes.Buffer
		msg := ss[scheme.OpenPGP].message
		if err := e.Serialize(&cert); err != nil {
			b.Fatal(err)
		}
		if err := openpgp.DetachSign(&sig, []*openpgp.Entity{e}, bytes.NewReader(msg), cfg); err != nil {
			b.Fatal(err)
		}
		keys, err := scheme.ReadOpenPGPKeyring(cert.Bytes())
		if err != nil {
			b.Fatal(err)
		}
		benchVerify(b, seed{verifier: keys[0], message: msg, signature: sig.Bytes()})
	})
}

func benchVerify(b *testing.B, s seed) {
	b.ReportAllocs()
	for b.Loop() {
		if err := s.verifier.Verify(s.message, s.signature); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "verifications/s")
}
