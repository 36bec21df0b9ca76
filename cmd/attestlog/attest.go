package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"

	"github.com/attestlog/attestlog/log/claim"
	"golang.org/x/mod/sumdb/note"
)

// defaultBuilderIDPrefix, followed by the key name, is the default builder ID.
const defaultBuilderIDPrefix = "https://attestlog.dev/builders/"

// attestConfig is the command line of attest.
type attestConfig struct {
	dir, commit, source, recipe, platform string
	key, vkey, builderID, ref, out        string
	refSet                                bool // --ref given, possibly empty to omit the ref
	allowDirty                            bool // attest HEAD of a checkout with uncommitted changes
	files                                 []string
}

func parseAttestFlags(args []string, stderr io.Writer) (attestConfig, error) {
	var c attestConfig
	fs := flag.NewFlagSet("attest", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&c.dir, "dir", ".", "the git checkout the artifacts were built from")
	fs.StringVar(&c.commit, "commit", "", "full commit hash, 40 or 64 hex digits (default: git rev-parse HEAD)")
	fs.StringVar(&c.source, "source", "", "source repository `URI` (default: git remote get-url origin, as git+https://host/path)")
	fs.StringVar(&c.recipe, "recipe", "", "what fixes the build: a `file` to hash (lock file, buildinfo, build script) or sha256:HEX (e.g. an OCI digest); required")
	fs.StringVar(&c.platform, "platform", runtime.GOOS+"/"+runtime.GOARCH, "`os/arch[/variant]` the artifacts are for, or any")
	fs.StringVar(&c.key, "key", envOr("ATTESTLOG_BUILDER_KEY", ""), "the builder's signed-note private key `PREFIX.key`, as written by keygen (env ATTESTLOG_BUILDER_KEY)")
	fs.StringVar(&c.vkey, "vkey", "", "the builder's verifier key `file` (default: PREFIX.vkey beside --key)")
	fs.StringVar(&c.builderID, "builder-id", "", "builder `URI`, informative (default "+defaultBuilderIDPrefix+"<key name>)")
	fs.StringVar(&c.ref, "ref", "", "git ref to note beside the source, e.g. refs/tags/v1.0; empty omits it (default: the branch or exact tag of HEAD)")
	fs.StringVar(&c.out, "o", "", "write the claim to `file` (default standard output)")
	fs.BoolVar(&c.allowDirty, "allow-dirty", false, "attest HEAD even if the checkout has uncommitted changes or untracked files (which the artifacts may contain)")
	pos, err := parseArgs(fs, args)
	if err != nil {
		return c, err
	}
	fs.Visit(func(f *flag.Flag) { c.refSet = c.refSet || f.Name == "ref" })
	c.files = pos
	switch {
	case len(c.files) == 0:
		return c, usageErrorf("attest: no artifact FILE to attest")
	case c.recipe == "":
		return c, usageErrorf("attest: --recipe is required: the file or sha256 digest that fixes the build")
	case c.key == "":
		return c, usageErrorf("attest: --key (or ATTESTLOG_BUILDER_KEY) is required")
	}
	if c.commit != "" {
		if c.commit, err = claim.NormaliseCommit(c.commit); err != nil {
			return c, usageErrorf("attest: --commit: %v", err)
		}
	}
	return c, nil
}

// attest hashes build artifacts and writes a signed build claim about them.
func attest(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	c, err := parseAttestFlags(args, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return nil
	} else if err != nil {
		return err
	}
	key, err := loadBuilderKey(c.key, c.vkey)
	if err != nil {
		return err
	}
	cl, err := c.claim(ctx, key)
	if err != nil {
		return err
	}
	st, err := claim.NewStatement(cl)
	if err != nil {
		return err
	}
	e, err := claim.SignStatement(st, key)
	if err != nil {
		return err
	}
	env := append(e.Envelope(), '\n')
	if c.out == "" {
		_, err = stdout.Write(env)
		return err
	}
	return writeFileAtomic(c.out, env, 0o644, true)
}

// claim gathers the content of the claim: the artifacts' digests, the
// recipe, and the source and commit from flags or git.
func (c attestConfig) claim(ctx context.Context, key claim.Key) (*claim.Claim, error) {
	cl := &claim.Claim{Platform: c.platform, BuilderID: c.builderID, SourceRef: c.ref}
	if cl.BuilderID == "" {
		cl.BuilderID = defaultBuilderIDPrefix + key.Signer.Name()
	}
	var err error
	if cl.Subjects, err = hashSubjects(c.files); err != nil {
		return nil, err
	}
	if cl.Recipe, err = recipeDigest(c.recipe); err != nil {
		return nil, err
	}
	src := c.source
	if src == "" {
		if src, err = git(ctx, c.dir, "remote", "get-url", "origin"); err != nil {
			return nil, fmt.Errorf("finding the source URI (or give --source): %w", err)
		}
	}
	if cl.Source, err = sourceURI(src); err != nil {
		return nil, err
	}
	if cl.Commit = c.commit; cl.Commit == "" {
		if cl.Commit, err = headCommit(ctx, c.dir); err != nil {
			return nil, err
		}
		if err := c.checkClean(ctx, cl.Commit); err != nil {
			return nil, err
		}
		if !c.refSet {
			cl.SourceRef = headRef(ctx, c.dir)
		}
	}
	return cl, nil
}

// hashSubjects hashes each file as a subject named by its basename.
func hashSubjects(files []string) ([]claim.Subject, error) {
	seen := map[string]string{}
	subs := make([]claim.Subject, len(files))
	for i, f := range files {
		name := filepath.Base(f)
		if prev, ok := seen[name]; ok {
			return nil, fmt.Errorf("%s and %s have the same name %q; a claim names each artifact once", prev, f, name)
		}
		seen[name] = f
		d, _, err := hashFile(f)
		if err != nil {
			return nil, fmt.Errorf("hashing artifact: %w", err)
		}
		subs[i] = claim.Subject{Name: name, SHA256: d}
	}
	return subs, nil
}

// recipeDigest returns the digest --recipe names: sha256:HEX as is, or the
// sha256 of a file.
func recipeDigest(recipe string) (string, error) {
	if d, ok := strings.CutPrefix(recipe, "sha256:"); ok {
		h, err := claim.NormaliseDigest(d)
		if err != nil {
			return "", fmt.Errorf("--recipe: %w", err)
		}
		return h, nil
	}
	d, _, err := hashFile(recipe)
	if err != nil {
		return "", fmt.Errorf("hashing --recipe: %w", err)
	}
	return d, nil
}

// loadBuilderKey reads a builder's private key and its verifier key (from
// vkeyPath, or beside the key) and checks that they are one key pair by
// signing a note and verifying it.
func loadBuilderKey(keyPath, vkeyPath string) (claim.Key, error) {
	if vkeyPath == "" {
		vkeyPath = strings.TrimSuffix(keyPath, ".key") + ".vkey"
	}
	skey, err := readKey(keyPath)
	if err != nil {
		return claim.Key{}, fmt.Errorf("reading builder key: %w", err)
	}
	signer, err := note.NewSigner(skey)
	if err != nil {
		return claim.Key{}, fmt.Errorf("%s: %w", keyPath, err)
	}
	b, err := os.ReadFile(vkeyPath)
	if err != nil {
		return claim.Key{}, fmt.Errorf("reading builder verifier key: %w", err)
	}
	vkey := strings.TrimSpace(string(b))
	v, err := claim.ParseVKey(vkey)
	if err != nil {
		return claim.Key{}, fmt.Errorf("%s: %w", vkeyPath, err)
	}
	msg, err := note.Sign(&note.Note{Text: "attestlog builder key check\n"}, signer)
	if err == nil {
		_, err = note.Open(msg, note.VerifierList(v))
	}
	if err != nil {
		return claim.Key{}, fmt.Errorf("%s and %s are not one key pair: %w", keyPath, vkeyPath, err)
	}
	return claim.Key{Signer: signer, VKey: vkey}, nil
}

// sourceURI converts the URL of a git remote to a claim's source URI,
// git+https://host/path, normalised as claims are:
//
//	https://host/path[.git]       git+https://host/path
//	git@host:path[.git]           git+https://host/path
//	ssh://git@host[:port]/path    git+https://host/path
//	git+https://host/path         git+https://host/path
//
// User info (credentials) in an https URL is dropped, never put in a
// signed claim. Other schemes and local paths are refused.
func sourceURI(remote string) (string, error) {
	host, path, err := splitRemote(remote)
	if err != nil {
		return "", fmt.Errorf("source %q: %w", remote, err)
	}
	path = strings.TrimPrefix(path, "/")
	src, _, err := claim.NormaliseSource("git+https://" + host + "/" + path)
	if err != nil {
		return "", fmt.Errorf("source %q: %w", remote, err)
	}
	return src, nil
}

func splitRemote(remote string) (host, path string, err error) {
	scheme, _, ok := strings.Cut(remote, "://")
	if !ok {
		return splitSCPLike(remote)
	}
	u, err := url.Parse(remote)
	if err != nil {
		return "", "", err
	}
	switch strings.ToLower(scheme) {
	case "https", "git+https":
		host = u.Host
	case "ssh", "git+ssh", "ssh+git":
		host = u.Hostname() // the ssh port is not the https port
	default:
		return "", "", fmt.Errorf("scheme %s cannot be mapped to https; give --source git+https://host/path", scheme)
	}
	if host == "" || u.RawQuery != "" || u.Fragment != "" {
		return "", "", errors.New("want a host and a path, and no query or fragment")
	}
	return host, u.Path, nil
}

// splitSCPLike splits git's scp-like remote syntax, [user@]host:path, which
// git recognises by the absence of a slash before the first colon.
func splitSCPLike(remote string) (host, path string, err error) {
	host, path, ok := strings.Cut(remote, ":")
	if !ok || strings.Contains(host, "/") {
		return "", "", errors.New("not a remote URL (https://host/path, git@host:path or ssh://git@host/path)")
	}
	if i := strings.LastIndex(host, "@"); i >= 0 {
		host = host[i+1:]
	}
	if host == "" || path == "" || strings.HasPrefix(path, "~") {
		return "", "", errors.New("want [user@]host:path with a host and a repository path")
	}
	return host, path, nil
}

// headCommit returns the full commit hash of HEAD in dir.
func headCommit(ctx context.Context, dir string) (string, error) {
	out, err := git(ctx, dir, "rev-parse", "HEAD")
	if err != nil {
		return "", fmt.Errorf("finding the commit (or give --commit): %w", err)
	}
	c, err := claim.NormaliseCommit(out)
	if err != nil {
		return "", fmt.Errorf("git rev-parse HEAD: %w", err)
	}
	return c, nil
}

// headRef returns the branch HEAD is on, or else the tag it is at, as a
// full ref name; or "" if it is neither or git cannot say. A ref that
// cannot be a source URI's @ref suffix is left out too: it is only an
// annotation.
func headRef(ctx context.Context, dir string) string {
	ref, err := git(ctx, dir, "symbolic-ref", "-q", "HEAD")
	if err != nil || ref == "" {
		tag, err := git(ctx, dir, "describe", "--exact-match", "--tags", "HEAD")
		if err != nil || tag == "" {
			return ""
		}
		ref = "refs/tags/" + tag
	}
	if _, _, err := claim.NormaliseSource("git+https://example.org/x@" + ref); err != nil {
		return ""
	}
	return ref
}

// maxDirtyShown bounds the files a refusal of a dirty checkout names.
const maxDirtyShown = 10

// checkClean refuses to attest HEAD (commit) of a checkout with changes
// that are not committed: modified or staged files, and untracked files
// that are not ignored. An honest builder who attests such a tree claims a
// digest the commit does not give, a mismatch under their own key. The
// artifacts and the claim file are left out: they are outputs of the build.
func (c attestConfig) checkClean(ctx context.Context, commit string) error {
	if c.allowDirty {
		return nil
	}
	dirty, err := dirtyFiles(ctx, c.dir, append([]string{c.out}, c.files...))
	if err != nil || len(dirty) == 0 {
		return err
	}
	shown := dirty
	if len(dirty) > maxDirtyShown {
		shown = append(dirty[:maxDirtyShown:maxDirtyShown], fmt.Sprintf("and %d more", len(dirty)-maxDirtyShown))
	}
	return fmt.Errorf("the checkout %s has changes not in commit %s (%s), so the artifacts may not be what the commit builds; commit or stash them (git stash -u), list build outputs in .gitignore, or give --allow-dirty to attest anyway",
		c.dir, short(commit), strings.Join(shown, ", "))
}

// dirtyFiles returns what "git status --porcelain" lists in the checkout
// dir, as "XY path" (" M main.go", "?? notes.txt"), leaving out the paths
// in outputs.
func dirtyFiles(ctx context.Context, dir string, outputs []string) ([]string, error) {
	top, err := git(ctx, dir, "rev-parse", "--show-toplevel")
	if err != nil {
		return nil, fmt.Errorf("checking the checkout for uncommitted changes: %w", err)
	}
	skip := map[string]bool{}
	for _, p := range outputs {
		if p == "" {
			continue
		}
		if rel, err := relativeTo(top, p); err == nil {
			skip[rel] = true
		}
	}
	out, err := gitOutput(ctx, dir, "status", "--porcelain=v1", "-z", "--untracked-files=all")
	if err != nil {
		return nil, fmt.Errorf("checking the checkout for uncommitted changes: %w", err)
	}
	var dirty []string
	recs := strings.Split(strings.TrimSuffix(out, "\x00"), "\x00")
	for i := 0; i < len(recs); i++ {
		r := recs[i]
		if len(r) < 4 {
			continue
		}
		if r[0] == 'R' || r[0] == 'C' {
			i++ // the record after a rename or copy is its source
		}
		if !skip[r[3:]] {
			dirty = append(dirty, termSafe(r[:2]+" "+r[3:]))
		}
	}
	return dirty, nil
}

// relativeTo returns path relative to the directory top, both with
// symbolic links resolved, in git's slash form.
func relativeTo(top, path string) (string, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return "", err
	}
	if d, err := filepath.EvalSymlinks(filepath.Dir(abs)); err == nil {
		abs = filepath.Join(d, filepath.Base(abs))
	}
	if t, err := filepath.EvalSymlinks(top); err == nil {
		top = t
	}
	rel, err := filepath.Rel(top, abs)
	return filepath.ToSlash(rel), err
}

// git runs git -C dir args... and returns its output without surrounding
// space.
func git(ctx context.Context, dir string, args ...string) (string, error) {
	out, err := gitOutput(ctx, dir, args...)
	return strings.TrimSpace(out), err
}

// gitOutput runs git -C dir args... and returns its output as is.
func gitOutput(ctx context.Context, dir string, args ...string) (string, error) {
	var stdout, stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, "git", append([]string{"-C", dir}, args...)...)
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		if msg := strings.TrimSpace(stderr.String()); msg != "" {
			return "", fmt.Errorf("git %s: %w: %s", strings.Join(args, " "), err, msg)
		}
		return "", fmt.Errorf("git %s: %w", strings.Join(args, " "), err)
	}
	return stdout.String(), nil
}
