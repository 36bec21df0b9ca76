package record

import (
	"bytes"
	"errors"
	"fmt"
	"path"
	"regexp"
	"strings"
	"unicode/utf8"

	"github.com/attestlog/attestlog/log/claim"
	"github.com/attestlog/attestlog/log/claim/scheme"
)

// ImportKey reads a public key of scheme s from a file as its tool writes
// it: an OpenPGP keyring holding one certificate (gpg --export, armored or
// binary; minimised), a minisign .pub file, an SSH authorized_keys line
// (.pub), an Ed25519 key (hex, base64 or PEM), an ECDSA P-256 PEM, or a
// signed-note vkey.
func ImportKey(s scheme.Scheme, b []byte) (scheme.Verifier, error) {
	switch s {
	case scheme.Note:
		vkey := string(bytes.TrimSpace(b))
		if _, err := claim.ParseVKey(vkey); err != nil {
			return nil, err
		}
		return scheme.ParseNoteKey(vkey)
	case scheme.OpenPGP:
		keys, err := scheme.ReadOpenPGPKeyring(b)
		if err != nil {
			return nil, err
		}
		if len(keys) != 1 {
			return nil, fmt.Errorf("record: the OpenPGP keyring holds %d certificates; export one builder's (gpg --export FINGERPRINT)", len(keys))
		}
		return keys[0], nil
	case scheme.Minisign:
		return scheme.ParseMinisignPublicKeyFile(b)
	case scheme.SSH:
		return scheme.ParseSSHAuthorizedKey(b)
	case scheme.Ed25519:
		return scheme.ParseEd25519PublicKey(b)
	case scheme.ECDSAP256:
		return scheme.ParseECDSAP256PublicKey(b)
	}
	_, err := scheme.ParseVerifier(string(s) + " x")
	return nil, err
}

// ParseBuilderKey parses the key of a builder line, "builder NAME <key>",
// as policies and the log's allowlist write it; fields are the words after
// NAME. Its forms:
//
//	<vkey>                   a signed-note key, as before issue 11
//	<scheme> <key text>      the scheme's canonical text (scheme.Format)
//	<scheme> @<file>         a key file, read with readFile and imported
//	                         with [ImportKey]
//
// readFile resolves a file name (relative to the file holding the line);
// nil refuses @file forms.
func ParseBuilderKey(fields []string, readFile func(name string) ([]byte, error)) (scheme.Verifier, error) {
	switch {
	case len(fields) == 1:
		if _, err := claim.ParseVKey(fields[0]); err != nil {
			return nil, err
		}
		return scheme.ParseNoteKey(fields[0])
	case len(fields) < 2:
		return nil, errors.New("record: want \"<vkey>\" or \"<scheme> <key>\" or \"<scheme> @<file>\"")
	}
	s := scheme.Scheme(fields[0])
	if name, ok := strings.CutPrefix(fields[1], "@"); ok && len(fields) == 2 {
		if readFile == nil {
			return nil, fmt.Errorf("record: key file @%s: key files are read only from a policy or allowlist file", name)
		}
		if !validScheme(s) {
			_, err := scheme.ParseVerifier(fields[0] + " x")
			return nil, err
		}
		b, err := readFile(name)
		if err != nil {
			return nil, fmt.Errorf("record: reading key file: %w", err)
		}
		v, err := ImportKey(s, b)
		if err != nil {
			return nil, fmt.Errorf("record: key file %s: %w", name, err)
		}
		return v, nil
	}
	v, err := scheme.ParseVerifier(strings.Join(fields, " "))
	if err != nil {
		return nil, err
	}
	if s == scheme.Note {
		if _, err := claim.ParseVKey(v.String()); err != nil {
			return nil, err
		}
	}
	return v, nil
}

func validScheme(s scheme.Scheme) bool {
	for _, k := range scheme.Schemes {
		if k == s {
			return true
		}
	}
	return false
}

// TrustKey returns the text that two keys share exactly when a signature
// by one is a signature by the other, for matching signers against
// allowlists and policies: an OpenPGP certificate is named by its
// fingerprint, "openpgp:<FINGERPRINT>" (two certificates of one primary
// key differ in the self-signatures they carry, and every subkey in
// either is bound by the primary key); a signed-note key by its vkey, as
// before issue 11; any other key by its canonical text "<scheme> <key>"
// (a minisign key number, for one, is chosen by the key's maker, not
// derived from the key, so it cannot name a key).
func TrustKey(v scheme.Verifier) string {
	return Signer{Scheme: v.Scheme(), KeyID: v.KeyID(), Key: scheme.Format(v)}.TrustKey()
}

// TrustKey returns [TrustKey] of the signer's key.
func (s Signer) TrustKey() string {
	switch s.Scheme {
	case scheme.OpenPGP:
		return "openpgp:" + s.KeyID
	case scheme.Note:
		return strings.TrimPrefix(s.Key, string(scheme.Note)+" ")
	}
	return s.Key
}

// debNameRE and debVersionRE are Debian's source package name and version
// (deb-src-control(5), deb-version(7)), as a buildinfo names them.
var (
	debNameRE    = regexp.MustCompile(`^[a-z0-9][a-z0-9+.-]+$`)
	debVersionRE = regexp.MustCompile(`^([0-9]+:)?[0-9][A-Za-z0-9.+~-]*$`)
)

// NormaliseSourceCommit normalises a source and commit as lookups take
// them: a git source ("git+https://...", normalised as log/claim does) with
// its full commit hash, or a Debian source "deb:<source>@<version>" with an
// empty commit (the version fixes the source).
func NormaliseSourceCommit(source, commit string) (string, string, error) {
	if rest, ok := strings.CutPrefix(source, "deb:"); ok {
		name, version, _ := strings.Cut(rest, "@")
		if !debNameRE.MatchString(name) || !debVersionRE.MatchString(version) {
			return "", "", fmt.Errorf("record: source %q is not deb:<source package>@<version>", truncate(source))
		}
		if commit != "" {
			return "", "", fmt.Errorf("record: source %s is a Debian source package: give no commit, its version fixes it", truncate(source))
		}
		return source, "", nil
	}
	src, _, err := claim.NormaliseSource(source)
	if err != nil {
		return "", "", fmt.Errorf("record: source: %w", err)
	}
	c, err := claim.NormaliseCommit(commit)
	if err != nil {
		return "", "", fmt.Errorf("record: commit: %w", err)
	}
	return src, c, nil
}

// CheckName checks a file name as subjects hold them: a basename of
// printable text, as log/claim/format requires of every subject.
func CheckName(name string) error {
	if name == "" || name == "." || name == ".." || path.Base(name) != name || strings.Contains(name, `\`) || !utf8.ValidString(name) {
		return fmt.Errorf("record: file name %q is not a file basename", truncate(name))
	}
	if err := claim.CheckText(name); err != nil {
		return fmt.Errorf("record: file name %q: %w", truncate(name), err)
	}
	return nil
}
