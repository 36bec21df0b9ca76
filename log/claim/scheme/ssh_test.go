package scheme_test

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/attestlog/attestlog/log/claim/scheme"
)

func TestSSH(t *testing.T) {
	needTool(t, "ssh-keygen", "openssh-client")
	dir := t.TempDir()
	msg := []byte("SHA256SUMS of a release\n")
	if err := osWrite(filepath.Join(dir, "SHA256SUMS"), msg); err != nil {
		t.Fatal(err)
	}
	keygen := func(name string, args ...string) *scheme.SSHKey {
		runTool(t, dir, nil, "", "ssh-keygen", append([]string{"-q", "-N", "", "-C", name + "@example.org", "-f", name}, args...)...)
		k, err := scheme.ParseSSHAuthorizedKey(readFile(t, filepath.Join(dir, name+".pub")))
		if err != nil {
			t.Fatal(err)
		}
		return k
	}
	sign := func(name, namespace string) []byte {
		// ssh-keygen does not overwrite an existing signature file.
		if err := os.Remove(filepath.Join(dir, "SHA256SUMS.sig")); err != nil && !os.IsNotExist(err) {
			t.Fatal(err)
		}
		runTool(t, dir, nil, "", "ssh-keygen", "-Y", "sign", "-n", namespace, "-f", name, "SHA256SUMS")
		return readFile(t, filepath.Join(dir, "SHA256SUMS.sig"))
	}
	keys := map[string]*scheme.SSHKey{
		"ed25519":    keygen("ed", "-t", "ed25519"),
		"ecdsa-p256": keygen("ec", "-t", "ecdsa", "-b", "256"),
		"rsa-3072":   keygen("rsa", "-t", "rsa", "-b", "3072"),
	}
	files := map[string]string{"ed25519": "ed", "ecdsa-p256": "ec", "rsa-3072": "rsa"}
	for name, key := range keys {
		t.Run(name, func(t *testing.T) {
			k := roundTrip(t, key)
			sig := sign(files[name], "file")
			if err := k.Verify(msg, sig); err != nil {
				t.Fatalf("Verify: %v", err)
			}
			parsed, err := scheme.ParseSSHSignature(sig)
			if err != nil || !bytes.Equal(scheme.FormatSSHSignature(parsed), sig) {
				t.Fatalf("ParseSSHSignature round trip differs (err %v)", err)
			}
			wantVerify(t, "flipped message byte", k.Verify(flip(msg, 0), sig), "signature over the message", k.KeyID())
			// The last base64 line ends in the signature bytes.
			end := bytes.LastIndex(sig, []byte("\n-----END")) - 5
			wantVerify(t, "flipped signature byte", k.Verify(msg, flipB64(sig, end)), "signature over the message")
			other := keys["ed25519"]
			if name == "ed25519" {
				other = keys["rsa-3072"]
			}
			wantVerify(t, "another key", other.Verify(msg, sig), "signature is by key "+k.KeyID())
			wantVerify(t, "namespace git", k.Verify(msg, sign(files[name], "git")), `namespace is "git", want "file"`)
		})
	}
	// A flipped byte inside the ed25519 key (the last base64 characters of
	// its text) makes another key, which the signature does not name.
	text := keys["ed25519"].String()
	bad, err := scheme.ParseSSHKey(string(flipB64([]byte(text), len(text)-3)))
	if err != nil {
		t.Fatal(err)
	}
	wantVerify(t, "flipped key byte", bad.Verify(msg, sign("ed", "file")), "signature is by key")
	wantError(t, "short RSA key", func() error {
		runTool(t, dir, nil, "", "ssh-keygen", "-q", "-N", "", "-t", "rsa", "-b", "1024", "-f", "short")
		_, err := scheme.ParseSSHAuthorizedKey(readFile(t, filepath.Join(dir, "short.pub")))
		return err
	}(), "at least 2048 bits")
}
