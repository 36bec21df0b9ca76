package usage

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/attestlog/attestlog/client/report"
)

// Parse parses args with fs. A bad flag is an [Error]; -h is
// flag.ErrHelp, which commands report as success once fs has printed its
// usage, in the style of every command (see [Set]).
func Parse(fs *flag.FlagSet, args []string) error {
	Set(fs)
	err := fs.Parse(args)
	if err != nil && !errors.Is(err, flag.ErrHelp) {
		return Error{Err: fmt.Errorf("%s: %w", fs.Name(), err)}
	}
	return err
}

// ParseArgs parses args with fs, allowing flags after positional
// arguments ("evidence pull 3 -o DIR"), and returns the positional ones.
// After "--" everything is positional.
func ParseArgs(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := Parse(fs, args); err != nil {
			return nil, err
		}
		rest := fs.Args()
		if n := len(args) - len(rest); n > 0 && args[n-1] == "--" {
			return append(pos, rest...), nil
		}
		if len(rest) == 0 {
			return pos, nil
		}
		pos, args = append(pos, rest[0]), rest[1:]
	}
}

// Env returns the environment variable name, or def if it is unset or
// empty: the default of a flag that falls back to the environment.
func Env(name, def string) string {
	if v, ok := os.LookupEnv(name); ok && v != "" {
		return v
	}
	return def
}

// EnvFloat is [Env] for a number; a value that is no number is def.
func EnvFloat(name string, def float64) float64 {
	if v, err := strconv.ParseFloat(os.Getenv(name), 64); err == nil {
		return v
	}
	return def
}

// EnvDuration is [Env] for a duration; a value that is no duration is def.
func EnvDuration(name string, def time.Duration) time.Duration {
	if d, err := time.ParseDuration(os.Getenv(name)); err == nil {
		return d
	}
	return def
}

// PrintError prints err as attestlog exits with it: "attestlog: <err>",
// escaped, since errors quote what logs, witnesses and files sent. The
// lines of a multi-line error after the first are indented, so that no
// line a log sent can pass for a line of output of its own.
func PrintError(w io.Writer, err error) {
	msg := strings.ReplaceAll(report.TermSafeText(err.Error()), "\n", "\n  ")
	fmt.Fprintf(w, "attestlog: %s\n", msg)
}
