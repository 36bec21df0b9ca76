package witness_test

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/attestlog/attestlog/witness"
	bolt "go.etcd.io/bbolt"
	"golang.org/x/mod/sumdb/note"
)

func TestAddCheckpointErrors(t *testing.T) {
	l := newTestLog(t, "example.test/log")
	tw := newTestWitness(t, []*testLog{l}, nil)
	ctx := t.Context()
	cosig, err := tw.AddCheckpoint(ctx, l.request(t, 0, 5))
	if err != nil {
		t.Fatal(err)
	}
	tw.checkCosigned(t, response{code: http.StatusOK, typ: "text/plain; charset=utf-8", body: cosig}, l.checkpoint(t, 5))
	_, err = tw.AddCheckpoint(ctx, l.request(t, 3, 7))
	var e *witness.Error
	if !errors.As(err, &e) || e.Status != http.StatusConflict || e.Size != 5 {
		t.Errorf("AddCheckpoint from a stale size = %v, want a 409 Error with Size 5", err)
	}
	if err.Error() != "witness: old size 3 differs from the size 5 of the latest cosigned checkpoint" {
		t.Errorf("error text %q", err)
	}
	_, err = tw.AddCheckpoint(ctx, requestBody(5, nil, corruptLastSignature(t, l.checkpoint(t, 9))))
	var invalid *note.InvalidSignatureError
	if !errors.As(err, &e) || e.Status != http.StatusForbidden || !errors.As(err, &invalid) {
		t.Errorf("AddCheckpoint with a bad signature = %v, want a 403 wrapping *note.InvalidSignatureError", err)
	}
	_, err = tw.AddCheckpoint(ctx, []byte("old 1\n"))
	if !errors.As(err, &e) || e.Status != http.StatusBadRequest || !strings.HasPrefix(err.Error(), "witness: malformed add-checkpoint request: ") {
		t.Errorf("AddCheckpoint with a malformed body = %v", err)
	}
	_, err = tw.AddCheckpoint(ctx, make([]byte, witness.MaxRequestSize+1))
	if !errors.As(err, &e) || e.Status != http.StatusBadRequest {
		t.Errorf("AddCheckpoint with a large body = %v", err)
	}
	if _, err := tw.Checkpoint("unknown.test/log"); !errors.Is(err, witness.ErrNotFound) {
		t.Errorf("Checkpoint(unknown) = %v, want ErrNotFound", err)
	}
	if _, err := tw.Evidence(1); !errors.Is(err, witness.ErrNotFound) {
		t.Errorf("Evidence(1) = %v, want ErrNotFound", err)
	}
}

// TestStorageFailure corrupts one log's stored state, so that its request
// fails inside a bbolt batch shared with other logs' requests. bbolt then
// reruns the others: they must still be cosigned, once, with correct state.
func TestStorageFailure(t *testing.T) {
	var logs []*testLog
	for i := range 8 {
		logs = append(logs, newTestLog(t, fmt.Sprintf("l%d.example.test/log", i)))
	}
	tw := newTestWitness(t, logs, nil)
	for _, l := range logs {
		tw.checkCosigned(t, tw.post(t, l.request(t, 0, 3)), l.checkpoint(t, 3))
	}
	tw.stop(t)
	db, err := bolt.Open(tw.path, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	err = db.Update(func(tx *bolt.Tx) error {
		return tx.Bucket([]byte("logs")).Put([]byte(logs[0].origin), []byte("short"))
	})
	db.Close()
	if err != nil {
		t.Fatal(err)
	}
	tw.start(t)

	for round := range 3 {
		old, size := int64(3+round*2), int64(5+round*2)
		resps := make([]response, len(logs))
		var wg sync.WaitGroup
		for i, l := range logs {
			body := l.request(t, old, size)
			wg.Go(func() { resps[i] = tw.post(t, body) })
		}
		wg.Wait()
		checkRefused(t, resps[0], http.StatusInternalServerError, "internal error")
		for i, l := range logs[1:] {
			tw.checkCosigned(t, resps[i+1], l.checkpoint(t, size))
		}
	}
	for _, l := range logs[1:] {
		checkConflict(t, tw.post(t, l.request(t, 0, 20)), 9)
	}

	// A closed witness fails with an internal error too.
	w := tw.Witness
	tw.stop(t)
	if _, err := w.AddCheckpoint(t.Context(), logs[1].request(t, 9, 11)); err == nil || errors.As(err, new(*witness.Error)) {
		t.Errorf("AddCheckpoint on a closed witness = %v, want an internal error", err)
	}
}

func TestMetrics(t *testing.T) {
	a, b := newTestLog(t, "a.example.test/log"), newTestLog(t, "b.example.test/log")
	tw := newTestWitness(t, []*testLog{a, b}, nil)
	tw.post(t, a.request(t, 0, 5))
	tw.post(t, a.request(t, 5, 6))
	tw.post(t, a.request(t, 0, 6))                                                                // 409
	tw.post(t, requestBody(6, nil, signNote(t, a.origin+"\n6\n"+b64([32]byte{})+"\n", a.signer))) // 422, evidence
	tw.post(t, newTestLog(t, "unknown.test/log").request(t, 0, 1))                                // 404
	tw.post(t, []byte("garbage"))                                                                 // 400

	checkMetrics(t, tw, map[string]float64{
		`attestlog_witness_add_checkpoint_requests_total{code="200",origin="a.example.test/log"}`: 2,
		`attestlog_witness_add_checkpoint_requests_total{code="409",origin="a.example.test/log"}`: 1,
		`attestlog_witness_add_checkpoint_requests_total{code="422",origin="a.example.test/log"}`: 1,
		`attestlog_witness_add_checkpoint_requests_total{code="404",origin=""}`:                   1,
		`attestlog_witness_add_checkpoint_requests_total{code="400",origin=""}`:                   1,
		`attestlog_witness_cosignatures_total{origin="a.example.test/log"}`:                       2,
		`attestlog_witness_cosignatures_total{origin="b.example.test/log"}`:                       0,
		`attestlog_witness_evidence_total{origin="a.example.test/log"}`:                           1,
		`attestlog_witness_evidence_total{origin="b.example.test/log"}`:                           0,
		`attestlog_witness_add_checkpoint_seconds`:                                                6,
	})
}
