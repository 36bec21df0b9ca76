package claim

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
)

// ErrMalformedEnvelope is wrapped by every error of [ParseEnvelope] about the
// envelope's own form.
var ErrMalformedEnvelope = errors.New("claim: malformed DSSE envelope")

// envelope is the JSON form of a DSSE envelope; []byte fields are standard base64.
type envelope struct {
	PayloadType string        `json:"payloadType"`
	Payload     []byte        `json:"payload"`
	Signatures  []envelopeSig `json:"signatures"`
}

type envelopeSig struct {
	KeyID string `json:"keyid"`
	Sig   []byte `json:"sig"`
}

// MaxEnvelopeSize bounds the envelopes [ParseEnvelope] reads: base64 makes an
// envelope about a third larger than the entry it becomes.
const MaxEnvelopeSize = 128 << 10

// ParseEnvelope reads a DSSE envelope in JSON, whose signatures carry the
// signer's vkey as keyid, and returns it as a canonical [Entry]. It checks
// the form, not the signatures ([Entry.Verify]) nor the payload
// ([ParseStatement]). Errors wrap [ErrMalformedEnvelope], [ErrMalformedEntry]
// or [ErrEntryTooLarge].
func ParseEnvelope(b []byte) (*Entry, error) { return parseEnvelope(b, true) }

// parseEnvelope is ParseEnvelope, trying scanEnvelope first if scan is set;
// without it, it is the encoding/json path alone, which tests compare
// against.
func parseEnvelope(b []byte, scan bool) (*Entry, error) {
	if len(b) > MaxEnvelopeSize {
		return nil, fmt.Errorf("%w: %d bytes, at most %d", ErrMalformedEnvelope, len(b), MaxEnvelopeSize)
	}
	var (
		env envelope
		ok  bool
	)
	if scan {
		env, ok = scanEnvelope(b)
	}
	if !ok {
		var err error
		if env, err = decodeEnvelopeJSON(b); err != nil {
			return nil, err
		}
	}
	switch {
	case env.PayloadType == "":
		return nil, fmt.Errorf("%w: payloadType missing", ErrMalformedEnvelope)
	case len(env.Payload) == 0:
		return nil, fmt.Errorf("%w: payload missing", ErrMalformedEnvelope)
	case len(env.Signatures) == 0:
		return nil, fmt.Errorf("%w: signatures missing", ErrMalformedEnvelope)
	}
	sigs := make([]Signature, len(env.Signatures))
	for i, s := range env.Signatures {
		if s.KeyID == "" {
			return nil, fmt.Errorf("%w: signatures[%d].keyid missing: it must be the signer's vkey", ErrMalformedEnvelope, i)
		}
		sigs[i] = Signature{VKey: s.KeyID, Sig: s.Sig}
	}
	return NewEntry(env.PayloadType, env.Payload, sigs)
}

// decodeEnvelopeJSON decodes an envelope with encoding/json, after
// checkJSON: the path for what scanEnvelope does not take, and the one that
// words every error about the JSON.
func decodeEnvelopeJSON(b []byte) (envelope, error) {
	if err := checkJSON(b); err != nil {
		return envelope{}, fmt.Errorf("%w: %w", ErrMalformedEnvelope, err)
	}
	var env envelope
	d := json.NewDecoder(bytes.NewReader(b))
	d.DisallowUnknownFields()
	if err := d.Decode(&env); err != nil {
		return envelope{}, fmt.Errorf("%w: %v", ErrMalformedEnvelope, err)
	}
	return env, nil
}

// scanEnvelope decodes an envelope as decodeEnvelopeJSON does, in one pass,
// or reports that it leaves b to decodeEnvelopeJSON (see scan.go).
func scanEnvelope(b []byte) (env envelope, ok bool) {
	s := &jsonScanner{b: b}
	ok = s.object(func(key []byte) bool {
		var ok bool
		switch string(key) {
		case "payloadType":
			env.PayloadType, ok = s.stringValue()
		case "payload":
			env.Payload, ok = s.bytesValue()
		case "signatures":
			env.Signatures = []envelopeSig{}
			ok = s.array(func() bool {
				var sig envelopeSig
				ok := s.object(func(key []byte) bool {
					var ok bool
					switch string(key) {
					case "keyid":
						sig.KeyID, ok = s.stringValue()
					case "sig":
						sig.Sig, ok = s.bytesValue()
					}
					return ok
				})
				env.Signatures = append(env.Signatures, sig)
				return ok
			})
		}
		return ok
	})
	return env, ok && s.end()
}

// Envelope returns e as a DSSE envelope in JSON, each signature's keyid
// being the signer's vkey.
func (e *Entry) Envelope() []byte {
	env := envelope{PayloadType: e.PayloadType, Payload: e.Payload}
	for _, s := range e.Signatures {
		env.Signatures = append(env.Signatures, envelopeSig{KeyID: s.VKey, Sig: s.Sig})
	}
	b, err := json.Marshal(env)
	if err != nil {
		panic("claim: marshalling an envelope: " + err.Error()) // only strings and bytes: cannot fail
	}
	return b
}
