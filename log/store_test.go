package log_test

import (
	"path/filepath"
	"testing"

	"github.com/attestlog/attestlog/log"
	"github.com/attestlog/attestlog/log/storetest"
)

// TestBoltStoreConformance runs the Store conformance suite against bbolt;
// log/pgstore runs it against PostgreSQL.
func TestBoltStoreConformance(t *testing.T) {
	storetest.Run(t, storetest.Backend{
		New: func(t *testing.T) string { return filepath.Join(t.TempDir(), "log.db") },
		Open: func(t *testing.T, path string) log.Store {
			s, err := log.OpenBolt(path)
			if err != nil {
				t.Fatal(err)
			}
			return s
		},
	})
}
