package main

import (
	"path/filepath"
	"runtime"
	"runtime/debug"
	"strings"
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

// TestAttestRefusesDirtyTree attests HEAD of a checkout with a modified, a
// staged and an untracked file: attest refuses, naming each, but not an
// ignored file nor the artifact built in the checkout; --allow-dirty
// attests anyway, and a clean checkout needs no flag.
func TestAttestRefusesDirtyTree(t *testing.T) {
	clearClientEnv(t)
	repo, _ := gitRepo(t)
	work := t.TempDir()
	runOK(t, "keygen", "-o", filepath.Join(work, "k"), "builder.example/k")
	writeFile(t, filepath.Join(repo, ".gitignore"), []byte("*.log\n"))
	runGit(t, repo, "add", ".gitignore")
	runGit(t, repo, "-c", "user.name=Test", "-c", "user.email=test@example.org", "commit", "-q", "-m", "ignore logs")
	bin := filepath.Join(repo, "hello") // built in the checkout, untracked
	writeFile(t, bin, []byte("binary"))
	writeFile(t, filepath.Join(repo, "build.log"), []byte("ignored"))
	args := []string{"attest", "--dir", repo, "--recipe", "sha256:" + sha256Hex(nil), "--key", filepath.Join(work, "k.key"), "-o", filepath.Join(repo, "hello.claim.json"), bin}
	runOK(t, args...) // only ignored files and the outputs: clean

	writeFile(t, filepath.Join(repo, "go.sum"), []byte("changed\n"))
	writeFile(t, filepath.Join(repo, "staged.go"), []byte("package main\n"))
	runGit(t, repo, "add", "staged.go")
	writeFile(t, filepath.Join(repo, "notes", "todo.txt"), []byte("untracked"))
	err := runErr(t, args...)
	for _, want := range []string{"has changes not in commit", " M go.sum", "A  staged.go", "?? notes/todo.txt", "--allow-dirty"} {
		if !strings.Contains(err, want) {
			t.Errorf("attest of a dirty checkout = %q, want it to contain %q", err, want)
		}
	}
	for _, unwanted := range []string{"build.log", "?? hello"} {
		if strings.Contains(err, unwanted) {
			t.Errorf("attest of a dirty checkout = %q, want no %q (ignored, or the artifact)", err, unwanted)
		}
	}
	runOK(t, append([]string{"attest", "--allow-dirty"}, args[1:]...)...)
}

// TestVersion prints the version from the build information, as
// "attestlog version" and "attestlog --version".
func TestVersion(t *testing.T) {
	for _, arg := range []string{"version", "--version"} {
		out := runOK(t, arg)
		if !strings.HasPrefix(out, "attestlog ") || !strings.Contains(out, "go        go1.") {
			t.Errorf("attestlog %s printed %q, want the module version and the Go version", arg, out)
		}
	}
	bi := &debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Path: "github.com/attestlog/attestlog", Version: "v1.2.3"},
		Settings: []debug.BuildSetting{{Key: "vcs.revision", Value: "0123456789abcdef0123456789abcdef01234567"},
			{Key: "vcs.time", Value: "2026-01-02T03:04:05Z"}, {Key: "vcs.modified", Value: "true"}}}
	want := "attestlog v1.2.3\nrevision  0123456789abcdef0123456789abcdef01234567 (modified)\ntime      2026-01-02T03:04:05Z\ngo        go1.26.8 " + runtime.GOOS + "/" + runtime.GOARCH + "\n"
	if got := formatVersion(bi); got != want {
		t.Errorf("formatVersion = %q, want %q", got, want)
	}
}
