package scheme

import (
	"bytes"
	"crypto/rsa"
	"encoding/base64"
	goerrors "errors"
	"fmt"
	"strings"

	"github.com/hiddeco/sshsig"
	"golang.org/x/crypto/ssh"
)

// SSHNamespace is the SSHSIG namespace attestlog requires: the one of
// "ssh-keygen -Y sign -n file", for signatures over files. A signature made
// for another namespace (git commits use "git") is for another purpose and
// is refused.
const SSHNamespace = "file"

// minRSABits is the smallest RSA modulus accepted, as OpenSSH's own minimum.
const minRSABits = 2048

// An SSHKey is an SSH public key that checks SSHSIG signatures
// (https://github.com/openssh/openssh-portable/blob/master/PROTOCOL.sshsig).
// The accepted key types are ssh-ed25519, ecdsa-sha2-nistp256 and ssh-rsa
// (at least 2048 bits, signing with rsa-sha2-512 or rsa-sha2-256). Its KeyID
// is the SHA256 fingerprint as ssh-keygen -l prints it ("SHA256:..."); its
// text is "<type> <base64 key>", an authorized_keys line without options or
// comment.
type SSHKey struct {
	pub ssh.PublicKey
}

// ParseSSHKey parses "<type> <base64 key>" in canonical standard base64.
func ParseSSHKey(text string) (*SSHKey, error) {
	typ, b64, ok := strings.Cut(text, " ")
	if !ok {
		return nil, fmt.Errorf("scheme: SSH key %q: want \"<type> <base64 key>\"", truncate(text))
	}
	raw, err := base64.StdEncoding.DecodeString(b64)
	if err != nil || base64.StdEncoding.EncodeToString(raw) != b64 {
		return nil, fmt.Errorf("scheme: SSH key %q: key is not canonical standard base64", truncate(text))
	}
	pub, err := ssh.ParsePublicKey(raw)
	if err != nil {
		return nil, fmt.Errorf("scheme: SSH key %q: %v", truncate(text), err)
	}
	if pub.Type() != typ || !bytes.Equal(pub.Marshal(), raw) {
		return nil, fmt.Errorf("scheme: SSH key %q: type %q does not match the key's type %q", truncate(text), truncate(typ), pub.Type())
	}
	return newSSHKey(pub)
}

// ParseSSHAuthorizedKey parses one authorized_keys line as ssh-keygen
// writes it in a .pub file: "<type> <base64 key> [comment]". Lines with
// options (such as cert-authority) are refused: their meaning would be lost.
func ParseSSHAuthorizedKey(line []byte) (*SSHKey, error) {
	pub, _, options, rest, err := ssh.ParseAuthorizedKey(line)
	if err != nil {
		return nil, fmt.Errorf("scheme: SSH authorized_keys line: %v", err)
	}
	if len(options) != 0 {
		return nil, fmt.Errorf("scheme: SSH authorized_keys line: options %q are not supported", truncate(strings.Join(options, ",")))
	}
	if len(bytes.TrimSpace(rest)) != 0 {
		return nil, goerrors.New("scheme: SSH authorized_keys line: more than one key")
	}
	return newSSHKey(pub)
}

func newSSHKey(pub ssh.PublicKey) (*SSHKey, error) {
	switch pub.Type() {
	case ssh.KeyAlgoED25519, ssh.KeyAlgoECDSA256:
	case ssh.KeyAlgoRSA:
		rk, ok := pub.(ssh.CryptoPublicKey).CryptoPublicKey().(*rsa.PublicKey)
		if !ok || rk.N.BitLen() < minRSABits {
			return nil, fmt.Errorf("scheme: SSH key %s: RSA keys need at least %d bits", ssh.FingerprintSHA256(pub), minRSABits)
		}
	default:
		return nil, fmt.Errorf("scheme: SSH key type %q is not supported: want %s, %s or %s", pub.Type(), ssh.KeyAlgoED25519, ssh.KeyAlgoECDSA256, ssh.KeyAlgoRSA)
	}
	return &SSHKey{pub: pub}, nil
}

// Scheme returns [SSH].
func (k *SSHKey) Scheme() Scheme { return SSH }

// KeyID returns the key's SHA256 fingerprint, "SHA256:<unpadded base64>".
func (k *SSHKey) KeyID() string { return ssh.FingerprintSHA256(k.pub) }

// String returns "<type> <base64 key>".
func (k *SSHKey) String() string {
	return k.pub.Type() + " " + base64.StdEncoding.EncodeToString(k.pub.Marshal())
}

// ParseSSHSignature parses an armored SSHSIG signature in its one spelling,
// the one ssh-keygen -Y sign writes: "-----BEGIN SSH SIGNATURE-----\n",
// standard base64 in lines of 70 characters, "-----END SSH SIGNATURE-----\n".
// [FormatSSHSignature] of the result returns b. It does not verify.
func ParseSSHSignature(b []byte) (*sshsig.Signature, error) {
	const begin, end = "-----BEGIN SSH SIGNATURE-----\n", "-----END SSH SIGNATURE-----\n"
	s, ok1 := strings.CutPrefix(string(b), begin)
	s, ok2 := strings.CutSuffix(s, end)
	if !ok1 || !ok2 {
		return nil, goerrors.New("scheme: SSH signature: not an armored SSH SIGNATURE block as ssh-keygen writes it")
	}
	raw, err := base64.StdEncoding.DecodeString(strings.ReplaceAll(s, "\n", ""))
	if err != nil {
		return nil, fmt.Errorf("scheme: SSH signature: %v", err)
	}
	sig, err := sshsig.ParseSignature(raw)
	if err != nil {
		return nil, fmt.Errorf("scheme: SSH signature: %v", err)
	}
	if !bytes.Equal(FormatSSHSignature(sig), b) {
		return nil, goerrors.New("scheme: SSH signature: not in canonical form (base64 lines of 70 characters, no reserved data)")
	}
	return sig, nil
}

// FormatSSHSignature armors sig as ssh-keygen -Y sign does.
func FormatSSHSignature(sig *sshsig.Signature) []byte {
	b64 := base64.StdEncoding.EncodeToString(sig.Marshal())
	var b bytes.Buffer
	b.WriteString("-----BEGIN SSH SIGNATURE-----\n")
	for len(b64) > 70 {
		b.WriteString(b64[:70] + "\n")
		b64 = b64[70:]
	}
	if b64 != "" {
		b.WriteString(b64 + "\n")
	}
	b.WriteString("-----END SSH SIGNATURE-----\n")
	return b.Bytes()
}

// Verify checks an armored SSHSIG signature (see [ParseSSHSignature]) over
// message: made by this key, in namespace [SSHNamespace], with sha256 or
// sha512.
func (k *SSHKey) Verify(message, signature []byte) error {
	sig, err := ParseSSHSignature(signature)
	if err != nil {
		return err
	}
	if got := ssh.FingerprintSHA256(sig.PublicKey); got != k.KeyID() {
		return fmt.Errorf("SSH key %s: signature is by key %s: %w", k.KeyID(), got, ErrVerify)
	}
	if sig.Namespace != SSHNamespace {
		return fmt.Errorf("SSH key %s: signature namespace is %q, want %q (ssh-keygen -Y sign -n %s): %w", k.KeyID(), truncate(sig.Namespace), SSHNamespace, SSHNamespace, ErrVerify)
	}
	if err := sshsig.Verify(bytes.NewReader(message), sig, k.pub, sig.HashAlgorithm, SSHNamespace); err != nil {
		return fmt.Errorf("SSH key %s: signature over the message (%s, %s): %v: %w", k.KeyID(), sig.Signature.Format, sig.HashAlgorithm, err, ErrVerify)
	}
	return nil
}
