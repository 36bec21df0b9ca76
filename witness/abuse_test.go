package witness_test

import (
	"bytes"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/attestlog/attestlog/witness"
	"github.com/prometheus/client_golang/prometheus"
	bolt "go.etcd.io/bbolt"
	"golang.org/x/mod/sumdb/tlog"
)

// A logBuffer collects a witness's text logs; safe for concurrent use.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

// count returns how many lines contain s.
func (b *logBuffer) count(s string) int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return strings.Count(b.buf.String(), s)
}

func (b *logBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// withLogs makes the witness log at debug level into b.
func withLogs(b *logBuffer) func(*witness.Config) {
	return func(c *witness.Config) {
		c.Logger = slog.New(slog.NewTextHandler(b, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
}

// gather returns the witness's metrics registered with the attestlog_witness_
// prefix, keyed by name{label="value",...}: counters' values, histograms'
// sample counts.
func gather(t *testing.T, tw *testWitness) map[string]float64 {
	t.Helper()
	reg := prometheus.NewRegistry()
	prometheus.WrapRegistererWithPrefix("attestlog_witness_", reg).MustRegister(tw.Metrics()...)
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	got := make(map[string]float64)
	for _, f := range families {
		for _, m := range f.GetMetric() {
			var labels []string
			for _, l := range m.GetLabel() {
				labels = append(labels, fmt.Sprintf("%s=%q", l.GetName(), l.GetValue()))
			}
			key := f.GetName()
			if len(labels) > 0 {
				key += "{" + strings.Join(labels, ",") + "}"
			}
			switch {
			case m.GetCounter() != nil:
				got[key] = m.GetCounter().GetValue()
			case m.GetHistogram() != nil:
				got[key] = float64(m.GetHistogram().GetSampleCount())
			}
		}
	}
	return got
}

func checkMetrics(t *testing.T, tw *testWitness, want map[string]float64) {
	t.Helper()
	got := gather(t, tw)
	for key, w := range want {
		if v, ok := got[key]; !ok || v != w {
			t.Errorf("%s = %v (present: %v), want %v", key, v, ok, w)
		}
	}
}

// newFork returns a log with l's origin and key whose entries differ from
// l's from the first: every tree of it is a fork of l's.
func newFork(t *testing.T, l *testLog) *testLog {
	t.Helper()
	f := newTestLog(t, l.origin)
	f.signer, f.salt = l.signer, " forked"
	return f
}

// TestJunkProofIsNotEvidence is issue 10's failure 7: the log's real, validly
// signed checkpoint with a junk consistency proof proves nothing about the
// log, so it is refused with 422 but neither kept as evidence nor logged as
// an error, however often it comes.
func TestJunkProofIsNotEvidence(t *testing.T) {
	l := newTestLog(t, "example.test/log")
	var logs logBuffer
	tw := newTestWitness(t, []*testLog{l}, withLogs(&logs))
	tw.checkCosigned(t, tw.post(t, l.request(t, 0, 5)), l.checkpoint(t, 5))
	cp := l.checkpoint(t, 8)
	good := l.proof(t, 5, 8)
	flipped := append([]tlog.Hash(nil), good...)
	flipped[0][0] ^= 1
	junk := [][]tlog.Hash{
		flipped,
		nil,                       // implies no roots
		append(good, tlog.Hash{}), // too many hashes
		good[:len(good)-1],        // too few
		{{1}, {2}, {3}},           // the right number of made-up hashes
	}
	const n = 50
	for i := range n {
		checkRefused(t, tw.post(t, requestBody(5, junk[i%len(junk)], cp)), http.StatusUnprocessableEntity, "consistency proof from size 5 to 8 does not verify")
	}
	checkEvidence(t, tw, 0)
	if c := logs.count("level=ERROR"); c != 0 {
		t.Errorf("%d ERROR lines for junk proofs, want none:\n%s", c, logs.String())
	}
	checkMetrics(t, tw, map[string]float64{
		`attestlog_witness_bad_proofs_total{origin="example.test/log"}`: n,
		`attestlog_witness_evidence_total{origin="example.test/log"}`:   0,
	})
	// The honest log is cosigned as usual.
	tw.checkCosigned(t, tw.post(t, requestBody(5, good, cp)), cp)
}

// TestEvidenceOncePerCheckpoint is issue 10's failure 7: a refused checkpoint
// is kept once, however often it comes; repeats are counted on its record,
// with one ERROR line in all.
func TestEvidenceOncePerCheckpoint(t *testing.T) {
	l := newTestLog(t, "example.test/log")
	var logs logBuffer
	tw := newTestWitness(t, []*testLog{l}, withLogs(&logs))
	tw.checkCosigned(t, tw.post(t, l.request(t, 0, 5)), l.checkpoint(t, 5))
	fork := newFork(t, l)
	forkBody := fork.request(t, 5, 8)
	first := tw.clock.Now()
	const n = 20
	for range n {
		checkRefused(t, tw.post(t, forkBody), http.StatusUnprocessableEntity, "does not verify")
		tw.clock.add(time.Second)
	}
	list := checkEvidence(t, tw, 1)
	if len(list) == 1 {
		if e := list[0]; e.ID != 1 || e.Seen != n || !e.Time.Equal(first) || !e.LastTime.Equal(first.Add((n-1)*time.Second)) {
			t.Errorf("evidence %+v, want ID 1 seen %d times from %v to %v", e, n, first, first.Add((n-1)*time.Second))
		}
	}
	if e, err := tw.Evidence(1); err != nil || e.Request != string(forkBody) || e.Seen != n {
		t.Errorf("Evidence(1) = %+v, %v; want the first request, seen %d times", e, err, n)
	}
	if c := logs.count("level=ERROR"); c != 1 {
		t.Errorf("%d ERROR lines for one fork sent %d times, want 1:\n%s", c, n, logs.String())
	}
	// The same checkpoint from another old size, or with the equal-size
	// check: still the same evidence.
	checkRefused(t, tw.post(t, requestBody(5, fork.proof(t, 5, 8), fork.checkpoint(t, 8))), http.StatusUnprocessableEntity, "")
	checkMetrics(t, tw, map[string]float64{
		`attestlog_witness_evidence_total{origin="example.test/log"}`:         1,
		`attestlog_witness_evidence_repeats_total{origin="example.test/log"}`: n,
	})
	// A restart keeps the index and the counts.
	tw.stop(t)
	tw.start(t)
	checkRefused(t, tw.post(t, forkBody), http.StatusUnprocessableEntity, "")
	if list := checkEvidence(t, tw, 1); len(list) == 1 && list[0].Seen != n+2 {
		t.Errorf("after a restart, evidence seen %d times, want %d", list[0].Seen, n+2)
	}
}

// TestEvidenceBound: past MaxEvidence records for a log, new evidence is
// dropped and counted; the oldest records stay, repeats of them are still
// counted, and the drops give one WARN line, not one per request.
func TestEvidenceBound(t *testing.T) {
	l, other := newTestLog(t, "example.test/log"), newTestLog(t, "other.test/log")
	var logs logBuffer
	tw := newTestWitness(t, []*testLog{l, other}, func(c *witness.Config) {
		withLogs(&logs)(c)
		c.MaxEvidence = 3
	})
	for _, x := range []*testLog{l, other} {
		tw.checkCosigned(t, tw.post(t, x.request(t, 0, 5)), x.checkpoint(t, 5))
	}
	fork := func(x *testLog, i byte) []byte {
		return requestBody(5, nil, signNote(t, fmt.Sprintf("%s\n5\n%s\n", x.origin, b64(tlog.Hash{i})), x.signer))
	}
	for i := range byte(10) {
		checkRefused(t, tw.post(t, fork(l, i)), http.StatusUnprocessableEntity, "has root")
	}
	list := checkEvidence(t, tw, 3)
	for i, e := range list {
		if e.Seen != 1 || e.ID != uint64(i+1) {
			t.Errorf("evidence %d = %+v, want the first three, seen once", i, e)
		}
	}
	checkRefused(t, tw.post(t, fork(l, 0)), http.StatusUnprocessableEntity, "has root")
	// Other logs have their own bound.
	checkRefused(t, tw.post(t, fork(other, 0)), http.StatusUnprocessableEntity, "has root")
	list = checkEvidence(t, tw, 4)
	if len(list) == 4 && (list[0].Seen != 2 || list[3].Origin != other.origin) {
		t.Errorf("evidence %+v, want the first seen twice and the last of %s", list, other.origin)
	}
	checkMetrics(t, tw, map[string]float64{
		`attestlog_witness_evidence_total{origin="example.test/log"}`:         3,
		`attestlog_witness_evidence_dropped_total{origin="example.test/log"}`: 7,
		`attestlog_witness_evidence_total{origin="other.test/log"}`:           1,
		`attestlog_witness_evidence_dropped_total{origin="other.test/log"}`:   0,
	})
	if c := logs.count("level=ERROR"); c != 4 {
		t.Errorf("%d ERROR lines, want one per kept record, 4:\n%s", c, logs.String())
	}
	if c := logs.count("level=WARN"); c != 1 {
		t.Errorf("%d WARN lines for 7 drops, want 1:\n%s", c, logs.String())
	}
	// The bound holds across restarts.
	tw.stop(t)
	tw.start(t)
	checkRefused(t, tw.post(t, fork(l, 20)), http.StatusUnprocessableEntity, "has root")
	checkEvidence(t, tw, 4)
}

// TestBudgetOnlyNewCosignatures is issue 10's failure 8: replays of the
// public checkpoint, stale requests and refused requests spend nothing of a
// log's budget, so they cannot stop it from being cosigned; and each keeps
// the status code the spec gives it even when the budget is spent.
func TestBudgetOnlyNewCosignatures(t *testing.T) {
	l := newTestLog(t, "example.test/log")
	tw := newTestWitness(t, []*testLog{l}, func(c *witness.Config) {
		c.Logs[0].RequestsPerDay = 10 // a burst of 10, one more every 8640s
	})
	cp4 := l.checkpoint(t, 4)
	cosig := tw.post(t, requestBody(0, nil, cp4))
	tw.checkCosigned(t, cosig, cp4)
	fork := newFork(t, l)
	for range 100 {
		checkConflict(t, tw.post(t, requestBody(0, nil, cp4)), 4)
		if r := tw.post(t, requestBody(4, nil, cp4)); r.code != http.StatusOK || !bytes.Equal(r.body, cosig.body) {
			t.Fatalf("replay of the cosigned checkpoint: %d %q, want 200 with the stored cosignature %q", r.code, r.body, cosig.body)
		}
		checkConflict(t, tw.post(t, l.request(t, 2, 9)), 4)
		checkRefused(t, tw.post(t, requestBody(4, []tlog.Hash{{1}}, l.checkpoint(t, 9))), http.StatusUnprocessableEntity, "")
		checkRefused(t, tw.post(t, fork.request(t, 4, 9)), http.StatusUnprocessableEntity, "")
	}
	// The whole budget is left for new cosignatures.
	for s := int64(4); s < 13; s++ {
		tw.checkCosigned(t, tw.post(t, l.request(t, s, s+1)), l.checkpoint(t, s+1))
	}
	resp := tw.post(t, l.request(t, 13, 14))
	checkRefused(t, resp, http.StatusTooManyRequests, "budget of example.test/log spent")
	if got := resp.hdr.Get("Retry-After"); got != "8640" {
		t.Errorf("Retry-After %q, want 8640", got)
	}
	// With the budget spent, every other request keeps its status code.
	checkConflict(t, tw.post(t, requestBody(0, nil, cp4)), 13)
	checkRefused(t, tw.post(t, requestBody(13, []tlog.Hash{{1}}, l.checkpoint(t, 14))), http.StatusUnprocessableEntity, "")
	checkRefused(t, tw.post(t, requestBody(14, nil, l.checkpoint(t, 13))), http.StatusBadRequest, "")
	tw.checkCosigned(t, tw.post(t, requestBody(13, nil, l.checkpoint(t, 13))), l.checkpoint(t, 13))
	checkMetrics(t, tw, map[string]float64{
		`attestlog_witness_cosignatures_total{origin="example.test/log"}`: 10,
		`attestlog_witness_replays_total{origin="example.test/log"}`:      101,
	})
}

// TestReplayRefresh: a replay of the latest cosigned checkpoint gets the
// stored cosignature until it is RefreshInterval old, then a fresh one, which
// becomes the stored one; neither spends the budget.
func TestReplayRefresh(t *testing.T) {
	l := newTestLog(t, "example.test/log")
	tw := newTestWitness(t, []*testLog{l}, func(c *witness.Config) {
		c.Logs[0].RequestsPerDay = 1
		c.RefreshInterval = time.Minute
	})
	cp := l.checkpoint(t, 4)
	first := tw.post(t, requestBody(0, nil, cp))
	ts1 := tw.checkCosigned(t, first, cp)
	checkRefused(t, tw.post(t, l.request(t, 4, 5)), http.StatusTooManyRequests, "")
	tw.clock.add(time.Minute)
	if r := tw.post(t, requestBody(4, nil, cp)); !bytes.Equal(r.body, first.body) {
		t.Errorf("replay after exactly RefreshInterval: %d %q, want the stored cosignature", r.code, r.body)
	}
	tw.clock.add(time.Second)
	fresh := tw.post(t, requestBody(4, nil, cp))
	if ts := tw.checkCosigned(t, fresh, cp); !ts.Equal(ts1.Add(time.Minute + time.Second)) {
		t.Errorf("refreshed cosignature at %v, want %v", ts, ts1.Add(time.Minute+time.Second))
	}
	if mon := tw.get(t, tw.originPath(l.origin)); !bytes.HasSuffix(mon.body, fresh.body) {
		t.Errorf("monitoring checkpoint\n%s\nwant it to end with the fresh cosignature %q", mon.body, fresh.body)
	}
	if r := tw.post(t, requestBody(4, nil, cp)); !bytes.Equal(r.body, fresh.body) {
		t.Errorf("replay after a refresh: %d %q, want %q", r.code, r.body, fresh.body)
	}
	// The same tree in another checkpoint text is a new checkpoint.
	ext := signNote(t, l.body(t, 4)+"extension\n", l.signer)
	checkRefused(t, tw.post(t, requestBody(4, nil, ext)), http.StatusTooManyRequests, "")
}

// TestEvidenceIndexOnOpen: a state file written before evidence had an index
// gets one on open, so that repeats of old evidence are counted on its
// record and old records count towards MaxEvidence.
func TestEvidenceIndexOnOpen(t *testing.T) {
	l := newTestLog(t, "example.test/log")
	tw := newTestWitness(t, []*testLog{l}, func(c *witness.Config) { c.MaxEvidence = 2 })
	tw.checkCosigned(t, tw.post(t, l.request(t, 0, 5)), l.checkpoint(t, 5))
	fork := func(i byte) []byte {
		return requestBody(5, nil, signNote(t, fmt.Sprintf("%s\n5\n%s\n", l.origin, b64(tlog.Hash{i})), l.signer))
	}
	checkRefused(t, tw.post(t, fork(1)), http.StatusUnprocessableEntity, "has root")
	checkRefused(t, tw.post(t, fork(2)), http.StatusUnprocessableEntity, "has root")
	tw.stop(t)
	db, err := bolt.Open(tw.path, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	err = db.Update(func(tx *bolt.Tx) error {
		for _, b := range []string{"evidence-index", "evidence-seen", "evidence-count"} {
			if err := tx.DeleteBucket([]byte(b)); err != nil {
				return err
			}
		}
		return nil
	})
	db.Close()
	if err != nil {
		t.Fatal(err)
	}
	tw.start(t)
	list := checkEvidence(t, tw, 2)
	if len(list) == 2 && (list[0].Seen != 1 || !list[0].LastTime.Equal(list[0].Time)) {
		t.Errorf("old evidence %+v, want seen once, last at its time", list[0])
	}
	checkRefused(t, tw.post(t, fork(1)), http.StatusUnprocessableEntity, "has root")
	checkRefused(t, tw.post(t, fork(3)), http.StatusUnprocessableEntity, "has root")
	list = checkEvidence(t, tw, 2)
	if len(list) == 2 && (list[0].Seen != 2 || list[1].Seen != 1) {
		t.Errorf("evidence %+v, want the first seen twice and the second once", list)
	}
	checkMetrics(t, tw, map[string]float64{
		`attestlog_witness_evidence_repeats_total{origin="example.test/log"}`: 1,
		`attestlog_witness_evidence_dropped_total{origin="example.test/log"}`: 1,
	})
}
