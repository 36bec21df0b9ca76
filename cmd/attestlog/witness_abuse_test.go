package main

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/attestlog/attestlog/cmd/attestlog/internal/usage"
	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"
)

// startWitnessProc starts a witness process trusting the logs in logsFile,
// with its stderr (its logs) appended to the returned file, and returns its
// base URL.
func startWitnessProc(t *testing.T, logsFile string) (url, stderr string) {
	t.Helper()
	dir := t.TempDir()
	stderr = filepath.Join(dir, "stderr")
	// sh only redirects stderr, then becomes the witness (exec), so that
	// stopping the proc stops the witness.
	p := startProgram(t, "/bin/sh", []string{envRunMain + "=1", "ATTESTLOG_TEST_STDERR=" + stderr},
		[]string{"witness vkey:", "http listening on"},
		"-c", `exec "$0" "$@" 2>>"$ATTESTLOG_TEST_STDERR"`, os.Args[0],
		"witness", "--data", filepath.Join(dir, "w"), "--http", "127.0.0.1:0", "--name", "w.example", "--logs", logsFile)
	t.Cleanup(func() {
		if t.Failed() {
			b, _ := os.ReadFile(stderr)
			t.Logf("witness stderr:\n%s", b)
		}
	})
	return "http://" + p.get("http listening on"), stderr
}

// abuseLog returns the signer of the log fault.example/log (the origin
// witnessRequest writes) and a logs file trusting it with budget, if any.
func abuseLog(t *testing.T, budget string) (note.Signer, string) {
	t.Helper()
	skey, vkey := keyPair(t, "fault.example/log")
	signer, err := note.NewSigner(skey)
	if err != nil {
		t.Fatal(err)
	}
	logsFile := filepath.Join(t.TempDir(), "logs")
	writeTestFile(t, logsFile, strings.TrimSpace("log "+vkey+" "+budget)+"\n")
	return signer, logsFile
}

// postWant posts body to the witness n times and fails unless every answer is code.
func postWant(t *testing.T, url string, body []byte, n, code int, what string) []byte {
	t.Helper()
	var resp []byte
	for i := range n {
		var got int
		got, resp = post(t.Context(), url+"/add-checkpoint", body)
		if got != code {
			t.Fatalf("%s, request %d of %d: status %d, want %d: %q", what, i+1, n, got, code, resp)
		}
	}
	return resp
}

// witnessEvidence returns GET /evidence: each record's id and seen count.
func witnessEvidence(t *testing.T, url string) []struct {
	ID   uint64 `json:"id"`
	Seen int64  `json:"seen"`
} {
	t.Helper()
	var list []struct {
		ID   uint64 `json:"id"`
		Seen int64  `json:"seen"`
	}
	b := httpGet(t, url+"/evidence", http.StatusOK, "application/json")
	if err := json.Unmarshal(b, &list); err != nil {
		t.Fatalf("GET /evidence: %v\n%s", err, b)
	}
	return list
}

func countLines(t *testing.T, path, s string) int {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return strings.Count(string(b), s)
}

// TestWitnessAbuseEvidence is issue 10's failure 7, against a real witness
// process: the log's real latest checkpoint with a junk proof, sent 50 times,
// is refused with 422 but is not evidence and raises no ERROR; a real fork
// (a second tree signed by the same log key) sent 20 times is one piece of
// evidence, seen 20 times, with one ERROR line.
func TestWitnessAbuseEvidence(t *testing.T) {
	if testing.Short() {
		t.Skip("starts processes")
	}
	signer, logsFile := abuseLog(t, "")
	url, stderr := startWitnessProc(t, logsFile)
	honest := &lineage{name: "main"}
	honest.grow(t, 20, 1<<62)
	body, _ := witnessRequest(t, &honest.tree, 0, 10, signer)
	postWant(t, url, body, 1, http.StatusOK, "cosigning size 10")

	valid, cp20 := witnessRequest(t, &honest.tree, 10, 20, signer)
	p, err := tlog.ProveTree(20, 10, &honest.tree)
	if err != nil {
		t.Fatal(err)
	}
	junk := []byte("old 10\n")
	for i := range p { // as many hashes as the real proof, made up
		junk = fmt.Appendf(junk, "%s\n", base64.StdEncoding.EncodeToString(fmt.Appendf(nil, "junk proof hash number %9d", i)))
	}
	junk = append(append(junk, '\n'), cp20...)
	postWant(t, url, junk, 50, http.StatusUnprocessableEntity, "the latest checkpoint with a junk proof")
	if list := witnessEvidence(t, url); len(list) != 0 {
		t.Errorf("%d evidence records after 50 junk proofs, want 0: %+v", len(list), list)
	}
	if n := countLines(t, stderr, "level=ERROR"); n != 0 {
		t.Errorf("%d ERROR lines after 50 junk proofs, want 0", n)
	}

	fork := &lineage{name: "fork"}
	fork.grow(t, 20, 5)
	forkBody, _ := witnessRequest(t, &fork.tree, 10, 20, signer)
	postWant(t, url, forkBody, 20, http.StatusUnprocessableEntity, "a fork signed by the log's key")
	if list := witnessEvidence(t, url); len(list) != 1 || list[0].Seen != 20 {
		t.Errorf("evidence after one fork sent 20 times: %+v, want one record seen 20 times", list)
	}
	if n := countLines(t, stderr, "level=ERROR"); n != 1 {
		t.Errorf("%d ERROR lines after one fork sent 20 times, want 1", n)
	}
	postWant(t, url, valid, 1, http.StatusOK, "the honest log's next checkpoint")
}

// TestWitnessAbuseBudget is issue 10's failure 8, against a real witness
// process with a budget of 24 requests a day (a burst of 10): 100 replays of
// the public checkpoint with old 0 and 100 of the latest cosigned one spend
// none of it, and the log's next checkpoint is cosigned.
func TestWitnessAbuseBudget(t *testing.T) {
	if testing.Short() {
		t.Skip("starts processes")
	}
	signer, logsFile := abuseLog(t, "24")
	url, _ := startWitnessProc(t, logsFile)
	l := &lineage{name: "main"}
	l.grow(t, 5, 1<<62)
	body, cp3 := witnessRequest(t, &l.tree, 0, 3, signer)
	cosig := postWant(t, url, body, 1, http.StatusOK, "cosigning size 3")

	postWant(t, url, body, 100, http.StatusConflict, "replaying the public checkpoint with old 0")
	replay := append([]byte("old 3\n\n"), cp3...)
	if got := postWant(t, url, replay, 100, http.StatusOK, "replaying the latest cosigned checkpoint"); string(got) != string(cosig) {
		t.Errorf("replay answered %q, want the stored cosignature %q", got, cosig)
	}
	next, _ := witnessRequest(t, &l.tree, 3, 5, signer)
	postWant(t, url, next, 1, http.StatusOK, "the log's next checkpoint")
	// The budget still counts new cosignatures: 8 more of the burst of 10.
	for s := int64(5); s < 13; s++ {
		l.grow(t, s+1, 1<<62)
		b, _ := witnessRequest(t, &l.tree, s, s+1, signer)
		postWant(t, url, b, 1, http.StatusOK, fmt.Sprintf("cosigning size %d", s+1))
	}
	l.grow(t, 14, 1<<62)
	b, _ := witnessRequest(t, &l.tree, 13, 14, signer)
	postWant(t, url, b, 1, http.StatusTooManyRequests, "the 11th new checkpoint within the burst")
}

func TestWitnessEvidenceFlags(t *testing.T) {
	for _, name := range []string{"ATTESTLOG_WITNESS_MAX_EVIDENCE", "ATTESTLOG_WITNESS_REFRESH_INTERVAL"} {
		t.Setenv(name, "")
	}
	c, err := parseWitnessFlags([]string{"--logs", "l", "--max-evidence", "5", "--refresh-interval", "30s"}, io.Discard)
	if err != nil || c.MaxEvidence != 5 || c.RefreshInterval != 30*time.Second {
		t.Errorf("parseWitnessFlags = %+v, %v; want max evidence 5, refresh 30s", c, err)
	}
	for _, args := range [][]string{
		{"--max-evidence", "0"}, {"--max-evidence", "-1"}, {"--max-evidence", "x"},
		{"--refresh-interval", "0s"}, {"--refresh-interval", "-1m"}, {"--refresh-interval", "60"},
	} {
		if _, err := parseWitnessFlags(append([]string{"--logs", "l"}, args...), io.Discard); !errors.As(err, new(usage.Error)) || !strings.Contains(err.Error(), args[0]) {
			t.Errorf("parseWitnessFlags(%q) = %v, want a usage error naming %s", args, err, args[0])
		}
	}
	t.Setenv("ATTESTLOG_WITNESS_MAX_EVIDENCE", "7")
	t.Setenv("ATTESTLOG_WITNESS_REFRESH_INTERVAL", "2m")
	if c, err := parseWitnessFlags([]string{"--logs", "l"}, io.Discard); err != nil || c.MaxEvidence != 7 || c.RefreshInterval != 2*time.Minute {
		t.Errorf("parseWitnessFlags from env = %+v, %v; want max evidence 7, refresh 2m", c, err)
	}
}
