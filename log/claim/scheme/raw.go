package scheme

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/sha256"
	"crypto/x509"
	"encoding/asn1"
	"encoding/base64"
	"encoding/hex"
	"encoding/pem"
	goerrors "errors"
	"fmt"
	"strconv"

	"golang.org/x/crypto/cryptobyte"
	cbasn1 "golang.org/x/crypto/cryptobyte/asn1"
)

// oidEd25519 is id-Ed25519 (RFC 8410).
var oidEd25519 = asn1.ObjectIdentifier{1, 3, 101, 112}

// An Ed25519Key is a raw Ed25519 public key, as in-toto link v0.9 metadata
// (rebuilderd) is signed with. Its KeyID is the lowercase hex SHA-256 of the
// 32 key bytes (not in-toto's keyid, which depends on the key's JSON form);
// its text is the key in lowercase hex.
type Ed25519Key struct {
	key ed25519.PublicKey
}

// ParseEd25519Key parses the 32-byte key as 64 lowercase hex digits.
func ParseEd25519Key(text string) (*Ed25519Key, error) {
	raw, err := hex.DecodeString(text)
	if err != nil || len(raw) != ed25519.PublicKeySize || hex.EncodeToString(raw) != text {
		return nil, fmt.Errorf("scheme: Ed25519 key %q: want 64 lowercase hex digits", truncate(text))
	}
	return &Ed25519Key{key: ed25519.PublicKey(raw)}, nil
}

// ParseEd25519PublicKey parses an Ed25519 public key in any form builders
// publish, and surrounding whitespace:
//   - 64 hex digits (in-toto "keyval": {"public": ...});
//   - standard base64 of the 32 bytes;
//   - PEM "PUBLIC KEY" holding a SubjectPublicKeyInfo with algorithm
//     id-Ed25519 and either no parameters (RFC 8410) or NULL parameters, the
//     non-standard form in-toto-rs and so rebuilderd write, which Go's x509
//     refuses ("30 2c 30 07 06 03 2b 65 70 05 00 03 21 00" and the key).
//
// Any other structure, algorithm or length is refused.
func ParseEd25519PublicKey(b []byte) (*Ed25519Key, error) {
	b = bytes.TrimSpace(b)
	if bytes.HasPrefix(b, []byte("-----BEGIN")) {
		der, err := decodePEM(b, "PUBLIC KEY")
		if err != nil {
			return nil, fmt.Errorf("scheme: Ed25519 public key: %v", err)
		}
		key, err := parseEd25519SPKI(der)
		if err != nil {
			return nil, fmt.Errorf("scheme: Ed25519 public key: %v", err)
		}
		return &Ed25519Key{key: key}, nil
	}
	if len(b) == 2*ed25519.PublicKeySize {
		raw, err := hex.DecodeString(string(b))
		if err != nil {
			return nil, goerrors.New("scheme: Ed25519 public key: 64 characters but not hex")
		}
		return &Ed25519Key{key: ed25519.PublicKey(raw)}, nil
	}
	raw, err := base64.StdEncoding.DecodeString(string(b))
	if err != nil || len(raw) != ed25519.PublicKeySize {
		return nil, goerrors.New("scheme: Ed25519 public key: not 64 hex digits, base64 of 32 bytes, or a PEM PUBLIC KEY")
	}
	return &Ed25519Key{key: ed25519.PublicKey(raw)}, nil
}

// parseEd25519SPKI parses SubjectPublicKeyInfo { AlgorithmIdentifier {
// id-Ed25519, [NULL] }, BIT STRING (32 bytes) } with nothing after it.
func parseEd25519SPKI(der []byte) (ed25519.PublicKey, error) {
	in := cryptobyte.String(der)
	var spki, alg cryptobyte.String
	var oid asn1.ObjectIdentifier
	var bits asn1.BitString
	if !in.ReadASN1(&spki, cbasn1.SEQUENCE) || !in.Empty() ||
		!spki.ReadASN1(&alg, cbasn1.SEQUENCE) ||
		!alg.ReadASN1ObjectIdentifier(&oid) {
		return nil, goerrors.New("not a SubjectPublicKeyInfo")
	}
	if !oid.Equal(oidEd25519) {
		return nil, fmt.Errorf("algorithm %s is not Ed25519 (%s)", oid, oidEd25519)
	}
	if !alg.Empty() {
		var null cryptobyte.String
		if !alg.ReadASN1(&null, cbasn1.NULL) || !null.Empty() || !alg.Empty() {
			return nil, goerrors.New("Ed25519 algorithm parameters are neither absent nor NULL")
		}
	}
	if !spki.ReadASN1BitString(&bits) || !spki.Empty() || bits.BitLength != 8*ed25519.PublicKeySize {
		return nil, fmt.Errorf("Ed25519 key is not a %d-byte bit string", ed25519.PublicKeySize)
	}
	return ed25519.PublicKey(bits.Bytes), nil
}

// decodePEM returns the bytes of the one PEM block in b, which must have the
// given type and no headers.
func decodePEM(b []byte, typ string) ([]byte, error) {
	blk, rest := pem.Decode(b)
	if blk == nil {
		return nil, goerrors.New("malformed PEM")
	}
	if blk.Type != typ || len(blk.Headers) != 0 {
		return nil, fmt.Errorf("PEM block is %q, want %q without headers", truncate(blk.Type), typ)
	}
	if len(bytes.TrimSpace(rest)) != 0 {
		return nil, goerrors.New("data after the PEM block")
	}
	return blk.Bytes, nil
}

// Scheme returns [Ed25519].
func (k *Ed25519Key) Scheme() Scheme { return Ed25519 }

// KeyID returns the lowercase hex SHA-256 of the 32 key bytes.
func (k *Ed25519Key) KeyID() string {
	h := sha256.Sum256(k.key)
	return hex.EncodeToString(h[:])
}

// String returns the key as 64 lowercase hex digits.
func (k *Ed25519Key) String() string { return hex.EncodeToString(k.key) }

// Verify checks a raw 64-byte Ed25519 signature (RFC 8032) over message.
// (An in-toto link v0.9 holds it hex-encoded, over the canonical JSON of
// its "signed" object.)
func (k *Ed25519Key) Verify(message, signature []byte) error {
	if len(signature) != ed25519.SignatureSize {
		return fmt.Errorf("scheme: Ed25519 key %s: signature is %d bytes, want %d", k.String(), len(signature), ed25519.SignatureSize)
	}
	if !ed25519.Verify(k.key, message, signature) {
		return fmt.Errorf("Ed25519 key %s: signature over the message: %w", k.String(), ErrVerify)
	}
	return nil
}

// An ECDSAP256Key is an ECDSA public key on NIST P-256, as OSS Rebuild signs
// DSSE envelopes with (Cloud KMS EC_SIGN_P256_SHA256). Its KeyID is the
// lowercase hex SHA-256 of its DER SubjectPublicKeyInfo; its text is that
// DER in standard base64, the body of its PEM on one line.
type ECDSAP256Key struct {
	key *ecdsa.PublicKey
	der []byte
}

// ParseECDSAP256Key parses the standard base64 of a DER PKIX
// SubjectPublicKeyInfo with an uncompressed P-256 point.
func ParseECDSAP256Key(text string) (*ECDSAP256Key, error) {
	der, err := base64.StdEncoding.DecodeString(text)
	if err != nil || base64.StdEncoding.EncodeToString(der) != text {
		return nil, fmt.Errorf("scheme: ECDSA P-256 key %q: not canonical standard base64", truncate(text))
	}
	return parseECDSAP256DER(der)
}

// ParseECDSAP256PublicKey parses a PEM "PUBLIC KEY" block holding a PKIX
// P-256 key, as openssl and cosign write it, or the canonical text of
// [ParseECDSAP256Key], with surrounding whitespace.
func ParseECDSAP256PublicKey(b []byte) (*ECDSAP256Key, error) {
	b = bytes.TrimSpace(b)
	if !bytes.HasPrefix(b, []byte("-----BEGIN")) {
		return ParseECDSAP256Key(string(b))
	}
	der, err := decodePEM(b, "PUBLIC KEY")
	if err != nil {
		return nil, fmt.Errorf("scheme: ECDSA P-256 public key: %v", err)
	}
	return parseECDSAP256DER(der)
}

func parseECDSAP256DER(der []byte) (*ECDSAP256Key, error) {
	pub, err := x509.ParsePKIXPublicKey(der)
	if err != nil {
		return nil, fmt.Errorf("scheme: ECDSA P-256 key: %v", err)
	}
	k, ok := pub.(*ecdsa.PublicKey)
	if !ok || k.Curve != elliptic.P256() {
		return nil, fmt.Errorf("scheme: ECDSA P-256 key: key is a %T, not on P-256", pub)
	}
	if again, err := x509.MarshalPKIXPublicKey(k); err != nil || !bytes.Equal(again, der) {
		return nil, goerrors.New("scheme: ECDSA P-256 key: DER is not in canonical form")
	}
	return &ECDSAP256Key{key: k, der: bytes.Clone(der)}, nil
}

// Scheme returns [ECDSAP256].
func (k *ECDSAP256Key) Scheme() Scheme { return ECDSAP256 }

// KeyID returns the lowercase hex SHA-256 of the DER SubjectPublicKeyInfo.
func (k *ECDSAP256Key) KeyID() string {
	h := sha256.Sum256(k.der)
	return hex.EncodeToString(h[:])
}

// String returns the DER SubjectPublicKeyInfo in standard base64.
func (k *ECDSAP256Key) String() string { return base64.StdEncoding.EncodeToString(k.der) }

// Verify checks an ASN.1 DER ECDSA signature (as Go's ecdsa.SignASN1, Cloud
// KMS and openssl produce it) over the SHA-256 of message; for DSSE,
// message is [PAE] of the envelope. The raw 64-byte r||s form is refused:
// no DSSE producer attestlog accepts writes it, and one form per signature
// keeps entries canonical.
func (k *ECDSAP256Key) Verify(message, signature []byte) error {
	h := sha256.Sum256(message)
	if !ecdsa.VerifyASN1(k.key, h[:], signature) {
		return fmt.Errorf("ECDSA P-256 key %s: DER signature over the SHA-256 of the message: %w", k.KeyID(), ErrVerify)
	}
	return nil
}

// PAE returns the DSSE pre-authentication encoding of an envelope's payload
// type and payload, the bytes a DSSE signature covers
// (https://github.com/secure-systems-lab/dsse/blob/master/protocol.md):
//
//	"DSSEv1" SP LEN(type) SP type SP LEN(payload) SP payload
//
// with lengths in ASCII decimal.
func PAE(payloadType string, payload []byte) []byte {
	b := []byte("DSSEv1 ")
	b = strconv.AppendInt(b, int64(len(payloadType)), 10)
	b = append(b, ' ')
	b = append(b, payloadType...)
	b = append(b, ' ')
	b = strconv.AppendInt(b, int64(len(payload)), 10)
	b = append(b, ' ')
	return append(b, payload...)
}
