// Package tooltest runs the signing tools builders use (gpg, minisign,
// ssh-keygen) from tests, so that tests can check documents made by the
// real tools. Only tests import it.
package tooltest

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// Need skips t when a tool is not installed, naming the Debian package
// pkg that has it; .ci/run installs gpg, minisign and ssh-keygen, so CI
// runs every test.
func Need(t testing.TB, name, pkg string) {
	t.Helper()
	if _, err := exec.LookPath(name); err != nil {
		t.Skipf("%s not found in PATH: install it (apt-get install %s) to run this test", name, pkg)
	}
}

// Run runs a tool in dir with extra environment and stdin and returns its
// standard output, failing t with its standard error if it fails.
func Run(t testing.TB, dir string, env []string, stdin string, name string, args ...string) []byte {
	t.Helper()
	cmd := exec.Command(name, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), env...)
	cmd.Stdin = strings.NewReader(stdin)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, stderr.String())
	}
	return stdout.Bytes()
}

// GPG runs gpg in batch mode, with no passphrase, in the home directory
// home (see [NewGPGHome]).
func GPG(t testing.TB, home string, args ...string) []byte {
	t.Helper()
	base := []string{"--batch", "--no-tty", "--pinentry-mode", "loopback", "--passphrase", ""}
	return Run(t, home, []string{"GNUPGHOME=" + home, "LC_ALL=C"}, "", "gpg", append(base, args...)...)
}

// NewGPGHome returns a throwaway gpg home directory, skipping t without
// gpg; the gpg agent it may start is stopped when t ends.
func NewGPGHome(t testing.TB) string {
	t.Helper()
	Need(t, "gpg", "gpg")
	home := t.TempDir()
	if err := os.Chmod(home, 0o700); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if _, err := os.Stat(filepath.Join(home, "S.gpg-agent")); err == nil {
			Run(t, home, []string{"GNUPGHOME=" + home}, "", "gpgconf", "--kill", "gpg-agent")
		}
	})
	return home
}
