package main

import (
	"path/filepath"
	"testing"
)

// TestServeStoreInUse starts a second serve on the data directory of a
// running serve process: the store is in use, not corrupt, and the failed
// start leaves the directory as it was.
func TestServeStoreInUse(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a process")
	}
	data := filepath.Join(t.TempDir(), "data")
	args := []string{"serve", "--data", data, "--http", "127.0.0.1:0", "--grpc", "127.0.0.1:0"}
	startProc(t, []string{"grpc listening on"}, args...)
	checkStartFails(t, args, data, "log: store "+filepath.Join(data, "log.db")+" is in use by another process (another attestlog serve?)")
}
