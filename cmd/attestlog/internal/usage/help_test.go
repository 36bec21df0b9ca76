package usage

import (
	"runtime"
	"runtime/debug"
	"testing"
)

func TestFormatVersion(t *testing.T) {
	bi := &debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Path: "github.com/attestlog/attestlog", Version: "v1.2.3"},
		Settings: []debug.BuildSetting{{Key: "vcs.revision", Value: "0123456789abcdef0123456789abcdef01234567"},
			{Key: "vcs.time", Value: "2026-01-02T03:04:05Z"}, {Key: "vcs.modified", Value: "true"}}}
	want := "attestlog v1.2.3\nrevision  0123456789abcdef0123456789abcdef01234567 (modified)\ntime      2026-01-02T03:04:05Z\ngo        go1.26.8 " + runtime.GOOS + "/" + runtime.GOARCH + "\n"
	if got := FormatVersion(bi); got != want {
		t.Errorf("FormatVersion = %q, want %q", got, want)
	}
}
