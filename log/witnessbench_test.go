package log_test

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/attestlog/attestlog/log"
	"github.com/attestlog/attestlog/log/logtest"
	"github.com/attestlog/attestlog/tiles"
)

// BenchmarkWitnessedLag measures, for entries appended at a steady pace
// (one every 5 ms), the time from an append's acknowledgement to the
// publication of the first witnessed checkpoint that covers it, with two
// real witnesses over loopback HTTP (quorum: both) and the default witness
// interval. It reports the median, 99th percentile and maximum lag.
func BenchmarkWitnessedLag(b *testing.B) {
	ws := []*testWitness{newTestWitness(b, "w0.example", 30), newTestWitness(b, "w1.example", 31)}
	_, logVKey := logtest.Keys(logtest.Origin)
	policy, err := tiles.ParsePolicy(fmt.Appendf(nil, "log %s\nwitness w0 %s %s/\nwitness w1 %s %s/\ngroup q all w0 w1\nquorum q\n",
		logVKey, ws[0].vkey, ws[0].srv.URL, ws[1].vkey, ws[1].srv.URL))
	if err != nil {
		b.Fatal(err)
	}
	l := logtest.New(b, "", log.Config{Witnesses: policy})
	acked := make([]time.Time, b.N)
	published := make([]time.Time, b.N)
	var mu sync.Mutex
	stop := make(chan struct{})
	var watcher sync.WaitGroup
	watcher.Go(func() {
		var seen int64
		for {
			select {
			case <-stop:
				return
			case <-time.After(time.Millisecond):
			}
			p := l.Published()
			if p == nil || p.Size <= seen {
				continue
			}
			now := time.Now()
			mu.Lock()
			for i := seen; i < min(p.Size, int64(b.N)); i++ {
				published[i] = now
			}
			mu.Unlock()
			seen = p.Size
		}
	})
	b.ResetTimer()
	for i := range b.N {
		if _, err := l.Add(fmt.Appendf(nil, "lag entry %d %d", i, time.Now().UnixNano()))(context.Background()); err != nil {
			b.Fatal(err)
		}
		mu.Lock()
		acked[i] = time.Now()
		mu.Unlock()
		time.Sleep(5 * time.Millisecond)
	}
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		if p := l.Published(); p != nil && p.Size >= int64(b.N) {
			break
		}
		if time.Now().After(deadline) {
			b.Fatal("the last entries were never witnessed")
		}
	}
	time.Sleep(5 * time.Millisecond)
	close(stop)
	watcher.Wait()
	b.StopTimer()
	lags := make([]time.Duration, b.N)
	for i := range lags {
		lags[i] = published[i].Sub(acked[i])
	}
	slices.Sort(lags)
	ms := func(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
	b.ReportMetric(ms(lags[len(lags)/2]), "p50-ms")
	b.ReportMetric(ms(lags[len(lags)*99/100]), "p99-ms")
	b.ReportMetric(ms(lags[len(lags)-1]), "max-ms")
}
