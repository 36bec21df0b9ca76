package scheme

import (
	"bytes"
	"crypto/ed25519"
	"encoding/base64"
	goerrors "errors"
	"fmt"
	"strings"
	"unicode/utf8"

	"golang.org/x/crypto/blake2b"
)

const (
	minisignUntrusted = "untrusted comment: "
	minisignTrusted   = "trusted comment: "
	// maxMinisignComment bounds a comment line; minisign itself allows
	// about 1 KiB of trusted comment.
	maxMinisignComment = 4096
)

// A MinisignKey is a minisign Ed25519 public key. Its KeyID is the 8-byte
// key number as minisign prints it (16 uppercase hex digits, the bytes in
// reverse order); its text is the "RW..." base64 line of the public key file.
type MinisignKey struct {
	keyNum [8]byte
	key    ed25519.PublicKey
}

// ParseMinisignKey parses the base64 public key ("RW...", as minisign -P
// takes it) in canonical standard base64.
func ParseMinisignKey(text string) (*MinisignKey, error) {
	raw, err := base64.StdEncoding.DecodeString(text)
	if err != nil || base64.StdEncoding.EncodeToString(raw) != text {
		return nil, fmt.Errorf("scheme: minisign key %q: not canonical standard base64", truncate(text))
	}
	if len(raw) != 2+8+ed25519.PublicKeySize || string(raw[:2]) != "Ed" {
		return nil, fmt.Errorf("scheme: minisign key %q: want 42 bytes starting with \"Ed\"", truncate(text))
	}
	k := &MinisignKey{key: ed25519.PublicKey(raw[10:])}
	copy(k.keyNum[:], raw[2:10])
	return k, nil
}

// ParseMinisignPublicKeyFile parses a public key file as minisign -G writes
// it (an "untrusted comment:" line, then the key line), or the key line
// alone, each with or without a final newline.
func ParseMinisignPublicKeyFile(b []byte) (*MinisignKey, error) {
	s := strings.TrimSuffix(string(b), "\n")
	if strings.HasPrefix(s, minisignUntrusted) {
		_, key, ok := strings.Cut(s, "\n")
		if !ok {
			return nil, goerrors.New("scheme: minisign public key file: no key line after the comment")
		}
		s = key
	}
	return ParseMinisignKey(s)
}

// Scheme returns [Minisign].
func (k *MinisignKey) Scheme() Scheme { return Minisign }

// KeyID returns the key number as minisign prints it.
func (k *MinisignKey) KeyID() string { return minisignKeyID(k.keyNum) }

func minisignKeyID(n [8]byte) string {
	var r [8]byte
	for i := range n {
		r[i] = n[7-i]
	}
	return fmt.Sprintf("%X", r[:])
}

// String returns the base64 public key, "RW...".
func (k *MinisignKey) String() string {
	return base64.StdEncoding.EncodeToString(append(append([]byte("Ed"), k.keyNum[:]...), k.key...))
}

// A MinisignSignature is a parsed minisign signature file:
//
//	untrusted comment: <text, not signed>
//	<base64 of algorithm "Ed" or "ED" || 8-byte key number || 64-byte signature>
//	trusted comment: <text>
//	<base64 of the 64-byte global signature over signature || trusted comment>
//
// each line ending in "\n". Algorithm "ED" signs BLAKE2b-512 of the file
// (minisign's default since 0.10); "Ed" signs the file itself (minisign -l).
type MinisignSignature struct {
	UntrustedComment string
	Algorithm        string // "Ed" or "ED"
	KeyNum           [8]byte
	Signature        [ed25519.SignatureSize]byte
	TrustedComment   string
	GlobalSignature  [ed25519.SignatureSize]byte
}

// ParseMinisignSignature parses a signature file in its one spelling, the
// one minisign writes: [MinisignSignature.Marshal] of the result returns b.
func ParseMinisignSignature(b []byte) (*MinisignSignature, error) {
	s := string(b)
	if !strings.HasSuffix(s, "\n") {
		return nil, goerrors.New("scheme: minisign signature: does not end with a newline")
	}
	lines := strings.Split(strings.TrimSuffix(s, "\n"), "\n")
	if len(lines) != 4 {
		return nil, fmt.Errorf("scheme: minisign signature: %d lines, want 4", len(lines))
	}
	var sig MinisignSignature
	var ok bool
	if sig.UntrustedComment, ok = strings.CutPrefix(lines[0], minisignUntrusted); !ok {
		return nil, goerrors.New("scheme: minisign signature: line 1 does not start with \"untrusted comment: \"")
	}
	if sig.TrustedComment, ok = strings.CutPrefix(lines[2], minisignTrusted); !ok {
		return nil, goerrors.New("scheme: minisign signature: line 3 does not start with \"trusted comment: \"")
	}
	for i, c := range []string{sig.UntrustedComment, sig.TrustedComment} {
		if len(c) > maxMinisignComment || !utf8.ValidString(c) || strings.ContainsRune(c, '\r') {
			return nil, fmt.Errorf("scheme: minisign signature: line %d: comment is not UTF-8 text of at most %d bytes without carriage returns", 2*i+1, maxMinisignComment)
		}
	}
	raw, err := base64.StdEncoding.DecodeString(lines[1])
	if err != nil || len(raw) != 2+8+ed25519.SignatureSize || base64.StdEncoding.EncodeToString(raw) != lines[1] {
		return nil, goerrors.New("scheme: minisign signature: line 2 is not canonical base64 of 74 bytes (algorithm, key number, signature)")
	}
	sig.Algorithm = string(raw[:2])
	if sig.Algorithm != "Ed" && sig.Algorithm != "ED" {
		return nil, fmt.Errorf("scheme: minisign signature: algorithm %q, want \"ED\" (prehashed) or \"Ed\" (legacy)", sig.Algorithm)
	}
	copy(sig.KeyNum[:], raw[2:10])
	copy(sig.Signature[:], raw[10:])
	global, err := base64.StdEncoding.DecodeString(lines[3])
	if err != nil || len(global) != ed25519.SignatureSize || base64.StdEncoding.EncodeToString(global) != lines[3] {
		return nil, goerrors.New("scheme: minisign signature: line 4 is not canonical base64 of a 64-byte global signature")
	}
	copy(sig.GlobalSignature[:], global)
	return &sig, nil
}

// Marshal returns the signature file.
func (s *MinisignSignature) Marshal() []byte {
	var b bytes.Buffer
	b.WriteString(minisignUntrusted + s.UntrustedComment + "\n")
	b.WriteString(base64.StdEncoding.EncodeToString(append(append([]byte(s.Algorithm), s.KeyNum[:]...), s.Signature[:]...)) + "\n")
	b.WriteString(minisignTrusted + s.TrustedComment + "\n")
	b.WriteString(base64.StdEncoding.EncodeToString(s.GlobalSignature[:]) + "\n")
	return b.Bytes()
}

// Verify checks a minisign signature file over message: see [MinisignKey.Open].
func (k *MinisignKey) Verify(message, signature []byte) error {
	_, err := k.Open(message, signature)
	return err
}

// Open checks a minisign signature file over message and returns its
// trusted comment verbatim. It checks, in order, that the signature names
// this key's number, the signature over the file (over its BLAKE2b-512
// for "ED"), and the global signature over the signature and the trusted
// comment, so the trusted comment returned is one the key signed.
func (k *MinisignKey) Open(message, signature []byte) (trustedComment string, err error) {
	sig, err := ParseMinisignSignature(signature)
	if err != nil {
		return "", err
	}
	if sig.KeyNum != k.keyNum {
		return "", fmt.Errorf("minisign key %s: signature is by key %s: %w", k.KeyID(), minisignKeyID(sig.KeyNum), ErrVerify)
	}
	signed := message
	if sig.Algorithm == "ED" {
		h := blake2b.Sum512(message)
		signed = h[:]
	}
	if !ed25519.Verify(k.key, signed, sig.Signature[:]) {
		return "", fmt.Errorf("minisign key %s: signature over the file (algorithm %s): %w", k.KeyID(), sig.Algorithm, ErrVerify)
	}
	global := append(sig.Signature[:], sig.TrustedComment...)
	if !ed25519.Verify(k.key, global, sig.GlobalSignature[:]) {
		return "", fmt.Errorf("minisign key %s: global signature over the trusted comment %q: %w", k.KeyID(), truncate(sig.TrustedComment), ErrVerify)
	}
	return sig.TrustedComment, nil
}

// OpenComment checks only the key number and the global signature of a
// minisign signature file and returns its trusted comment verbatim. It does
// not check the signature over the file, so it proves only that the key
// signed this trusted comment together with this file signature; a trusted
// comment that names the file's digest is then the key's word about the
// file, and can be re-verified without the file. [MinisignKey.Open] checks
// both signatures.
func (k *MinisignKey) OpenComment(signature []byte) (trustedComment string, err error) {
	sig, err := ParseMinisignSignature(signature)
	if err != nil {
		return "", err
	}
	if sig.KeyNum != k.keyNum {
		return "", fmt.Errorf("minisign key %s: signature is by key %s: %w", k.KeyID(), minisignKeyID(sig.KeyNum), ErrVerify)
	}
	global := append(sig.Signature[:], sig.TrustedComment...)
	if !ed25519.Verify(k.key, global, sig.GlobalSignature[:]) {
		return "", fmt.Errorf("minisign key %s: global signature over the trusted comment %q: %w", k.KeyID(), truncate(sig.TrustedComment), ErrVerify)
	}
	return sig.TrustedComment, nil
}
