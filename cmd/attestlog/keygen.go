package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"

	"github.com/attestlog/attestlog/cmd/attestlog/internal/datadir"
	"github.com/attestlog/attestlog/cmd/attestlog/internal/usage"
	"github.com/attestlog/attestlog/log/claim"
)

// keygen writes a new signed-note key pair to PREFIX.key and PREFIX.vkey.
func keygen(args []string, stdout, stderr io.Writer) error {
	flags := flag.NewFlagSet("keygen", flag.ContinueOnError)
	flags.SetOutput(stderr)
	prefix := flags.String("o", "", "write `PREFIX`.key and PREFIX.vkey (default NAME with '/' replaced by '_')")
	if err := usage.Parse(flags, args); errors.Is(err, flag.ErrHelp) {
		return nil
	} else if err != nil {
		return err
	}
	if flags.NArg() != 1 {
		flags.Usage()
		return usage.Errorf("keygen: want one key NAME, got %d arguments", flags.NArg())
	}
	name := flags.Arg(0)
	// note.GenerateKey takes any name, but a key whose name is not a valid
	// signed-note name cannot sign or be verified, and one with control or
	// bidi characters would be refused in claims: refuse it before writing.
	if err := claim.CheckKeyName(name); err != nil {
		return usage.Errorf("keygen: %v; a key name is one word such as ci.example.org/release", err)
	}
	if *prefix == "" {
		*prefix = strings.ReplaceAll(name, "/", "_")
	}
	vkey, err := datadir.WriteKeyPair(*prefix, name)
	if err != nil {
		return err
	}
	fmt.Fprintln(stdout, vkey)
	return nil
}
