package log_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/attestlog/attestlog/log"
	"github.com/attestlog/attestlog/log/logtest"
	"github.com/attestlog/attestlog/tiles"
	"github.com/attestlog/attestlog/witness"
	fnote "github.com/transparency-dev/formats/note"
	"golang.org/x/mod/sumdb/note"
)

// testWitness is a real witness over HTTP that a test can take down.
type testWitness struct {
	*witness.Witness
	name string
	vkey string // cosignature vkey
	srv  *httptest.Server
	down atomic.Bool
	adds atomic.Int64 // add-checkpoint requests received
	// hook, if set, sees every request first and reports whether it answered it.
	hook atomic.Pointer[func(http.ResponseWriter, *http.Request) bool]
}

func newTestWitness(t testing.TB, name string, seed byte) *testWitness {
	t.Helper()
	skey, vkey, err := note.GenerateKey(bytes.NewReader(bytes.Repeat([]byte{seed}, 32)), name)
	if err != nil {
		t.Fatal(err)
	}
	cv, err := fnote.VKeyToCosignatureV1(vkey)
	if err != nil {
		t.Fatal(err)
	}
	_, logVKey := logtest.Keys(logtest.Origin)
	w, err := witness.Open(filepath.Join(t.TempDir(), "witness.db"), witness.Config{Key: skey, Logs: []witness.Log{{Origin: logtest.Origin, Keys: []string{logVKey}}}})
	if err != nil {
		t.Fatal(err)
	}
	tw := &testWitness{Witness: w, name: name, vkey: cv}
	tw.srv = httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/add-checkpoint" {
			tw.adds.Add(1)
		}
		if h := tw.hook.Load(); h != nil && (*h)(rw, r) {
			return
		}
		if tw.down.Load() {
			http.Error(rw, "down", http.StatusServiceUnavailable)
			return
		}
		w.Handler().ServeHTTP(rw, r)
	}))
	t.Cleanup(func() { tw.srv.Close(); w.Close() })
	return tw
}

// witnessPolicy returns a policy naming the test log and the witnesses, quorum 2.
func witnessPolicy(t *testing.T, ws ...*testWitness) *tiles.Policy {
	t.Helper()
	_, logVKey := logtest.Keys(logtest.Origin)
	text := "log " + logVKey + "\n"
	for i, w := range ws {
		text += fmt.Sprintf("witness w%d %s %s/\n", i, w.vkey, w.srv.URL)
	}
	text += "group q 2 w0 w1 w2\nquorum q\n"
	p, err := tiles.ParsePolicy([]byte(text))
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// eventually polls cond for up to 20 s.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(20 * time.Second); !cond(); time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting until %s", what)
		}
	}
}

func appendN(t *testing.T, l *log.Log, from, n int, tag string) {
	t.Helper()
	for i := from; i < from+n; i++ {
		if _, err := l.Add([]byte(fmt.Sprintf("%s entry %d", tag, i)))(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
}

// witnessSize returns the size a witness cosigned last for the test log, 0 if none.
func witnessSize(t *testing.T, w *testWitness) int64 {
	resp, err := http.Get(w.srv.URL + "/" + originHash() + "/checkpoint")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		return 0
	}
	var b bytes.Buffer
	b.ReadFrom(resp.Body)
	var origin string
	var size int64
	fmt.Sscanf(b.String(), "%s\n%d\n", &origin, &size)
	return size
}

func originHash() string {
	h := sha256sum([]byte(logtest.Origin))
	return fmt.Sprintf("%x", h)
}

func TestWitnessedPublication(t *testing.T) {
	ws := []*testWitness{newTestWitness(t, "w0.example", 10), newTestWitness(t, "w1.example", 11), newTestWitness(t, "w2.example", 12)}
	policy := witnessPolicy(t, ws...)
	l := logtest.New(t, "", log.Config{Witnesses: policy, WitnessInterval: 5 * time.Millisecond})
	srv := httptest.NewServer(l.Handler())
	defer srv.Close()
	published := func() *tiles.VerifiedCheckpoint {
		resp, err := http.Get(srv.URL + "/checkpoint")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		if resp.StatusCode != 200 {
			return nil
		}
		var b bytes.Buffer
		b.ReadFrom(resp.Body)
		vc, err := policy.VerifyCheckpoint(b.Bytes())
		if err != nil {
			t.Fatalf("published checkpoint does not meet the policy: %v", err)
		}
		return vc
	}

	appendN(t, l.Log, 0, 10, "a")
	eventually(t, "size 10 is published", func() bool { p := published(); return p != nil && p.Size == 10 })
	if n := len(published().Cosigners); n < 2 {
		t.Fatalf("published with %d cosignatures", n)
	}

	ws[2].down.Store(true)
	appendN(t, l.Log, 10, 5, "a")
	eventually(t, "size 15 is published with one witness down", func() bool { p := published(); return p != nil && p.Size == 15 })
	if _, ok := published().Cosigners["w2"]; ok {
		t.Fatal("a stopped witness cosigned")
	}

	ws[1].down.Store(true)
	appendN(t, l.Log, 15, 5, "a") // appends still succeed
	eventually(t, "the remaining witness has cosigned size 20", func() bool { return witnessSize(t, ws[0]) == 20 })
	if p := published(); p.Size != 15 {
		t.Fatalf("published size %d with one of three witnesses up, want 15 (fail closed)", p.Size)
	}

	ws[1].down.Store(false)
	eventually(t, "size 20 is published once a second witness is back", func() bool { p := published(); return p != nil && p.Size == 20 })
	checkLog(t, l.Log, l)
}

// openLog opens a log in dir and runs it until the returned stop is called.
func openLog(t *testing.T, dir string, cfg log.Config) (*log.Log, func()) {
	t.Helper()
	skey, _ := logtest.Keys(logtest.Origin)
	signer, _ := note.NewSigner(skey)
	store, err := log.OpenBolt(filepath.Join(dir, "log.db"))
	if err != nil {
		t.Fatal(err)
	}
	cfg.Origin, cfg.Signer, cfg.Store = logtest.Origin, signer, store
	l, err := log.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- l.Run(ctx) }()
	stopped := false
	return l, func() {
		if stopped {
			return
		}
		stopped = true
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
		store.Close()
	}
}

func copyFile(t *testing.T, from, to string) {
	t.Helper()
	b, err := os.ReadFile(from)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(to, b, 0o600); err != nil {
		t.Fatal(err)
	}
}

func sha256sum(b []byte) [32]byte { return sha256.Sum256(b) }
