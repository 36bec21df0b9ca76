package log_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/attestlog/attestlog/log"
	"github.com/attestlog/attestlog/log/logtest"
	"golang.org/x/mod/sumdb/note"
)

// logBuffer collects a log's slog output for assertions.
type logBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (lb *logBuffer) Write(p []byte) (int, error) {
	lb.mu.Lock()
	defer lb.mu.Unlock()
	return lb.b.Write(p)
}

// lines returns the logged lines at level that contain every one of words.
func (lb *logBuffer) lines(level string, words ...string) []string {
	lb.mu.Lock()
	defer lb.mu.Unlock()
	var out []string
	for _, l := range strings.Split(lb.b.String(), "\n") {
		ok := strings.Contains(l, "level="+level)
		for _, w := range words {
			ok = ok && strings.Contains(l, w)
		}
		if ok {
			out = append(out, l)
		}
	}
	return out
}

func (lb *logBuffer) logger() *slog.Logger {
	return slog.New(slog.NewTextHandler(lb, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

// witnessedBackup runs a log in a new directory with the witnesses of cfg
// until size backupAt is witnessed, copies its store to a second directory,
// then appends until size final is witnessed, and stops it. It returns the
// second directory: a restored backup the witnesses have moved past.
func witnessedBackup(t *testing.T, cfg log.Config, backupAt, final int) string {
	t.Helper()
	dirA, dirB := t.TempDir(), t.TempDir()
	a, stopA := openLog(t, dirA, cfg)
	appendN(t, a, 0, backupAt, "honest")
	eventually(t, fmt.Sprintf("size %d is witnessed", backupAt), func() bool { p := a.Published(); return p != nil && p.Size == int64(backupAt) })
	stopA()
	copyFile(t, filepath.Join(dirA, "log.db"), filepath.Join(dirB, "log.db"))
	a, stopA = openLog(t, dirA, cfg)
	appendN(t, a, backupAt, final-backupAt, "honest")
	eventually(t, fmt.Sprintf("size %d is witnessed", final), func() bool { p := a.Published(); return p != nil && p.Size == int64(final) })
	stopA()
	return dirB
}

func getStatus(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// checkHalted checks everything a log shown rolled back must do: refuse
// appends with rb, publish nothing, fail /healthz with one line, serve its
// tiles, and send witnesses nothing more.
func checkHalted(t *testing.T, l *log.Log, ws []*testWitness, treeSize int64) {
	t.Helper()
	_, _, err := l.Append(context.Background(), []byte("after the rollback"))
	if !errors.Is(err, log.ErrRolledBack) {
		t.Fatalf("append after the rollback: %v, want ErrRolledBack", err)
	}
	if p := l.Published(); p != nil {
		t.Fatalf("the rolled-back log publishes size %d", p.Size)
	}
	srv := httptest.NewServer(l.Handler())
	defer srv.Close()
	if code, body := getStatus(t, srv.URL+"/checkpoint"); code != http.StatusServiceUnavailable || !strings.Contains(body, "rolled back") {
		t.Errorf("GET /checkpoint: %d %q, want 503 saying the store is rolled back", code, body)
	}
	if code, body := getStatus(t, srv.URL+"/healthz"); code != http.StatusServiceUnavailable || strings.Count(body, "\n") != 1 || !strings.Contains(body, "restore") {
		t.Errorf("GET /healthz: %d %q, want 503 with one line saying what to restore", code, body)
	}
	if code, _ := getStatus(t, srv.URL+fmt.Sprintf("/tile/entries/000.p/%d", treeSize)); code != http.StatusOK {
		t.Errorf("GET the entry bundle of the restored tree: %d, want 200 (reads go on)", code)
	}
	before := make([]int64, len(ws))
	for i, w := range ws {
		before[i] = w.adds.Load()
	}
	time.Sleep(300 * time.Millisecond) // 60 witness intervals
	for i, w := range ws {
		if n := w.adds.Load() - before[i]; n != 0 {
			t.Errorf("witness %s received %d more add-checkpoint requests from the rolled-back log", w.name, n)
		}
	}
}

// TestRolledBackStoreWitnessAhead restores a store of size 5 whose
// witnesses cosigned size 10: their 409s, backed by the checkpoint they
// serve, stop the log before it acknowledges anything.
func TestRolledBackStoreWitnessAhead(t *testing.T) {
	ws := []*testWitness{newTestWitness(t, "w0.example", 61), newTestWitness(t, "w1.example", 62), newTestWitness(t, "w2.example", 63)}
	cfg := log.Config{Witnesses: witnessPolicy(t, ws...), WitnessInterval: 5 * time.Millisecond}
	dir := witnessedBackup(t, cfg, 5, 10)

	var logs logBuffer
	cfg.Logger = logs.logger()
	b, stop := openLog(t, dir, cfg)
	defer stop()
	idx, _, err := b.Append(context.Background(), []byte("forked entry"))
	var rb *log.RolledBackError
	if !errors.As(err, &rb) {
		t.Fatalf("the restored log appended at index %d (err %v), want a RolledBackError", idx, err)
	}
	if rb.WitnessSize != 10 || rb.TreeSize != 5 || rb.Checkpoint == nil || rb.Inconsistent || !strings.HasPrefix(rb.Witness, "w") {
		t.Errorf("RolledBackError %+v, want witness sizes 10 and 5 with the witness's checkpoint", rb)
	}
	for _, want := range []string{rb.Witness, "tree size 10", "tree size 5", "restore"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not say %q", err, want)
		}
	}
	checkHalted(t, b, ws, 5)
	if n := len(logs.lines("ERROR")); n != 1 {
		t.Errorf("%d ERROR lines, want exactly 1:\n%s", n, strings.Join(logs.lines("ERROR"), "\n"))
	}
	for _, w := range ws {
		if ev, _ := w.ListEvidence(); len(ev) != 0 {
			t.Errorf("witness %s stored %d evidence records", w.name, len(ev))
		}
		if s := witnessSize(t, w); s != 10 {
			t.Errorf("witness %s is at size %d, want 10", w.name, s)
		}
	}
}

// TestRolledBackStoreForkRefused restores a store of size 5 while the
// witnesses are down, so that it appends a fork up to 12; once back, the
// witnesses answer 422, and the checkpoint of size 10 they serve shows the
// fork: the log stops, and sends the refused checkpoint no more.
func TestRolledBackStoreForkRefused(t *testing.T) {
	ws := []*testWitness{newTestWitness(t, "w0.example", 64), newTestWitness(t, "w1.example", 65), newTestWitness(t, "w2.example", 66)}
	cfg := log.Config{Witnesses: witnessPolicy(t, ws...), WitnessInterval: 5 * time.Millisecond}
	dir := witnessedBackup(t, cfg, 5, 10)

	for _, w := range ws {
		w.down.Store(true)
	}
	b, stop := openLog(t, dir, cfg)
	defer stop()
	appendN(t, b, 5, 7, "forked") // the witnesses answered 503: nothing to judge
	for _, w := range ws {
		w.down.Store(false)
	}
	var rb *log.RolledBackError
	eventually(t, "the forked log refuses appends", func() bool {
		_, _, err := b.Append(context.Background(), []byte("probe"))
		return errors.As(err, &rb)
	})
	if !rb.Inconsistent || rb.WitnessSize != 10 || rb.TreeSize <= 5 || rb.Checkpoint == nil { // a round may judge any forked checkpoint, probes included
		t.Errorf("RolledBackError %+v, want an inconsistency with the witness's checkpoint of size 10", rb)
	}
	checkHalted(t, b, ws, b.Checkpoint().Size)
	for _, w := range ws {
		if ev, _ := w.ListEvidence(); len(ev) > 1 {
			t.Errorf("witness %s stored %d evidence records, want at most 1: the log sent the refused checkpoint again", w.name, len(ev))
		}
	}
}

// lyingWitness makes w answer every add-checkpoint with a 409 naming size
// 1000, and its checkpoint endpoint with serve.
func lyingWitness(w *testWitness, serve func(http.ResponseWriter)) {
	h := func(rw http.ResponseWriter, r *http.Request) bool {
		if r.URL.Path == "/add-checkpoint" {
			rw.Header().Set("Content-Type", "text/x.tlog.size")
			rw.WriteHeader(http.StatusConflict)
			io.WriteString(rw, "1000\n")
			return true
		}
		if strings.HasSuffix(r.URL.Path, "/checkpoint") {
			serve(rw)
			return true
		}
		return false
	}
	w.hook.Store(&h)
}

// TestLyingWitness checks that one witness claiming, with a 409, a size it
// cannot back with a checkpoint this log signed cannot stop the log: the
// log reports it once and goes on with the other two. A witness that serves
// no checkpoint at all stops the log, to be safe.
func TestLyingWitness(t *testing.T) {
	otherKey, _, err := note.GenerateKey(bytes.NewReader(bytes.Repeat([]byte{7}, 32)), logtest.Origin)
	if err != nil {
		t.Fatal(err)
	}
	forger, err := note.NewSigner(otherKey)
	if err != nil {
		t.Fatal(err)
	}
	forged, err := note.Sign(&note.Note{Text: logtest.Origin + "\n1000\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n"}, forger)
	if err != nil {
		t.Fatal(err)
	}
	var current atomic.Pointer[log.Log] // the log under test, once started
	for _, tt := range []struct {
		desc  string
		serve func(http.ResponseWriter)
		halts bool
	}{
		{desc: "forged checkpoint", serve: func(rw http.ResponseWriter) { rw.Write(forged) }},
		{desc: "the log's own smaller checkpoint", serve: func(rw http.ResponseWriter) {
			for current.Load() == nil {
				time.Sleep(time.Millisecond)
			}
			rw.Write(current.Load().Checkpoint().Note)
		}},
		{desc: "no checkpoint", serve: func(rw http.ResponseWriter) { http.NotFound(rw, nil) }, halts: true},
	} {
		t.Run(tt.desc, func(t *testing.T) {
			// The previous case's log signed with the same key: its larger
			// checkpoint must never be served to this one.
			current.Store(nil)
			ws := []*testWitness{newTestWitness(t, "w0.example", 67), newTestWitness(t, "w1.example", 68), newTestWitness(t, "w2.example", 69)}
			lyingWitness(ws[2], tt.serve)
			var logs logBuffer
			l := logtest.New(t, "", log.Config{Witnesses: witnessPolicy(t, ws...), WitnessInterval: 5 * time.Millisecond, Logger: logs.logger()})
			current.Store(l.Log)
			if tt.halts {
				var rb *log.RolledBackError
				eventually(t, "the log stops", func() bool {
					_, _, err := l.Log.Append(context.Background(), []byte("probe"))
					return errors.As(err, &rb)
				})
				if rb.Witness != "w2" || rb.WitnessSize != 1000 || rb.Checkpoint != nil || !strings.Contains(rb.Error(), "serves no checkpoint") {
					t.Errorf("RolledBackError %+v (%v), want w2's unproven size 1000", rb, rb)
				}
				return
			}
			for i := range 10 {
				appendN(t, l.Log, i, 1, "lied-to")
				eventually(t, fmt.Sprintf("size %d is published", i+1), func() bool { p := l.Published(); return p != nil && p.Size == int64(i+1) })
			}
			if _, _, err := l.Log.Append(context.Background(), []byte("after the lies")); err != nil {
				t.Fatalf("one lying witness stopped the log: %v", err)
			}
			lies := logs.lines("ERROR", "witness=w2")
			if len(lies) != 1 || !strings.Contains(lies[0], "cannot prove") {
				t.Errorf("%d ERROR lines about w2, want 1 saying its claim cannot be proven:\n%s", len(lies), strings.Join(lies, "\n"))
			}
			if n := len(logs.lines("ERROR")); n != len(lies) {
				t.Errorf("%d ERROR lines, want only the one about w2:\n%s", n, strings.Join(logs.lines("ERROR"), "\n"))
			}
		})
	}
}

// TestStartupGate checks that after a restart the log publishes nothing
// and acknowledges no append until the witnesses have answered its first
// round, and that it goes on, with a warning, if none can be reached.
func TestStartupGate(t *testing.T) {
	t.Run("witnesses slow", func(t *testing.T) {
		ws := []*testWitness{newTestWitness(t, "w0.example", 70), newTestWitness(t, "w1.example", 71), newTestWitness(t, "w2.example", 72)}
		cfg := log.Config{Witnesses: witnessPolicy(t, ws...), WitnessInterval: 5 * time.Millisecond}
		dir := t.TempDir()
		a, stop := openLog(t, dir, cfg)
		appendN(t, a, 0, 3, "gate")
		eventually(t, "size 3 is witnessed", func() bool { p := a.Published(); return p != nil && p.Size == 3 })
		stop()

		release := make(chan struct{})
		hold := func(http.ResponseWriter, *http.Request) bool { <-release; return false }
		for _, w := range ws {
			w.hook.Store(&hold)
		}
		a, stop = openLog(t, dir, cfg)
		defer stop()
		acked := make(chan error, 1)
		go func() { _, _, err := a.Append(context.Background(), []byte("gate entry 3")); acked <- err }()
		time.Sleep(200 * time.Millisecond)
		select {
		case err := <-acked:
			close(release)
			t.Fatalf("an append was acknowledged (err %v) before any witness answered the first round", err)
		default:
		}
		if p := a.Published(); p != nil {
			t.Errorf("published size %d before the witnesses confirmed it", p.Size)
		}
		srv := httptest.NewServer(a.Handler())
		defer srv.Close()
		if code, body := getStatus(t, srv.URL+"/checkpoint"); code != http.StatusServiceUnavailable || !strings.Contains(body, "waiting for the witnesses") {
			t.Errorf("GET /checkpoint during the first round: %d %q, want 503", code, body)
		}
		close(release)
		if err := <-acked; err != nil {
			t.Fatalf("append after the first round: %v", err)
		}
		eventually(t, "size 4 is published", func() bool { p := a.Published(); return p != nil && p.Size == 4 })
	})
	t.Run("witnesses unreachable", func(t *testing.T) {
		ws := []*testWitness{newTestWitness(t, "w0.example", 73), newTestWitness(t, "w1.example", 74), newTestWitness(t, "w2.example", 75)}
		policy := witnessPolicy(t, ws...)
		for _, w := range ws {
			w.srv.Close()
		}
		var logs logBuffer
		l := logtest.New(t, "", log.Config{Witnesses: policy, WitnessInterval: 5 * time.Millisecond, Logger: logs.logger()})
		if _, _, err := l.Log.Append(context.Background(), []byte("no witness")); err != nil {
			t.Fatalf("append with every witness unreachable: %v", err)
		}
		if len(logs.lines("WARN", "no witness answered the first round")) != 1 {
			t.Errorf("no warning that no witness answered the first round")
		}
	})
}
