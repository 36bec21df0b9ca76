package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/attestlog/attestlog/log/claim"
	pb "github.com/attestlog/attestlog/proto/attestlog/v1"
	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/chromedp"
	"golang.org/x/mod/sumdb/note"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
)

// envChromium names a Chrome or Chromium binary for the browser tests;
// otherwise they look for Debian's chromium on the PATH.
const envChromium = "ATTESTLOG_CHROMIUM"

// envScreenshots, if set, is a directory where TestWebPagesInBrowser saves
// PNG screenshots of the main pages (the README's are made this way).
const envScreenshots = "ATTESTLOG_SCREENSHOTS"

// Hostile text that a claim may legally carry: markup in the builder ID
// and the artifact name, and in an extra predicate field an escaped ESC and
// a raw right-to-left override. Each would set the title if it ran.
const (
	webHostileBuilderID = `<script>document.title="pwned"</script>`
	webHostileName      = `<img src=x onerror="document.title='pwned'">`
	webHostileNote      = "\x1b[2J\u202eevil</pre><script>document.title='pwned'</script>"
)

// findBrowser returns a Chrome or Chromium binary, or skips the test.
func findBrowser(t *testing.T) string {
	t.Helper()
	if p := os.Getenv(envChromium); p != "" {
		return p
	}
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome", "headless-shell"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	t.Skip("no browser found: install Debian's chromium (apt-get install chromium; .ci/run does) or set " + envChromium)
	return ""
}

// newBrowser starts a headless browser for the test.
func newBrowser(t *testing.T) context.Context {
	t.Helper()
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(findBrowser(t)),
		chromedp.NoSandbox, // tests run as root in CI, where Chromium's sandbox refuses to start
		chromedp.WindowSize(1280, 900),
	)
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(actx)
	ctx, cancelTimeout := context.WithTimeout(ctx, 2*time.Minute)
	t.Cleanup(func() { cancelTimeout(); cancel(); cancelAlloc() })
	if err := chromedp.Do(ctx, chromedp.EmulateViewport(1280, 900)); err != nil {
		t.Fatalf("starting the browser: %v", err)
	}
	return ctx
}

// webClaim returns a signed claim envelope of statement st.
func webEnvelope(t *testing.T, st []byte, name string) []byte {
	t.Helper()
	skey, vkey := keyPair(t, name)
	s, err := note.NewSigner(skey)
	if err != nil {
		t.Fatal(err)
	}
	e, err := claim.SignStatement(st, claim.Key{Signer: s, VKey: vkey})
	if err != nil {
		t.Fatal(err)
	}
	return e.Envelope()
}

func webHelloStatement(t *testing.T, bin []byte, builderID string) []byte {
	t.Helper()
	st, err := claim.NewStatement(&claim.Claim{
		Subjects: []claim.Subject{{Name: "hello", SHA256: sha256Hex(bin)}},
		Source:   "git+https://example.org/hello", SourceRef: "refs/tags/v1.0",
		Commit: "0123456789abcdef0123456789abcdef01234567", Recipe: sha256Hex([]byte("recipe of " + builderID)),
		Platform: "linux/amd64", BuilderID: builderID,
	})
	if err != nil {
		t.Fatal(err)
	}
	return st
}

func webHostileStatement(t *testing.T) []byte {
	t.Helper()
	st := map[string]any{
		"_type":         claim.StatementType,
		"subject":       []any{map[string]any{"name": webHostileName, "digest": map[string]string{"sha256": sha256Hex([]byte("hostile"))}}},
		"predicateType": claim.ProvenanceType,
		"predicate": map[string]any{
			"buildDefinition": map[string]any{
				"buildType": claim.BuildType,
				"externalParameters": map[string]any{
					"recipe":   map[string]any{"digest": map[string]string{"sha256": sha256Hex([]byte("recipe"))}},
					"platform": "linux/amd64",
				},
				"resolvedDependencies": []any{map[string]any{"uri": "git+https://example.org/evil", "digest": map[string]string{"gitCommit": strings.Repeat("89abcdef", 5)}}},
			},
			"runDetails": map[string]any{"builder": map[string]any{"id": webHostileBuilderID}},
			"note":       webHostileNote,
		},
	}
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false) // the markup goes into the signed payload as is
	if err := enc.Encode(st); err != nil {
		t.Fatal(err)
	}
	return bytes.TrimSpace(b.Bytes())
}

// TestWebPagesInBrowser runs a real witness and a real serve with a
// witness policy, logs a claim, a second claim of another digest for the
// same build (a mismatch, its binary archived) and a hostile claim, and
// drives headless Chromium through the pages: each loads and shows the
// expected values, search finds a claim by digest with JavaScript off,
// and the hostile claim's markup stays text and runs nothing.
func TestWebPagesInBrowser(t *testing.T) {
	ctx := newBrowser(t)
	wl := newWitnessedLog(t, 1, "w1")
	logData, logVKey, policyFile, policy, wp := wl.logData, wl.logVKey, wl.policyFile, wl.policy, wl.witnesses[0]
	lp := startProc(t, []string{"http listening on", "grpc listening on"}, "serve", "--data", logData,
		"--http", "127.0.0.1:0", "--grpc", "127.0.0.1:0", "--policy", policyFile)
	httpAddr := lp.get("http listening on")
	conn, err := grpc.NewClient(lp.get("grpc listening on"), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	lc := pb.NewLogServiceClient(conn)
	good, other := []byte("the honest binary"), []byte("the backdoored binary")
	for _, env := range [][]byte{
		webEnvelope(t, webHelloStatement(t, good, "https://ci.example/alice"), "alice.example"),
		webEnvelope(t, webHelloStatement(t, other, "https://ci.example/mallory"), "mallory.example"),
		webEnvelope(t, webHostileStatement(t), "eve.example"),
	} {
		if _, err := lc.AddClaim(context.Background(), &pb.AddClaimRequest{Envelope: env}); err != nil {
			t.Fatalf("AddClaim: %v", err)
		}
	}
	if _, err := uploadArtifact(context.Background(), lc, sha256Hex(other), other); err != nil {
		t.Fatalf("uploading the binary: %v", err)
	}
	waitFor(t, "size 3 is witnessed", func() bool { vc := publishedCheckpoint(t, httpAddr, policy); return vc != nil && vc.Size == 3 })
	mismatchID := claim.Identity{Source: "git+https://example.org/hello", Commit: "0123456789abcdef0123456789abcdef01234567", Platform: "linux/amd64", Artifact: "hello"}.ID()
	base := "http://" + httpAddr

	shots := os.Getenv(envScreenshots)
	load := func(url, wantTitle string, want ...string) string {
		t.Helper()
		if err := chromedp.Do(ctx, chromedp.Navigate(url)); err != nil {
			t.Fatalf("loading %s: %v", url, err)
		}
		return checkPage(t, ctx, url, wantTitle, want...)
	}
	screenshot := func(name string) {
		t.Helper()
		if shots == "" {
			return
		}
		png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
		if err != nil {
			t.Fatalf("screenshot %s: %v", name, err)
		}
		writeFile(t, filepath.Join(shots, name+".png"), png)
	}

	load(base+"/", "Status", "localhost/attestlog", logVKey, "healthy", "w1", "quorum w1", "alice.example", "mallory.example", "eve.example")
	if size, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS("#tree-size"))); err != nil || size != "3" {
		t.Errorf("tree size shown: %q, %v", size, err)
	}
	screenshot("web-home")

	load(base+"/claims/0", "Claim 0", "https://ci.example/alice", "verified", "In the published checkpoint of size 3", "not archived", "mismatch")
	load(base+"/claims/1", "Claim 1", "download", fmt.Sprintf("(%d bytes)", len(other)))
	screenshot("web-claim")

	load(base+"/mismatches", "Mismatches", webShort(mismatchID), "hello", "claim 1")
	if err := chromedp.Do(ctx, chromedp.Click(chromedp.CSS("td.mono a")), chromedp.WaitVisible(chromedp.CSS("#evidence-command"))); err != nil {
		t.Fatalf("following the mismatch link: %v", err)
	}
	checkPage(t, ctx, "the mismatch", "Mismatch", sha256Hex(good), sha256Hex(other), "https://ci.example/alice", "https://ci.example/mallory", "download")
	if cmd, err := chromedp.Run(ctx, chromedp.Value(chromedp.CSS("#evidence-command"))); err != nil || cmd != "attestlog evidence pull "+mismatchID {
		t.Errorf("evidence command %q, %v", cmd, err)
	}
	screenshot("web-mismatch")

	// The binary downloads as an attachment, never rendered.
	resp, err := http.Get(base + "/artifacts/" + sha256Hex(other))
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !bytes.Equal(body, other) || resp.Header.Get("Content-Type") != "application/octet-stream" || !strings.HasPrefix(resp.Header.Get("Content-Disposition"), "attachment;") {
		t.Errorf("download: %q, %q, %q", body, resp.Header.Get("Content-Type"), resp.Header.Get("Content-Disposition"))
	}

	checkHostileClaim(t, ctx, base)

	// Search by digest, with JavaScript off: the form is plain HTML.
	if _, err := chromedp.Call(ctx, emulation.SetScriptExecutionDisabled, emulation.SetScriptExecutionDisabledParams{Value: true}); err != nil {
		t.Fatal(err)
	}
	load(base+"/", "Status")
	if err := chromedp.Do(ctx,
		chromedp.SendKeys(chromedp.CSS(`input[name="q"]`), "sha256:"+sha256Hex(good)+"\r"),
		chromedp.WaitVisible(chromedp.CSS("p.lead")),
	); err != nil {
		t.Fatalf("searching: %v", err)
	}
	checkPage(t, ctx, "the search", "Search", "1 claims naming artifact sha256 "+sha256Hex(good), "alice.example")
	if loc, err := chromedp.Run(ctx, chromedp.Location()); err != nil || !strings.Contains(loc, "/search?q=sha256%3A"+sha256Hex(good)) {
		t.Errorf("search landed on %q, %v", loc, err)
	}
	if _, err := chromedp.Call(ctx, emulation.SetScriptExecutionDisabled, emulation.SetScriptExecutionDisabledParams{Value: false}); err != nil {
		t.Fatal(err)
	}

	load("http://"+wp.get("http listening on")+"/", "Witness w1.example", "localhost/attestlog", "no evidence of a fork", wp.get("witness vkey:"))
	if size, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS("td.num"))); err != nil || size != "3" {
		t.Errorf("witness page: latest cosigned size %q, %v", size, err)
	}
	screenshot("web-witness")
}

// checkHostileClaim loads the hostile claim's page and checks that its
// markup is shown as text and nothing of it ran: no script or img element
// exists, the title is the page's own, and the fields read back verbatim.
func checkHostileClaim(t *testing.T, ctx context.Context, base string) {
	t.Helper()
	for _, url := range []string{base + "/claims/2", base + "/", base + "/claims", base + "/search?q=" + sha256Hex([]byte("hostile"))} {
		if err := chromedp.Do(ctx, chromedp.Navigate(url)); err != nil {
			t.Fatalf("loading %s: %v", url, err)
		}
		// Give an injected onerror handler time to fire had it existed.
		time.Sleep(200 * time.Millisecond)
		title, err := chromedp.Run(ctx, chromedp.Title())
		if err != nil || strings.Contains(title, "pwned") {
			t.Errorf("%s: title %q (%v): injected script ran", url, title, err)
		}
		n, err := chromedp.Run(ctx, chromedp.Evaluate[int](`document.querySelectorAll("script, img, [onerror]").length`))
		if err != nil || n != 0 {
			t.Errorf("%s: %d script, img or onerror elements (%v): markup from a claim became HTML", url, n, err)
		}
		names, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.body.innerText`))
		if err != nil || !strings.Contains(names, webHostileName) {
			t.Errorf("%s: the artifact name is not shown as text (%v)", url, err)
		}
	}
	if err := chromedp.Do(ctx, chromedp.Navigate(base+"/claims/2")); err != nil {
		t.Fatal(err)
	}
	if id, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS("#builder-id"))); err != nil || id != webHostileBuilderID {
		t.Errorf("builder ID shown as %q (%v), want %q", id, err, webHostileBuilderID)
	}
	payload, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS("#payload")))
	if err != nil || !strings.Contains(payload, `"note": "\u001b[2J⟨U+202E⟩evil</pre><script>document.title='pwned'</script>"`) {
		t.Errorf("statement shown as\n%s\n(%v): want the ESC escaped, the override as a code point and the markup as text", payload, err)
	}
}

// checkPage checks the current page's title and that its text holds each
// of want, and returns the text.
func checkPage(t *testing.T, ctx context.Context, what, wantTitle string, want ...string) string {
	t.Helper()
	title, err := chromedp.Run(ctx, chromedp.Title())
	if err != nil {
		t.Fatalf("%s: reading the title: %v", what, err)
	}
	if !strings.HasPrefix(title, wantTitle) {
		t.Errorf("%s: title %q, want it to start with %q", what, title, wantTitle)
	}
	text, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS("body")))
	if err != nil {
		t.Fatalf("%s: reading the text: %v", what, err)
	}
	for _, w := range want {
		if !strings.Contains(text, w) {
			t.Errorf("%s: the page does not show %q", what, w)
		}
	}
	return text
}

func webShort(s string) string { return s[:12] }
