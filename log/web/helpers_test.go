package web_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"testing"
	"time"

	"github.com/attestlog/attestlog/log"
	"github.com/attestlog/attestlog/log/archive"
	"github.com/attestlog/attestlog/log/claim"
	"github.com/attestlog/attestlog/log/logtest"
	"github.com/attestlog/attestlog/log/web"
	"golang.org/x/mod/sumdb/note"
)

// Hostile text that claims may legally carry.
const (
	hostileBuilderID = `<script>document.title="pwned"</script>`
	hostileName      = `<img src=x onerror="document.title='pwned'">`
	// hostileNote is an extra predicate field: JSON lets it hold an escaped
	// ESC and a raw right-to-left override.
	hostileNote = "\x1b[2J\u202eevil</pre><script>document.title='pwned'</script>"
)

// site is a log with claims and its pages.
type site struct {
	log     *logtest.Log
	archive *archive.Archive
	handler http.Handler
	vkey    string
	now     time.Time
	// Indexes and digests of the claims added by newSite.
	good, other, hostile    int64
	goodDigest, otherDigest string
	builder                 claim.Key
	mismatchID              string
}

func digest(b []byte) string { h := sha256.Sum256(b); return hex.EncodeToString(h[:]) }

func testKey(t testing.TB, name string) claim.Key {
	t.Helper()
	skey, vkey, err := note.GenerateKey(bytes.NewReader(bytes.Repeat([]byte(name[:1]), 32)), name)
	if err != nil {
		t.Fatal(err)
	}
	s, err := note.NewSigner(skey)
	if err != nil {
		t.Fatal(err)
	}
	return claim.Key{Signer: s, VKey: vkey}
}

func helloClaim(bin []byte, builderID string) *claim.Claim {
	return &claim.Claim{
		Subjects: []claim.Subject{{Name: "hello", SHA256: digest(bin)}},
		Source:   "git+https://example.org/hello", SourceRef: "refs/tags/v1.0",
		Commit: "0123456789abcdef0123456789abcdef01234567", Recipe: digest([]byte("recipe " + builderID)),
		Platform: "linux/amd64", BuilderID: builderID,
	}
}

func appendStatement(t testing.TB, l *logtest.Log, st []byte, k claim.Key) int64 {
	t.Helper()
	e, err := claim.SignStatement(st, k)
	if err != nil {
		t.Fatal(err)
	}
	return l.Append(t, e.Marshal())[0]
}

func appendClaim(t testing.TB, l *logtest.Log, c *claim.Claim, k claim.Key) int64 {
	t.Helper()
	st, err := claim.NewStatement(c)
	if err != nil {
		t.Fatal(err)
	}
	return appendStatement(t, l, st, k)
}

// hostileStatement returns a valid statement whose free-text fields carry
// markup, and whose predicate carries control and bidi characters.
func hostileStatement(t testing.TB) []byte {
	t.Helper()
	st := map[string]any{
		"_type":         claim.StatementType,
		"subject":       []any{map[string]any{"name": hostileName, "digest": map[string]string{"sha256": digest([]byte("hostile"))}}},
		"predicateType": claim.ProvenanceType,
		"predicate": map[string]any{
			"buildDefinition": map[string]any{
				"buildType": claim.BuildType,
				"externalParameters": map[string]any{
					"recipe":   map[string]any{"digest": map[string]string{"sha256": digest([]byte("r"))}},
					"platform": "linux/amd64",
				},
				"resolvedDependencies": []any{map[string]any{"uri": "git+https://example.org/evil", "digest": map[string]string{"gitCommit": "89abcdef0123456789abcdef0123456789abcdef"}}},
			},
			"runDetails": map[string]any{"builder": map[string]any{"id": hostileBuilderID}},
			"note":       hostileNote,
		},
	}
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(st); err != nil {
		t.Fatal(err)
	}
	if _, err := claim.ParseStatement(bytes.TrimSpace(b.Bytes())); err != nil {
		t.Fatal(err)
	}
	return bytes.TrimSpace(b.Bytes())
}

// newSite returns a log holding a claim, a second claim of another digest
// for the same build (a mismatch), with that binary archived, and a
// hostile claim; and its pages.
func newSite(t *testing.T) *site {
	t.Helper()
	dir := t.TempDir()
	l := logtest.New(t, dir, log.Config{Indexer: log.ClaimIndex{}})
	a, err := archive.Open(filepath.Join(dir, "archive"), archive.Config{})
	if err != nil {
		t.Fatal(err)
	}
	_, vkey := logtest.Keys(logtest.Origin)
	s := &site{log: l, archive: a, vkey: vkey, now: time.Unix(1_800_000_000, 0)}
	s.builder = testKey(t, "alice.example")
	good, other := []byte("good binary"), []byte("other binary")
	s.goodDigest, s.otherDigest = digest(good), digest(other)
	s.good = appendClaim(t, l, helloClaim(good, "https://ci.example/alice"), s.builder)
	c := helloClaim(other, "https://ci.example/mallory")
	s.other = appendClaim(t, l, c, testKey(t, "mallory.example"))
	s.mismatchID = c.Identities()[0].ID()
	if _, err := a.Put(context.Background(), s.otherDigest, int64(len(other)), bytes.NewReader(other)); err != nil {
		t.Fatal(err)
	}
	s.hostile = appendStatement(t, l, hostileStatement(t), testKey(t, "eve.example"))
	pages, err := web.New(web.Config{Log: l.Log, Store: l.Store, Archive: a, VerifierKey: vkey, Now: func() time.Time { return s.now }})
	if err != nil {
		t.Fatal(err)
	}
	s.handler = pages.Handler()
	return s
}

// get serves a GET of path and returns the response and its body.
func (s *site) get(t *testing.T, path string) (*http.Response, string) {
	t.Helper()
	rec := httptest.NewRecorder()
	s.handler.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, path, nil))
	resp := rec.Result()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}
