package claim

import (
	"bytes"
	"encoding/json"
	"fmt"
	"reflect"
	"regexp"
	"strings"
	"testing"

	"golang.org/x/mod/sumdb/note"
)

// The scanners (scan.go) must give exactly what the encoding/json path
// gives for every input they take, and take the shapes clients send.

const (
	scanDigest = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"
	scanCommit = "0123456789abcdef0123456789abcdef01234567"
)

// scanStatementText is a statement as a SLSA generator writes it: indented,
// with predicate fields the profile does not read.
var scanStatementText = `{
  "_type": "https://in-toto.io/Statement/v1",
  "subject": [
    {"name": "hello", "digest": {"sha256": "` + scanDigest + `", "sha512": "00"}},
    {"name": "hello.tar.gz", "digest": {"sha256": "SHA256:` + strings.ToUpper(scanDigest) + `"}}
  ],
  "predicateType": "https://slsa.dev/provenance/v1",
  "predicate": {
    "buildDefinition": {
      "buildType": "https://attestlog.dev/build/v1",
      "externalParameters": {
        "recipe": {"digest": {"sha256": "` + scanDigest + `"}, "uri": "guix.scm"},
        "platform": "Linux/AMD64",
        "extra": [1, -2.5e+3, true, false, null, {"a": [{}], "b": "\u00e9\"\\/"}]
      },
      "internalParameters": {"x": 0},
      "resolvedDependencies": [{
        "uri": "git+https://example.org/hello.git@refs/tags/v1.0",
        "digest": {"gitCommit": "` + scanCommit + `"},
        "name": "source"
      }]
    },
    "runDetails": {
      "builder": {"id": "https://ci.example.org", "version": {"ci": "1.0"}},
      "metadata": {"invocationId": "42", "startedOn": "2026-01-01T00:00:00Z"},
      "byproducts": []
    }
  }
}`

// scanSeeds are inputs on either side of every rule the scanners apply.
func scanSeeds(t testing.TB) (envelopes, statements [][]byte) {
	st := []byte(scanStatementText)
	var compact bytes.Buffer
	if err := json.Compact(&compact, st); err != nil {
		t.Fatal(err)
	}
	statements = [][]byte{st, compact.Bytes()}
	for _, r := range [][2]string{
		{`"_type"`, `"\u005ftype"`},
		{`"_type"`, `"_TYPE"`},
		{`"buildDefinition"`, `"BuildDefinition"`},
		{`"platform"`, `"PLATFORM"`},
		{`"extra"`, `"platform"`},
		{`"extra"`, `"Platform"`},
		{`"internalParameters"`, `"externalParameters"`},
		{`"metadata"`, `"Builder"`},
		{`"version"`, `"ID"`},
		{`"name": "source"`, `"URI": "x"`},
		{`"uri": "guix.scm"`, `"Digest": {}`},
		{`"sha512"`, `"sha256"`},
		{`"sha512"`, `"md5"`},
		{`"sha512": "00"`, `"md5": "00", "sha1": "00", "SHA1": "00"`},
		{`"hello"`, `"hel\u006co"`},
		{`"hello"`, `"hé\u202ello"`},
		{`"hello"`, "\"h\xffllo\""},
		{`"hello"`, `null`},
		{`"hello"`, `7`},
		{`{"name": "hello"`, `{"Name": "hello"`},
		{`{"name": "hello"`, `{"size": 1, "name": "hello"`},
		{`"Linux/AMD64"`, `null`},
		{`"Linux/AMD64"`, `["linux/amd64"]`},
		{`"recipe": {`, `"recipe": null, "x": {`},
		{`"byproducts": []`, `"byproducts": [01]`},
		{`"byproducts": []`, `"byproducts": [1.]`},
		{`"byproducts": []`, `"byproducts": [tru]`},
		{`"byproducts": []`, `"byproducts": "\x"`},
		{`"byproducts": []`, `"byproducts": "\u12"`},
		{`"byproducts": []`, "\"byproducts\": \"\t\""},
		{`"byproducts": []`, `"byproducts": ` + strings.Repeat("[", 28) + strings.Repeat("]", 28)},
		{`"byproducts": []`, `"byproducts": ` + strings.Repeat("[", 29) + strings.Repeat("]", 29)},
		{`"invocationId": "42"`, `"invocationId": "42", "invocationId": "43"`},
		{`"invocationId": "42"`, `"invocationId": "42", "invocation\u0049d": "43"`},
		{`"resolvedDependencies": [{`, `"resolvedDependencies": [{}, {`},
		{`"predicate": {`, `"predicate": null, "x": {`},
		{`"subject": [`, `"subject": [], "x": [`},
		{`https://in-toto.io/Statement/v1`, `https://in-toto.io/Statement/v0`},
		{`"uri": "git+https`, `"uri": "git+ssh`},
	} {
		if !bytes.Contains(st, []byte(r[0])) {
			t.Fatalf("seed replacement %q: not in the statement", r[0])
		}
		statements = append(statements, bytes.Replace(st, []byte(r[0]), []byte(r[1]), 1))
	}
	statements = append(statements, []byte(`{}`), []byte(`[]`), []byte(`null`), []byte(`{"_type":1}`),
		append(bytes.Clone(st), " \n"...), append(bytes.Clone(st), "{}"...), st[:len(st)-1])

	skey, vkey, err := note.GenerateKey(bytes.NewReader(bytes.Repeat([]byte{1}, 32)), "builder.example")
	if err != nil {
		t.Fatal(err)
	}
	s, err := note.NewSigner(skey)
	if err != nil {
		t.Fatal(err)
	}
	e, err := SignStatement(compact.Bytes(), Key{Signer: s, VKey: vkey})
	if err != nil {
		t.Fatal(err)
	}
	env := e.Envelope()
	var indented bytes.Buffer
	if err := json.Indent(&indented, env, " ", "\t"); err != nil {
		t.Fatal(err)
	}
	envelopes = [][]byte{env, indented.Bytes()}
	for _, r := range [][2]string{
		{`"payloadType"`, `"PayloadType"`},
		{`"payloadType"`, `"payload\u0054ype"`},
		{`"keyid"`, `"KeyID"`},
		{`"keyid"`, `"keyid":"x","keyid"`},
		{`"payload":"`, `"payload":"\u0041`},
		{`"payload":"`, `"payload":"A`},
		{`"payload":"`, `"payload":"!`},
		{`"payload":"`, `"payload":"","x":"`},
		{`"payload":"`, `"payload":null,"payload2":"`},
		{`"signatures":[`, `"signatures":[{},`},
		{`"signatures":[`, `"signatures":[null,`},
		{`"signatures":[`, `"signatures":[],"x":[`},
		{`application/vnd.in-toto+json`, `application/vnd.in-toto+jsoN`},
		{`application/vnd.in-toto+json`, `application/vnd.in-toto\u002bjson`},
	} {
		if !bytes.Contains(env, []byte(r[0])) {
			t.Fatalf("seed replacement %q: not in the envelope", r[0])
		}
		envelopes = append(envelopes, bytes.Replace(env, []byte(r[0]), []byte(r[1]), 1))
	}
	envelopes = append(envelopes, []byte(`{}`), []byte(`[]`), []byte(`{"payload":"AA=="} x`),
		[]byte(`{"payloadType":"application/vnd.in-toto+json","payload":"e30=","signatures":[{"keyid":"k","sig":"AA=="}]}`))
	return envelopes, statements
}

func TestScannersTakeCommonShapes(t *testing.T) {
	envelopes, statements := scanSeeds(t)
	for _, b := range envelopes[:2] {
		if _, ok := scanEnvelope(b); !ok {
			t.Errorf("scanEnvelope(%s) left it to encoding/json", b)
		}
	}
	for _, b := range statements[:2] {
		if _, _, ok := scanStatement(b); !ok {
			t.Errorf("scanStatement(%s) left it to encoding/json", b)
		}
		if _, err := ParseStatement(b); err != nil {
			t.Errorf("ParseStatement(%s): %v", b, err)
		}
	}
}

func TestScannersAgainstJSON(t *testing.T) {
	envelopes, statements := scanSeeds(t)
	for _, b := range envelopes {
		checkEnvelopeAgainstJSON(t, b)
	}
	for _, b := range statements {
		checkStatementAgainstJSON(t, b)
	}
}

// checkEnvelopeAgainstJSON checks that ParseEnvelope and its encoding/json
// path give the same entry or the same error, and that what scanEnvelope
// takes, encoding/json decodes to the same values.
func checkEnvelopeAgainstJSON(t *testing.T, b []byte) {
	t.Helper()
	got, gotErr := parseEnvelope(b, true)
	want, wantErr := parseEnvelope(b, false)
	if fmt.Sprint(gotErr) != fmt.Sprint(wantErr) || !reflect.DeepEqual(got, want) {
		t.Fatalf("ParseEnvelope(%q) = %+v, %v\nencoding/json: %+v, %v", b, got, gotErr, want, wantErr)
	}
	if got != nil && got.size() != len(got.Marshal()) {
		t.Fatalf("entry of %q: size() = %d, Marshal() has %d bytes", b, got.size(), len(got.Marshal()))
	}
	if env, ok := scanEnvelope(b); ok {
		want, err := decodeEnvelopeJSON(b)
		if err != nil || !reflect.DeepEqual(env, want) {
			t.Fatalf("scanEnvelope(%q) = %+v\nencoding/json: %+v, %v", b, env, want, err)
		}
	}
}

// checkStatementAgainstJSON is checkEnvelopeAgainstJSON for statements.
func checkStatementAgainstJSON(t *testing.T, b []byte) {
	t.Helper()
	got, gotErr := parseStatement(b, true)
	want, wantErr := parseStatement(b, false)
	if fmt.Sprint(gotErr) != fmt.Sprint(wantErr) || !reflect.DeepEqual(got, want) {
		t.Fatalf("ParseStatement(%q) = %+v, %v\nencoding/json: %+v, %v", b, got, gotErr, want, wantErr)
	}
	st, p, ok := scanStatement(b)
	if !ok {
		return
	}
	var wantSt statement
	var wantP provenance
	err := checkJSON(b)
	if err == nil {
		d := json.NewDecoder(bytes.NewReader(b))
		d.DisallowUnknownFields()
		err = d.Decode(&wantSt)
	}
	if err == nil {
		err = json.Unmarshal(wantSt.Predicate, &wantP)
	}
	wantSt.Predicate = nil
	if err != nil || !reflect.DeepEqual(st, wantSt) || !reflect.DeepEqual(p, wantP) {
		t.Fatalf("scanStatement(%q) = %+v, %+v\nencoding/json: %+v, %+v, %v", b, st, p, wantSt, wantP, err)
	}
}

func FuzzScanEnvelope(f *testing.F) {
	envelopes, _ := scanSeeds(f)
	for _, b := range envelopes {
		f.Add(b)
	}
	f.Fuzz(checkEnvelopeAgainstJSON)
}

func FuzzScanStatement(f *testing.F) {
	_, statements := scanSeeds(f)
	for _, b := range statements {
		f.Add(b)
	}
	f.Fuzz(checkStatementAgainstJSON)
}

// The checks that replaced ParseStatement's regular expressions accept
// what those accept.
var (
	hex64RE    = regexp.MustCompile(`^[0-9a-f]{64}$`)
	commitRE   = regexp.MustCompile(`^([0-9a-f]{40}|[0-9a-f]{64})$`)
	platformRE = regexp.MustCompile(`^(any|[a-z0-9]+/[a-z0-9_]+(/[a-z0-9_.]+)?)$`)
)

func checkPatterns(t *testing.T, s string) {
	if got, want := isLowerHex(s, 64), hex64RE.MatchString(s); got != want {
		t.Fatalf("isLowerHex(%q, 64) = %v, the regexp says %v", s, got, want)
	}
	if got, want := isLowerHex(s, 40) || isLowerHex(s, 64), commitRE.MatchString(s); got != want {
		t.Fatalf("isLowerHex(%q, 40 or 64) = %v, the regexp says %v", s, got, want)
	}
	if got, want := isPlatform(s), platformRE.MatchString(s); got != want {
		t.Fatalf("isPlatform(%q) = %v, the regexp says %v", s, got, want)
	}
}

func FuzzPatterns(f *testing.F) {
	for _, s := range []string{"any", "anyx", "linux/amd64", "linux/arm/v7", "linux/arm/v7.1_a", "linux//v7",
		"linux/arm/", "/amd64", "linux/", "linux/amd64/v1/x", "Linux/amd64", "linux/amd-64", "linux/amd64\n",
		"wasip1/wasm", "a/b_c/d.e", "a/b.c", scanDigest, scanCommit, scanDigest[:63] + "G", scanCommit + "0", ""} {
		f.Add(s)
	}
	f.Fuzz(checkPatterns)
}
