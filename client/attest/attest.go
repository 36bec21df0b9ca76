// Package attest writes what a builder claims about a build: it hashes the
// artifacts, takes the source and commit from a git checkout (HEAD, the
// remote origin, the branch or tag) and refuses a checkout whose files are
// not the commit's. Its [Claim] is what "attestlog attest" signs; a
// builder's own tooling can use it to attest without the command.
//
// It runs git (which must be in PATH) and reads files; it signs and sends
// nothing. Its functions are safe for concurrent use.
package attest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/url"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"

	"github.com/attestlog/attestlog/client"
	"github.com/attestlog/attestlog/client/report"
	"github.com/attestlog/attestlog/log/claim"
)

// DefaultBuilderIDPrefix, followed by the key name, is the default builder ID.
const DefaultBuilderIDPrefix = "https://attestlog.dev/builders/"

// Options says what to attest. Files and Recipe are required; every other
// zero value means its documented default.
type Options struct {
	Dir        string   // the git checkout the artifacts were built from; "" is the current directory
	Files      []string // the artifacts, each a subject named by its basename
	Recipe     string   // what fixes the build: a file to hash, or sha256:HEX
	Commit     string   // full commit hash; default HEAD of Dir, which must then be clean
	Source     string   // source URI or git remote URL; default Dir's remote origin
	Platform   string   // os/arch[/variant] or any
	BuilderID  string   // builder URI; default DefaultBuilderIDPrefix + the key name
	Ref        string   // git ref noted beside the source, if RefSet
	RefSet     bool     // Ref is given (empty omits it); else HEAD's branch or exact tag when Commit is HEAD
	AllowDirty bool     // attest HEAD of a checkout with uncommitted changes
	Outputs    []string // more build outputs (such as the claim file) the clean check leaves out
}

// Claim gathers the content of a build claim for key's builder: the
// digests of the artifacts c.Files, the recipe, and the source and commit
// from c or, where c leaves them empty, from the git checkout c.Dir. Without
// c.Commit it attests HEAD, and refuses a checkout with uncommitted changes
// unless c.AllowDirty. The caller signs the claim (see
// [claim.NewStatement] and [claim.SignStatement]).
func Claim(ctx context.Context, c Options, key claim.Key) (*claim.Claim, error) {
	cl := &claim.Claim{Platform: c.Platform, BuilderID: c.BuilderID, SourceRef: c.Ref}
	if cl.BuilderID == "" {
		cl.BuilderID = DefaultBuilderIDPrefix + key.Signer.Name()
	}
	var err error
	if cl.Subjects, err = HashSubjects(c.Files); err != nil {
		return nil, err
	}
	if cl.Recipe, err = RecipeDigest(c.Recipe); err != nil {
		return nil, err
	}
	src := c.Source
	if src == "" {
		if src, err = git(ctx, c.Dir, "remote", "get-url", "origin"); err != nil {
			return nil, fmt.Errorf("finding the source URI (or give --source): %w", err)
		}
	}
	if cl.Source, err = SourceURI(src); err != nil {
		return nil, err
	}
	if cl.Commit = c.Commit; cl.Commit == "" {
		if cl.Commit, err = HeadCommit(ctx, c.Dir); err != nil {
			return nil, err
		}
		if err := CheckClean(ctx, c, cl.Commit); err != nil {
			return nil, err
		}
		if !c.RefSet {
			cl.SourceRef = HeadRef(ctx, c.Dir)
		}
	}
	return cl, nil
}

// HashSubjects hashes each file as a subject named by its basename.
func HashSubjects(files []string) ([]claim.Subject, error) {
	seen := map[string]string{}
	subs := make([]claim.Subject, len(files))
	for i, f := range files {
		name := filepath.Base(f)
		if prev, ok := seen[name]; ok {
			return nil, fmt.Errorf("%s and %s have the same name %q; a claim names each artifact once", prev, f, name)
		}
		seen[name] = f
		d, _, err := client.HashFile(f)
		if err != nil {
			return nil, fmt.Errorf("hashing artifact: %w", err)
		}
		subs[i] = claim.Subject{Name: name, SHA256: d}
	}
	return subs, nil
}

// RecipeDigest returns the digest a recipe names: sha256:HEX as is, or the
// sha256 of a file.
func RecipeDigest(recipe string) (string, error) {
	if d, ok := strings.CutPrefix(recipe, "sha256:"); ok {
		h, err := claim.NormaliseDigest(d)
		if err != nil {
			return "", fmt.Errorf("--recipe: %w", err)
		}
		return h, nil
	}
	d, _, err := client.HashFile(recipe)
	if err != nil {
		return "", fmt.Errorf("hashing --recipe: %w", err)
	}
	return d, nil
}

// SourceURI converts the URL of a git remote to a claim's source URI,
// git+https://host/path, normalised as claims are:
//
//	https://host/path[.git]       git+https://host/path
//	git@host:path[.git]           git+https://host/path
//	ssh://git@host[:port]/path    git+https://host/path
//	git+https://host/path         git+https://host/path
//
// User info (credentials) in an https URL is dropped, never put in a
// signed claim. Other schemes and local paths are refused.
func SourceURI(remote string) (string, error) {
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

// HeadCommit returns the full commit hash of HEAD in dir.
func HeadCommit(ctx context.Context, dir string) (string, error) {
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

// HeadRef returns the branch HEAD is on, or else the tag it is at, as a
// full ref name; or "" if it is neither or git cannot say. A ref that
// cannot be a source URI's @ref suffix is left out too: it is only an
// annotation.
func HeadRef(ctx context.Context, dir string) string {
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

// CheckClean refuses to attest HEAD (commit) of a checkout with changes
// that are not committed: modified or staged files, and untracked files
// that are not ignored. An honest builder who attests such a tree claims a
// digest the commit does not give, a mismatch under their own key. The
// artifacts and the claim file are left out: they are outputs of the build.
func CheckClean(ctx context.Context, c Options, commit string) error {
	if c.AllowDirty {
		return nil
	}
	dirty, err := DirtyFiles(ctx, c.Dir, append(slices.Clone(c.Outputs), c.Files...))
	if err != nil || len(dirty) == 0 {
		return err
	}
	shown := dirty
	if len(dirty) > maxDirtyShown {
		shown = append(dirty[:maxDirtyShown:maxDirtyShown], fmt.Sprintf("and %d more", len(dirty)-maxDirtyShown))
	}
	return fmt.Errorf("the checkout %s has changes not in commit %s (%s), so the artifacts may not be what the commit builds; commit or stash them (git stash -u), list build outputs in .gitignore, or give --allow-dirty to attest anyway",
		c.Dir, report.Short(commit), strings.Join(shown, ", "))
}

// DirtyFiles returns what "git status --porcelain" lists in the checkout
// dir, as "XY path" (" M main.go", "?? notes.txt"), leaving out the paths
// in outputs.
func DirtyFiles(ctx context.Context, dir string, outputs []string) ([]string, error) {
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
			dirty = append(dirty, report.TermSafe(r[:2]+" "+r[3:]))
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
