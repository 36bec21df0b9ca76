package log_test

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/attestlog/attestlog/client"
	"github.com/attestlog/attestlog/log"
	"github.com/attestlog/attestlog/log/logtest"
	"github.com/attestlog/attestlog/tiles"
)

func entry(i int) []byte { return []byte(fmt.Sprintf("entry %d", i)) }

func TestAppendDedupReopen(t *testing.T) {
	dir := t.TempDir()
	l := logtest.New(t, dir, log.Config{})
	if got := l.Checkpoint().Size; got != 0 {
		t.Fatalf("new log has size %d", got)
	}
	idx := l.Append(t, entry(0), entry(1), entry(0), entry(2))
	if want := []int64{0, 1, 0, 2}; fmt.Sprint(idx) != fmt.Sprint(want) {
		t.Fatalf("indexes %v, want %v", idx, want)
	}
	if got := l.Append(t, entry(1)); got[0] != 1 {
		t.Fatalf("re-appending entry 1 gave index %d", got[0])
	}
	if got := l.Checkpoint().Size; got != 3 {
		t.Fatalf("size %d after 3 distinct entries", got)
	}
	checkLog(t, l.Log, l)
}

func TestEntryTooLarge(t *testing.T) {
	l := logtest.New(t, "", log.Config{})
	if _, err := l.Add(make([]byte, tiles.MaxEntrySize+1))(context.Background()); !errors.Is(err, log.ErrEntryTooLarge) {
		t.Fatalf("65536-byte entry: err %v, want ErrEntryTooLarge", err)
	}
	if idx := l.Append(t, make([]byte, tiles.MaxEntrySize)); idx[0] != 0 {
		t.Fatalf("65535-byte entry got index %d", idx[0])
	}
	checkLog(t, l.Log, l)
}

// checkLog runs the invariant checker against the log's resource reader.
func checkLog(t testing.TB, f client.Fetcher, l *logtest.Log) client.CheckReport {
	t.Helper()
	r, err := client.CheckLog(context.Background(), f, l.Verifier)
	if err != nil {
		t.Fatalf("CheckLog: %v", err)
	}
	if r.Checkpoint.Size != l.Checkpoint().Size {
		t.Fatalf("checked size %d, log has %d", r.Checkpoint.Size, l.Checkpoint().Size)
	}
	return r
}
