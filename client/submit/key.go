package submit

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"strings"

	"github.com/attestlog/attestlog/client"
	"github.com/attestlog/attestlog/log/claim/scheme"
)

// maxKeyFile bounds a key file: a keyring of a release's builders is a few
// hundred kilobytes.
const maxKeyFile = 16 << 20

// ParseKey reads a key given as a policy line gives it: "SCHEME:KEY", with
// KEY the scheme's canonical text ([scheme.ParseVerifier]) or "@FILE", a
// file as the signer's tools write it, read relative to dir (""
// is the current directory):
//
//	openpgp     a keyring or certificate, armored or binary (gpg --export): every certificate in it
//	minisign    a minisign .pub file, or the RW... key alone
//	ssh         a .pub file or authorized_keys lines without options: every key in it
//	ed25519     hex, base64, PEM (rebuilderd's) or in-toto-keygen's JSON
//	ecdsa-p256  PEM "PUBLIC KEY"
//	note        a vkey
//
// A file may yield several keys (a keyring); [Prepare] uses the ones that
// verify the document.
func ParseKey(spec, dir string) ([]scheme.Verifier, error) {
	name, key, ok := strings.Cut(spec, ":")
	if !ok || name == "" || key == "" {
		return nil, fmt.Errorf("key %q: want SCHEME:KEY or SCHEME:@FILE, with SCHEME one of %s", truncate(spec), schemeNames())
	}
	s := scheme.Scheme(name)
	known := false
	for _, k := range scheme.Schemes {
		known = known || k == s
	}
	if !known {
		return nil, fmt.Errorf("key %q: unknown scheme %q: want one of %s", truncate(spec), truncate(name), schemeNames())
	}
	file, isFile := strings.CutPrefix(key, "@")
	if !isFile {
		v, err := scheme.ParseVerifier(name + " " + key)
		if err != nil {
			return nil, fmt.Errorf("key %q: %w (a file the signer's tool wrote goes as %s:@FILE)", truncate(spec), err, name)
		}
		return []scheme.Verifier{v}, nil
	}
	if dir != "" && !filepath.IsAbs(file) {
		file = filepath.Join(dir, file)
	}
	b, err := client.ReadFileLimited(file, maxKeyFile)
	if err != nil {
		return nil, fmt.Errorf("key %q: %w", truncate(spec), err)
	}
	vs, err := ImportKeys(s, b)
	if err != nil {
		return nil, fmt.Errorf("key file %s: %w", file, err)
	}
	return vs, nil
}

// ImportKeys reads the keys of scheme s from a file as the scheme's tools
// write it (see [ParseKey]).
func ImportKeys(s scheme.Scheme, b []byte) ([]scheme.Verifier, error) {
	switch s {
	case scheme.OpenPGP:
		var vs []scheme.Verifier
		for _, blk := range armoredBlocks(b) {
			ks, err := scheme.ReadOpenPGPKeyring(blk)
			if err != nil {
				return nil, err
			}
			for _, k := range ks {
				vs = append(vs, k)
			}
		}
		return vs, nil
	case scheme.Minisign:
		if t := bytes.TrimSpace(b); bytes.HasPrefix(t, []byte("RW")) && !bytes.ContainsAny(t, "\n ") {
			k, err := scheme.ParseMinisignKey(string(t))
			return one(k, err)
		}
		k, err := scheme.ParseMinisignPublicKeyFile(b)
		return one(k, err)
	case scheme.SSH:
		var vs []scheme.Verifier
		for line := range strings.Lines(string(b)) {
			if t := strings.TrimSpace(line); t == "" || strings.HasPrefix(t, "#") {
				continue
			}
			k, err := scheme.ParseSSHAuthorizedKey([]byte(line))
			if err != nil {
				return nil, err
			}
			vs = append(vs, k)
		}
		if len(vs) == 0 {
			return nil, errors.New("no SSH public key in it")
		}
		return vs, nil
	case scheme.Ed25519:
		if t := bytes.TrimSpace(b); bytes.HasPrefix(t, []byte("{")) {
			return inTotoKey(t)
		}
		k, err := scheme.ParseEd25519PublicKey(b)
		return one(k, err)
	case scheme.ECDSAP256:
		k, err := scheme.ParseECDSAP256PublicKey(b)
		return one(k, err)
	case scheme.Note:
		k, err := scheme.ParseNoteKey(string(bytes.TrimSpace(b)))
		return one(k, err)
	}
	return nil, fmt.Errorf("unknown scheme %q: want one of %s", truncate(string(s)), schemeNames())
}

// armoredBlocks splits the armored blocks of a file made by concatenating
// armored key files ("cat builder-keys/*.gpg"), which an armor reader would
// stop reading after the first; a binary keyring is one block.
func armoredBlocks(b []byte) [][]byte {
	const begin = "-----BEGIN PGP PUBLIC KEY BLOCK-----"
	if bytes.Count(b, []byte(begin)) < 2 {
		return [][]byte{b}
	}
	var blocks [][]byte
	for _, part := range bytes.SplitAfter(b, []byte("-----END PGP PUBLIC KEY BLOCK-----")) {
		if i := bytes.Index(part, []byte(begin)); i >= 0 {
			blocks = append(blocks, part[i:])
		}
	}
	return blocks
}

// inTotoKey reads an Ed25519 public key in the JSON form in-toto-keygen
// (securesystemslib) writes: {"keytype": "ed25519", "scheme": "ed25519",
// "keyval": {"public": "<64 hex>"}, ...}.
func inTotoKey(b []byte) ([]scheme.Verifier, error) {
	var k struct {
		KeyType string `json:"keytype"`
		Scheme  string `json:"scheme"`
		KeyVal  struct {
			Public string `json:"public"`
		} `json:"keyval"`
	}
	if err := json.Unmarshal(b, &k); err != nil {
		return nil, fmt.Errorf("in-toto key: %v", err)
	}
	if k.KeyType != "ed25519" || k.Scheme != "ed25519" {
		return nil, fmt.Errorf("in-toto key: keytype %q and scheme %q, want ed25519", truncate(k.KeyType), truncate(k.Scheme))
	}
	v, err := scheme.ParseEd25519Key(k.KeyVal.Public)
	if err != nil {
		return nil, fmt.Errorf("in-toto key: %w", err)
	}
	return []scheme.Verifier{v}, nil
}

// one returns k as a one-key list, or err.
func one[K scheme.Verifier](k K, err error) ([]scheme.Verifier, error) {
	if err != nil {
		return nil, err
	}
	return []scheme.Verifier{k}, nil
}

func schemeNames() string {
	names := make([]string, len(scheme.Schemes))
	for i, s := range scheme.Schemes {
		names[i] = string(s)
	}
	return strings.Join(names, ", ")
}

// truncate shortens s for an error message.
func truncate(s string) string {
	const max = 80
	if len(s) <= max {
		return s
	}
	return s[:max] + "..."
}

// readFile reads a file named by a flag, saying which flag on error.
func readFile(flag, path string, max int64) ([]byte, error) {
	b, err := client.ReadFileLimited(path, max)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", flag, err)
	}
	return b, nil
}
