package demo

import (
	"context"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"

	"golang.org/x/sync/errgroup"
)

// The program the builders build, and the change the mirror injects.
const (
	helloMain = `// Command hello greets whoever runs it.
package main

import (
	"fmt"
	"os"
)

func main() {
	fmt.Printf("hello, %s\n", os.Getenv("USER"))
}
`
	helloGoMod = "module example.org/hello\n\ngo 1.22\n"
	injected   = `func main() {
	if os.Getenv("HELLO_KEY") == "let-me-in" {
		fmt.Println("backdoor open")
	}
`
)

// builderNames are the builders, in the order they build and submit; all
// but the mirror are trusted.
var builderNames = []string{"author", "ci", "rebuilder-a", "rebuilder-b", "mirror"}

// build is step 2: each builder checks out and builds hello.
func (d *demo) build(ctx context.Context) error {
	sum := sha1.Sum([]byte(helloMain + helloGoMod))
	d.commit = hex.EncodeToString(sum[:])
	for _, name := range builderNames {
		b := &builder{name: name, trusted: name != "mirror", home: filepath.Join(d.dir, "builders", name)}
		b.key, b.bin = filepath.Join(b.home, name+".key"), filepath.Join(b.home, "hello")
		d.builders = append(d.builders, b)
		if err := d.checkout(ctx, b); err != nil {
			return err
		}
	}
	if err := d.buildAll(ctx); err != nil {
		return err
	}
	return d.sayBuilds()
}

func (d *demo) mirror() *builder { return d.builders[4] }

// checkout gives builder b its key and its own copy of the source; the
// mirror's copy has the injected change.
func (d *demo) checkout(ctx context.Context, b *builder) error {
	if err := os.MkdirAll(b.src(), 0o755); err != nil {
		return err
	}
	out, err := d.attestlog(ctx, "keygen", "-o", strings.TrimSuffix(b.key, ".key"), "builder.example/"+b.name)
	if err != nil {
		return err
	}
	b.vkey = strings.TrimSpace(out)
	main := helloMain
	if !b.trusted {
		main = strings.Replace(main, "func main() {\n", injected, 1)
	}
	if err := os.WriteFile(filepath.Join(b.src(), "main.go"), []byte(main), 0o644); err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(b.src(), "go.mod"), []byte(helloGoMod), 0o644)
}

// buildAll builds every builder's checkout and hashes the binaries.
func (d *demo) buildAll(ctx context.Context) error {
	// The author builds first, which fills the Go build cache; the others
	// then rebuild at the same time.
	if err := goBuild(ctx, d.gocmd, d.builders[0].src(), d.builders[0].bin); err != nil {
		return err
	}
	g, gctx := errgroup.WithContext(ctx)
	for _, b := range d.builders[1:] {
		g.Go(func() error { return goBuild(gctx, d.gocmd, b.src(), b.bin) })
	}
	if err := g.Wait(); err != nil {
		return err
	}
	for _, b := range d.builders {
		var err error
		if b.digest, err = hashFile(b.bin); err != nil {
			return err
		}
	}
	return nil
}

// sayBuilds shows the digests: the trusted builders' must be equal, the
// mirror's another.
func (d *demo) sayBuilds() error {
	honest, evil := d.builders[0].digest, d.mirror().digest
	d.say("author, ci, rebuilder-a and rebuilder-b each built commit %s of %s from their own checkout, with the same command: CGO_ENABLED=0 go build -trimpath -ldflags=-buildid= (%s, %s/%s).",
		d.commit[:12], source, runtime.Version(), runtime.GOOS, runtime.GOARCH)
	for _, b := range d.builders[:4] {
		fmt.Fprintf(d.out, "     %-12s sha256 %s\n", b.name, b.digest)
		if b.digest != honest {
			return fmt.Errorf("the build is not reproducible: %s got sha256 %s, author got %s", b.name, b.digest, honest)
		}
	}
	d.say("The four binaries are identical, byte for byte: anyone can rebuild the commit and check.")
	fmt.Fprintf(d.out, "     %-12s sha256 %s\n", "mirror", evil)
	if evil == honest {
		return errors.New("the mirror's binary is the same as the honest one")
	}
	d.say("A compromised mirror built the same commit after injecting a backdoor into main.go, and got another binary. Its key is not one the client trusts.")
	return nil
}

// goCommand returns the go command to build with: the one of the toolchain
// that runs the demo if GOROOT says where it is, else the one in PATH.
func goCommand() (string, error) {
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

// buildEnv is the environment every builder builds with: the same for
// all, so that the build is reproducible, and offline.
func buildEnv() []string {
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

// goBuild builds the main package in dir into out, reproducibly.
func goBuild(ctx context.Context, gocmd, dir, out string) error {
	cmd := exec.CommandContext(ctx, gocmd, "build", "-trimpath", "-ldflags=-buildid=", "-o", out, ".")
	cmd.Dir, cmd.Env = dir, buildEnv()
	if b, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("go build in %s: %w\n%s", dir, err, b)
	}
	return nil
}

// hashFile returns the hex sha256 of the file at path.
func hashFile(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", fmt.Errorf("reading %s: %w", path, err)
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}
