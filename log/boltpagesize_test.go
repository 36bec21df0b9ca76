package log_test

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/attestlog/attestlog/client"
	"github.com/attestlog/attestlog/log"
	"github.com/attestlog/attestlog/log/logtest"
	bolt "go.etcd.io/bbolt"
)

// TestBoltPageSize checks that a new store has pages of
// log.BoltPageSize, and that a store made with 4 KiB pages, as attestlog
// made them before, opens, takes appends, keeps its page size (bbolt
// fixes it when it makes the file) and reads back whole.
func TestBoltPageSize(t *testing.T) {
	pageSize := func(path string) int {
		t.Helper()
		db, err := bolt.Open(path, 0o400, &bolt.Options{ReadOnly: true, Timeout: time.Second})
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		return db.Info().PageSize
	}
	entries := func(n int) [][]byte {
		out := make([][]byte, n)
		for i := range out {
			out[i] = fmt.Appendf(nil, "entry %d of a store whose pages are small", i)
		}
		return out
	}
	fresh := t.TempDir()
	t.Run("new", func(t *testing.T) { logtest.New(t, fresh, log.Config{}).Append(t, entries(100)...) })
	if got := pageSize(filepath.Join(fresh, "log.db")); got != log.BoltPageSize {
		t.Errorf("a new store has pages of %d bytes, want %d", got, log.BoltPageSize)
	}

	old := t.TempDir()
	db, err := bolt.Open(filepath.Join(old, "log.db"), 0o600, &bolt.Options{PageSize: 4096})
	if err != nil {
		t.Fatal(err)
	}
	db.Close()
	t.Run("old", func(t *testing.T) { logtest.New(t, old, log.Config{}).Append(t, entries(3000)...) })
	if got := pageSize(filepath.Join(old, "log.db")); got != 4096 {
		t.Errorf("a store made with 4 KiB pages has pages of %d bytes after appends", got)
	}
	t.Run("reopened", func(t *testing.T) {
		l := logtest.New(t, old, log.Config{})
		r, err := client.CheckLog(context.Background(), l, l.Verifier)
		if err != nil || r.Checkpoint.Size != 3000 {
			t.Fatalf("CheckLog of the store with 4 KiB pages = %d entries, %v; want 3000", r.Checkpoint.Size, err)
		}
	})
}
