package witness_test

import (
	"fmt"
	"net/http"
	"sync"
	"testing"
	"time"
)

// BenchmarkAddCheckpoint measures add-checkpoint throughput over HTTP on
// loopback, with durable commits: benchClients clients, each advancing its
// own log's tree by one entry per request, with a consistency proof. The
// requests are built and signed before the timer starts; the witness
// verifies, cosigns and fsyncs as it would in production.
func BenchmarkAddCheckpoint(b *testing.B) {
	const benchClients = 64
	logs := make([]*testLog, benchClients)
	for i := range logs {
		logs[i] = newTestLog(b, fmt.Sprintf("log%02d.bench.example/log", i))
	}
	tw := newTestWitness(b, logs, nil)
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: benchClients}}
	defer client.CloseIdleConnections()

	bodies := make([][][]byte, benchClients)
	for i := range b.N {
		c := i % benchClients
		// Start from 1000 entries, for proofs of about ten hashes.
		size := 1000 + int64(len(bodies[c]))
		old := size - 1
		if size == 1000 {
			old = 0
		}
		bodies[c] = append(bodies[c], logs[c].request(b, old, size))
	}
	var failed sync.Once
	b.ResetTimer()
	start := time.Now()
	var wg sync.WaitGroup
	for c := range benchClients {
		wg.Go(func() {
			for _, body := range bodies[c] {
				if r := do(b, client, http.MethodPost, tw.srv.URL+"/add-checkpoint", body); r.code != http.StatusOK {
					failed.Do(func() { b.Errorf("client %d: %d %s", c, r.code, r.body) })
					return
				}
			}
		})
	}
	wg.Wait()
	elapsed := time.Since(start)
	b.StopTimer()
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "requests/s")
}
