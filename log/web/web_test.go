package web_test

import (
	"fmt"
	"html"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/attestlog/attestlog/internal/webui"
	"github.com/attestlog/attestlog/log/claim/format"
	"github.com/attestlog/attestlog/log/claim/record/recordtest"
)

// TestPagesShowTheLog loads every page and checks the values it shows and
// the headers it is served with.
func TestPagesShowTheLog(t *testing.T) {
	s := newSite(t)
	tests := []struct {
		path string
		want []string
	}{
		{"/", []string{"healthy", ">3<", s.vkey, "alice.example", "mallory.example", "/claims/2"}},
		{"/claims", []string{"Entries 0 to 3", "/claims/0", "/claims/1", "/claims/2", "git+https://example.org/hello"}},
		{"/claims?before=1", []string{"/claims/0", "Newer"}},
		{fmt.Sprintf("/claims/%d", s.good), []string{"Claim 0", "https://ci.example/alice", "refs/tags/v1.0", "verified", "valid", s.goodDigest, "not archived", "/mismatches/" + s.mismatchID}},
		{fmt.Sprintf("/claims/%d", s.other), []string{"/artifacts/" + s.otherDigest, "12 bytes"}},
		{"/search?q=" + s.goodDigest, []string{"1 claims naming artifact sha256 " + s.goodDigest, "/claims/0"}},
		{"/search?q=sha256:" + strings.ToUpper(s.otherDigest), []string{"/claims/1"}},
		{"/search?q=" + url.QueryEscape(s.builder.VKey), []string{"claims signed by", "/claims/0"}},
		{"/search?q=git%2Bhttps://example.org/hello.git+0123456789abcdef0123456789abcdef01234567+linux/amd64", []string{"/claims/0", "/claims/1"}},
		{"/search?q=" + s.mismatchID, []string{"also the ID of a mismatch"}},
		{"/mismatches", []string{"/mismatches/" + s.mismatchID, "claim 1"}},
		{"/mismatches/" + s.mismatchID, []string{"attestlog evidence pull " + s.mismatchID, s.goodDigest, s.otherDigest, "/artifacts/" + s.otherDigest,
			"alice.example", "mallory.example", "https://ci.example/alice", "https://ci.example/mallory"}},
	}
	for _, tt := range tests {
		resp, body := s.get(t, tt.path)
		if resp.StatusCode != http.StatusOK {
			t.Errorf("GET %s: %s\n%s", tt.path, resp.Status, body)
			continue
		}
		text := html.UnescapeString(body)
		for _, w := range tt.want {
			if !strings.Contains(text, w) {
				t.Errorf("GET %s: page lacks %q", tt.path, w)
			}
		}
		checkPageHeaders(t, tt.path, resp, "text/html; charset=utf-8")
	}
	if resp, _ := s.get(t, "/search?q=2"); resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/claims/2" {
		t.Errorf("searching a claim index: %s to %q", resp.Status, resp.Header.Get("Location"))
	}
	resp, body := s.get(t, webui.StylePath)
	if resp.StatusCode != 200 || !strings.Contains(body, "font-family") {
		t.Errorf("style sheet: %s", resp.Status)
	}
	checkPageHeaders(t, webui.StylePath, resp, "text/css; charset=utf-8")
}

func checkPageHeaders(t *testing.T, path string, resp *http.Response, contentType string) {
	t.Helper()
	for k, want := range map[string]string{
		"Content-Type":            contentType,
		"Content-Security-Policy": webui.ContentSecurityPolicy,
		"X-Content-Type-Options":  "nosniff",
	} {
		if got := resp.Header.Get(k); got != want {
			t.Errorf("GET %s: %s: %q, want %q", path, k, got, want)
		}
	}
	if csp := resp.Header.Get("Content-Security-Policy"); strings.Contains(csp, "script-src") || !strings.Contains(csp, "default-src 'none'") {
		t.Errorf("GET %s: CSP %q may allow scripts", path, csp)
	}
}

// TestHostileClaimIsEscaped checks that markup in a claim's fields is
// shown as text, and control and bidi characters as code points.
func TestHostileClaimIsEscaped(t *testing.T) {
	s := newSite(t)
	for _, path := range []string{"/", "/claims", fmt.Sprintf("/claims/%d", s.hostile), "/search?q=" + digest([]byte("hostile"))} {
		resp, body := s.get(t, path)
		if resp.StatusCode != 200 {
			t.Fatalf("GET %s: %s", path, resp.Status)
		}
		for _, raw := range []string{"<script>", "<img", "\x1b", "\u202e", "</pre><"} {
			if strings.Contains(body, raw) {
				t.Errorf("GET %s: the page holds %q raw", path, raw)
			}
		}
		if !strings.Contains(body, "&lt;img src=x onerror=&#34;document.title=&#39;pwned&#39;&#34;&gt;") {
			t.Errorf("GET %s: the artifact name is not shown escaped", path)
		}
	}
	_, body := s.get(t, fmt.Sprintf("/claims/%d", s.hostile))
	for _, want := range []string{"&lt;script&gt;document.title=&#34;pwned&#34;&lt;/script&gt;", `\u001b[2J⟨U&#43;202E⟩evil&lt;/pre&gt;&lt;script&gt;`} {
		if !strings.Contains(body, want) {
			t.Errorf("claim page lacks %q", want)
		}
	}
	// What someone types into (or links to) the search box is reflected.
	resp, body := s.get(t, "/search?q=%3Cscript%3Ealert(1)%3C/script%3E%1B%E2%80%AE")
	if resp.StatusCode != http.StatusBadRequest || strings.Contains(body, "<script>") || strings.Contains(body, "\x1b") {
		t.Errorf("a hostile search: %s, body holds it raw: %v", resp.Status, strings.Contains(body, "<script>"))
	}
}

// TestLogRoutesUnchanged checks that the pages shadow none of the log's
// own routes: each answers as log.Log.Handler does alone.
func TestLogRoutesUnchanged(t *testing.T) {
	s := newSite(t)
	for _, path := range []string{"/checkpoint", "/tile/0/000.p/3", "/tile/entries/000.p/3", "/healthz", "/tile/0/001", "/tile/x", "/nothing", "/claims/"} {
		for _, method := range []string{http.MethodGet, http.MethodHead, http.MethodPost} {
			want := httptest.NewRecorder()
			s.log.Handler().ServeHTTP(want, httptest.NewRequest(method, path, nil))
			if path == "/claims/" { // not a page (no index), so the log's 404
				want.Code = http.StatusNotFound
			}
			got := httptest.NewRecorder()
			s.handler.ServeHTTP(got, httptest.NewRequest(method, path, nil))
			if got.Code != want.Code || got.Body.String() != want.Body.String() || got.Header().Get("Content-Type") != want.Header().Get("Content-Type") {
				t.Errorf("%s %s: %d %q, the log alone answers %d %q", method, path, got.Code, got.Header().Get("Content-Type"), want.Code, want.Header().Get("Content-Type"))
			}
		}
	}
	rec := httptest.NewRecorder()
	s.handler.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/", nil))
	if rec.Code == http.StatusOK {
		t.Errorf("POST / answered 200")
	}
}

// TestArtifactDownload checks that a binary is served as an attachment of
// type application/octet-stream, with the archived bytes.
func TestArtifactDownload(t *testing.T) {
	s := newSite(t)
	resp, body := s.get(t, "/artifacts/"+s.otherDigest)
	if resp.StatusCode != 200 || body != "other binary" {
		t.Fatalf("download: %s %q", resp.Status, body)
	}
	checkPageHeaders(t, "artifact", resp, "application/octet-stream")
	if cd := resp.Header.Get("Content-Disposition"); cd != `attachment; filename="`+s.otherDigest+`.bin"` {
		t.Errorf("Content-Disposition %q", cd)
	}
}

// TestBadRequests checks the status codes of malformed and unknown
// parameters: never 500, never a panic.
func TestBadRequests(t *testing.T) {
	s := newSite(t)
	tests := []struct {
		path string
		code int
	}{
		{"/claims/abc", 404},
		{"/claims/3", 404},
		{"/claims/-1", 404},
		{"/claims/01", 404},
		{"/claims/99999999999999999999", 404},
		{"/claims?before=x", 400},
		{"/claims?before=4", 400},
		{"/claims?before=0", 200},
		{"/mismatches?after=x", 400},
		{"/mismatches?after=1.99999999999", 400},
		{"/mismatches?after=1.0", 200},
		{"/mismatches/zz", 404},
		{"/mismatches/" + strings.Repeat("0", 64), 404},
		{"/mismatches/" + strings.ToUpper(s.mismatchID), 404},
		{"/search?q=nonsense", 400},
		{"/search?q=git%2Bhttps://example.org/x+abc", 400},
		{"/search?q=" + strings.Repeat("a", 5000), 400},
		{"/search?q=a+b+c+d", 400},
		{"/search", 200},
		{"/artifacts/nothex", 404},
		{"/artifacts/" + s.goodDigest, 404},
	}
	for _, tt := range tests {
		resp, body := s.get(t, tt.path)
		if resp.StatusCode != tt.code {
			t.Errorf("GET %s: %s, want %d\n%s", tt.path, resp.Status, tt.code, body)
		}
		checkPageHeaders(t, tt.path, resp, "text/html; charset=utf-8")
	}
}

// TestV2ClaimPage shows a v2 claim: its kind, scheme and signer key ID,
// supplied annotations marked as such, and the signed document, escaped.
func TestV2ClaimPage(t *testing.T) {
	s := newSite(t)
	ed := recordtest.NewEd25519(t, 7)
	files := map[string][]byte{"<img src=x onerror=alert(1)>-1.0.tar.gz": []byte("x")}
	entry := ed.SumsEntry(t, recordtest.Sums(files), format.Annotations{Source: "git+https://example.org/hello", Commit: strings.Repeat("ab", 20)})
	idx := s.log.Append(t, entry)[0]
	_, body := s.get(t, fmt.Sprintf("/claims/%d", idx))
	for _, want := range []string{
		`<td id="kind">sha256sums</td>`, `<td id="scheme">ed25519</td>`, ed.Verifier.KeyID(),
		"example.org/hello <span class=\"badge warn\">supplied, unsigned</span>",
		strings.Repeat("ab", 20) + " <span class=\"badge warn\">supplied, unsigned</span>",
		"no build identity", "Document, as signed", "&lt;img src=x onerror=alert(1)&gt;-1.0.tar.gz",
	} {
		if !strings.Contains(body, want) {
			t.Errorf("claim page lacks %q", want)
		}
	}
	if strings.Contains(body, "<img") {
		t.Error("the page holds a file name's markup raw")
	}
	_, body = s.get(t, "/claims")
	if !strings.Contains(body, "(sha256sums)") || !strings.Contains(body, "ed25519:"+ed.Verifier.KeyID()) {
		t.Error("the claims list does not show the v2 claim's kind and signer")
	}
}

// TestSearchV2Builder finds claims by a signer of another scheme.
func TestSearchV2Builder(t *testing.T) {
	s := newSite(t)
	ed := recordtest.NewEd25519(t, 7)
	idx := s.log.Append(t, ed.SumsEntry(t, recordtest.Sums(map[string][]byte{"a-1.0.tar.gz": []byte("x")}), format.Annotations{}))[0]
	resp, body := s.get(t, "/search?q=ed25519:"+ed.Verifier.KeyID())
	if resp.StatusCode != 200 || !strings.Contains(body, fmt.Sprintf(`href="/claims/%d"`, idx)) {
		t.Errorf("search by ed25519:<key ID>: %s", resp.Status)
	}
}
