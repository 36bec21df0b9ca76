// Package bindiff compares two binaries that claim to be one build, as an
// investigator of a mismatch does (attestlog evidence pull --diff): with
// diffoscope (https://diffoscope.org) if it is installed, which explains
// the difference format by format, else by size and first differing byte.
//
// It reads local files and may run diffoscope; it uses no network and
// verifies nothing: whether the binaries are the ones a log's claims name
// is for package client to check. Its functions are safe for concurrent use.
package bindiff

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
)

// ErrNoDiffoscope means that diffoscope is not in PATH.
var ErrNoDiffoscope = errors.New("bindiff: diffoscope is not in PATH")

// Diffoscope runs diffoscope on the files a and b, streaming its report to
// stdout and its diagnostics to stderr. That the files differ is no error
// (diffoscope exits 1 then); that diffoscope cannot compare them is. It
// returns [ErrNoDiffoscope] if diffoscope is not installed, so that the
// caller can fall back to [CompareFiles].
func Diffoscope(ctx context.Context, a, b string, stdout, stderr io.Writer) error {
	p, err := exec.LookPath("diffoscope")
	if err != nil {
		return ErrNoDiffoscope
	}
	cmd := exec.CommandContext(ctx, p, a, b)
	cmd.Stdout, cmd.Stderr = stdout, stderr
	err = cmd.Run()
	if ee := (*exec.ExitError)(nil); errors.As(err, &ee) && ee.ExitCode() == 1 {
		return nil
	}
	if err != nil {
		return fmt.Errorf("diffoscope: %w", err)
	}
	return nil
}

// A Comparison says how two files differ, byte by byte.
type Comparison struct {
	SizeA, SizeB int64
	// Equal reports whether the files hold the same bytes.
	Equal bool
	// Offset is the first byte at which the files differ: the size of the
	// shorter if it is a prefix of the other, their size if Equal.
	Offset int64
}

// CompareFiles compares the files a and b, reading each once.
func CompareFiles(a, b string) (Comparison, error) {
	fa, err := os.Open(a)
	if err != nil {
		return Comparison{}, err
	}
	defer fa.Close()
	fb, err := os.Open(b)
	if err != nil {
		return Comparison{}, err
	}
	defer fb.Close()
	var c Comparison
	if c.Offset, c.Equal, err = FirstDifference(fa, fb); err != nil {
		return Comparison{}, fmt.Errorf("comparing %s and %s: %w", a, b, err)
	}
	if c.SizeA, err = fa.Seek(0, io.SeekEnd); err != nil {
		return Comparison{}, err
	}
	if c.SizeB, err = fb.Seek(0, io.SeekEnd); err != nil {
		return Comparison{}, err
	}
	return c, nil
}

// Describe says, in lines for people, how big the files nameA and nameB
// are and where they differ:
//
//	a: 11 bytes
//	b: 5 bytes
//	b is a prefix of a
//
// The last line is "the files are identical", "X is a prefix of Y", or
// "first difference at byte offset 153 (0x99)". The names are printed as
// given: a caller showing untrusted names on a terminal escapes them first.
func (c Comparison) Describe(nameA, nameB string) string {
	s := fmt.Sprintf("%s: %d bytes\n%s: %d bytes\n", nameA, c.SizeA, nameB, c.SizeB)
	switch {
	case c.Equal:
		return s + "the files are identical\n"
	case c.Offset == min(c.SizeA, c.SizeB) && c.SizeA < c.SizeB:
		return s + fmt.Sprintf("%s is a prefix of %s\n", nameA, nameB)
	case c.Offset == min(c.SizeA, c.SizeB) && c.SizeB < c.SizeA:
		return s + fmt.Sprintf("%s is a prefix of %s\n", nameB, nameA)
	}
	return s + fmt.Sprintf("first difference at byte offset %d (%#x)\n", c.Offset, c.Offset)
}

// FirstDifference reads a and b to the first byte where they differ and
// returns its offset, which is the length of the shorter if it is a prefix
// of the other; or, if they are the same, their length and equal. It
// reads 64 KiB at a time from each.
func FirstDifference(a, b io.Reader) (off int64, equal bool, err error) {
	ba, bb := make([]byte, 64<<10), make([]byte, 64<<10)
	for {
		na, err := io.ReadFull(a, ba)
		if err != nil && err != io.EOF && err != io.ErrUnexpectedEOF {
			return 0, false, err
		}
		nb, err := io.ReadFull(b, bb)
		if err != nil && err != io.EOF && err != io.ErrUnexpectedEOF {
			return 0, false, err
		}
		n := min(na, nb)
		for i := range n {
			if ba[i] != bb[i] {
				return off + int64(i), false, nil
			}
		}
		off += int64(n)
		if na != nb {
			return off, false, nil
		}
		if na < len(ba) {
			return off, true, nil
		}
	}
}
