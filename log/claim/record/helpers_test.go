package record_test

import (
	"github.com/attestlog/attestlog/internal/tooltest"
	"testing"
)

// needTool skips t when a signing tool is not installed ([tooltest.Need]).
func needTool(t *testing.T, name, pkg string) { t.Helper(); tooltest.Need(t, name, pkg) }

// runTool runs a tool in dir ([tooltest.Run]).
func runTool(t *testing.T, dir, name string, args ...string) []byte {
	t.Helper()
	return tooltest.Run(t, dir, nil, "", name, args...)
}

func runToolEnv(t *testing.T, dir string, env []string, name string, args ...string) []byte {
	t.Helper()
	return tooltest.Run(t, dir, env, "", name, args...)
}

// gpg runs gpg in batch mode in a throwaway home ([tooltest.GPG]).
func gpg(t *testing.T, home string, args ...string) []byte {
	t.Helper()
	return tooltest.GPG(t, home, args...)
}

func newGPGHome(t *testing.T) string { t.Helper(); return tooltest.NewGPGHome(t) }
