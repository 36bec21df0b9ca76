package main

import (
	"fmt"
	"io"
	"strings"

	"github.com/attestlog/attestlog/client/report"
)

// printError prints err as main does: "attestlog: <err>", escaped, since
// errors quote what logs, witnesses and files sent. The lines of a
// multi-line error after the first are indented, so that no line a log
// sent can pass for a line of output of its own.
func printError(w io.Writer, err error) {
	msg := strings.ReplaceAll(report.TermSafeText(err.Error()), "\n", "\n  ")
	fmt.Fprintf(w, "attestlog: %s\n", msg)
}
