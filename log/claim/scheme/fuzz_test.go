package scheme_test

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"sync"
	"testing"
	"time"

	"github.com/ProtonMail/go-crypto/openpgp/clearsign"
	"github.com/ProtonMail/go-crypto/openpgp/packet"
	openpgp "github.com/ProtonMail/go-crypto/openpgp/v2"
	"github.com/hiddeco/sshsig"
	"golang.org/x/crypto/blake2b"
	"golang.org/x/crypto/ssh"
	"golang.org/x/mod/sumdb/note"

	"github.com/attestlog/attestlog/log/claim/scheme"
)

// seed is one key and signature per scheme, made in process from fixed
// seeds, for fuzz corpora and benchmarks.
type seed struct {
	verifier  scheme.Verifier
	message   []byte
	signature []byte
	extra     [][]byte // other encodings: key files, armored forms
}

var (
	seedsOnce sync.Once
	seedsMap  map[scheme.Scheme]seed
)

type zeroReader struct{}

func (zeroReader) Read(b []byte) (int, error) {
	for i := range b {
		b[i] = 7
	}
	return len(b), nil
}

func seeds(tb testing.TB) map[scheme.Scheme]seed {
	tb.Helper()
	seedsOnce.Do(func() { seedsMap = makeSeeds(tb) })
	return seedsMap
}

func makeSeeds(tb testing.TB) map[scheme.Scheme]seed {
	msg := []byte("a3c1cf5b  hello-1.0-x86_64-linux-gnu.tar.gz\n")
	priv := ed25519.NewKeyFromSeed(bytes.Repeat([]byte{1}, 32))
	pub := priv.Public().(ed25519.PublicKey)
	must := func(v scheme.Verifier, err error) scheme.Verifier {
		tb.Helper()
		if err != nil {
			tb.Fatal(err)
		}
		return v
	}
	out := map[scheme.Scheme]seed{}

	skey, vkey, _ := note.GenerateKey(zeroReader{}, "builder.example.org")
	signer, _ := note.NewSigner(skey)
	nsig, _ := signer.Sign(msg)
	out[scheme.Note] = seed{must(scheme.ParseNoteKey(vkey)), msg, nsig, nil}

	out[scheme.Ed25519] = seed{must(scheme.ParseEd25519Key(hex.EncodeToString(pub))), msg, ed25519.Sign(priv, msg),
		[][]byte{[]byte(b64(pub)), append([]byte("-----BEGIN PUBLIC KEY-----\nMCwwBwYDK2VwBQADIQ"), "AB\n-----END PUBLIC KEY-----\n"...)}}

	ec, _ := ecdsa.GenerateKey(elliptic.P256(), zeroReader{})
	der, _ := x509.MarshalPKIXPublicKey(&ec.PublicKey)
	h := sha256.Sum256(msg)
	esig, _ := ecdsa.SignASN1(zeroReader{}, ec, h[:])
	out[scheme.ECDSAP256] = seed{must(scheme.ParseECDSAP256Key(b64(der))), msg, esig,
		[][]byte{pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})}}

	// minisign, prehashed, assembled by hand as minisign -S writes it.
	keyNum := []byte{1, 2, 3, 4, 5, 6, 7, 8}
	mkey := b64(append(append([]byte("Ed"), keyNum...), pub...))
	bh := blake2b.Sum512(msg)
	fileSig := ed25519.Sign(priv, bh[:])
	trusted := "timestamp:1700000000\tfile:hello.tar.gz"
	global := ed25519.Sign(priv, append(bytes.Clone(fileSig), trusted...))
	msig := "untrusted comment: signature from minisign secret key\n" + b64(append(append([]byte("ED"), keyNum...), fileSig...)) +
		"\ntrusted comment: " + trusted + "\n" + b64(global) + "\n"
	out[scheme.Minisign] = seed{must(scheme.ParseMinisignKey(mkey)), msg, []byte(msig),
		[][]byte{[]byte("untrusted comment: minisign public key 0807060504030201\n" + mkey + "\n")}}

	sshSigner, _ := ssh.NewSignerFromKey(priv)
	ss, err := sshsig.Sign(bytes.NewReader(msg), sshSigner, sshsig.HashSHA512, scheme.SSHNamespace)
	if err != nil {
		tb.Fatal(err)
	}
	authorized := ssh.MarshalAuthorizedKey(sshSigner.PublicKey())
	out[scheme.SSH] = seed{must(scheme.ParseSSHAuthorizedKey(authorized)), msg, scheme.FormatSSHSignature(ss), [][]byte{authorized}}

	cfg := &packet.Config{Algorithm: packet.PubKeyAlgoEdDSA, Time: func() time.Time { return time.Unix(1700000000, 0) }, Rand: zeroReader{}}
	e, err := openpgp.NewEntity("Builder", "", "builder@example.org", cfg)
	if err != nil {
		tb.Fatal(err)
	}
	var cert, sig, clear bytes.Buffer
	if err := e.Serialize(&cert); err != nil {
		tb.Fatal(err)
	}
	if err := openpgp.DetachSign(&sig, []*openpgp.Entity{e}, bytes.NewReader(msg), cfg); err != nil {
		tb.Fatal(err)
	}
	w, err := clearsign.Encode(&clear, e.PrivateKey, nil)
	if err != nil {
		tb.Fatal(err)
	}
	w.Write([]byte("Format: 1.0\n- dash\nSource: hello\n"))
	w.Close()
	keys, err := scheme.ReadOpenPGPKeyring(cert.Bytes())
	if err != nil {
		tb.Fatal(err)
	}
	out[scheme.OpenPGP] = seed{keys[0], msg, sig.Bytes(), [][]byte{cert.Bytes(), clear.Bytes()}}
	return out
}

func FuzzParseVerifier(f *testing.F) {
	for _, s := range seeds(f) {
		f.Add(scheme.Format(s.verifier), s.message, s.signature)
	}
	f.Fuzz(func(t *testing.T, text string, msg, sig []byte) {
		v, err := scheme.ParseVerifier(text)
		if err != nil {
			return
		}
		if got := scheme.Format(v); got != text {
			t.Fatalf("Format(ParseVerifier(%q)) = %q", text, got)
		}
		_ = v.Verify(msg, sig) // must not panic
	})
}

// FuzzVerify feeds arbitrary signatures to one fixed key per scheme.
func FuzzVerify(f *testing.F) {
	ss := seeds(f)
	for i, sch := range scheme.Schemes {
		f.Add(uint8(i), ss[sch].message, ss[sch].signature)
	}
	f.Fuzz(func(t *testing.T, i uint8, msg, sig []byte) {
		s := ss[scheme.Schemes[int(i)%len(scheme.Schemes)]]
		err := s.verifier.Verify(msg, sig)
		if err == nil && !bytes.Equal(msg, s.message) {
			// Different bytes can verify only when the signature covers
			// a hash of them, which a fuzzer will not collide.
			t.Fatalf("%s: Verify accepted %q, which the seed key never signed", s.verifier.Scheme(), msg)
		}
	})
}

func FuzzImportKey(f *testing.F) {
	for _, s := range seeds(f) {
		f.Add([]byte(s.verifier.String()))
		for _, x := range s.extra {
			f.Add(x)
		}
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		var vs []scheme.Verifier
		if k, err := scheme.ParseEd25519PublicKey(b); err == nil {
			vs = append(vs, k)
		}
		if k, err := scheme.ParseECDSAP256PublicKey(b); err == nil {
			vs = append(vs, k)
		}
		if k, err := scheme.ParseMinisignPublicKeyFile(b); err == nil {
			vs = append(vs, k)
		}
		if k, err := scheme.ParseSSHAuthorizedKey(b); err == nil {
			vs = append(vs, k)
		}
		if ks, err := scheme.ReadOpenPGPKeyring(b); err == nil {
			for _, k := range ks {
				vs = append(vs, k)
			}
		}
		if min, err := scheme.Minimize(b); err == nil {
			again, err := scheme.Minimize(min)
			if err != nil || !bytes.Equal(again, min) {
				t.Fatalf("Minimize is not idempotent (err %v)", err)
			}
		}
		for _, v := range vs {
			w, err := scheme.ParseVerifier(scheme.Format(v))
			if err != nil || scheme.Format(w) != scheme.Format(v) || w.KeyID() != v.KeyID() {
				t.Fatalf("%s key %s does not round-trip through its text: %v", v.Scheme(), v.KeyID(), err)
			}
		}
	})
}

func FuzzParseMinisignSignature(f *testing.F) {
	f.Add(seeds(f)[scheme.Minisign].signature)
	f.Fuzz(func(t *testing.T, b []byte) {
		s, err := scheme.ParseMinisignSignature(b)
		if err == nil && !bytes.Equal(s.Marshal(), b) {
			t.Fatalf("ParseMinisignSignature(%q).Marshal() = %q", b, s.Marshal())
		}
	})
}

func FuzzParseSSHSignature(f *testing.F) {
	f.Add(seeds(f)[scheme.SSH].signature)
	f.Fuzz(func(t *testing.T, b []byte) {
		s, err := scheme.ParseSSHSignature(b)
		if err == nil && !bytes.Equal(scheme.FormatSSHSignature(s), b) {
			t.Fatalf("FormatSSHSignature(ParseSSHSignature(%q)) differs", b)
		}
	})
}

func FuzzParseOpenPGPSignature(f *testing.F) {
	sig := seeds(f)[scheme.OpenPGP].signature
	f.Add(sig)
	var armored bytes.Buffer
	armored.WriteString("-----BEGIN PGP SIGNATURE-----\n\n")
	armored.WriteString(b64(sig))
	armored.WriteString("\n-----END PGP SIGNATURE-----\n")
	f.Add(armored.Bytes())
	f.Add([]byte{0x88, 0x02, 0x04, 0x00})
	f.Fuzz(func(t *testing.T, b []byte) {
		c, err := scheme.ParseOpenPGPSignature(b)
		if err != nil {
			return
		}
		again, err := scheme.ParseOpenPGPSignature(c)
		if err != nil || !bytes.Equal(again, c) {
			t.Fatalf("ParseOpenPGPSignature is not idempotent on %x: %x, %v", c, again, err)
		}
		if b[0]&0xc0 == 0xc0 && !bytes.Equal(c, b) && len(b) == len(c) {
			t.Fatalf("canonical binary %x re-encoded as %x", b, c)
		}
	})
}

func FuzzParseClearsigned(f *testing.F) {
	s := seeds(f)[scheme.OpenPGP]
	f.Add(s.extra[1])
	f.Fuzz(func(t *testing.T, doc []byte) {
		text, sig, err := scheme.ParseClearsigned(doc)
		if err != nil {
			return
		}
		if bytes.IndexByte(text, '\r') >= 0 {
			t.Fatalf("ParseClearsigned text %q holds a carriage return", text)
		}
		if c, err := scheme.ParseOpenPGPSignature(sig); err != nil || !bytes.Equal(c, sig) {
			t.Fatalf("ParseClearsigned signature is not canonical: %v", err)
		}
		_ = s.verifier.Verify(text, sig)
	})
}

func TestSeedsVerify(t *testing.T) {
	for sch, s := range seeds(t) {
		if err := s.verifier.Verify(s.message, s.signature); err != nil {
			t.Errorf("%s: %v", sch, err)
		}
	}
	s := seeds(t)[scheme.OpenPGP]
	text, sig, err := scheme.ParseClearsigned(s.extra[1])
	if err != nil {
		t.Fatal(err)
	}
	if want := "Format: 1.0\n- dash\nSource: hello\n"; string(text) != want {
		t.Fatalf("clearsigned text %q, want %q", text, want)
	}
	if err := s.verifier.Verify(text, sig); err != nil {
		t.Fatal(err)
	}
}

// TestVerifyConcurrently: Verifiers are safe for concurrent use (go-crypto
// caches signature checks inside an OpenPGP entity; run with -race).
func TestVerifyConcurrently(t *testing.T) {
	var wg sync.WaitGroup
	for _, s := range seeds(t) {
		for range 4 {
			wg.Go(func() {
				if err := s.verifier.Verify(s.message, s.signature); err != nil {
					t.Errorf("%s: %v", s.verifier.Scheme(), err)
				}
			})
		}
	}
	wg.Wait()
}
