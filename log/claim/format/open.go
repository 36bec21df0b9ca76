package format

import (
	"bytes"
	"errors"
	"fmt"

	"github.com/attestlog/attestlog/log/claim/scheme"
)

// A Document is a signed document as its signer made it, with what its
// submitter adds. Which fields each kind uses:
//
//	kind        Signed                                   Signature                  File
//	sha256sums  the SHA256SUMS file                      detached (.asc, .sig, ...)  -
//	buildinfo   the clearsigned .buildinfo               - (inside)                 -
//	            or the plain .buildinfo                  detached
//	minisign    -                                        the .minisig file          the signed file; may be nil
//	                                                                                when the trusted comment has sha256:
//	link        the link file                            - (inside)                 -
//	dsse        the DSSE envelope (one JSON object)      - (inside)                 -
type Document struct {
	Kind      Kind
	Signed    []byte
	Signature []byte
	File      []byte
	Supplied  Annotations
}

// Open verifies d with key v and maps it to a claim by the rules of the
// package doc. For links and envelopes, which may carry several
// signatures, one of them must verify with v. Errors name what failed:
// verification failures wrap [scheme.ErrVerify], malformed documents
// [ErrMalformed].
func Open(v scheme.Verifier, d Document) (*Claim, error) {
	c, err := open(v, d)
	if err != nil {
		return nil, err
	}
	c.Scheme, c.KeyID = v.Scheme(), v.KeyID()
	if err := c.setSupplied(d.Supplied); err != nil {
		return nil, err
	}
	return c, nil
}

func open(v scheme.Verifier, d Document) (*Claim, error) {
	if d.Kind != Minisign && d.File != nil {
		return nil, fmt.Errorf("format: %s: a file is given only with a minisign signature", d.Kind)
	}
	switch d.Kind {
	case SHA256Sums:
		if err := needSignature(d); err != nil {
			return nil, err
		}
		lines, err := MapSHA256Sums(d.Signed)
		if err != nil {
			return nil, err
		}
		if err := v.Verify(d.Signed, d.Signature); err != nil {
			return nil, fmt.Errorf("format: SHA256SUMS: %w", err)
		}
		return lines, nil
	case Buildinfo:
		return openBuildinfo(v, d)
	case Minisign:
		return openMinisign(v, d)
	case Link:
		if err := noSignature(d); err != nil {
			return nil, err
		}
		l, err := ParseLink(d.Signed)
		if err != nil {
			return nil, err
		}
		c, err := MapLink(l)
		if err != nil {
			return nil, err
		}
		sigs := make([][]byte, len(l.Signatures))
		for i, s := range l.Signatures {
			sigs[i] = s.Sig
		}
		if err := verifyAny(v, "link", l.SignedBytes(), sigs); err != nil {
			return nil, err
		}
		return c, nil
	case DSSE:
		if err := noSignature(d); err != nil {
			return nil, err
		}
		e, err := ParseEnvelope(d.Signed)
		if err != nil {
			return nil, err
		}
		c, err := MapOSSRebuild(e.PayloadType, e.Payload)
		if err != nil {
			return nil, err
		}
		sigs := make([][]byte, len(e.Signatures))
		for i, s := range e.Signatures {
			sigs[i] = s.Sig
		}
		if err := verifyAny(v, "DSSE envelope", scheme.PAE(e.PayloadType, e.Payload), sigs); err != nil {
			return nil, err
		}
		return c, nil
	}
	_, err := ParseKind(string(d.Kind))
	return nil, err
}

func openBuildinfo(v scheme.Verifier, d Document) (*Claim, error) {
	signed, sig, text := d.Signed, d.Signature, d.Signed
	if bytes.HasPrefix(d.Signed, []byte("-----BEGIN PGP SIGNED MESSAGE-----")) {
		if err := noSignature(d); err != nil {
			return nil, err
		}
		var err error
		if signed, sig, err = scheme.ParseClearsigned(d.Signed); err != nil {
			return nil, fmt.Errorf("format: buildinfo: %w", err)
		}
		// gpg --clearsign leaves the newline ending the file out of the
		// signed text; Debian's buildd signing keeps it (the document then
		// has a blank line before the signature). Both are the file.
		text = signed
		if !bytes.HasSuffix(text, []byte("\n")) {
			text = append(bytes.Clone(text), '\n')
		}
	} else if err := needSignature(d); err != nil {
		return nil, err
	}
	c, err := MapBuildinfo(text)
	if err != nil {
		return nil, err
	}
	if err := v.Verify(signed, sig); err != nil {
		return nil, fmt.Errorf("format: buildinfo: %w", err)
	}
	return c, nil
}

func openMinisign(v scheme.Verifier, d Document) (*Claim, error) {
	k, ok := v.(*scheme.MinisignKey)
	if !ok {
		return nil, fmt.Errorf("format: minisign signature: key is %s, not minisign", v.Scheme())
	}
	if d.Signed != nil {
		return nil, errors.New("format: minisign: give the signed file as File, not Signed")
	}
	var (
		tc, digest string
		err        error
	)
	if d.File != nil {
		tc, err = k.Open(d.File, d.Signature)
		digest = fileDigest(d.File)
	} else {
		tc, err = k.OpenComment(d.Signature)
	}
	if err != nil {
		return nil, fmt.Errorf("format: minisign: %w", err)
	}
	return MapMinisign(tc, digest)
}

// verifyAny returns nil if one of sigs verifies message with v. Otherwise
// its error reports the first failure, wrapping scheme.ErrVerify when
// every failure was a wrong signature rather than a malformed one.
func verifyAny(v scheme.Verifier, what string, message []byte, sigs [][]byte) error {
	var first error
	allVerify := true
	for _, s := range sigs {
		err := v.Verify(message, s)
		if err == nil {
			return nil
		}
		if first == nil {
			first = err
		}
		allVerify = allVerify && errors.Is(err, scheme.ErrVerify)
	}
	if allVerify {
		return fmt.Errorf("format: %s: none of its %d signatures verifies with %s key %s: %w", what, len(sigs), v.Scheme(), v.KeyID(), first)
	}
	return fmt.Errorf("format: %s: none of its %d signatures verifies with %s key %s: %v", what, len(sigs), v.Scheme(), v.KeyID(), first)
}

func needSignature(d Document) error {
	if len(d.Signature) == 0 {
		return fmt.Errorf("format: %s: no detached signature given", d.Kind)
	}
	return nil
}

func noSignature(d Document) error {
	if d.Signature != nil {
		return fmt.Errorf("format: %s: the document carries its signature; give no detached one", d.Kind)
	}
	return nil
}
