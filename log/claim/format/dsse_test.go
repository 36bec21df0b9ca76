package format_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"strings"
	"testing"

	"github.com/attestlog/attestlog/log/claim"
	"github.com/attestlog/attestlog/log/claim/format"
	"github.com/attestlog/attestlog/log/claim/scheme"
)

const absl = "absl_py-2.0.0-py3-none-any.whl"

// ossStatement returns a Rebuild@v0.1 statement of the shape OSS Rebuild
// documents (docs/content/builds/Rebuild@v0.1.md), changed by edit.
func ossStatement(t *testing.T, edit func(st map[string]any)) []byte {
	t.Helper()
	st := map[string]any{
		"_type":         claim.StatementType,
		"predicateType": claim.ProvenanceType,
		"subject": []any{map[string]any{
			"name":   "rebuild/" + absl,
			"digest": map[string]any{"sha256": "bb238e140b6e813c65a8b4be429efbda3ff81fe1b08a5cca0f7b4f316b827ab0"},
		}},
		"predicate": map[string]any{
			"buildDefinition": map[string]any{
				"buildType": format.OSSRebuildBuildType,
				"externalParameters": map[string]any{
					"artifact": absl, "ecosystem": "pypi", "package": "absl-py", "version": "2.0.0",
				},
				"internalParameters": map[string]any{},
				"resolvedDependencies": []any{
					map[string]any{"name": "git+https://github.com/abseil/abseil-py", "digest": map[string]any{"sha1": "37dad4d356ca9e13f1c533ad6309631b397a2b6b"}},
					map[string]any{"name": "docker.io/library/alpine:3.21", "digest": map[string]any{"sha256": "c3f8e73fdb79deaebaa2037150150191b9dcbfba68b4a46d70103204c53f4709"}},
				},
			},
			"runDetails": map[string]any{
				"builder":  map[string]any{"id": "https://docs.oss-rebuild.dev/hosts/Google"},
				"metadata": map[string]any{"invocationID": "x"},
				"byproducts": []any{
					map[string]any{"name": "build.json", "content": base64.StdEncoding.EncodeToString([]byte(`{"strategy":"pip"}`))},
					map[string]any{"name": "Dockerfile", "content": base64.StdEncoding.EncodeToString([]byte("FROM alpine\n"))},
				},
			},
		},
	}
	if edit != nil {
		edit(st)
	}
	b, err := json.Marshal(st)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// envelope signs payload with k as OSS Rebuild's KMS does: ECDSA P-256,
// ASN.1 DER, over the SHA-256 of DSSE's PAE.
func envelope(t *testing.T, k *ecdsa.PrivateKey, payloadType string, payload []byte) []byte {
	t.Helper()
	h := sha256.Sum256(scheme.PAE(payloadType, payload))
	sig, err := ecdsa.SignASN1(rand.Reader, k, h[:])
	if err != nil {
		t.Fatal(err)
	}
	b, err := json.Marshal(map[string]any{
		"payloadType": payloadType,
		"payload":     base64.StdEncoding.EncodeToString(payload),
		"signatures":  []any{map[string]any{"keyid": "gcpkms://projects/oss-rebuild/locations/global/keyRings/ring/cryptoKeys/signing-key/cryptoKeyVersions/1", "sig": base64.StdEncoding.EncodeToString(sig)}},
	})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func ecdsaKey(t *testing.T) (*ecdsa.PrivateKey, *scheme.ECDSAP256Key) {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.MarshalPKIXPublicKey(&k.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	v, err := scheme.ParseECDSAP256PublicKey(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}))
	if err != nil {
		t.Fatal(err)
	}
	return k, v
}

// TestOSSRebuild opens an OSS Rebuild-shaped envelope signed with ECDSA
// P-256 and refuses tampered ones and other attestation types.
func TestOSSRebuild(t *testing.T) {
	priv, key := ecdsaKey(t)
	env := envelope(t, priv, format.InTotoPayloadType, ossStatement(t, nil))
	c, err := format.Open(key, format.Document{Kind: format.DSSE, Signed: env})
	if err != nil {
		t.Fatal(err)
	}
	want := claim.Identity{Source: "git+https://github.com/abseil/abseil-py", Commit: "37dad4d356ca9e13f1c533ad6309631b397a2b6b", Platform: "any", Artifact: absl}
	if ids := c.Identities(); len(ids) != 1 || ids[0] != want || c.Recipe != sum([]byte(`{"strategy":"pip"}`)) || c.Scheme != scheme.ECDSAP256 {
		t.Fatalf("claim %+v", c)
	}

	// Tampered payload: the signature no longer verifies.
	e, err := format.ParseEnvelope(env)
	if err != nil {
		t.Fatal(err)
	}
	other := strings.Replace(string(e.Payload), "37dad4d3", "47dad4d3", 1)
	var m map[string]any
	json.Unmarshal(env, &m)
	m["payload"] = base64.StdEncoding.EncodeToString([]byte(other))
	tampered, _ := json.Marshal(m)
	_, err = format.Open(key, format.Document{Kind: format.DSSE, Signed: tampered})
	wantVerify(t, "changed commit", err, "DSSE envelope", key.KeyID())

	// OSS Rebuild's own key did not sign this.
	oss, err := scheme.ParseECDSAP256PublicKey(readFile(t, testdata("oss-rebuild", "oss-rebuild.pub")))
	if err != nil {
		t.Fatal(err)
	}
	_, err = format.Open(oss, format.Document{Kind: format.DSSE, Signed: env})
	wantVerify(t, "OSS Rebuild's key", err, oss.KeyID())

	for _, tc := range []struct {
		what  string
		edit  func(map[string]any)
		words []string
	}{
		{"equivalence attestation", func(st map[string]any) {
			st["predicate"].(map[string]any)["buildDefinition"].(map[string]any)["buildType"] = "https://docs.oss-rebuild.dev/builds/ArtifactEquivalence@v0.1"
		}, []string{"buildType", "only rebuild attestations"}},
		{"subject not the artifact", func(st map[string]any) {
			st["subject"].([]any)[0].(map[string]any)["name"] = "rebuild/other.whl"
		}, []string{"subject[0].name"}},
		{"short commit", func(st map[string]any) {
			deps := st["predicate"].(map[string]any)["buildDefinition"].(map[string]any)["resolvedDependencies"].([]any)
			deps[0].(map[string]any)["digest"] = map[string]any{"sha1": "37dad4d"}
		}, []string{"digest.sha1", "not a full commit hash"}},
		{"no git source", func(st map[string]any) {
			bd := st["predicate"].(map[string]any)["buildDefinition"].(map[string]any)
			bd["resolvedDependencies"] = bd["resolvedDependencies"].([]any)[1:]
		}, []string{"no git source"}},
	} {
		env := envelope(t, priv, format.InTotoPayloadType, ossStatement(t, tc.edit))
		_, err := format.Open(key, format.Document{Kind: format.DSSE, Signed: env})
		wantMalformed(t, tc.what, err, tc.words...)
	}
	env = envelope(t, priv, "text/plain", ossStatement(t, nil))
	_, err = format.Open(key, format.Document{Kind: format.DSSE, Signed: env})
	wantMalformed(t, "payload type", err, "payloadType")
}
