package witness

import (
	"bytes"
	"crypto/ed25519"
	"encoding/base64"
	"errors"
	"strings"
	"testing"
	"time"

	fnote "github.com/transparency-dev/formats/note"
	"golang.org/x/mod/sumdb/note"
)

const testCheckpoint = "example.test/log\n3\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n\n— example.test/log AAAAAAAA\n"

func TestParseRequest(t *testing.T) {
	h := strings.Repeat("A", 43) + "="
	for _, tt := range []struct {
		body    string
		old     int64
		proof   int
		wantErr string
	}{
		{body: "old 0\n\n" + testCheckpoint},
		{body: "old 2\n" + h + "\n" + h + "\n\n" + testCheckpoint, old: 2, proof: 2},
		{body: "old 9223372036854775807\n\n" + testCheckpoint, old: 1<<63 - 1},
		{body: "old 0\n" + strings.Repeat(h+"\n", 63) + "\n" + testCheckpoint, proof: 63},
		{body: "old 0\n" + strings.Repeat(h+"\n", 64) + "\n" + testCheckpoint, wantErr: "more than 63"},
		{body: "old 00\n\n" + testCheckpoint, wantErr: "old size"},
		{body: "old  1\n\n" + testCheckpoint, wantErr: "old size"},
		{body: "old 1 \n\n" + testCheckpoint, wantErr: "old size"},
		{body: "Old 1\n\n" + testCheckpoint, wantErr: "first line"},
		{body: "old 1", wantErr: "no old size line"},
		{body: "old 1\n" + h, wantErr: "no empty line"},
		{body: "old 1\n" + h + " \n\n" + testCheckpoint, wantErr: "proof line 1"},
		{body: "old 1\n\n", wantErr: "not a signed note"},
		{body: "old 1\n\n\n" + testCheckpoint, wantErr: "malformed checkpoint"},
		{body: "old 1\n\n" + strings.Replace(testCheckpoint, "\n3\n", "\n3\n\n", 1), wantErr: "malformed checkpoint"},
		{body: "old 1\n\n" + strings.Replace(testCheckpoint, "AAAAAAAA\n", "AAAAAAAA\n"+strings.Repeat("— a AAAAAAAA\n", 100), 1), wantErr: "not a signed note"},
	} {
		r, err := parseRequest([]byte(tt.body))
		if tt.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) || !errors.Is(err, errMalformedRequest) {
				t.Errorf("parseRequest(%q) = %v, want error containing %q", tt.body, err, tt.wantErr)
			}
			continue
		}
		if err != nil {
			t.Errorf("parseRequest(%q) = %v", tt.body, err)
			continue
		}
		if r.old != tt.old || len(r.proof) != tt.proof || string(r.note) != testCheckpoint || r.checkpoint.Size != 3 {
			t.Errorf("parseRequest(%q) = %+v", tt.body, r)
		}
		if got := r.format(); string(got) != tt.body {
			t.Errorf("format() = %q, want %q", got, tt.body)
		}
	}
}

func FuzzParseRequest(f *testing.F) {
	h := strings.Repeat("A", 43) + "="
	f.Add([]byte("old 0\n\n" + testCheckpoint))
	f.Add([]byte("old 12\n" + h + "\n" + h + "\n\n" + testCheckpoint))
	f.Add([]byte("old 1\n\n" + strings.Replace(testCheckpoint, "\n\n", "\next\n\n", 1)))
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := parseRequest(b)
		if err != nil {
			return
		}
		if got := r.format(); !bytes.Equal(got, b) {
			t.Fatalf("parseRequest(%q).format() = %q", b, got)
		}
		if len(r.proof) > MaxProofLines || r.old < 0 || len(b) > MaxRequestSize {
			t.Fatalf("parseRequest(%q) accepted %+v", b, r)
		}
		if got := r.checkpoint.Format(); !bytes.HasPrefix(r.note, got) {
			t.Fatalf("parseRequest(%q): checkpoint %q is not the note's text", b, got)
		}
	})
}

func TestCosigner(t *testing.T) {
	skey, vkey, err := note.GenerateKey(nil, "witness.test/w1")
	if err != nil {
		t.Fatal(err)
	}
	c, err := newCosigner(skey)
	if err != nil {
		t.Fatal(err)
	}
	cvkey, err := fnote.VKeyToCosignatureV1(vkey)
	if err != nil {
		t.Fatal(err)
	}
	if c.vkey != cvkey {
		t.Errorf("cosigner vkey %q, want %q", c.vkey, cvkey)
	}
	v, err := fnote.NewVerifierForCosignatureV1(cvkey)
	if err != nil {
		t.Fatal(err)
	}
	text := "example.test/log\n3\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n"

	// Against formats/note's signer: it reads the clock, so sign with the
	// timestamp it chose; Ed25519 is deterministic, so the bytes must match.
	ref, err := fnote.NewSignerForCosignatureV1(skey)
	if err != nil {
		t.Fatal(err)
	}
	refNote, err := note.Sign(&note.Note{Text: text}, ref)
	if err != nil {
		t.Fatal(err)
	}
	n, err := note.Open(refNote, note.VerifierList(v))
	if err != nil {
		t.Fatal(err)
	}
	ts, err := fnote.CoSigV1Timestamp(n.Sigs[0])
	if err != nil {
		t.Fatal(err)
	}
	line := c.cosign(uint64(ts.Unix()), []byte(text))
	if want := refNote[len(text)+1:]; !bytes.Equal(line, want) {
		t.Errorf("cosign = %q, formats/note signed %q", line, want)
	}
	if ref.KeyHash() != c.hash {
		t.Errorf("key ID %08x, formats/note says %08x", c.hash, ref.KeyHash())
	}

	// As a note.Signer, at a chosen time.
	for _, ts := range []uint64{1, 1700000000, 1<<63 - 1} {
		msg, err := note.Sign(&note.Note{Text: text}, c.at(ts))
		if err != nil {
			t.Fatal(err)
		}
		n, err := note.Open(msg, note.VerifierList(v))
		if err != nil {
			t.Fatalf("timestamp %d: %v\n%s", ts, err, msg)
		}
		if got, _ := fnote.CoSigV1Timestamp(n.Sigs[0]); got.Unix() != int64(ts) {
			t.Errorf("timestamp %d, want %d", got.Unix(), ts)
		}
		if !bytes.Equal(msg[len(text)+1:], c.cosign(ts, []byte(text))) {
			t.Errorf("note.Sign and cosign differ at timestamp %d", ts)
		}
		raw, _ := base64.StdEncoding.DecodeString(n.Sigs[0].Base64)
		if len(raw) != 4+8+ed25519.SignatureSize {
			t.Errorf("signature payload of %d bytes, want 76", len(raw))
		}
	}
}

func TestNextTimestamp(t *testing.T) {
	at := func(s int64) time.Time { return time.Unix(s, 999999999) }
	for _, tt := range []struct {
		last uint64
		now  time.Time
		want uint64
	}{
		{0, at(100), 100},
		{100, at(100), 100},
		{150, at(100), 150},
		{50, at(100), 100},
		{0, at(0), 1},
		{0, at(-100), 1},
		{7, at(-100), 7},
	} {
		if got := nextTimestamp(tt.last, tt.now); got != tt.want {
			t.Errorf("nextTimestamp(%d, %v) = %d, want %d", tt.last, tt.now.Unix(), got, tt.want)
		}
	}
}

func TestBudgetTake(t *testing.T) {
	t0 := time.Unix(1_700_000_000, 0)
	for _, tt := range []struct {
		perDay   int64
		burst    int
		interval time.Duration
	}{
		{1, 1, 24 * time.Hour},
		{5, 5, 24 * time.Hour / 5},
		{10, 10, 144 * time.Minute},
		{100, 10, 864 * time.Second},
		{24000, 1000, 3600 * time.Millisecond},
		{86400, 3600, time.Second},
	} {
		b := newBudget(tt.perDay, t0)
		for i := range tt.burst {
			if ok, _ := b.take(t0); !ok {
				t.Fatalf("perDay %d: request %d of the burst refused", tt.perDay, i+1)
			}
		}
		ok, retry := b.take(t0)
		if ok || retry != tt.interval {
			t.Errorf("perDay %d: after the burst of %d, take = %v, %v; want false, %v", tt.perDay, tt.burst, ok, retry, tt.interval)
		}
		if ok, retry := b.take(t0.Add(tt.interval - time.Nanosecond)); ok || retry != time.Nanosecond {
			t.Errorf("perDay %d: 1ns early, take = %v, %v", tt.perDay, ok, retry)
		}
		if ok, _ := b.take(t0.Add(tt.interval)); !ok {
			t.Errorf("perDay %d: refused after one interval", tt.perDay)
		}
		// A clock that goes back refills nothing.
		if ok, _ := b.take(t0.Add(-time.Hour)); ok {
			t.Errorf("perDay %d: clock back an hour, request allowed", tt.perDay)
		}
	}
	if b := newBudget(0, t0); b != nil {
		t.Errorf("newBudget(0) = %+v, want nil", b)
	}
	var unlimited *budget
	if ok, _ := unlimited.take(t0); !ok {
		t.Error("nil budget refused a request")
	}
}

func FuzzLastCosignature(f *testing.F) {
	f.Add([]byte("example.test/log\n3\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n\n— example.test/log AAAAAAAA\n— w " + strings.Repeat("A", 102) + "==\n"))
	f.Add([]byte("\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		line, _, err := lastCosignature(b)
		if err == nil && (!bytes.HasSuffix(b, line) || bytes.Count(line, []byte("\n")) != 1) {
			t.Fatalf("lastCosignature(%q) = %q, not the last line", b, line)
		}
	})
}
