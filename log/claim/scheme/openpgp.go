package scheme

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	goerrors "errors"
	"fmt"
	"io"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/ProtonMail/go-crypto/openpgp/armor"
	"github.com/ProtonMail/go-crypto/openpgp/clearsign"
	pgperrors "github.com/ProtonMail/go-crypto/openpgp/errors"
	"github.com/ProtonMail/go-crypto/openpgp/packet"
	openpgp "github.com/ProtonMail/go-crypto/openpgp/v2"
)

// maxCertSize bounds a minimized certificate: it must fit in a log entry
// with the claim beside it.
const maxCertSize = 32 << 10

// An OpenPGPKey is an OpenPGP certificate (transferable public key) trimmed
// by [Minimize]. Its KeyID is the primary key's fingerprint in uppercase
// hex, as gpg prints it; its text is "<FINGERPRINT> <standard base64 of the
// minimized binary certificate>".
type OpenPGPKey struct {
	fpr  string
	cert []byte // minimized, binary

	// mu guards entity: go-crypto caches signature checks inside it.
	mu     sync.Mutex
	entity *openpgp.Entity
}

// ReadOpenPGPKeyring reads every certificate of a keyring, armored ("PGP
// PUBLIC KEY BLOCK") or binary, as gpg --export writes it, and returns each
// minimized. Certificates go-crypto does not support (for example with
// only an unsupported algorithm) are skipped, as gpg skips them; an error
// comes back only if none is usable.
func ReadOpenPGPKeyring(keyring []byte) ([]*OpenPGPKey, error) {
	el, err := readKeyring(keyring)
	if err != nil {
		return nil, err
	}
	keys := make([]*OpenPGPKey, 0, len(el))
	for _, e := range el {
		cert, err := minimizeEntity(e)
		if err != nil {
			return nil, err
		}
		k, err := newOpenPGPKey(cert)
		if err != nil {
			return nil, err
		}
		keys = append(keys, k)
	}
	return keys, nil
}

func readKeyring(b []byte) (openpgp.EntityList, error) {
	var (
		el  openpgp.EntityList
		err error
	)
	if bytes.HasPrefix(bytes.TrimLeft(b, " \t\r\n"), []byte("-----BEGIN ")) {
		el, err = openpgp.ReadArmoredKeyRing(bytes.NewReader(b))
	} else {
		el, err = openpgp.ReadKeyRing(bytes.NewReader(b))
	}
	if err != nil {
		return nil, fmt.Errorf("scheme: reading OpenPGP keyring: %v", err)
	}
	if len(el) == 0 {
		return nil, goerrors.New("scheme: reading OpenPGP keyring: no certificate in it")
	}
	for _, e := range el {
		if e.PrivateKey != nil {
			return nil, goerrors.New("scheme: reading OpenPGP keyring: it holds a secret key; export the public certificate (gpg --export)")
		}
	}
	return el, nil
}

// Minimize trims one OpenPGP certificate, armored or binary, to what
// verifying its owner's signatures needs, and returns it in binary form:
// the primary key with its revocations and direct-key self-signatures,
// every user ID with only its self-signatures and self-revocations, and every
// subkey that is or was signing-capable with its bindings and revocations.
// It drops third-party certifications, user attributes (photos) and
// encryption-only subkeys, and every self-signature that does not verify.
// It keeps all self-signatures, not only the newest, since validity at a
// signature's creation time depends on the self-signatures of that time.
// The output is canonical: Minimize of it returns the same bytes.
func Minimize(cert []byte) ([]byte, error) {
	el, err := readKeyring(cert)
	if err != nil {
		return nil, err
	}
	if len(el) != 1 {
		return nil, fmt.Errorf("scheme: minimizing OpenPGP certificate: the input holds %d certificates, want 1", len(el))
	}
	return minimizeEntity(el[0])
}

func minimizeEntity(e *openpgp.Entity) ([]byte, error) {
	pk := e.PrimaryKey
	fpr := fingerprint(pk)
	var pkts []packetWriter
	pkts = append(pkts, pk)
	for _, s := range e.Revocations {
		if pk.VerifyRevocationSignature(s.Packet) == nil {
			pkts = append(pkts, s.Packet)
		}
	}
	for _, s := range e.DirectSignatures {
		if pk.VerifyDirectKeySignature(s.Packet) == nil {
			pkts = append(pkts, s.Packet)
		}
	}
	names := make([]string, 0, len(e.Identities))
	for name := range e.Identities {
		names = append(names, name)
	}
	sort.Strings(names)
	ids := 0
	for _, name := range names {
		id := e.Identities[name]
		var sigs []packetWriter
		for _, s := range id.Revocations {
			if pk.VerifyUserIdSignature(name, pk, s.Packet) == nil {
				sigs = append(sigs, s.Packet)
			}
		}
		certs := 0
		for _, s := range id.SelfCertifications {
			if pk.VerifyUserIdSignature(name, pk, s.Packet) == nil {
				sigs = append(sigs, s.Packet)
				certs++
			}
		}
		if certs > 0 {
			pkts = append(pkts, id.UserId)
			pkts = append(pkts, sigs...)
			ids++
		}
	}
	if ids == 0 && pk.Version < 6 {
		return nil, fmt.Errorf("scheme: OpenPGP certificate %s: no user ID with a valid self-signature", fpr)
	}
	for _, sk := range e.Subkeys {
		var bindings []packetWriter
		signing := false
		for _, s := range sk.Bindings {
			if pk.VerifyKeySignature(sk.PublicKey, s.Packet) == nil {
				bindings = append(bindings, s.Packet)
				signing = signing || (s.Packet.FlagsValid && s.Packet.FlagSign)
			}
		}
		if !signing {
			continue
		}
		pkts = append(pkts, sk.PublicKey)
		for _, s := range sk.Revocations {
			if pk.VerifySubkeyRevocationSignature(s.Packet, sk.PublicKey) == nil {
				pkts = append(pkts, s.Packet)
			}
		}
		pkts = append(pkts, bindings...)
	}
	var buf bytes.Buffer
	for _, p := range pkts {
		if err := p.Serialize(&buf); err != nil {
			return nil, fmt.Errorf("scheme: minimizing OpenPGP certificate %s: %v", fpr, err)
		}
	}
	if buf.Len() > maxCertSize {
		return nil, fmt.Errorf("scheme: OpenPGP certificate %s is %d bytes minimized, more than %d", fpr, buf.Len(), maxCertSize)
	}
	return buf.Bytes(), nil
}

type packetWriter interface{ Serialize(io.Writer) error }

func fingerprint(pk *packet.PublicKey) string {
	return strings.ToUpper(hex.EncodeToString(pk.Fingerprint))
}

// newOpenPGPKey parses a minimized binary certificate and checks that it is
// minimized, so that a key has one text.
func newOpenPGPKey(cert []byte) (*OpenPGPKey, error) {
	el, err := openpgp.ReadKeyRing(bytes.NewReader(cert))
	if err != nil || len(el) != 1 {
		return nil, fmt.Errorf("scheme: OpenPGP certificate is not one binary certificate (err %v)", err)
	}
	e := el[0]
	if e.PrivateKey != nil {
		return nil, goerrors.New("scheme: OpenPGP certificate holds a secret key")
	}
	min, err := minimizeEntity(e)
	if err != nil {
		return nil, err
	}
	if !bytes.Equal(min, cert) {
		return nil, fmt.Errorf("scheme: OpenPGP certificate %s is not minimized; use Minimize or ReadOpenPGPKeyring", fingerprint(e.PrimaryKey))
	}
	// Parse again: minimizeEntity may have cached checks in e.
	el, _ = openpgp.ReadKeyRing(bytes.NewReader(cert))
	return &OpenPGPKey{fpr: fingerprint(e.PrimaryKey), cert: bytes.Clone(cert), entity: el[0]}, nil
}

// ParseOpenPGPKey parses the text of an OpenPGPKey, "<FINGERPRINT> <base64
// certificate>": the certificate must be minimized and its primary key's
// fingerprint must be FINGERPRINT, in uppercase hex.
func ParseOpenPGPKey(text string) (*OpenPGPKey, error) {
	fpr, b64, ok := strings.Cut(text, " ")
	if !ok {
		return nil, fmt.Errorf("scheme: OpenPGP key %q: want \"<FINGERPRINT> <base64 certificate>\"", truncate(text))
	}
	cert, err := base64.StdEncoding.DecodeString(b64)
	if err != nil || base64.StdEncoding.EncodeToString(cert) != b64 {
		return nil, fmt.Errorf("scheme: OpenPGP key %s: certificate is not canonical standard base64", truncate(fpr))
	}
	k, err := newOpenPGPKey(cert)
	if err != nil {
		return nil, err
	}
	if k.fpr != fpr {
		return nil, fmt.Errorf("scheme: OpenPGP key %q: the certificate's fingerprint is %s", truncate(fpr), k.fpr)
	}
	return k, nil
}

// Fresh returns a key for the same certificate with a certificate of its
// own, parsed again from k's bytes but not checked again (k's were). It
// verifies exactly as a key parsed anew from k's text does: go-crypto keeps
// the outcome of its self-signature checks in a parsed certificate, and
// some depend on the time a signature is verified at (a self-signature's
// own expiry), so a key that has verified one signature may not answer
// another as a new key would. Caches of parsed keys hand out Fresh copies.
func (k *OpenPGPKey) Fresh() (*OpenPGPKey, error) {
	el, err := openpgp.ReadKeyRing(bytes.NewReader(k.cert))
	if err != nil || len(el) != 1 {
		return nil, fmt.Errorf("scheme: OpenPGP certificate %s: parsing it again: not one certificate (err %v)", k.fpr, err)
	}
	return &OpenPGPKey{fpr: k.fpr, cert: k.cert, entity: el[0]}, nil
}

// Scheme returns [OpenPGP].
func (k *OpenPGPKey) Scheme() Scheme { return OpenPGP }

// KeyID returns the primary key's fingerprint, uppercase hex.
func (k *OpenPGPKey) KeyID() string { return k.fpr }

// String returns "<FINGERPRINT> <standard base64 of the certificate>".
func (k *OpenPGPKey) String() string {
	return k.fpr + " " + base64.StdEncoding.EncodeToString(k.cert)
}

// Certificate returns the minimized binary certificate. The caller must not
// modify it.
func (k *OpenPGPKey) Certificate() []byte { return k.cert }

// Verify checks an OpenPGP signature over message. signature is one
// signature packet, binary or armored ("PGP SIGNATURE"), of type binary
// (gpg --detach-sign) or text (gpg --clearsign, --textmode). The key's
// validity is judged at the signature's creation time: a key that expired
// or was retired after signing still verifies, and a signature created after
// the key or its signing subkey expired or was revoked does not. A key
// revoked as compromised, or with no reason, is refused at any time. The
// signature's own expiry is not enforced; see the package doc.
func (k *OpenPGPKey) Verify(message, signature []byte) error {
	pkt, err := ParseOpenPGPSignature(signature)
	if err != nil {
		return err
	}
	p, err := packet.Read(bytes.NewReader(pkt))
	if err != nil {
		return fmt.Errorf("scheme: OpenPGP signature: %v", err)
	}
	sig, ok := p.(*packet.Signature)
	if !ok {
		return goerrors.New("scheme: OpenPGP signature: packet is not a supported signature")
	}
	if sig.SigType != packet.SigTypeBinary && sig.SigType != packet.SigTypeText {
		return fmt.Errorf("scheme: OpenPGP signature: type %#x is not a signature over a document (binary 0x00 or text 0x01)", uint8(sig.SigType))
	}
	created := sig.CreationTime
	// go-crypto refuses secp256k1 by default, as unusual rather than weak;
	// guix.sigs builders sign Bitcoin Core releases with it (kvaciral's key
	// in testdata/formats), and gpg accepts it, so accept every curve.
	config := &packet.Config{Time: func() time.Time { return created }, RejectCurves: map[packet.Curve]bool{}}

	k.mu.Lock()
	_, _, err = openpgp.VerifyDetachedSignature(openpgp.EntityList{k.entity}, bytes.NewReader(message), bytes.NewReader(pkt), config)
	k.mu.Unlock()
	if err == nil {
		return nil
	}
	what := "signature"
	switch {
	case goerrors.Is(err, pgperrors.ErrUnknownIssuer):
		issuer := "no issuer"
		if sig.IssuerKeyId != nil {
			issuer = fmt.Sprintf("issuer key ID %016X", *sig.IssuerKeyId)
		}
		return fmt.Errorf("OpenPGP key %s: signature names %s, not a signing key of this certificate: %w", k.fpr, issuer, ErrVerify)
	case goerrors.Is(err, pgperrors.ErrKeyExpired):
		what = "key had expired when the signature was made (" + created.UTC().Format(time.RFC3339) + ")"
	case goerrors.Is(err, pgperrors.ErrKeyRevoked):
		what = "key is revoked"
	case goerrors.Is(err, pgperrors.ErrSignatureOlderThanKey):
		what = "signature is older than the key"
	}
	return fmt.Errorf("OpenPGP key %s: %s: %v: %w", k.fpr, what, err, ErrVerify)
}

// ParseOpenPGPSignature parses one OpenPGP signature packet, armored ("PGP
// SIGNATURE", as gpg --armor writes it) or binary, and returns it in its
// canonical encoding: binary, with an OpenPGP (new-format) packet header and
// the shortest length encoding. It refuses anything but exactly one
// signature packet; it does not check the packet's contents.
func ParseOpenPGPSignature(b []byte) ([]byte, error) {
	if bytes.HasPrefix(bytes.TrimLeft(b, " \t\r\n"), []byte("-----BEGIN ")) {
		blk, err := armor.Decode(bytes.NewReader(b))
		if err != nil {
			return nil, fmt.Errorf("scheme: OpenPGP armored signature: %v", err)
		}
		if blk.Type != "PGP SIGNATURE" {
			return nil, fmt.Errorf("scheme: OpenPGP armored signature: block is %q, want \"PGP SIGNATURE\"", truncate(blk.Type))
		}
		body, err := io.ReadAll(io.LimitReader(blk.Body, 1<<20))
		if err != nil {
			return nil, fmt.Errorf("scheme: OpenPGP armored signature: %v", err)
		}
		b = body
	}
	tag, body, rest, err := readPacket(b)
	if err != nil {
		return nil, fmt.Errorf("scheme: OpenPGP signature: %v", err)
	}
	if tag != 2 {
		return nil, fmt.Errorf("scheme: OpenPGP signature: packet has tag %d, want 2 (signature)", tag)
	}
	if len(rest) != 0 {
		return nil, goerrors.New("scheme: OpenPGP signature: more than one packet; submit each signature on its own")
	}
	return appendPacket(nil, tag, body), nil
}

// readPacket reads one packet with a fixed length (RFC 9580 section 4.2):
// partial and indeterminate lengths never frame a detached signature.
func readPacket(b []byte) (tag byte, body, rest []byte, err error) {
	if len(b) == 0 {
		return 0, nil, nil, goerrors.New("empty input")
	}
	h := b[0]
	if h&0x80 == 0 {
		return 0, nil, nil, goerrors.New("first byte is not a packet header")
	}
	var n int
	b = b[1:]
	if h&0x40 == 0 { // legacy header: tag in bits 5-2, length type in bits 1-0
		tag = (h >> 2) & 0x0f
		switch h & 3 {
		case 0:
			if len(b) < 1 {
				return 0, nil, nil, goerrors.New("truncated header")
			}
			n, b = int(b[0]), b[1:]
		case 1:
			if len(b) < 2 {
				return 0, nil, nil, goerrors.New("truncated header")
			}
			n, b = int(b[0])<<8|int(b[1]), b[2:]
		case 2:
			if len(b) < 4 {
				return 0, nil, nil, goerrors.New("truncated header")
			}
			n, b = int(b[0])<<24|int(b[1])<<16|int(b[2])<<8|int(b[3]), b[4:]
		default:
			return 0, nil, nil, goerrors.New("indeterminate packet length")
		}
	} else {
		tag = h & 0x3f
		if len(b) < 1 {
			return 0, nil, nil, goerrors.New("truncated header")
		}
		switch l := b[0]; {
		case l < 192:
			n, b = int(l), b[1:]
		case l < 224:
			if len(b) < 2 {
				return 0, nil, nil, goerrors.New("truncated header")
			}
			n, b = (int(l)-192)<<8+int(b[1])+192, b[2:]
		case l == 255:
			if len(b) < 5 {
				return 0, nil, nil, goerrors.New("truncated header")
			}
			n, b = int(b[1])<<24|int(b[2])<<16|int(b[3])<<8|int(b[4]), b[5:]
		default:
			return 0, nil, nil, goerrors.New("partial body length")
		}
	}
	if n < 0 || n > len(b) {
		return 0, nil, nil, fmt.Errorf("packet length %d exceeds the %d bytes left", n, len(b))
	}
	return tag, b[:n], b[n:], nil
}

// appendPacket appends a packet with an OpenPGP (new-format) header and the
// shortest length encoding.
func appendPacket(dst []byte, tag byte, body []byte) []byte {
	dst = append(dst, 0xc0|tag)
	switch n := len(body); {
	case n < 192:
		dst = append(dst, byte(n))
	case n < 8384:
		n -= 192
		dst = append(dst, byte(n>>8)+192, byte(n))
	default:
		dst = append(dst, 255, byte(n>>24), byte(n>>16), byte(n>>8), byte(n))
	}
	return append(dst, body...)
}

// ParseClearsigned splits an OpenPGP clearsigned document (RFC 9580 section
// 7, as gpg --clearsign and debsign write it) into the text the signature
// covers and the signature in its canonical encoding (see
// [ParseOpenPGPSignature]). The text is returned exactly as covered: dash
// escapes and trailing spaces and tabs removed, lines separated by "\n",
// no newline after the last line; the signature hashes it with each "\n"
// taken as "\r\n", so [OpenPGPKey.Verify] of text and signature checks the
// document. The document must start with its BEGIN line and end with its
// signature block; text holding a carriage return other than in a line
// ending is refused, since its canonical form would be ambiguous. The
// "Hash:" header is not checked: the signature packet names its hash.
func ParseClearsigned(doc []byte) (text, signature []byte, err error) {
	if !bytes.HasPrefix(doc, []byte("-----BEGIN PGP SIGNED MESSAGE-----")) {
		return nil, nil, goerrors.New("scheme: OpenPGP clearsigned document: does not start with -----BEGIN PGP SIGNED MESSAGE-----")
	}
	blk, rest := clearsign.Decode(doc)
	if blk == nil {
		return nil, nil, goerrors.New("scheme: OpenPGP clearsigned document: malformed (headers, text or signature block)")
	}
	if len(rest) != 0 {
		return nil, nil, goerrors.New("scheme: OpenPGP clearsigned document: data after the signature block")
	}
	if bytes.IndexByte(blk.Plaintext, '\r') >= 0 {
		return nil, nil, goerrors.New("scheme: OpenPGP clearsigned document: text holds a carriage return inside a line")
	}
	body, err := io.ReadAll(io.LimitReader(blk.ArmoredSignature.Body, 1<<20))
	if err != nil {
		return nil, nil, fmt.Errorf("scheme: OpenPGP clearsigned document: signature block: %v", err)
	}
	sig, err := ParseOpenPGPSignature(body)
	if err != nil {
		return nil, nil, fmt.Errorf("clearsigned document: %w", err)
	}
	p, err := packet.Read(bytes.NewReader(sig))
	if err != nil {
		return nil, nil, fmt.Errorf("scheme: OpenPGP clearsigned document: signature: %v", err)
	}
	if s, ok := p.(*packet.Signature); !ok || s.SigType != packet.SigTypeText {
		return nil, nil, goerrors.New("scheme: OpenPGP clearsigned document: signature is not a text signature (type 0x01)")
	}
	return blk.Plaintext, sig, nil
}
