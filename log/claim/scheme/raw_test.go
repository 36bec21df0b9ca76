package scheme_test

import (
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"strings"
	"testing"

	"golang.org/x/mod/sumdb/note"

	"github.com/attestlog/attestlog/log/claim/scheme"
)

func TestEd25519KeyForms(t *testing.T) {
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	std, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		t.Fatal(err)
	}
	// in-toto-rs (and so rebuilderd) writes the algorithm identifier with
	// NULL parameters, which RFC 8410 forbids and Go's x509 refuses.
	intoto := append([]byte{0x30, 0x2c, 0x30, 0x07, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x05, 0x00, 0x03, 0x21, 0x00}, pub...)
	if _, err := x509.ParsePKIXPublicKey(intoto); err == nil {
		t.Fatal("x509 accepts the in-toto-rs SPKI: the import below is not needed any more")
	}
	crlf := func(der []byte) string {
		return strings.ReplaceAll(string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})), "\n", "\r\n")
	}
	for name, form := range map[string]string{
		"hex":                 hex.EncodeToString(pub),
		"upper hex":           strings.ToUpper(hex.EncodeToString(pub)),
		"base64":              b64(pub) + "\n",
		"PEM RFC 8410":        string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: std})),
		"PEM in-toto-rs CRLF": crlf(intoto),
	} {
		k, err := scheme.ParseEd25519PublicKey([]byte(form))
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if k.String() != hex.EncodeToString(pub) {
			t.Fatalf("%s: key %s, want %x", name, k, pub)
		}
	}
	for name, form := range map[string]string{
		"X25519 SPKI":          crlf(append([]byte{0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x6e, 0x03, 0x21, 0x00}, pub...)),
		"other parameters":     crlf(append([]byte{0x30, 0x2d, 0x30, 0x08, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x02, 0x01, 0x00, 0x03, 0x21, 0x00}, pub...)),
		"33-byte key":          crlf(append([]byte{0x30, 0x2b, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x03, 0x22, 0x00, 0x00}, pub...)),
		"trailing data in DER": crlf(append(append([]byte{}, std...), 0)),
		"private key PEM":      string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: std})),
		"31 bytes of hex":      hex.EncodeToString(pub[:31]),
	} {
		if _, err := scheme.ParseEd25519PublicKey([]byte(form)); err == nil {
			t.Fatalf("%s: accepted", name)
		}
	}

	k := roundTrip(t, mustEd25519(t, hex.EncodeToString(pub)))
	msg := []byte(`{"_type":"link","name":"rebuild hello_1.0-1_amd64.deb"}`)
	sig := ed25519.Sign(priv, msg)
	if err := k.Verify(msg, sig); err != nil {
		t.Fatal(err)
	}
	wantVerify(t, "flipped message byte", k.Verify(flip(msg, 0), sig), "Ed25519 key")
	wantVerify(t, "flipped signature byte", k.Verify(msg, flip(sig, 5)), "Ed25519 key")
	wantVerify(t, "flipped key byte", mustEd25519(t, hex.EncodeToString(flip(pub, 0))).Verify(msg, sig), "Ed25519 key")
	wantError(t, "hex signature", k.Verify(msg, []byte(hex.EncodeToString(sig))), "want 64")
}

func mustEd25519(t *testing.T, text string) *scheme.Ed25519Key {
	t.Helper()
	k, err := scheme.ParseEd25519Key(text)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func TestECDSAP256(t *testing.T) {
	priv, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	der, _ := x509.MarshalPKIXPublicKey(&priv.PublicKey)
	k, err := scheme.ParseECDSAP256PublicKey(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}))
	if err != nil {
		t.Fatal(err)
	}
	v := roundTrip(t, k)
	payload := []byte(`{"_type":"https://in-toto.io/Statement/v1"}`)
	msg := scheme.PAE("application/vnd.in-toto+json", payload)
	if string(msg) != `DSSEv1 28 application/vnd.in-toto+json 43 {"_type":"https://in-toto.io/Statement/v1"}` {
		t.Fatalf("PAE = %q", msg)
	}
	h := sha256.Sum256(msg)
	sig, err := ecdsa.SignASN1(rand.Reader, priv, h[:])
	if err != nil {
		t.Fatal(err)
	}
	if err := v.Verify(msg, sig); err != nil {
		t.Fatal(err)
	}
	wantVerify(t, "flipped message byte", v.Verify(flip(msg, 7), sig), "ECDSA P-256 key", k.KeyID())
	wantVerify(t, "flipped signature byte", v.Verify(msg, flip(sig, -1)), "ECDSA P-256 key")
	other, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	oder, _ := x509.MarshalPKIXPublicKey(&other.PublicKey)
	ok, err := scheme.ParseECDSAP256Key(b64(oder))
	if err != nil {
		t.Fatal(err)
	}
	wantVerify(t, "another key", ok.Verify(msg, sig), "ECDSA P-256 key")
	if _, err := scheme.ParseECDSAP256Key(b64(flip(der, 30))); err == nil {
		t.Fatal("ParseECDSAP256Key accepted a key with a flipped byte (a point off the curve)")
	}
	p384, _ := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	d384, _ := x509.MarshalPKIXPublicKey(&p384.PublicKey)
	wantError(t, "P-384 key", func() error { _, err := scheme.ParseECDSAP256Key(b64(d384)); return err }(), "not on P-256")
}

func TestNoteKey(t *testing.T) {
	skey, vkey, err := note.GenerateKey(rand.Reader, "builder.example.org")
	if err != nil {
		t.Fatal(err)
	}
	k, err := scheme.ParseVerifier("note " + vkey)
	if err != nil {
		t.Fatal(err)
	}
	roundTrip(t, k)
	if k.String() != vkey || !strings.HasPrefix(vkey, k.KeyID()+"+") {
		t.Fatalf("note key %q, ID %q; want the vkey %q", k, k.KeyID(), vkey)
	}
	signer, err := note.NewSigner(skey)
	if err != nil {
		t.Fatal(err)
	}
	msg := []byte("DSSEv1 0  0 ")
	sig, err := signer.Sign(msg)
	if err != nil {
		t.Fatal(err)
	}
	if err := k.Verify(msg, sig); err != nil {
		t.Fatal(err)
	}
	wantVerify(t, "flipped message byte", k.Verify(flip(msg, 0), sig), "note key "+k.KeyID())
	wantVerify(t, "flipped signature byte", k.Verify(msg, flip(sig, 0)), "note key")
	name, rest, _ := strings.Cut(vkey, "+")
	wantError(t, "key hash of another name", func() error { _, err := scheme.ParseNoteKey(name + "x+" + rest); return err }(), "key hash")
}

func TestParseVerifierErrors(t *testing.T) {
	for text, want := range map[string]string{
		"":                    `want "SCHEME KEY"`,
		"pgp ABCD":            `unknown scheme "pgp"`,
		"ed25519 ABCD":        "64 lowercase hex",
		"minisign RW==":       "minisign key",
		"ssh ssh-ed25519":     "ssh key",
		"openpgp ABCD":        "OpenPGP key",
		"ecdsa-p256 AAAA":     "ECDSA P-256 key",
		"note a+00000000+AAA": "note key",
	} {
		_, err := scheme.ParseVerifier(text)
		if err == nil || !strings.Contains(strings.ToLower(err.Error()), strings.ToLower(want)) {
			t.Errorf("ParseVerifier(%q) = %v, want an error mentioning %q", text, err, want)
		}
	}
}
