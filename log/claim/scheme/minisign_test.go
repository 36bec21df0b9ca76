package scheme_test

import (
	"bytes"
	"path/filepath"
	"testing"

	"github.com/attestlog/attestlog/log/claim/scheme"
)

func TestMinisign(t *testing.T) {
	needTool(t, "minisign", "minisign")
	dir := t.TempDir()
	keygen := func(name string) *scheme.MinisignKey {
		runTool(t, dir, nil, "", "minisign", "-G", "-W", "-p", name+".pub", "-s", name+".key")
		k, err := scheme.ParseMinisignPublicKeyFile(readFile(t, filepath.Join(dir, name+".pub")))
		if err != nil {
			t.Fatal(err)
		}
		return k
	}
	zsf, other := keygen("zsf"), keygen("other")
	msg := []byte("zig-0.14.0.tar.xz contents\n")
	if err := osWrite(filepath.Join(dir, "zig.tar.xz"), msg); err != nil {
		t.Fatal(err)
	}
	trusted := "timestamp:1741000000\tfile:zig-0.14.0.tar.xz\tcommit:5ad91a646a753cc3eecd8751e61cf458dadd9ac4"
	sign := func(key, out string, extra ...string) []byte {
		args := append([]string{"-S", "-s", key + ".key", "-m", "zig.tar.xz", "-x", out, "-t", trusted}, extra...)
		runTool(t, dir, nil, "", "minisign", args...)
		return readFile(t, filepath.Join(dir, out))
	}
	for name, sig := range map[string][]byte{
		"prehashed ED": sign("zsf", "ed.minisig"),
		"legacy Ed":    sign("zsf", "legacy.minisig", "-l"),
	} {
		t.Run(name, func(t *testing.T) {
			k := roundTrip(t, zsf).(*scheme.MinisignKey)
			got, err := k.Open(msg, sig)
			if err != nil {
				t.Fatalf("Open: %v", err)
			}
			if got != trusted {
				t.Fatalf("trusted comment = %q, want %q", got, trusted)
			}
			parsed, err := scheme.ParseMinisignSignature(sig)
			if err != nil || !bytes.Equal(parsed.Marshal(), sig) {
				t.Fatalf("ParseMinisignSignature(%q).Marshal() differs (err %v)", sig, err)
			}

			wantVerify(t, "flipped message byte", k.Verify(flip(msg, 0), sig), "signature over the file", k.KeyID())
			wantVerify(t, "another key", other.Verify(msg, sig), "signature is by key "+zsf.KeyID())
			// The trusted comment is signed: change it and the global
			// signature fails, though the file signature still holds.
			changed := bytes.Replace(sig, []byte("commit:5ad9"), []byte("commit:0000"), 1)
			wantVerify(t, "changed trusted comment", k.Verify(msg, changed), "global signature over the trusted comment")
			// OpenComment checks the trusted comment without the file.
			if got, err := k.OpenComment(sig); err != nil || got != trusted {
				t.Fatalf("OpenComment = %q, %v; want %q", got, err, trusted)
			}
			_, err = k.OpenComment(changed)
			wantVerify(t, "OpenComment of a changed trusted comment", err, "global signature over the trusted comment")
			_, err = other.OpenComment(sig)
			wantVerify(t, "OpenComment with another key", err, "signature is by key "+zsf.KeyID())
			// A flipped byte in the file signature (line 2, past the
			// algorithm and key number), changed to another base64 digit
			// so that the line still parses.
			line2 := bytes.IndexByte(sig, '\n') + 1
			_, err = k.OpenComment(flipB64(sig, line2+20))
			wantVerify(t, "OpenComment of a changed file signature", err, "global signature")
			// The untrusted comment is not.
			relabelled := bytes.Replace(sig, []byte("signature from minisign secret key"), []byte("anything"), 1)
			if err := k.Verify(msg, relabelled); err != nil {
				t.Fatalf("changed untrusted comment: %v", err)
			}
			wantVerify(t, "flipped signature byte", k.Verify(msg, flipB64(sig, line2+20)), "signature over the file")
			if _, err := scheme.ParseMinisignSignature(append(bytes.Clone(sig), '\n')); err == nil {
				t.Fatal("ParseMinisignSignature accepted an extra empty line")
			}
		})
	}
	// A flipped byte in the key's Ed25519 part (past "Ed" and the key number).
	bad, err := scheme.ParseMinisignKey(string(flipB64([]byte(zsf.String()), 30)))
	if err != nil {
		t.Fatal(err)
	}
	wantVerify(t, "flipped key byte", bad.Verify(msg, sign("zsf", "again.minisig")), "signature over the file")
	wantError(t, "key of the wrong length", func() error { _, err := scheme.ParseMinisignKey(zsf.String()[:52]); return err }(), "minisign key")
}

// flipB64 changes the base64 character at i to another base64 character.
func flipB64(b []byte, i int) []byte {
	c := bytes.Clone(b)
	if c[i] == 'A' {
		c[i] = 'B'
	} else {
		c[i] = 'A'
	}
	return c
}
