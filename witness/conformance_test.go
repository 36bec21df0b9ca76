package witness_test

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/attestlog/attestlog/witness"
	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"
)

// TestConformance drives the witness over HTTP through every row of the
// c2sp.org/tlog-witness table in SPECS.md, in order. Each request would also
// fail every later row's check, so the order of the checks is tested too.
func TestConformance(t *testing.T) {
	const origin = "example.test/log"
	type env struct {
		tw *testWitness
		l  *testLog
	}
	setup := func(t *testing.T, cosigned ...int64) env {
		l := newTestLog(t, origin)
		tw := newTestWitness(t, []*testLog{l}, nil)
		old := int64(0)
		for _, size := range cosigned {
			cp := l.checkpoint(t, size)
			tw.checkCosigned(t, tw.post(t, requestBody(old, l.proof(t, old, size), cp)), cp)
			old = size
		}
		return env{tw, l}
	}
	wrongHash := tlog.Hash{1, 2, 3}

	t.Run("400 body malformed", func(t *testing.T) {
		e := setup(t, 5)
		good := e.l.checkpoint(t, 8)
		unknown := newTestLog(t, "unknown.test/log") // a 404 if the body were well-formed
		for _, tt := range []struct{ name, body, want string }{
			{"empty", "", "no old size line"},
			{"no old line", "\n" + string(good), "is not \"old <size>\""},
			{"old without space", "old5\n\n" + string(good), "is not \"old <size>\""},
			{"old leading zero", "old 05\n\n" + string(good), "old size \"05\""},
			{"old plus sign", "old +5\n\n" + string(good), "old size \"+5\""},
			{"old negative zero", "old -0\n\n" + string(good), "old size \"-0\""},
			{"old too large", "old 9223372036854775808\n\n" + string(good), "old size"},
			{"old CRLF", "old 5\r\n\n" + string(good), "old size \"5\\r\""},
			{"no blank line", "old 5\n" + b64(wrongHash) + "\n", "no empty line"},
			{"proof hash short", "old 5\nAAAA\n\n" + string(good), "proof line 1"},
			{"proof hash padding bits", "old 5\n" + b64(wrongHash)[:42] + "B=\n\n" + string(good), "proof line 1"},
			{"proof hash with CR", "old 5\n" + b64(wrongHash) + "\r\n\n" + string(good), "proof line 1"},
			{"64 proof lines", "old 5\n" + strings.Repeat(b64(wrongHash)+"\n", 64) + "\n" + string(good), "more than 63 consistency proof lines"},
			{"not a note", "old 5\n\nexample.test/log\n8\n" + b64(wrongHash) + "\n", "not a signed note"},
			{"note with control character", "old 5\n\n" + strings.Replace(string(good), "\n8\n", "\n8\x01\n", 1), "not a signed note"},
			{"unknown origin, bad checkpoint body", "old 5\n\n" + string(signNote(t, "unknown.test/log\n08\n"+b64(wrongHash)+"\n", unknown.signer)), "tree size \"08\""},
			{"checkpoint without hash", "old 5\n\n" + string(signNote(t, "example.test/log\n8\n", e.l.signer)), "malformed checkpoint"},
			{"too large", "old 5\n\n" + string(signNote(t, "example.test/log\n8\n"+b64(e.l.root(t, 8))+"\n"+strings.Repeat("x", 16<<10)+"\n", e.l.signer)), "larger than 16384 bytes"},
		} {
			t.Run(tt.name, func(t *testing.T) {
				checkRefused(t, e.tw.post(t, []byte(tt.body)), http.StatusBadRequest, tt.want)
			})
		}
	})

	t.Run("404 origin unknown", func(t *testing.T) {
		e := setup(t, 5)
		other := newTestLog(t, "unknown.test/log")
		// Signed by a key the witness does not trust, with old > size: 404 comes first.
		body := requestBody(9, nil, other.checkpoint(t, 3))
		checkRefused(t, e.tw.post(t, body), http.StatusNotFound, `unknown origin "unknown.test/log"`)
	})

	t.Run("403 no signature by a trusted key", func(t *testing.T) {
		e := setup(t, 5)
		impostor := newTestLog(t, origin) // same origin and name, another key
		body := requestBody(9, nil, signNote(t, e.l.body(t, 3), impostor.signer))
		checkRefused(t, e.tw.post(t, body), http.StatusForbidden, "no signature by a trusted key of example.test/log")
	})

	t.Run("403 a trusted key's signature fails", func(t *testing.T) {
		e := setup(t, 5)
		// A valid signature by one trusted key does not excuse an invalid one by another.
		second := newTestLog(t, origin)
		e.tw.stop(t)
		e.tw.cfg.Logs[0].Keys = append(e.tw.cfg.Logs[0].Keys, second.vkey)
		e.tw.start(t)
		cp := e.l.checkpoint(t, 8, second.signer)
		bad := corruptLastSignature(t, cp)
		checkRefused(t, e.tw.post(t, requestBody(5, e.l.proof(t, 5, 8), bad)), http.StatusForbidden, "does not verify")
		// Both signatures valid: cosigned.
		e.tw.checkCosigned(t, e.tw.post(t, requestBody(5, e.l.proof(t, 5, 8), cp)), cp)
	})

	t.Run("400 old size larger than checkpoint size", func(t *testing.T) {
		e := setup(t, 5)
		// Also a 409 (the witness is at 5): 400 comes first.
		checkRefused(t, e.tw.post(t, requestBody(7, nil, e.l.checkpoint(t, 5))), http.StatusBadRequest, "old size 7 larger than checkpoint size 5")
	})

	t.Run("409 old size differs from the latest cosigned size", func(t *testing.T) {
		e := setup(t, 5)
		// A bad proof too: 409 comes first, and is not evidence.
		checkConflict(t, e.tw.post(t, requestBody(3, []tlog.Hash{wrongHash}, e.l.checkpoint(t, 8))), 5)
		// Old size 0, the client's way to learn the witness's size.
		checkConflict(t, e.tw.post(t, e.l.request(t, 0, 9)), 5)
		// A witness that never cosigned for the origin is at size 0.
		f := setup(t)
		checkConflict(t, f.tw.post(t, f.l.request(t, 2, 9)), 0)
		checkEvidence(t, e.tw, 0)
	})

	t.Run("422 size 0 with a root other than the empty tree's", func(t *testing.T) {
		e := setup(t)
		body := requestBody(0, []tlog.Hash{wrongHash}, signNote(t, origin+"\n0\n"+b64(wrongHash)+"\n", e.l.signer))
		checkRefused(t, e.tw.post(t, body), http.StatusUnprocessableEntity, "checkpoint of size 0 has root")
		checkEvidence(t, e.tw, 1)
		// The empty tree itself is cosigned.
		cp := e.l.checkpoint(t, 0)
		e.tw.checkCosigned(t, e.tw.post(t, requestBody(0, nil, cp)), cp)
	})

	t.Run("422 old size 0 with a non-empty proof", func(t *testing.T) {
		e := setup(t)
		body := requestBody(0, e.l.proof(t, 3, 8), e.l.checkpoint(t, 8))
		checkRefused(t, e.tw.post(t, body), http.StatusUnprocessableEntity, "old size 0 needs an empty consistency proof, got 4 lines")
		checkEvidence(t, e.tw, 0)
	})

	t.Run("422 consistency proof does not verify", func(t *testing.T) {
		e := setup(t, 5)
		p := e.l.proof(t, 5, 8)
		p[0][0] ^= 1
		checkRefused(t, e.tw.post(t, requestBody(5, p, e.l.checkpoint(t, 8))), http.StatusUnprocessableEntity, "consistency proof from size 5 to 8 does not verify")
		checkRefused(t, e.tw.post(t, requestBody(5, nil, e.l.checkpoint(t, 8))), http.StatusUnprocessableEntity, "does not verify")
		// A proof for a forked tree, internally consistent: it proves a fork.
		fork := newTestLog(t, origin)
		fork.signer, fork.salt = e.l.signer, " forked"
		body := requestBody(5, fork.proof(t, 5, 8), fork.checkpoint(t, 8))
		checkRefused(t, e.tw.post(t, body), http.StatusUnprocessableEntity, "does not verify: it leads to the checkpoint's root from a tree of size 5 with root")
		// Only the fork is evidence: the bad proofs show nothing about the log.
		checkEvidence(t, e.tw, 1)
	})

	t.Run("422 old size equals checkpoint size but the root differs", func(t *testing.T) {
		e := setup(t, 5)
		fork := signNote(t, fmt.Sprintf("%s\n5\n%s\n", origin, b64(wrongHash)), e.l.signer)
		checkRefused(t, e.tw.post(t, requestBody(5, nil, fork)), http.StatusUnprocessableEntity, "checkpoint of size 5 has root")
		checkEvidence(t, e.tw, 1)
		// The same root again is cosigned again.
		cp := e.l.checkpoint(t, 5)
		e.tw.checkCosigned(t, e.tw.post(t, requestBody(5, nil, cp)), cp)
	})

	t.Run("200 otherwise, with only the cosignature", func(t *testing.T) {
		e := setup(t)
		for _, step := range [][2]int64{{0, 1}, {1, 2}, {2, 2}, {2, 7}, {7, 256}, {256, 1000}, {1000, 1001}} {
			cp := e.l.checkpoint(t, step[1])
			e.tw.checkCosigned(t, e.tw.post(t, requestBody(step[0], e.l.proof(t, step[0], step[1]), cp)), cp)
		}
		checkConflict(t, e.tw.post(t, e.l.request(t, 0, 2000)), 1001)
	})
}

func b64(h tlog.Hash) string { return base64.StdEncoding.EncodeToString(h[:]) }

// corruptLastSignature flips a bit in the last signature of a note, keeping
// its key name and ID.
func corruptLastSignature(t *testing.T, msg []byte) []byte {
	t.Helper()
	i := bytes.LastIndex(msg, []byte(" "))
	sig, err := base64.StdEncoding.DecodeString(strings.TrimSpace(string(msg[i+1:])))
	if err != nil {
		t.Fatal(err)
	}
	sig[len(sig)-1] ^= 1
	return append(bytes.Clone(msg[:i+1]), base64.StdEncoding.EncodeToString(sig)+"\n"...)
}

func checkEvidence(t *testing.T, tw *testWitness, n int) []witness.Evidence {
	t.Helper()
	resp := tw.get(t, "/evidence")
	var list []witness.Evidence
	if resp.code != http.StatusOK || resp.typ != "application/json" {
		t.Fatalf("GET /evidence: %d %q", resp.code, resp.typ)
	}
	if err := json.Unmarshal(resp.body, &list); err != nil {
		t.Fatalf("GET /evidence: %v\n%s", err, resp.body)
	}
	if len(list) != n {
		t.Errorf("%d pieces of evidence, want %d:\n%s", len(list), n, resp.body)
	}
	return list
}

func TestMethodNotAllowed(t *testing.T) {
	tw := newTestWitness(t, []*testLog{newTestLog(t, "example.test/log")}, nil)
	resp := do(t, tw.srv.Client(), http.MethodGet, tw.srv.URL+"/add-checkpoint", nil)
	if resp.code != http.StatusMethodNotAllowed || resp.hdr.Get("Allow") != "POST" {
		t.Errorf("GET /add-checkpoint: %d, Allow %q; want 405, POST", resp.code, resp.hdr.Get("Allow"))
	}
	resp = do(t, tw.srv.Client(), http.MethodPost, tw.srv.URL+"/evidence", nil)
	if resp.code != http.StatusMethodNotAllowed {
		t.Errorf("POST /evidence: %d, want 405", resp.code)
	}
	// "/" is the status page (TestStatusPage).
	for _, p := range []string{"/nope", "/add-checkpoint/", "/x/y/checkpoint", "/evidence/0", "/evidence/01", "/evidence/x", "/evidence/1"} {
		if resp := tw.get(t, p); resp.code != http.StatusNotFound {
			t.Errorf("GET %s: %d, want 404", p, resp.code)
		}
	}
	if resp := tw.get(t, "/healthz"); resp.code != http.StatusOK || string(resp.body) != "ok\n" {
		t.Errorf("GET /healthz: %d %q", resp.code, resp.body)
	}
}

func TestProofLines(t *testing.T) {
	l := newTestLog(t, "example.test/log")
	tw := newTestWitness(t, []*testLog{l}, nil)
	lines := make([]tlog.Hash, 63)
	// 63 lines parse; old size 0 then needs none.
	checkRefused(t, tw.post(t, requestBody(0, lines, l.checkpoint(t, 5))), http.StatusUnprocessableEntity, "got 63 lines")
	checkRefused(t, tw.post(t, requestBody(0, append(lines, tlog.Hash{}), l.checkpoint(t, 5))), http.StatusBadRequest, "more than 63")
}

func TestBodySize(t *testing.T) {
	l := newTestLog(t, "example.test/log")
	tw := newTestWitness(t, []*testLog{l}, nil)
	cp := l.checkpoint(t, 5)
	// pad returns a request of n bytes, padded with an extension line; the
	// signature line's length does not depend on the text.
	pad := func(n int) []byte {
		ext := strings.Repeat("x", n-len(requestBody(0, nil, cp))-1)
		body := requestBody(0, nil, signNote(t, l.body(t, 5)+ext+"\n", l.signer))
		if len(body) != n {
			t.Fatalf("padded body has %d bytes, want %d", len(body), n)
		}
		return body
	}
	body := pad(witness.MaxRequestSize)
	tw.checkCosigned(t, tw.post(t, body), body[len("old 0\n\n"):])
	big := pad(witness.MaxRequestSize + 1)
	checkRefused(t, tw.post(t, big), http.StatusBadRequest, "larger than 16384 bytes")
	// Without a Content-Length, the cap applies while reading.
	resp := tw.postStream(t, big)
	checkRefused(t, resp, http.StatusBadRequest, "larger than 16384 bytes")
}

func (tw *testWitness) postStream(t *testing.T, body []byte) response {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, tw.srv.URL+"/add-checkpoint", struct{ *bytes.Reader }{bytes.NewReader(body)})
	if err != nil {
		t.Fatal(err)
	}
	resp, err := tw.srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var b bytes.Buffer
	b.ReadFrom(resp.Body)
	return response{code: resp.StatusCode, typ: resp.Header.Get("Content-Type"), hdr: resp.Header, body: b.Bytes()}
}

func TestSignatures(t *testing.T) {
	l := newTestLog(t, "example.test/log")
	tw := newTestWitness(t, []*testLog{l}, nil)
	stranger := newTestLog(t, "stranger.test/key")
	sameName := newTestLog(t, "example.test/log")

	t.Run("only an unknown key", func(t *testing.T) {
		body := requestBody(0, nil, signNote(t, l.body(t, 3), stranger.signer, sameName.signer))
		checkRefused(t, tw.post(t, body), http.StatusForbidden, "no signature by a trusted key")
	})
	t.Run("trusted key's signature corrupted", func(t *testing.T) {
		body := requestBody(0, nil, corruptLastSignature(t, l.checkpoint(t, 3)))
		checkRefused(t, tw.post(t, body), http.StatusForbidden, "signature by trusted key example.test/log+")
	})
	t.Run("unknown signatures ignored", func(t *testing.T) {
		cp := l.checkpoint(t, 3, stranger.signer, sameName.signer)
		tw.checkCosigned(t, tw.post(t, requestBody(0, nil, cp)), cp)
		// The monitoring note keeps only the log's signature and the cosignature.
		mon := tw.get(t, tw.originPath(l.origin))
		n, err := note.Open(mon.body, note.VerifierList(tw.cosignatureVerifier(t), mustVerifier(t, l.vkey)))
		if err != nil {
			t.Fatalf("opening monitoring checkpoint: %v\n%s", err, mon.body)
		}
		if len(n.Sigs) != 2 || len(n.UnverifiedSigs) != 0 {
			t.Errorf("monitoring checkpoint has %d verified and %d other signatures, want 2 and 0:\n%s", len(n.Sigs), len(n.UnverifiedSigs), mon.body)
		}
	})
}

func mustVerifier(t testing.TB, vkey string) note.Verifier {
	t.Helper()
	v, err := note.NewVerifier(vkey)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func TestMonitoring(t *testing.T) {
	a, b := newTestLog(t, "a.example.test/log"), newTestLog(t, "b.example.test/log")
	tw := newTestWitness(t, []*testLog{a, b}, nil)
	resp := tw.get(t, tw.originPath(a.origin))
	checkRefused(t, resp, http.StatusNotFound, "")
	resp = tw.get(t, tw.originPath("unknown.test/log"))
	checkRefused(t, resp, http.StatusNotFound, "")

	var cosig []byte
	for _, s := range [][2]int64{{0, 4}, {4, 9}} {
		resp := tw.post(t, a.request(t, s[0], s[1]))
		tw.checkCosigned(t, resp, a.checkpoint(t, s[1]))
		cosig = resp.body
	}
	resp = tw.get(t, tw.originPath(a.origin))
	if resp.code != http.StatusOK || resp.typ != "text/plain; charset=utf-8" {
		t.Fatalf("GET monitoring: %d %q", resp.code, resp.typ)
	}
	if want := string(a.checkpoint(t, 9)) + string(cosig); string(resp.body) != want {
		t.Errorf("monitoring checkpoint\n%s\nwant\n%s", resp.body, want)
	}
	logV, witV := mustVerifier(t, a.vkey), tw.cosignatureVerifier(t)
	n, err := note.Open(resp.body, note.VerifierList(logV, witV))
	if err != nil || len(n.Sigs) != 2 {
		t.Fatalf("opening monitoring checkpoint: %v, %+v", err, n)
	}
	for _, v := range []note.Verifier{logV, witV} {
		if _, err := note.Open(resp.body, note.VerifierList(v)); err != nil {
			t.Errorf("monitoring checkpoint does not verify with %s alone: %v", v.Name(), err)
		}
	}
	if !strings.HasPrefix(n.Text, "a.example.test/log\n9\n") {
		t.Errorf("monitoring checkpoint text %q, want size 9", n.Text)
	}
	checkRefused(t, tw.get(t, tw.originPath(b.origin)), http.StatusNotFound, "")
	if got, err := tw.Checkpoint(a.origin); err != nil || !bytes.Equal(got, resp.body) {
		t.Errorf("Checkpoint(%q) = %q, %v", a.origin, got, err)
	}
}

func TestEvidence(t *testing.T) {
	l := newTestLog(t, "example.test/log")
	tw := newTestWitness(t, []*testLog{l}, nil)
	tw.checkCosigned(t, tw.post(t, l.request(t, 0, 5)), l.checkpoint(t, 5))
	latest := tw.get(t, tw.originPath(l.origin)).body

	forkBody := requestBody(5, nil, signNote(t, fmt.Sprintf("%s\n5\n%s\n", l.origin, b64(tlog.Hash{9})), l.signer))
	tw.clock.add(time.Minute)
	forkTime := tw.clock.Now()
	checkRefused(t, tw.post(t, forkBody), http.StatusUnprocessableEntity, "has root")

	fork := newFork(t, l)
	forkProof := requestBody(5, fork.proof(t, 5, 12), fork.checkpoint(t, 12))
	checkRefused(t, tw.post(t, forkProof), http.StatusUnprocessableEntity, "does not verify")

	// Neither a junk proof nor a 409, 400, 403 or 404 is evidence.
	p := l.proof(t, 5, 12)
	p[len(p)-1][3] ^= 0x40
	checkRefused(t, tw.post(t, requestBody(5, p, l.checkpoint(t, 12))), http.StatusUnprocessableEntity, "does not verify")
	checkConflict(t, tw.post(t, requestBody(3, p, l.checkpoint(t, 12))), 5)
	tw.post(t, requestBody(5, nil, corruptLastSignature(t, signNote(t, fmt.Sprintf("%s\n5\n%s\n", l.origin, b64(tlog.Hash{9})), l.signer))))

	list := checkEvidence(t, tw, 2)
	if len(list) != 2 {
		return
	}
	if e := list[0]; e.ID != 1 || e.Origin != l.origin || !strings.Contains(e.Reason, "has root") || !e.Time.Equal(forkTime) || e.Seen != 1 || !e.LastTime.Equal(forkTime) || e.Request != "" || e.Latest != "" {
		t.Errorf("evidence list[0] = %+v", e)
	}
	if e := list[1]; e.ID != 2 || !strings.Contains(e.Reason, "does not verify") {
		t.Errorf("evidence list[1] = %+v", e)
	}
	for i, want := range [][]byte{forkBody, forkProof} {
		resp := tw.get(t, fmt.Sprintf("/evidence/%d", i+1))
		var e witness.Evidence
		if err := json.Unmarshal(resp.body, &e); err != nil || resp.code != http.StatusOK || resp.typ != "application/json" {
			t.Fatalf("GET /evidence/%d: %d %q %v\n%s", i+1, resp.code, resp.typ, err, resp.body)
		}
		if e.ID != uint64(i+1) || e.Request != string(want) || e.Latest != string(latest) || e.Reason != list[i].Reason {
			t.Errorf("evidence %d = %+v\nwant request\n%s\nlatest\n%s", i+1, e, want, latest)
		}
	}
	checkRefused(t, tw.get(t, "/evidence/3"), http.StatusNotFound, "")
	// Evidence survives a restart.
	tw.stop(t)
	tw.start(t)
	checkEvidence(t, tw, 2)
	if e, err := tw.Evidence(2); err != nil || e.Request != string(forkProof) {
		t.Errorf("Evidence(2) = %+v, %v", e, err)
	}
}

func TestConcurrentSameOldSize(t *testing.T) {
	l := newTestLog(t, "example.test/log")
	tw := newTestWitness(t, []*testLog{l}, nil)
	const n = 16
	bodies := make([][]byte, n)
	for i := range bodies {
		bodies[i] = l.request(t, 0, int64(i+1))
	}
	resps := make([]response, n)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range bodies {
		wg.Go(func() {
			<-start
			resps[i] = tw.post(t, bodies[i])
		})
	}
	close(start)
	wg.Wait()
	winner := -1
	for i, r := range resps {
		if r.code == http.StatusOK {
			if winner >= 0 {
				t.Fatalf("requests %d and %d both got 200", winner, i)
			}
			winner = i
		}
	}
	if winner < 0 {
		t.Fatal("no request got 200")
	}
	tw.checkCosigned(t, resps[winner], l.checkpoint(t, int64(winner+1)))
	for i, r := range resps {
		if i != winner {
			checkConflict(t, r, int64(winner+1))
		}
	}
	checkEvidence(t, tw, 0)
}

func TestRestart(t *testing.T) {
	l := newTestLog(t, "example.test/log")
	tw := newTestWitness(t, []*testLog{l}, nil)
	ts1 := tw.checkCosigned(t, tw.post(t, l.request(t, 0, 10)), l.checkpoint(t, 10))
	tw.stop(t)
	tw.clock.add(-24 * time.Hour)
	tw.start(t)
	checkConflict(t, tw.post(t, l.request(t, 0, 12)), 10)
	ts2 := tw.checkCosigned(t, tw.post(t, l.request(t, 10, 12)), l.checkpoint(t, 12))
	if ts2.Before(ts1) {
		t.Errorf("after a restart with the clock set back a day, timestamp %v, want >= %v", ts2, ts1)
	}
}

func TestClockBackwards(t *testing.T) {
	a, b := newTestLog(t, "a.example.test/log"), newTestLog(t, "b.example.test/log")
	tw := newTestWitness(t, []*testLog{a, b}, nil)
	t0 := tw.clock.Now()
	ts := tw.checkCosigned(t, tw.post(t, a.request(t, 0, 1)), a.checkpoint(t, 1))
	if !ts.Equal(t0) {
		t.Errorf("timestamp %v, want the clock's %v", ts, t0)
	}
	tw.clock.add(-time.Hour)
	// Another log, and then the same one: neither goes back in time.
	if ts := tw.checkCosigned(t, tw.post(t, b.request(t, 0, 1)), b.checkpoint(t, 1)); ts.Before(t0) {
		t.Errorf("timestamp %v after the clock went back, want >= %v", ts, t0)
	}
	if ts := tw.checkCosigned(t, tw.post(t, a.request(t, 1, 2)), a.checkpoint(t, 2)); ts.Before(t0) {
		t.Errorf("timestamp %v after the clock went back, want >= %v", ts, t0)
	}
	tw.clock.set(t0.Add(time.Hour))
	if ts := tw.checkCosigned(t, tw.post(t, a.request(t, 2, 3)), a.checkpoint(t, 3)); !ts.Equal(t0.Add(time.Hour)) {
		t.Errorf("timestamp %v, want the clock's %v", ts, t0.Add(time.Hour))
	}
	// A clock at or before the epoch still gives a non-zero timestamp.
	tw2 := newTestWitness(t, []*testLog{a}, nil)
	tw2.clock.set(time.Unix(-5, 0))
	if ts := tw2.checkCosigned(t, tw2.post(t, a.request(t, 0, 3)), a.checkpoint(t, 3)); ts.Unix() != 1 {
		t.Errorf("timestamp %d with the clock before the epoch, want 1", ts.Unix())
	}
}

func TestBudget(t *testing.T) {
	l, other := newTestLog(t, "example.test/log"), newTestLog(t, "other.example.test/log")
	tw := newTestWitness(t, []*testLog{l, other}, func(c *witness.Config) {
		c.Logs[0].RequestsPerDay = 10 // a burst of 10, one more every 8640s
	})
	unknown := newTestLog(t, "unknown.test/log")
	impostor := newTestLog(t, l.origin)
	// Requests for unknown origins and without a valid signature do not count.
	for range 20 {
		checkRefused(t, tw.post(t, unknown.request(t, 0, 1)), http.StatusNotFound, "")
		checkRefused(t, tw.post(t, impostor.request(t, 0, 1)), http.StatusForbidden, "")
	}
	// Only requests that lead to a new cosignature do; see also
	// TestBudgetOnlyNewCosignatures.
	tw.checkCosigned(t, tw.post(t, requestBody(0, nil, l.checkpoint(t, 4))), l.checkpoint(t, 4))
	for range 20 {
		checkConflict(t, tw.post(t, l.request(t, 0, 5)), 4)
	}
	for s := int64(4); s < 13; s++ {
		tw.checkCosigned(t, tw.post(t, l.request(t, s, s+1)), l.checkpoint(t, s+1))
	}
	next := l.request(t, 13, 14)
	resp := tw.post(t, next)
	checkRefused(t, resp, http.StatusTooManyRequests, "budget of example.test/log spent")
	if got := resp.hdr.Get("Retry-After"); got != "8640" {
		t.Errorf("Retry-After %q, want 8640", got)
	}
	// Other logs are not limited.
	for s := range int64(15) {
		tw.checkCosigned(t, tw.post(t, other.request(t, s, s+1)), other.checkpoint(t, s+1))
	}
	tw.clock.add(8000 * time.Second)
	resp = tw.post(t, next)
	if got := resp.hdr.Get("Retry-After"); resp.code != http.StatusTooManyRequests || got != "640" {
		t.Errorf("after 8000s: %d, Retry-After %q; want 429, 640", resp.code, got)
	}
	tw.clock.add(640 * time.Second)
	tw.checkCosigned(t, tw.post(t, next), l.checkpoint(t, 14))
	checkRefused(t, tw.post(t, l.request(t, 14, 15)), http.StatusTooManyRequests, "")
}

func TestOpenErrors(t *testing.T) {
	l := newTestLog(t, "example.test/log")
	skey, _, _ := note.GenerateKey(nil, "witness.test/w1")
	good := witness.Config{Key: skey, Logs: []witness.Log{{Origin: l.origin, Keys: []string{l.vkey}}}}
	other := newTestLog(t, "other.test/log")
	for _, tt := range []struct {
		name    string
		edit    func(*witness.Config)
		wantErr string
	}{
		{"no key", func(c *witness.Config) { c.Key = "" }, "no key"},
		{"bad key", func(c *witness.Config) { c.Key = "PRIVATE+KEY+x+00000000+AAAA" }, "parsing witness key"},
		{"verifier key as key", func(c *witness.Config) { c.Key = l.vkey }, "parsing witness key"},
		{"no logs", func(c *witness.Config) { c.Logs = nil }, "no logs"},
		{"empty origin", func(c *witness.Config) { c.Logs[0].Origin = "" }, "empty origin"},
		{"no keys", func(c *witness.Config) { c.Logs[0].Keys = nil }, "has no keys"},
		{"negative budget", func(c *witness.Config) { c.Logs[0].RequestsPerDay = -1 }, "negative budget"},
		{"negative MaxEvidence", func(c *witness.Config) { c.MaxEvidence = -1 }, "negative MaxEvidence"},
		{"negative RefreshInterval", func(c *witness.Config) { c.RefreshInterval = -time.Second }, "negative RefreshInterval"},
		{"malformed vkey", func(c *witness.Config) { c.Logs[0].Keys = []string{"nope"} }, "malformed verifier key"},
		{"key of another origin", func(c *witness.Config) { c.Logs[0].Keys = []string{other.vkey} }, `key named "other.test/log"`},
		{"key twice", func(c *witness.Config) { c.Logs[0].Keys = []string{l.vkey, l.vkey} }, "listed twice"},
		{"log twice", func(c *witness.Config) { c.Logs = append(c.Logs, c.Logs[0]) }, "listed twice"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			c := good
			c.Logs = append([]witness.Log{{Origin: l.origin, Keys: []string{l.vkey}}}, c.Logs[1:]...)
			tt.edit(&c)
			w, err := witness.Open(t.TempDir()+"/w.db", c)
			if err == nil {
				w.Close()
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) || !strings.HasPrefix(err.Error(), "witness: ") {
				t.Errorf("Open = %v, want an error containing %q", err, tt.wantErr)
			}
		})
	}
	w, err := witness.Open(t.TempDir()+"/w.db", good)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	if w.Name() != "witness.test/w1" {
		t.Errorf("Name() = %q", w.Name())
	}
}
