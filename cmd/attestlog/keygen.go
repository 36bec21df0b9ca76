package main

import (
	"crypto/rand"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"strings"

	"github.com/attestlog/attestlog/log/claim"
	"golang.org/x/mod/sumdb/note"
)

// keygen writes a new signed-note key pair to PREFIX.key and PREFIX.vkey.
func keygen(args []string, stdout, stderr io.Writer) error {
	flags := flag.NewFlagSet("keygen", flag.ContinueOnError)
	flags.SetOutput(stderr)
	prefix := flags.String("o", "", "write `PREFIX`.key and PREFIX.vkey (default NAME with '/' replaced by '_')")
	if err := parseFlags(flags, args); errors.Is(err, flag.ErrHelp) {
		return nil
	} else if err != nil {
		return err
	}
	if flags.NArg() != 1 {
		flags.Usage()
		return usageErrorf("keygen: want one key NAME, got %d arguments", flags.NArg())
	}
	name := flags.Arg(0)
	// note.GenerateKey takes any name, but a key whose name is not a valid
	// signed-note name cannot sign or be verified, and one with control or
	// bidi characters would be refused in claims: refuse it before writing.
	if err := claim.CheckKeyName(name); err != nil {
		return usageErrorf("keygen: %v; a key name is one word such as ci.example.org/release", err)
	}
	if *prefix == "" {
		*prefix = strings.ReplaceAll(name, "/", "_")
	}
	keyPath, vkeyPath := *prefix+".key", *prefix+".vkey"
	for _, p := range []string{keyPath, vkeyPath} {
		if _, err := os.Lstat(p); err == nil {
			return fmt.Errorf("%s already exists; not overwriting it", p)
		} else if !errors.Is(err, fs.ErrNotExist) {
			return err
		}
	}
	skey, vkey, err := note.GenerateKey(rand.Reader, name)
	if err != nil {
		return fmt.Errorf("generating key named %q: %w", name, err)
	}
	if err := writeFileAtomic(keyPath, []byte(skey+"\n"), 0o600, false); err != nil {
		return err
	}
	if err := writeFileAtomic(vkeyPath, []byte(vkey+"\n"), 0o644, false); err != nil {
		return err
	}
	fmt.Fprintln(stdout, vkey)
	return nil
}
