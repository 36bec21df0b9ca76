package report

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"github.com/attestlog/attestlog/client"
	"github.com/attestlog/attestlog/log/claim/format"
	"github.com/attestlog/attestlog/log/claim/record"
	"github.com/attestlog/attestlog/log/claim/scheme"
)

// Hostile text, as a hostile log, builder or evidence file would send it:
// ESC sequences that clear the screen and home the cursor, the same with
// the one-character C1 CSI, and a right-to-left override.
const (
	hostileESC  = "\x1b[2J\x1b[H"
	hostileCSI  = "\u009b2J"
	hostileBidi = "\u202e"
)

// The escaped forms termSafe (and %q) show instead.
const (
	escapedESC  = `\x1b[2J\x1b[H`
	escapedCSI  = `\u009b2J`
	escapedBidi = `\u202e`
)

// checkTermOutput fails unless out holds no raw control or bidi character
// and holds each of the escaped forms in want.
func checkTermOutput(t *testing.T, what, out string, want ...string) {
	t.Helper()
	if c, ok := rawControl(out); ok {
		t.Errorf("%s printed a raw %s:\n%q", what, c, out)
	}
	for _, w := range want {
		if !strings.Contains(out, w) {
			t.Errorf("%s does not show %s:\n%s", what, w, out)
		}
	}
}

// TestHumanOutputEscapes feeds every printer of a command's human output
// hostile text in every field that comes from outside, and checks that
// nothing reaches the terminal raw and that no field adds a line.
func TestHumanOutputEscapes(t *testing.T) {
	h := "x" + hostileESC + hostileCSI + hostileBidi + "\nFAKE LINE\r"
	want := []string{escapedESC, escapedCSI, escapedBidi, `\x0aFAKE LINE\x0d`}
	idx := int64(1)
	id := client.Identity{Source: h, Commit: h, Platform: h, Artifact: h}

	t.Run("verify", func(t *testing.T) {
		v := &client.Verdict{Digest: h, Agree: h, Required: []string{h}, RequiredMissing: []string{h},
			Groups:     []client.GroupResult{{Name: h}},
			Checkpoint: &client.CheckpointInfo{Origin: h, Witnesses: []client.Cosignature{{Witness: h}}},
			Agreed:     []client.Vote{{Builder: h, Keys: []string{h, h}, Claims: []int64{1}}}, Silent: []string{h},
			Disagreed: []client.Conflict{{Builder: h, Key: h, Identity: id, SHA256: h}},
			Ignored:   []client.IgnoredSigner{{VKey: h}}, Problems: []client.Problem{{What: h, Index: &idx, Err: h}, {What: h, Err: h}},
			Evidence: h}
		var b bytes.Buffer
		if err := PrintVerdict(&b, v, h); err != nil {
			t.Fatal(err)
		}
		checkTermOutput(t, "printVerdict", b.String(), want...)
		if n := strings.Count(b.String(), "\n"); n != 13 {
			t.Errorf("printVerdict printed %d lines, want 13:\n%s", n, b.String())
		}
	})
	t.Run("monitor", func(t *testing.T) {
		r := &client.MonitorReport{Origin: h, Evidence: h,
			Claims:   []client.MonitorClaim{{Signers: []string{h + "+1234abcd+AAAA"}, Source: h, Commit: h, Platform: h, Subjects: []client.MonitorSubject{{Name: h, SHA256: h}}}},
			Findings: []client.Finding{{Kind: client.FindingInventedMismatch, Index: &idx, SHA256: h, Mismatch: h, Detail: h}}}
		var b bytes.Buffer
		if err := PrintMonitorReport(&b, r, false); err != nil {
			t.Fatal(err)
		}
		checkTermOutput(t, "printMonitorReport", b.String(), want...)
		if n := strings.Count(b.String(), "\n"); n != 4 {
			t.Errorf("printMonitorReport printed %d lines, want 4:\n%s", n, b.String())
		}
	})
	t.Run("mismatches", func(t *testing.T) {
		var b bytes.Buffer
		PrintMismatch(&b, Mismatch{Source: h, Commit: h, Platform: h, Artifact: h,
			Digests: []MismatchDigest{{SHA256: h, Recipes: []string{h}}}})
		checkTermOutput(t, "printMismatch", b.String(), want...)
		if n := strings.Count(b.String(), "\n"); n != 2 {
			t.Errorf("printMismatch printed %d lines, want 2:\n%s", n, b.String())
		}
	})
	// A hostile record, as no verified entry can hold (claim text is
	// checked), so that the printers' escaping is tested on its own.
	hr := &record.Record{Kind: h, Source: h, Commit: h, Recipe: h, Signers: []record.Signer{{Scheme: scheme.Scheme(h), KeyID: h}},
		Subjects: []record.Subject{{Name: h, SHA256: h, Platform: h}}}
	supplied := &record.Record{Kind: h, Signers: hr.Signers, Subjects: hr.Subjects, Supplied: format.Annotations{Source: h, Commit: h, Recipe: h}}
	t.Run("lookup", func(t *testing.T) {
		var b bytes.Buffer
		if err := printClaimRows(&b, []claimRow{{1, hr}, {2, supplied}}, ""); err != nil {
			t.Fatal(err)
		}
		checkTermOutput(t, "lookup's table", b.String(), escapedESC, escapedCSI)
		if n := strings.Count(b.String(), "\n"); n != 3 {
			t.Errorf("lookup's table has %d lines, want 3:\n%s", n, b.String())
		}
	})
	t.Run("mismatch claims", func(t *testing.T) {
		var b bytes.Buffer
		PrintMismatchClaims(&b, Mismatch{Source: h, Commit: h, Platform: h, Artifact: h,
			Digests: []MismatchDigest{{SHA256: h, ClaimIndexes: []int64{1, 2}}}}, map[int64]*record.Record{1: hr, 2: supplied})
		checkTermOutput(t, "printMismatchClaims", b.String(), want...)
		if n := strings.Count(b.String(), "\n"); n != 4 || !strings.Contains(b.String(), SuppliedMark) {
			t.Errorf("printMismatchClaims printed %d lines, want 4, one with supplied fields:\n%s", n, b.String())
		}
	})
	t.Run("monitor record", func(t *testing.T) {
		var b bytes.Buffer
		printRecordLines(&b, 1, hr, "")
		printRecordLines(&b, 2, supplied, h)
		checkTermOutput(t, "the monitor's claim lines", b.String(), want...)
		if n := strings.Count(b.String(), "\n"); n != 2 {
			t.Errorf("the monitor printed %d lines, want 2:\n%s", n, b.String())
		}
	})
	t.Run("json", func(t *testing.T) {
		// JSON is data: encoding/json escapes C0 controls and keeps the rest,
		// bidi included, so that decoding gives back exactly what was sent.
		v := &client.Verdict{Digest: h, Ignored: []client.IgnoredSigner{{VKey: h}}}
		var b bytes.Buffer
		if err := PrintVerdictJSON(&b, v); err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(b.String(), `\u001b[2J`) || !strings.Contains(b.String(), hostileBidi) || strings.Contains(b.String(), `\\x1b`) {
			t.Errorf("verify --json does not keep the data as JSON encodes it:\n%s", b.String())
		}
		var back VerdictJSON
		if err := json.Unmarshal(b.Bytes(), &back); err != nil || back.Digest != h || back.Ignored[0].VKey != h {
			t.Errorf("verify --json does not decode to what the log sent: %v, %q", err, back.Digest)
		}
	})
}
