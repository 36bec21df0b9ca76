package record_test

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// needTool skips t when a signing tool is not installed; .ci/run installs
// gpg, minisign and ssh-keygen, so CI runs every test.
func needTool(t *testing.T, name, pkg string) {
	t.Helper()
	if _, err := exec.LookPath(name); err != nil {
		t.Skipf("%s not found in PATH: install it (apt-get install %s) to run this test", name, pkg)
	}
}

// runTool runs a tool in dir and returns its standard output, failing t
// with its standard error if it fails.
func runTool(t *testing.T, dir, name string, args ...string) []byte {
	t.Helper()
	return runToolEnv(t, dir, nil, name, args...)
}

func runToolEnv(t *testing.T, dir string, env []string, name string, args ...string) []byte {
	t.Helper()
	cmd := exec.Command(name, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), env...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, stderr.String())
	}
	return stdout.Bytes()
}

// gpg runs gpg in batch mode in a throwaway home.
func gpg(t *testing.T, home string, args ...string) []byte {
	t.Helper()
	base := []string{"--batch", "--no-tty", "--pinentry-mode", "loopback", "--passphrase", ""}
	return runToolEnv(t, home, []string{"GNUPGHOME=" + home, "LC_ALL=C"}, "gpg", append(base, args...)...)
}

func newGPGHome(t *testing.T) string {
	t.Helper()
	needTool(t, "gpg", "gpg")
	home := t.TempDir()
	if err := os.Chmod(home, 0o700); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if _, err := os.Stat(filepath.Join(home, "S.gpg-agent")); err == nil {
			runToolEnv(t, home, []string{"GNUPGHOME=" + home}, "gpgconf", "--kill", "gpg-agent")
		}
	})
	return home
}
