package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/attestlog/attestlog/client"
	"github.com/attestlog/attestlog/log/claim"
	"github.com/attestlog/attestlog/tiles"
)

// This file holds the demo's stage machinery: servers run in-process on
// real sockets, Go builds, files, the search for the builders who disagree,
// and wording. The story itself is in demo.go.

// demoStartTimeout bounds how long a server may take to print its addresses.
const demoStartTimeout = 20 * time.Second

// A demoServer is a serve or witness subcommand running in this process,
// as run would run it from the command line, with its own context.
type demoServer struct {
	cancel context.CancelFunc
	done   chan struct{} // closed when run has returned; err is set then
	err    error

	mu    sync.Mutex
	lines map[string]string // "http listening on" etc. -> the rest of the line
}

// startDemoServer runs "attestlog args..." in a goroutine and waits until it
// printed a line starting with each prefix in want, e.g. "http listening
// on". Its standard error goes to stderr.
func startDemoServer(ctx context.Context, args, want []string, stderr io.Writer) (*demoServer, error) {
	sctx, cancel := context.WithCancel(ctx)
	s := &demoServer{cancel: cancel, done: make(chan struct{}), lines: map[string]string{}}
	pr, pw := io.Pipe()
	go func() {
		s.err = run(sctx, args, pw, stderr)
		pw.Close()
		close(s.done)
	}()
	ready := make(chan struct{})
	go func() {
		sc := bufio.NewScanner(pr)
		signalled := false
		for sc.Scan() { // reads to the end, so that run never blocks on a write
			s.mu.Lock()
			for _, w := range want {
				if v, ok := strings.CutPrefix(sc.Text(), w+" "); ok {
					s.lines[w] = v
				}
			}
			all := len(s.lines) == len(want)
			s.mu.Unlock()
			if all && !signalled {
				signalled = true
				close(ready)
			}
		}
		io.Copy(io.Discard, pr)
	}()
	t := time.NewTimer(demoStartTimeout)
	defer t.Stop()
	select {
	case <-ready:
		return s, nil
	case <-s.done:
		if s.err == nil {
			s.err = errors.New("exited at once")
		}
		return nil, fmt.Errorf("attestlog %s: %w", args[0], s.err)
	case <-t.C:
		s.stop()
		return nil, fmt.Errorf("attestlog %s did not print %q within %v", args[0], want, demoStartTimeout)
	case <-ctx.Done():
		s.stop()
		return nil, ctx.Err()
	}
}

// get returns the rest of the line the server printed after prefix.
func (s *demoServer) get(prefix string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.lines[prefix]
}

// stop cancels the server's context and waits until it has shut down and
// closed its store. It may be called more than once.
func (s *demoServer) stop() error {
	s.cancel()
	<-s.done
	if errors.Is(s.err, context.Canceled) {
		return nil
	}
	return s.err
}

// demoGoCommand returns the go command to build with: the one of the toolchain
// that runs the demo if GOROOT says where it is, else the one in PATH.
func demoGoCommand() (string, error) {
	if root := os.Getenv("GOROOT"); root != "" {
		p := filepath.Join(root, "bin", "go")
		if _, err := os.Stat(p); err == nil {
			return p, nil
		}
	}
	p, err := exec.LookPath("go")
	if err != nil {
		return "", errors.New("the demo builds a small Go program and needs the go command in PATH")
	}
	return p, nil
}

// demoBuildEnv is the environment every builder builds with: the same for
// all, so that the build is reproducible, and offline.
func demoBuildEnv() []string {
	fixed := map[string]string{
		"CGO_ENABLED": "0",
		"GOFLAGS":     "-buildvcs=false",
		"GOOS":        runtime.GOOS,
		"GOARCH":      runtime.GOARCH,
		"GOTOOLCHAIN": "local",
		"GOPROXY":     "off",
		"GOWORK":      "off",
		"GO111MODULE": "on",
	}
	var env []string
	for _, kv := range os.Environ() {
		if k, _, _ := strings.Cut(kv, "="); fixed[k] == "" {
			env = append(env, kv)
		}
	}
	for k, v := range fixed {
		env = append(env, k+"="+v)
	}
	return env
}

// demoGoBuild builds the main package in dir into out, reproducibly.
func demoGoBuild(ctx context.Context, gocmd, dir, out string) error {
	cmd := exec.CommandContext(ctx, gocmd, "build", "-trimpath", "-ldflags=-buildid=", "-o", out, ".")
	cmd.Dir, cmd.Env = dir, demoBuildEnv()
	if b, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("go build in %s: %w\n%s", dir, err, b)
	}
	return nil
}

// demoCopyDir copies the regular files and directories under src to dst, which
// must not exist, keeping their permissions.
func demoCopyDir(src, dst string) error {
	return filepath.WalkDir(src, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(src, path)
		if err != nil {
			return err
		}
		target := filepath.Join(dst, rel)
		info, err := d.Info()
		if err != nil {
			return err
		}
		switch {
		case d.IsDir():
			return os.Mkdir(target, info.Mode().Perm())
		case !info.Mode().IsRegular():
			return fmt.Errorf("copying %s: not a regular file", path)
		}
		return demoCopyFile(path, target, info.Mode().Perm())
	})
}

func demoCopyFile(src, dst string, perm fs.FileMode) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL, perm)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}

// demoGet fetches url and returns its body, failing on a status other than 200.
func demoGet(ctx context.Context, url string) ([]byte, error) {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return nil, fmt.Errorf("GET %s: %w", url, err)
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET %s: %s", url, resp.Status)
	}
	return b, nil
}

// demoGetStatus fetches url and returns its status code and body.
func demoGetStatus(ctx context.Context, url string) (int, string, error) {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return 0, "", err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return 0, "", fmt.Errorf("GET %s: %w", url, err)
	}
	return resp.StatusCode, string(b), nil
}

// demoPoll calls cond every 50ms until it reports true, fails, or timeout passes.
func demoPoll(ctx context.Context, what string, timeout time.Duration, cond func() (bool, error)) error {
	deadline := time.Now().Add(timeout)
	for {
		ok, err := cond()
		if err != nil || ok {
			return err
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("timed out after %v waiting until %s", timeout, what)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// A demoConflict is a trusted builder's claim giving another digest for a
// build that a claim naming the verified digest describes.
type demoConflict struct {
	builder string
	index   int64
	sha256  string
}

// demoConflicts finds the trusted builders who disagree with a digest that
// only untrusted keys claim. [client.Verify] follows only the builds that
// trusted builders give the digest, so that an untrusted claim cannot tie
// a digest to a build to fail it; here the digest has failed already, and
// the question is who says otherwise. Every claim is proven against the
// checkpoint Verify verified (signature, witness quorum, remembered state).
func demoConflicts(ctx context.Context, p *client.Policy, src client.Source, v *client.Verdict) ([]demoConflict, error) {
	if v.Checkpoint == nil {
		return nil, errors.New("no verified checkpoint")
	}
	cp := tiles.Checkpoint{Origin: v.Checkpoint.Origin, Size: v.Checkpoint.Size, Hash: v.Checkpoint.Hash}
	lk, err := src.ClaimsByDigest(ctx, v.Digest, cp.Size)
	if err != nil {
		return nil, err
	}
	var builds []claim.Identity
	for _, pc := range lk.Claims {
		c, _, err := demoCheckClaim(cp, pc)
		if err != nil {
			return nil, err
		}
		for _, s := range c.Subjects {
			if s.SHA256 == v.Digest {
				builds = appendOnce(builds, claim.Identity{Source: c.Source, Commit: c.Commit, Platform: c.Platform, Artifact: s.Name})
			}
		}
	}
	var out []demoConflict
	for _, id := range builds {
		lk, err := src.ClaimsBySource(ctx, id.Source, id.Commit, id.Platform, cp.Size)
		if err != nil {
			return nil, err
		}
		for _, pc := range lk.Claims {
			c, e, err := demoCheckClaim(cp, pc)
			if err != nil {
				return nil, err
			}
			for _, s := range c.Subjects {
				if s.Name != id.Artifact || s.SHA256 == v.Digest {
					continue
				}
				for _, sig := range e.Signatures {
					if name, _, ok := p.Builder(sig.VKey); ok {
						out = append(out, demoConflict{builder: name, index: pc.Index, sha256: s.SHA256})
					}
				}
			}
		}
	}
	return out, nil
}

// demoCheckClaim verifies a claim's inclusion in cp's tree, its entry
// encoding, its signatures and its statement.
func demoCheckClaim(cp tiles.Checkpoint, pc client.ProvenClaim) (*claim.Claim, *claim.Entry, error) {
	p := make([][]byte, len(pc.Proof))
	for i := range pc.Proof {
		p[i] = pc.Proof[i][:]
	}
	if err := verifyInclusion(cp, pc.Index, cp.Size, pc.Entry, p); err != nil {
		return nil, nil, fmt.Errorf("claim %d: %w", pc.Index, err)
	}
	e, err := claim.ParseEntry(pc.Entry)
	if err == nil {
		_, err = e.Verify()
	}
	var c *claim.Claim
	if err == nil {
		c, err = claim.ParseStatement(e.Payload)
	}
	if err != nil {
		return nil, nil, fmt.Errorf("claim %d: %w", pc.Index, err)
	}
	return c, e, nil
}

// exitMeaning spells out the bits of a verify exit code: "builder quorum
// not met", or "2: builder quorum not met + 8: proof, ...".
func exitMeaning(code int) string {
	bits := []int{client.ExitNoClaims, client.ExitNoQuorum, client.ExitConflict, client.ExitVerifyErr}
	texts := []string{"no claims", "builder quorum not met", "conflict by a trusted builder", "proof, signature or checkpoint failure"}
	var parts []string
	for i, b := range bits {
		if code&b != 0 {
			parts = append(parts, fmt.Sprintf("%d: %s", b, texts[i]))
		}
	}
	if len(parts) == 1 {
		_, text, _ := strings.Cut(parts[0], ": ")
		return text
	}
	return strings.Join(parts, " + ")
}

// claimList names claim indexes: "claim 4 names", "claims 0, 1 and 2 name".
func claimList(indexes []uint64) string {
	s := make([]string, len(indexes))
	for i, x := range indexes {
		s[i] = fmt.Sprint(x)
	}
	if len(s) == 1 {
		return "claim " + s[0] + " names"
	}
	return "claims " + andList(s) + " name"
}

// andList joins names as "a, b and c".
func andList(names []string) string {
	if len(names) < 2 {
		return strings.Join(names, "")
	}
	return strings.Join(names[:len(names)-1], ", ") + " and " + names[len(names)-1]
}

// claimKeyName returns the key name of a vkey.
func claimKeyName(vkey string) string {
	name, _, _ := strings.Cut(vkey, "+")
	return name
}

func appendOnce[T comparable](list []T, x T) []T {
	if slices.Contains(list, x) {
		return list
	}
	return append(list, x)
}
