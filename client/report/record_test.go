package report

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"github.com/attestlog/attestlog/client"
	"github.com/attestlog/attestlog/log/claim/format"
	"github.com/attestlog/attestlog/log/claim/record/recordtest"
)

// TestClaimsShowKindSchemeAndSupplied prints a v2 claim (a SHA256SUMS
// signed with a raw Ed25519 key, with a supplied source and commit) as
// lookup does: its kind, scheme and signer key ID are shown, the supplied
// fields marked as such, and the JSON keeps signed and supplied apart.
func TestClaimsShowKindSchemeAndSupplied(t *testing.T) {
	k := recordtest.NewEd25519(t, 1)
	commit := strings.Repeat("ab", 20)
	files := map[string][]byte{"hello-1.0-x86_64-linux-gnu.tar.gz": []byte("hello\n")}
	entry := k.SumsEntry(t, recordtest.Sums(files), format.Annotations{Source: "git+https://example.org/hello", Commit: commit})
	vc := client.VerifiedClaim{Index: 7, TreeSize: 8, Entry: entry}

	var b bytes.Buffer
	if err := PrintClaimsTable(&b, []client.VerifiedClaim{vc}, ""); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	for _, want := range []string{"sha256sums/ed25519", "ed25519 " + k.Verifier.KeyID(), "git+https://example.org/hello@abababababab (supplied, unsigned)", "linux/amd64", "hello-1.0-x86_64-linux-gnu.tar.gz"} {
		if !strings.Contains(out, want) {
			t.Errorf("lookup's table does not show %q:\n%s", want, out)
		}
	}

	b.Reset()
	if err := PrintClaimsJSON(&b, []client.VerifiedClaim{vc}, []byte("cp")); err != nil {
		t.Fatal(err)
	}
	var js []ClaimJSON
	if err := json.Unmarshal(b.Bytes(), &js); err != nil {
		t.Fatal(err)
	}
	j := js[0]
	if j.Kind != "sha256sums" || j.Source != "" || j.Commit != "" || j.Supplied == nil || j.Supplied.Source != "git+https://example.org/hello" ||
		j.Supplied.Commit != commit || len(j.Signers) != 1 || j.Signers[0].Scheme != "ed25519" || j.Signers[0].KeyID != k.Verifier.KeyID() ||
		j.Signers[0].VKey != "" || j.Subjects[0].Platform != "linux/amd64" || !bytes.Equal(j.Entry, entry) {
		t.Fatalf("lookup --json: %+v", j)
	}

	b.Reset()
	r := &client.MonitorReport{Claims: []client.MonitorClaim{{Index: 7, Entry: entry}}}
	if err := PrintMonitorReport(&b, r, false); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(b.String(), "claim 7 (sha256sums/ed25519): git+https://example.org/hello@abababababab (supplied, unsigned) linux/amd64 hello-1.0-x86_64-linux-gnu.tar.gz") ||
		!strings.Contains(b.String(), "by ed25519 "+k.Verifier.KeyID()) {
		t.Fatalf("monitor:\n%s", b.String())
	}
}
