package scheme

import (
	"errors"
	"fmt"
	"strings"
)

// A Scheme names a signature scheme. Its string is the SCHEME word of a
// policy line "builder NAME SCHEME KEY".
type Scheme string

// The schemes attestlog verifies.
const (
	Note      Scheme = "note"       // signed-note Ed25519 verifier keys (vkeys)
	OpenPGP   Scheme = "openpgp"    // OpenPGP certificates (RFC 4880, RFC 9580)
	Minisign  Scheme = "minisign"   // minisign public keys
	SSH       Scheme = "ssh"        // SSH public keys signing SSHSIG
	Ed25519   Scheme = "ed25519"    // raw Ed25519 keys (in-toto link v0.9, rebuilderd)
	ECDSAP256 Scheme = "ecdsa-p256" // ECDSA P-256 PKIX keys (DSSE, OSS Rebuild)
)

// Schemes lists every scheme, in the order the package doc describes them.
var Schemes = []Scheme{Note, OpenPGP, Minisign, SSH, Ed25519, ECDSAP256}

// ErrVerify is wrapped by every error that means a well-formed signature does
// not verify under a well-formed key: a wrong key, a changed message, a
// changed signature, an expired or revoked key, a wrong namespace. Errors
// that do not wrap it mean that a key or a signature is malformed.
var ErrVerify = errors.New("scheme: signature does not verify")

// A Verifier is a parsed public key of one scheme.
//
// Implementations in this package are immutable and safe for concurrent use.
type Verifier interface {
	// Scheme returns the key's scheme.
	Scheme() Scheme
	// KeyID returns the canonical identifier of the key; the package doc
	// gives its form per scheme. Two keys with one KeyID are the same key.
	KeyID() string
	// String returns the canonical text of the key, the KEY of a policy line:
	// [ParseVerifier] of Scheme()+" "+String() returns an equal Verifier.
	String() string
	// Verify checks signature over message, with signature in the scheme's
	// canonical encoding (see the package doc). It returns nil or an error
	// naming what failed, which wraps [ErrVerify] if the signature is well
	// formed but wrong.
	Verify(message, signature []byte) error
}

// ParseVerifier parses "SCHEME KEY", a scheme name, one space and the key's
// canonical text as [Verifier.String] returns it, into a Verifier of that
// scheme. It accepts only the canonical text; the per-scheme import functions
// ([ReadOpenPGPKeyring], [ParseMinisignPublicKeyFile], [ParseSSHAuthorizedKey],
// [ParseEd25519PublicKey], [ParseECDSAP256PublicKey]) turn the forms tools
// write into a Verifier whose String is that canonical text.
func ParseVerifier(text string) (Verifier, error) {
	name, key, ok := strings.Cut(text, " ")
	if !ok {
		return nil, fmt.Errorf("scheme: key %q: want \"SCHEME KEY\", with SCHEME one of %s", truncate(text), schemeList())
	}
	var (
		v   Verifier
		err error
	)
	switch Scheme(name) {
	case Note:
		v, err = ParseNoteKey(key)
	case OpenPGP:
		v, err = ParseOpenPGPKey(key)
	case Minisign:
		v, err = ParseMinisignKey(key)
	case SSH:
		v, err = ParseSSHKey(key)
	case Ed25519:
		v, err = ParseEd25519Key(key)
	case ECDSAP256:
		v, err = ParseECDSAP256Key(key)
	default:
		return nil, fmt.Errorf("scheme: unknown scheme %q: want one of %s", truncate(name), schemeList())
	}
	if err != nil {
		return nil, err
	}
	return v, nil
}

// Format returns "SCHEME KEY" for v, the text [ParseVerifier] parses.
func Format(v Verifier) string {
	return string(v.Scheme()) + " " + v.String()
}

func schemeList() string {
	names := make([]string, len(Schemes))
	for i, s := range Schemes {
		names[i] = string(s)
	}
	return strings.Join(names, ", ")
}

// truncate shortens s for an error message, so that a huge input does not
// make a huge error.
func truncate(s string) string {
	const max = 80
	if len(s) <= max {
		return s
	}
	return s[:max] + "..."
}
