package witness_test

import (
	"fmt"
	"html"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/attestlog/attestlog/internal/webui"
	"golang.org/x/mod/sumdb/tlog"
)

// TestStatusPage checks that the witness's page lists the logs it
// witnesses, the size it last cosigned for each, and its evidence.
func TestStatusPage(t *testing.T) {
	l, idle := newTestLog(t, "example.test/log"), newTestLog(t, "example.test/idle")
	tw := newTestWitness(t, []*testLog{l, idle}, nil)
	tw.checkCosigned(t, tw.post(t, l.request(t, 0, 5)), l.checkpoint(t, 5))
	cosigned := tw.clock.Now()
	tw.clock.add(90 * time.Second)
	fork := requestBody(5, nil, signNote(t, fmt.Sprintf("%s\n5\n%s\n", l.origin, b64(tlog.Hash{9})), l.signer))
	checkRefused(t, tw.post(t, fork), http.StatusUnprocessableEntity, "has root")

	resp := tw.get(t, "/")
	if resp.code != http.StatusOK || resp.typ != "text/html; charset=utf-8" {
		t.Fatalf("GET /: %d %q\n%s", resp.code, resp.typ, resp.body)
	}
	if csp := resp.hdr.Get("Content-Security-Policy"); csp != webui.ContentSecurityPolicy || resp.hdr.Get("X-Content-Type-Options") != "nosniff" {
		t.Errorf("GET /: CSP %q, nosniff %q", csp, resp.hdr.Get("X-Content-Type-Options"))
	}
	body := html.UnescapeString(string(resp.body))
	for _, want := range []string{
		"witness.test/w1", tw.VerifierKey(),
		"example.test/log", ">5<", cosigned.UTC().Format("2006-01-02 15:04:05 UTC"), "1m30s ago", tw.originPath(l.origin),
		"example.test/idle", "none yet",
		"1 evidence records", `href="/evidence/1"`, "has root",
	} {
		if !strings.Contains(body, want) {
			t.Errorf("the page lacks %q", want)
		}
	}
	if resp := tw.get(t, webui.StylePath); resp.code != http.StatusOK || resp.typ != "text/css; charset=utf-8" {
		t.Errorf("style sheet: %d %q", resp.code, resp.typ)
	}
	if resp := tw.post(t, nil); resp.code == http.StatusOK {
		t.Error("POST /add-checkpoint without a body answered 200")
	}
	if resp := do(t, tw.srv.Client(), http.MethodPost, tw.srv.URL+"/", nil); resp.code != http.StatusMethodNotAllowed {
		t.Errorf("POST /: %d, want 405", resp.code)
	}
}
