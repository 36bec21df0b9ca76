package claim_test

import (
	"bytes"
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/attestlog/attestlog/log/claim"
	"golang.org/x/mod/sumdb/note"
)

// builder returns a fixed builder key pair named name.
func builder(t testing.TB, name string, seed byte) (note.Signer, string) {
	t.Helper()
	skey, vkey, err := note.GenerateKey(bytes.NewReader(bytes.Repeat([]byte{seed}, 32)), name)
	if err != nil {
		t.Fatal(err)
	}
	s, err := note.NewSigner(skey)
	if err != nil {
		t.Fatal(err)
	}
	return s, vkey
}

const (
	digestA = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"
	commit  = "0123456789abcdef0123456789abcdef01234567"
	recipe  = "2c26b46b68ffc68ff99b453c1d30413413422d706483bfa0f98a5e886266e7ae"
)

// statement returns a valid Statement as a JSON map that tests can edit.
func statement() map[string]any {
	return map[string]any{
		"_type":         claim.StatementType,
		"subject":       []any{map[string]any{"name": "hello", "digest": map[string]any{"sha256": digestA}}},
		"predicateType": claim.ProvenanceType,
		"predicate": map[string]any{
			"buildDefinition": map[string]any{
				"buildType": "https://attestlog.dev/build/v1",
				"externalParameters": map[string]any{
					"recipe":   map[string]any{"digest": map[string]any{"sha256": recipe}},
					"platform": "linux/amd64",
				},
				"resolvedDependencies": []any{map[string]any{
					"uri":    "git+https://Example.ORG/hello.git@refs/tags/v1.0",
					"digest": map[string]any{"gitCommit": commit},
				}},
			},
			"runDetails": map[string]any{"builder": map[string]any{"id": "https://ci.example.org"}},
		},
	}
}

func mustJSON(t testing.TB, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestParseStatement(t *testing.T) {
	c, err := claim.ParseStatement(mustJSON(t, statement()))
	if err != nil {
		t.Fatal(err)
	}
	want := claim.Claim{
		Subjects: []claim.Subject{{Name: "hello", SHA256: digestA}},
		Source:   "git+https://example.org/hello", SourceRef: "refs/tags/v1.0",
		Commit: commit, Recipe: recipe, Platform: "linux/amd64", BuilderID: "https://ci.example.org",
	}
	if got, _ := json.Marshal(c); string(got) != string(mustJSON(t, want)) {
		t.Fatalf("ParseStatement = %s\nwant %s", got, mustJSON(t, want))
	}
	if ids := c.Identities(); len(ids) != 1 || ids[0] != (claim.Identity{Source: want.Source, Commit: commit, Platform: "linux/amd64", Artifact: "hello"}) {
		t.Fatalf("Identities = %+v", ids)
	}
}

func TestParseStatementErrors(t *testing.T) {
	pred := func(m map[string]any) map[string]any { return m["predicate"].(map[string]any) }
	bd := func(m map[string]any) map[string]any { return pred(m)["buildDefinition"].(map[string]any) }
	dep := func(m map[string]any) map[string]any {
		return bd(m)["resolvedDependencies"].([]any)[0].(map[string]any)
	}
	sub := func(m map[string]any) map[string]any { return m["subject"].([]any)[0].(map[string]any) }
	tests := []struct {
		desc, wantField string
		edit            func(map[string]any)
	}{
		{"wrong _type", "_type", func(m map[string]any) { m["_type"] = "https://in-toto.io/Statement/v0.1" }},
		{"wrong predicateType", "predicateType", func(m map[string]any) { m["predicateType"] = "https://slsa.dev/provenance/v0.2" }},
		{"unknown statement field", "payload", func(m map[string]any) { m["extra"] = 1 }},
		{"no subject", "subject", func(m map[string]any) { m["subject"] = []any{} }},
		{"sha1 subject", "subject[0]", func(m map[string]any) { sub(m)["digest"] = map[string]any{"sha1": strings.Repeat("a", 40)} }},
		{"md5 beside sha256", "subject[0]", func(m map[string]any) { sub(m)["digest"].(map[string]any)["md5"] = strings.Repeat("a", 32) }},
		{"short sha256", "subject[0]", func(m map[string]any) { sub(m)["digest"] = map[string]any{"sha256": "abc"} }},
		{"subject path", "subject[0]", func(m map[string]any) { sub(m)["name"] = "bin/hello" }},
		{"subject dotdot", "subject[0]", func(m map[string]any) { sub(m)["name"] = ".." }},
		{"duplicate subject", "subject[1].name", func(m map[string]any) { m["subject"] = append(m["subject"].([]any), sub(m)) }},
		{"no source", "resolvedDependencies", func(m map[string]any) { bd(m)["resolvedDependencies"] = []any{} }},
		{"two sources", "resolvedDependencies", func(m map[string]any) {
			bd(m)["resolvedDependencies"] = append(bd(m)["resolvedDependencies"].([]any), dep(m))
		}},
		{"missing commit", "gitCommit", func(m map[string]any) { dep(m)["digest"] = map[string]any{} }},
		{"short commit", "gitCommit", func(m map[string]any) { dep(m)["digest"] = map[string]any{"gitCommit": "0123456"} }},
		{"branch as commit", "gitCommit", func(m map[string]any) { dep(m)["digest"] = map[string]any{"gitCommit": "main"} }},
		{"http source", "uri", func(m map[string]any) { dep(m)["uri"] = "https://example.org/hello" }},
		{"credentials in source", "uri", func(m map[string]any) { dep(m)["uri"] = "git+https://user:pw@example.org/hello" }},
		{"query in source", "uri", func(m map[string]any) { dep(m)["uri"] = "git+https://example.org/hello?x=1" }},
		{"no recipe", "recipe", func(m map[string]any) { delete(bd(m)["externalParameters"].(map[string]any), "recipe") }},
		{"bad recipe", "recipe.digest.sha256", func(m map[string]any) {
			bd(m)["externalParameters"].(map[string]any)["recipe"] = map[string]any{"digest": map[string]any{"sha256": "x"}}
		}},
		{"bad platform", "platform", func(m map[string]any) { bd(m)["externalParameters"].(map[string]any)["platform"] = "linux" }},
		{"no builder id", "builder.id", func(m map[string]any) { pred(m)["runDetails"] = map[string]any{} }},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			m := statement()
			tt.edit(m)
			_, err := claim.ParseStatement(mustJSON(t, m))
			if !errors.Is(err, claim.ErrInvalidClaim) || !strings.Contains(err.Error(), tt.wantField) {
				t.Fatalf("ParseStatement: %v; want ErrInvalidClaim naming %q", err, tt.wantField)
			}
		})
	}
	for _, raw := range []string{`{"_type":"a","_type":"b"}`, `{} {}`, `[`, `"x"`, strings.Repeat("[", 40) + strings.Repeat("]", 40)} {
		if _, err := claim.ParseStatement([]byte(raw)); !errors.Is(err, claim.ErrInvalidClaim) {
			t.Errorf("ParseStatement(%q): %v, want ErrInvalidClaim", raw, err)
		}
	}
}

// unsafeForTerminals reports whether r is a character that must never reach
// a claim's names: C0 and C1 controls, DEL, line separators, bidi controls.
// It is the test's own list, written apart from the package's.
func unsafeForTerminals(r rune) bool {
	return r <= 0x1f || (r >= 0x7f && r <= 0x9f) || r == 0x2028 || r == 0x2029 ||
		r == 0x061c || r == 0x200e || r == 0x200f || (r >= 0x202a && r <= 0x202e) || (r >= 0x2066 && r <= 0x2069)
}

func TestParseStatementRefusesControls(t *testing.T) {
	pred := func(m map[string]any) map[string]any { return m["predicate"].(map[string]any) }
	dep := func(m map[string]any) map[string]any {
		bd := pred(m)["buildDefinition"].(map[string]any)
		return bd["resolvedDependencies"].([]any)[0].(map[string]any)
	}
	name := func(n string) func(map[string]any) {
		return func(m map[string]any) { m["subject"].([]any)[0].(map[string]any)["name"] = n }
	}
	uri := func(u string) func(map[string]any) { return func(m map[string]any) { dep(m)["uri"] = u } }
	tests := []struct {
		desc, wantField, wantChar string
		edit                      func(map[string]any)
	}{
		{"ESC in artifact name", "subject[0]", "U+001B", name("hello\x1b[2J")},
		{"CSI (C1) in artifact name", "subject[0]", "U+009B", name("hello\u009b2J")},
		{"bidi override in artifact name", "subject[0]", "U+202E", name("hello\u202eexe.sh")},
		{"bidi isolate in artifact name", "subject[0]", "U+2066", name("\u2066hello")},
		{"DEL in artifact name", "subject[0]", "U+007F", name("hello\x7f")},
		{"line separator in artifact name", "subject[0]", "U+2028", name("hello\u2028ok")},
		{"bidi override in source path", "uri", "U+202E", uri("git+https://example.org/he\u202ello")},
		{"C1 in source host", "uri", "U+009B", uri("git+https://exa\u009bmple.org/hello")},
		{"bidi in @ref", "uri", "U+202E", uri("git+https://example.org/hello@refs/tags/\u202ev1")},
		{"escaped ESC in source path", "uri", "U+001B", uri("git+https://example.org/he%1bllo")},
		{"escaped C1 in source host", "uri", "U+009B", uri("git+https://exa%C2%9Bmple.org/hello")},
		{"escaped bidi in source path", "uri", "U+202E", uri("git+https://example.org/he%E2%80%AEllo")},
		{"escaped bidi in @ref", "uri", "U+2067", uri("git+https://example.org/hello@v1%E2%81%A7")},
		{"ESC in builder id", "builder.id", "U+001B", func(m map[string]any) {
			pred(m)["runDetails"] = map[string]any{"builder": map[string]any{"id": "https://ci.example.org/\x1b]0;pwned\x07"}}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			m := statement()
			tt.edit(m)
			b := mustJSON(t, m)
			_, err := claim.ParseStatement(b)
			if !errors.Is(err, claim.ErrInvalidClaim) || !strings.Contains(err.Error(), tt.wantField) || !strings.Contains(err.Error(), tt.wantChar) {
				t.Fatalf("ParseStatement(%s): %v; want ErrInvalidClaim naming %q and %s", b, err, tt.wantField, tt.wantChar)
			}
			if i := strings.IndexFunc(err.Error(), unsafeForTerminals); i >= 0 {
				t.Fatalf("the error holds a raw control or bidi character at byte %d: %q", i, err.Error())
			}
		})
	}
}

// anyNameSigner signs with an Ed25519 key under any name, even one that
// note.NewSigner refuses, as a hostile builder's own code would.
type anyNameSigner struct {
	name string
	key  ed25519.PrivateKey
	hash uint32
}

func (s anyNameSigner) Name() string                    { return s.name }
func (s anyNameSigner) KeyHash() uint32                 { return s.hash }
func (s anyNameSigner) Sign(msg []byte) ([]byte, error) { return ed25519.Sign(s.key, msg), nil }

// hostileKey returns a signer named name and its verifier key.
func hostileKey(t *testing.T, name string) (note.Signer, string) {
	t.Helper()
	key := ed25519.NewKeyFromSeed(bytes.Repeat([]byte{7}, 32))
	vkey, err := note.NewEd25519VerifierKey(name, key.Public().(ed25519.PublicKey))
	if err != nil {
		t.Fatal(err)
	}
	hash, err := strconv.ParseUint(strings.Split(vkey[len(name)+1:], "+")[0], 16, 32)
	if err != nil {
		t.Fatal(err)
	}
	return anyNameSigner{name: name, key: key, hash: uint32(hash)}, vkey
}

func TestParseVKeyRefusesBadNames(t *testing.T) {
	payload := mustJSON(t, statement())
	for _, name := range []string{"ci\x1b[2J\x1b[Hci.example.org", "ci\u009b2J", "ci.example\u202egro", "ci\u2066x", "ci\x7f", "ci\u0085x", "ci\u2028x", "a b", "a\u00a0b"} {
		s, vkey := hostileKey(t, name)
		if _, err := claim.ParseVKey(vkey); !errors.Is(err, claim.ErrBadKey) {
			t.Errorf("ParseVKey(%q) = %v, want ErrBadKey", vkey, err)
		} else if i := strings.IndexFunc(err.Error(), unsafeForTerminals); i >= 0 {
			t.Errorf("ParseVKey(%q): the error holds a raw control or bidi character: %q", vkey, err.Error())
		}
		if err := claim.CheckKeyName(name); err == nil {
			t.Errorf("CheckKeyName(%q) = nil", name)
		}
		// A claim signed with such a key is refused, however it arrives.
		sig, err := claim.Sign(s, vkey, claim.PayloadType, payload)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := claim.NewEntry(claim.PayloadType, payload, []claim.Signature{sig}); !errors.Is(err, claim.ErrMalformedEntry) {
			t.Errorf("NewEntry signed by %q: %v, want ErrMalformedEntry", name, err)
		}
		env := mustJSON(t, map[string]any{"payloadType": claim.PayloadType, "payload": payload,
			"signatures": []any{map[string]any{"keyid": vkey, "sig": sig.Sig}}})
		if _, err := claim.ParseEnvelope(env); !errors.Is(err, claim.ErrMalformedEntry) || !strings.Contains(err.Error(), "key name") {
			t.Errorf("ParseEnvelope with keyid %q: %v, want ErrMalformedEntry about the key name", vkey, err)
		}
	}
	for _, name := range []string{"ci.example.org", "ci.example.org/builder-1", "bäcker.example", "例え.jp"} {
		if err := claim.CheckKeyName(name); err != nil {
			t.Errorf("CheckKeyName(%q) = %v", name, err)
		}
		_, vkey := builder(t, name, 7)
		if _, err := claim.ParseVKey(vkey); err != nil {
			t.Errorf("ParseVKey(%q) = %v", vkey, err)
		}
	}
	for _, name := range []string{"", "a+b", "\xff"} {
		if err := claim.CheckKeyName(name); err == nil {
			t.Errorf("CheckKeyName(%q) = nil", name)
		}
	}
}

func TestNormaliseSource(t *testing.T) {
	for in, want := range map[string][2]string{
		"git+https://example.org/hello":                  {"git+https://example.org/hello", ""},
		"GIT+HTTPS://EXAMPLE.org/Hello.git/":             {"git+https://example.org/Hello", ""},
		"git+https://example.org/a/b.git@main":           {"git+https://example.org/a/b", "main"},
		"git+https://example.org:8443/a/@refs/tags/v1.0": {"git+https://example.org:8443/a", "refs/tags/v1.0"},
		// Every trailing ".git" and "/", so that the result is its own
		// normal form (a fuzz of attest.SourceURI found "x.git.git").
		"git+https://example.org/x.git.git":   {"git+https://example.org/x", ""},
		"git+https://example.org/x.git/.git/": {"git+https://example.org/x", ""},
	} {
		src, ref, err := claim.NormaliseSource(in)
		if err != nil || src != want[0] || ref != want[1] {
			t.Errorf("NormaliseSource(%q) = %q, %q, %v; want %q, %q", in, src, ref, err, want[0], want[1])
		}
	}
	for _, in := range []string{"", "git+https://", "git+https://example.org", "git+https://example.org/", "git+https://example.org/.git", "git+ssh://example.org/a",
		"git+https://example.org/a@", "git+https://example.org/a/../b", "git+https://example.org/a#frag",
		"git+https://example.org/a%3Fb", "git+https://example.org/a%23b"} {
		if _, _, err := claim.NormaliseSource(in); err == nil {
			t.Errorf("NormaliseSource(%q) succeeded", in)
		}
	}
}

// signedEntry returns an entry for the statement, signed by the given builders.
func signedEntry(t testing.TB, payload []byte, seeds ...byte) *claim.Entry {
	t.Helper()
	var sigs []claim.Signature
	for _, seed := range seeds {
		s, vkey := builder(t, "builder.example/"+string('a'+rune(seed)), seed)
		sig, err := claim.Sign(s, vkey, claim.PayloadType, payload)
		if err != nil {
			t.Fatal(err)
		}
		sigs = append(sigs, sig)
	}
	e, err := claim.NewEntry(claim.PayloadType, payload, sigs)
	if err != nil {
		t.Fatal(err)
	}
	return e
}

func TestEntryRoundTrip(t *testing.T) {
	payload := mustJSON(t, statement())
	e := signedEntry(t, payload, 3, 1, 2)
	b := e.Marshal()
	if !bytes.HasPrefix(b, []byte(claim.EntryVersion+"\ntype "+claim.PayloadType+"\nsig ")) || !bytes.HasSuffix(b, append([]byte("\n\n"), payload...)) {
		t.Fatalf("entry encoding:\n%s", b)
	}
	e2, err := claim.ParseEntry(b)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(e2.Marshal(), b) {
		t.Fatal("ParseEntry(Marshal()) does not round-trip")
	}
	vs, err := e2.Verify()
	if err != nil || len(vs) != 3 {
		t.Fatalf("Verify: %d verifiers, %v", len(vs), err)
	}
	// The same claim through a DSSE envelope, signatures in another order, is the same entry.
	env := e.Envelope()
	e3, err := claim.ParseEnvelope(env)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(e3.Marshal(), b) {
		t.Fatal("envelope round trip changed the entry")
	}
}

func TestEntryErrors(t *testing.T) {
	payload := mustJSON(t, statement())
	good := signedEntry(t, payload, 1).Marshal()
	s, vkey := builder(t, "builder.example/b", 1)
	tamperedSig, _ := claim.Sign(s, vkey, claim.PayloadType, append([]byte(" "), payload...))
	badSig, _ := claim.NewEntry(claim.PayloadType, payload, []claim.Signature{tamperedSig})
	if _, err := badSig.Verify(); !errors.Is(err, claim.ErrBadSignature) {
		t.Errorf("Verify with a signature over other bytes: %v, want ErrBadSignature", err)
	}
	for desc, b := range map[string][]byte{
		"empty":             nil,
		"no blank line":     bytes.ReplaceAll(good, []byte("\n\n"), []byte("\n")),
		"wrong version":     bytes.Replace(good, []byte("claim/v1"), []byte("claim/v2"), 1),
		"wrong type":        bytes.Replace(good, []byte("in-toto+json"), []byte("in-toto+jsonx"), 1),
		"no signatures":     []byte(claim.EntryVersion + "\ntype " + claim.PayloadType + "\n\n{}"),
		"bad sig base64":    bytes.Replace(good, []byte("\nsig "), []byte("\nsig x"), 1),
		"trailing space":    bytes.Replace(good, []byte("\n\n"), []byte(" \n\n"), 1),
		"too large":         append(bytes.Clone(good), make([]byte, claim.MaxEntrySize)...),
		"duplicate sig":     bytes.Replace(good, []byte("\n\n"), append(append([]byte("\n"), good[bytes.Index(good, []byte("sig ")):bytes.Index(good, []byte("\n\n"))]...), '\n', '\n'), 1),
		"crlf":              bytes.ReplaceAll(good, []byte("\n"), []byte("\r\n")),
		"non-canonical key": bytes.Replace(good, []byte("+"), []byte("+0"), 1),
	} {
		if _, err := claim.ParseEntry(b); err == nil {
			t.Errorf("ParseEntry(%s) succeeded", desc)
		}
	}
	// A payload that makes the entry too large is refused when building it.
	if _, err := claim.NewEntry(claim.PayloadType, make([]byte, claim.MaxEntrySize), []claim.Signature{tamperedSig}); !errors.Is(err, claim.ErrEntryTooLarge) {
		t.Errorf("NewEntry with a 65535-byte payload: %v, want ErrEntryTooLarge", err)
	}
}

func TestParseEnvelopeErrors(t *testing.T) {
	for desc, env := range map[string]string{
		"not JSON":         `{`,
		"unknown field":    `{"payloadType":"application/vnd.in-toto+json","payload":"e30=","signatures":[],"x":1}`,
		"duplicate key":    `{"payloadType":"a","payloadType":"b"}`,
		"no payload":       `{"payloadType":"application/vnd.in-toto+json","signatures":[{"keyid":"k","sig":"AA=="}]}`,
		"no signatures":    `{"payloadType":"application/vnd.in-toto+json","payload":"e30=","signatures":[]}`,
		"no keyid":         `{"payloadType":"application/vnd.in-toto+json","payload":"e30=","signatures":[{"sig":"AA=="}]}`,
		"keyid not a vkey": `{"payloadType":"application/vnd.in-toto+json","payload":"e30=","signatures":[{"keyid":"abc","sig":"AA=="}]}`,
		"wrong type":       `{"payloadType":"text/plain","payload":"e30=","signatures":[{"keyid":"abc","sig":"AA=="}]}`,
		"bad base64":       `{"payloadType":"application/vnd.in-toto+json","payload":"!!","signatures":[{"keyid":"abc","sig":"AA=="}]}`,
	} {
		if _, err := claim.ParseEnvelope([]byte(env)); err == nil {
			t.Errorf("ParseEnvelope(%s) succeeded", desc)
		}
	}
}

func FuzzParseEntry(f *testing.F) {
	f.Add(signedEntry(f, mustJSON(f, statement()), 1, 2).Marshal())
	f.Add([]byte(claim.EntryVersion + "\ntype " + claim.PayloadType + "\nsig a+00000000+AA== AA==\n\n{}"))
	f.Add([]byte(claim.EntryVersion + "\ntype " + claim.PayloadType + "\nsig a\x1b[2J+00000000+AA== AA==\n\n{}"))
	f.Fuzz(func(t *testing.T, b []byte) {
		e, err := claim.ParseEntry(b)
		if err != nil {
			return
		}
		if !bytes.Equal(e.Marshal(), b) {
			t.Fatalf("ParseEntry(%q).Marshal() = %q", b, e.Marshal())
		}
		for _, s := range e.Signatures {
			if name, _, _ := strings.Cut(s.VKey, "+"); strings.ContainsFunc(name, unsafeForTerminals) {
				t.Fatalf("ParseEntry(%q) accepted the key name %q", b, name)
			}
		}
	})
}

func FuzzParseEnvelope(f *testing.F) {
	f.Add(signedEntry(f, mustJSON(f, statement()), 1).Envelope())
	f.Add([]byte(`{"payloadType":"a","payload":"e30=","signatures":[{"keyid":"k","sig":"AA=="}]}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		e, err := claim.ParseEnvelope(b)
		if err != nil {
			return
		}
		// What an envelope parses to is a canonical entry, and it survives the trip back.
		e2, err := claim.ParseEntry(e.Marshal())
		if err != nil || !bytes.Equal(e2.Envelope(), e.Envelope()) {
			t.Fatalf("entry from envelope %q does not round-trip: %v", b, err)
		}
	})
}

func FuzzParseStatement(f *testing.F) {
	f.Add(mustJSON(f, statement()))
	f.Add([]byte(`{"_type":"https://in-toto.io/Statement/v1"}`))
	hostile := statement()
	hostile["subject"].([]any)[0].(map[string]any)["name"] = "hello\u202e\u009b"
	f.Add(mustJSON(f, hostile))
	f.Add(bytes.Replace(mustJSON(f, statement()), []byte("hello.git"), []byte("he%E2%80%AEllo"), 1))
	f.Fuzz(func(t *testing.T, b []byte) {
		c, err := claim.ParseStatement(b)
		if err != nil {
			return
		}
		// No name people read holds a control or bidi character.
		texts := []string{c.Source, c.SourceRef, c.BuilderID}
		for _, s := range c.Subjects {
			texts = append(texts, s.Name)
		}
		for _, s := range texts {
			if strings.ContainsFunc(s, unsafeForTerminals) || !utf8.ValidString(s) {
				t.Fatalf("ParseStatement(%q) accepted %q", b, s)
			}
		}
		// A parsed claim is normalised: normalising again changes nothing.
		for _, s := range c.Subjects {
			if d, err := claim.NormaliseDigest(s.SHA256); err != nil || d != s.SHA256 {
				t.Fatalf("subject digest %q not normal", s.SHA256)
			}
		}
		if src, _, err := claim.NormaliseSource(c.Source); err != nil || src != c.Source {
			t.Fatalf("source %q not normal: %q, %v", c.Source, src, err)
		}
		if cm, err := claim.NormaliseCommit(c.Commit); err != nil || cm != c.Commit {
			t.Fatalf("commit %q not normal", c.Commit)
		}
	})
}

func TestCheckJSONDuplicateKeys(t *testing.T) {
	for in, wantErr := range map[string]bool{
		`{"a":1,"b":{"a":2},"c":[{"a":1},{"a":2}]}`: false,
		`{"a":1,"a":2}`:              true,
		`{"_type":1,"\u005ftype":2}`: true,
		`{"a":{"b":1,"b":2}}`:        true,
		`[{"a":1,"a":1}]`:            true,
		`{"a\"":1,"a":2}`:            false,
		`{"a":"}","a":1}`:            true,
		`{"x":[1,{"y":2}],"y":3}`:    false,
		`{} {}`:                      true,
		strings.Repeat("[", 33) + strings.Repeat("]", 33): true,
		strings.Repeat("[", 32) + strings.Repeat("]", 32): false,
	} {
		// The statement parser reports both as invalid claims; the first
		// line of defence is the shared JSON check, reached through it.
		_, err := claim.ParseStatement([]byte(in))
		if err == nil {
			t.Errorf("ParseStatement(%q) succeeded", in)
			continue
		}
		dup := strings.Contains(err.Error(), "twice") || strings.Contains(err.Error(), "too deep") || strings.Contains(err.Error(), "invalid JSON")
		if dup != wantErr {
			t.Errorf("ParseStatement(%q): %v; want a JSON-level error: %v", in, err, wantErr)
		}
	}
}

// FuzzNormaliseSource checks that NormaliseSource never panics and that a
// source it returns is its own normal form, with no ref.
func FuzzNormaliseSource(f *testing.F) {
	for _, s := range []string{"git+https://example.org/hello.git", "GIT+HTTPS://EXAMPLE.org/Hello.git/", "git+https://example.org/a/b.git@main", "git+https://example.org/x.git.git", "git+https://example.org/a%3Fb"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, uri string) {
		src, _, err := claim.NormaliseSource(uri)
		if err != nil {
			return
		}
		again, ref, err := claim.NormaliseSource(src)
		if err != nil || again != src || ref != "" {
			t.Fatalf("NormaliseSource(%q) = %q, but NormaliseSource(%q) = %q, %q, %v", uri, src, src, again, ref, err)
		}
	})
}
