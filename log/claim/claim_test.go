package claim_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"strings"
	"testing"

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

func TestNormaliseSource(t *testing.T) {
	for in, want := range map[string][2]string{
		"git+https://example.org/hello":                  {"git+https://example.org/hello", ""},
		"GIT+HTTPS://EXAMPLE.org/Hello.git/":             {"git+https://example.org/Hello", ""},
		"git+https://example.org/a/b.git@main":           {"git+https://example.org/a/b", "main"},
		"git+https://example.org:8443/a/@refs/tags/v1.0": {"git+https://example.org:8443/a", "refs/tags/v1.0"},
	} {
		src, ref, err := claim.NormaliseSource(in)
		if err != nil || src != want[0] || ref != want[1] {
			t.Errorf("NormaliseSource(%q) = %q, %q, %v; want %q, %q", in, src, ref, err, want[0], want[1])
		}
	}
	for _, in := range []string{"", "git+https://", "git+https://example.org", "git+https://example.org/", "git+ssh://example.org/a",
		"git+https://example.org/a@", "git+https://example.org/a/../b", "git+https://example.org/a#frag"} {
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
	f.Fuzz(func(t *testing.T, b []byte) {
		e, err := claim.ParseEntry(b)
		if err == nil && !bytes.Equal(e.Marshal(), b) {
			t.Fatalf("ParseEntry(%q).Marshal() = %q", b, e.Marshal())
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
	f.Fuzz(func(t *testing.T, b []byte) {
		c, err := claim.ParseStatement(b)
		if err != nil {
			return
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
