package scheme_test

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	openpgp "github.com/ProtonMail/go-crypto/openpgp/v2"

	"github.com/attestlog/attestlog/log/claim/scheme"
)

// t0 is 2020-01-01T00:00:00Z: keys are made then with gpg's faked clock, so
// that their expiry and revocations lie in the past.
const t0 = 1577836800

// gpgHome is a throwaway GnuPG home directory.
type gpgHome struct {
	t   *testing.T
	dir string
}

func newGPG(t *testing.T) *gpgHome {
	t.Helper()
	needTool(t, "gpg", "gpg")
	g := &gpgHome{t: t, dir: t.TempDir()}
	if err := os.Chmod(g.dir, 0o700); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if _, err := os.Stat(filepath.Join(g.dir, "S.gpg-agent")); err == nil {
			runTool(t, g.dir, g.env(), "", "gpgconf", "--kill", "gpg-agent")
		}
	})
	return g
}

func (g *gpgHome) env() []string { return []string{"GNUPGHOME=" + g.dir, "LC_ALL=C"} }

// run runs gpg in batch mode with no passphrase, at the faked time at (Unix
// seconds) unless at is 0.
func (g *gpgHome) run(at int64, stdin string, args ...string) []byte {
	g.t.Helper()
	base := []string{"--no-tty", "--pinentry-mode", "loopback", "--passphrase", ""}
	if args[0] != "--command-fd" { // gpg answers questions only outside batch mode
		base = append(base, "--batch")
	}
	if at != 0 {
		base = append(base, "--faked-system-time", strconv.FormatInt(at, 10)+"!")
	}
	return runTool(g.t, g.dir, g.env(), stdin, "gpg", append(base, args...)...)
}

// genKey makes a key at t0 and returns its fingerprint.
func (g *gpgHome) genKey(uid, algo, usage string) string {
	g.t.Helper()
	g.run(t0, "", "--quick-gen-key", uid, algo, usage, "never")
	out := g.run(0, "", "--with-colons", "--list-keys", uid)
	for _, line := range strings.Split(string(out), "\n") {
		if f := strings.Split(line, ":"); f[0] == "fpr" {
			return f[9]
		}
	}
	g.t.Fatalf("no fingerprint for %s in\n%s", uid, out)
	return ""
}

func (g *gpgHome) write(name string, b []byte) string {
	g.t.Helper()
	p := filepath.Join(g.dir, name)
	if err := os.WriteFile(p, b, 0o600); err != nil {
		g.t.Fatal(err)
	}
	return p
}

// sign makes a detached signature over msg at time at.
func (g *gpgHome) sign(fpr string, at int64, msg []byte, extra ...string) []byte {
	g.t.Helper()
	in := g.write("msg", msg)
	args := append([]string{"--local-user", fpr, "--output", "-"}, extra...)
	return g.run(at, "", append(args, "--detach-sign", in)...)
}

// key exports fpr's certificate and reads it as the log would.
func (g *gpgHome) key(fpr string) *scheme.OpenPGPKey {
	g.t.Helper()
	keys, err := scheme.ReadOpenPGPKeyring(g.run(0, "", "--armor", "--export", fpr))
	if err != nil {
		g.t.Fatalf("ReadOpenPGPKeyring(%s): %v", fpr, err)
	}
	if len(keys) != 1 || keys[0].KeyID() != fpr {
		g.t.Fatalf("ReadOpenPGPKeyring(%s) = %d keys", fpr, len(keys))
	}
	return keys[0]
}

func TestOpenPGPDetachedAndClearsigned(t *testing.T) {
	g := newGPG(t)
	rsa := g.genKey("RSA Builder <rsa@example.org>", "rsa3072", "sign")
	ed := g.genKey("Ed Builder <ed@example.org>", "ed25519", "cert")
	g.run(t0, "", "--quick-add-key", ed, "ed25519", "sign", "never") // signs with a subkey
	ec := g.genKey("EC Builder <ec@example.org>", "nistp256", "sign")

	msg := []byte("a3c1cf5b1f4a2a1e1bd1e0de3bd8e0bc4bbcf6e4f3c8d1e2a3b4c5d6e7f8a9b0  bitcoin-27.0-x86_64-linux-gnu.tar.gz\n")
	doc := []byte("Format: 1.0\nSource: hello\n-Dash: escaped by gpg\nTrailing: spaces   \n")
	wantText := "Format: 1.0\nSource: hello\n-Dash: escaped by gpg\nTrailing: spaces"
	keys := map[string]*scheme.OpenPGPKey{}
	for _, fpr := range []string{rsa, ed, ec} {
		keys[fpr] = g.key(fpr)
	}
	for name, fpr := range map[string]string{"rsa3072": rsa, "ed25519 subkey": ed, "nistp256": ec} {
		t.Run(name, func(t *testing.T) {
			k := roundTrip(t, keys[fpr])
			binary := g.sign(fpr, 0, msg)
			armored := g.sign(fpr, 0, msg, "--armor")
			for form, sig := range map[string][]byte{"binary": binary, "armored": armored} {
				if err := k.Verify(msg, sig); err != nil {
					t.Fatalf("Verify(%s detached signature): %v", form, err)
				}
			}
			canon, err := scheme.ParseOpenPGPSignature(armored)
			if err != nil {
				t.Fatal(err)
			}
			if again, err := scheme.ParseOpenPGPSignature(canon); err != nil || !bytes.Equal(again, canon) {
				t.Fatalf("ParseOpenPGPSignature(canonical) = %x, %v; want it unchanged", again, err)
			}

			wantVerify(t, "flipped message byte", k.Verify(flip(msg, 3), binary), fpr)
			wantVerify(t, "flipped signature byte", k.Verify(msg, flip(binary, -1)), fpr)
			wantError(t, "two signatures", k.Verify(msg, append(bytes.Clone(binary), binary...)), "more than one packet")
			other := rsa
			if fpr == rsa {
				other = ec
			}
			wantVerify(t, "another builder's key", keys[other].Verify(msg, binary), "issuer key ID", other)

			in := g.write("doc", doc)
			clear := g.run(0, "", "--local-user", fpr, "--output", "-", "--clearsign", in)
			text, sig, err := scheme.ParseClearsigned(clear)
			if err != nil {
				t.Fatalf("ParseClearsigned: %v\n%s", err, clear)
			}
			if string(text) != wantText {
				t.Fatalf("ParseClearsigned text = %q, want %q", text, wantText)
			}
			if err := k.Verify(text, sig); err != nil {
				t.Fatalf("Verify(clearsigned text): %v", err)
			}
			tampered := bytes.Replace(clear, []byte("Source: hello"), []byte("Source: hellO"), 1)
			text, sig, err = scheme.ParseClearsigned(tampered)
			if err != nil {
				t.Fatal(err)
			}
			wantVerify(t, "tampered clearsigned text", k.Verify(text, sig), fpr)
			if _, _, err := scheme.ParseClearsigned(append(bytes.Clone(clear), "trailer\n"...)); err == nil {
				t.Fatal("ParseClearsigned accepted data after the signature")
			}
		})
	}

	// A whole keyring, as gpg --export writes it, reads as every certificate.
	all, err := scheme.ReadOpenPGPKeyring(g.run(0, "", "--export"))
	if err != nil || len(all) != 3 {
		t.Fatalf("ReadOpenPGPKeyring(whole keyring) = %d keys, %v; want 3", len(all), err)
	}
	// A flipped byte in the certificate's key material breaks its
	// self-signatures, and with them the key.
	cert := keys[ed].Certificate()
	_, err = scheme.ParseOpenPGPKey(rsa + " " + keys[rsa].String()[len(rsa)+1:])
	if err != nil {
		t.Fatalf("ParseOpenPGPKey: %v", err)
	}
	if _, err := scheme.ParseOpenPGPKey(ed + " " + b64(flip(cert, 20))); err == nil {
		t.Fatal("ParseOpenPGPKey accepted a certificate with a flipped key byte")
	}
	wantError(t, "fingerprint of another key", func() error { _, err := scheme.ParseOpenPGPKey(rsa + " " + b64(cert)); return err }(), "fingerprint is "+ed)
}

// TestOpenPGPValidityAtSignatureTime: a key expires after a release was
// signed; the release still verifies, a signature dated after the expiry
// does not.
func TestOpenPGPValidityAtSignatureTime(t *testing.T) {
	g := newGPG(t)
	fpr := g.genKey("Expiring <exp@example.org>", "rsa3072", "sign")
	msg := []byte("release\n")
	before := g.sign(fpr, t0+100, msg)
	after := g.sign(fpr, t0+1000, msg)
	// A signature that itself expired a day after it was made: the log judges
	// it as of its creation, so that an entry re-verifies the same forever.
	expiring := g.sign(fpr, t0+100, msg, "--default-sig-expire", "1d")
	// A new self-signature at t0+10 gives the key an expiry at t0+510.
	g.run(t0+10, "", "--quick-set-expire", fpr, "seconds=500")
	k := g.key(fpr)
	if err := k.Verify(msg, before); err != nil {
		t.Fatalf("signature made before the key expired: %v", err)
	}
	if err := k.Verify(msg, expiring); err != nil {
		t.Fatalf("signature with its own expiry, made before the key expired: %v", err)
	}
	wantVerify(t, "signature made after the key expired", k.Verify(msg, after), fpr, "expired", "2020-01-01T00:16:40Z")
}

// TestOpenPGPRevocation: a key retired after signing keeps its earlier
// signatures; one revoked without a reason (as if compromised) keeps none.
func TestOpenPGPRevocation(t *testing.T) {
	g := newGPG(t)
	fpr := g.genKey("Retiring <ret@example.org>", "ed25519", "cert")
	g.run(t0, "", "--quick-add-key", fpr, "ed25519", "sign", "never")
	msg := []byte("release\n")
	before := g.sign(fpr, t0+100, msg)
	after := g.sign(fpr, t0+1000, msg)
	full := g.key(fpr)

	// Reason 3, "key is no longer used", dated t0+500.
	rev := g.run(t0+500, "y\n3\nretired\n\ny\n", "--command-fd", "0", "--armor", "--output", "-", "--gen-revoke", fpr)
	g.run(0, "", "--import", g.write("retire.rev", rev))
	k := g.key(fpr)
	if len(k.Certificate()) <= len(full.Certificate()) {
		t.Fatal("the minimized certificate lost the revocation")
	}
	if err := k.Verify(msg, before); err != nil {
		t.Fatalf("signature made before the key was retired: %v", err)
	}
	wantVerify(t, "signature made after the key was retired", k.Verify(msg, after), fpr, "revoked")

	// The revocation certificate gpg made with the key has no reason.
	auto := readFile(t, filepath.Join(g.dir, "openpgp-revocs.d", fpr+".rev"))
	auto = bytes.Replace(auto, []byte(":-----BEGIN"), []byte("-----BEGIN"), 1)
	g.run(0, "", "--import", g.write("auto.rev", auto))
	wantVerify(t, "signature by a key revoked without a reason", g.key(fpr).Verify(msg, before), fpr, "revoked")
}

func TestOpenPGPMinimize(t *testing.T) {
	g := newGPG(t)
	fpr := g.genKey("Alice <alice@example.org>", "ed25519", "cert")
	g.run(t0, "", "--quick-add-key", fpr, "ed25519", "sign", "never")
	g.run(t0, "", "--quick-add-key", fpr, "cv25519", "encr", "never")
	g.run(t0, "", "--quick-add-uid", fpr, "Alice <alice@work.example>")
	// Third-party certifications are what makes real certificates big.
	for i := range 5 {
		other := g.genKey(fmt.Sprintf("Friend %d <f%d@example.org>", i, i), "rsa3072", "sign")
		g.run(t0+1, "", "--local-user", other, "--quick-sign-key", fpr)
	}
	msg := []byte("release\n")
	sig := g.sign(fpr, 0, msg)
	full := g.run(0, "", "--export", fpr)

	min, err := scheme.Minimize(full)
	if err != nil {
		t.Fatal(err)
	}
	if len(min) >= len(full)/2 {
		t.Fatalf("Minimize: %d bytes from %d, want less than half", len(min), len(full))
	}
	again, err := scheme.Minimize(min)
	if err != nil || !bytes.Equal(again, min) {
		t.Fatalf("Minimize(Minimize(cert)) differs (err %v)", err)
	}
	el, err := openpgp.ReadKeyRing(bytes.NewReader(min))
	if err != nil || len(el) != 1 {
		t.Fatalf("go-crypto reading the minimized certificate: %v", err)
	}
	e := el[0]
	if len(e.Subkeys) != 1 || !e.Subkeys[0].PublicKey.PubKeyAlgo.CanSign() {
		t.Fatalf("minimized certificate has %d subkeys, want only the signing one", len(e.Subkeys))
	}
	if len(e.Identities) != 2 {
		t.Fatalf("minimized certificate has %d user IDs, want 2", len(e.Identities))
	}
	for name, id := range e.Identities {
		if len(id.OtherCertifications) != 0 {
			t.Fatalf("minimized certificate keeps %d third-party certifications on %q", len(id.OtherCertifications), name)
		}
	}
	k, err := scheme.ParseOpenPGPKey(fpr + " " + b64(min))
	if err != nil {
		t.Fatal(err)
	}
	if err := roundTrip(t, k).Verify(msg, sig); err != nil {
		t.Fatalf("the minimized certificate does not verify the signature: %v", err)
	}
	wantError(t, "a certificate that is not minimized", func() error { _, err := scheme.ParseOpenPGPKey(fpr + " " + b64(full)); return err }(), "not minimized")
}
