package demo

import (
	"context"
	"errors"
	"io"
	"io/fs"
	"os"
	"strings"
	"testing"
)

// The whole demo, through attestlog's real subcommands, is tested in
// cmd/attestlog (TestDemo, TestDemoInterrupted): only the command can
// pass in its Runner. These tests cover what does not need one.

func TestRunWithoutRunner(t *testing.T) {
	err := Run(context.Background(), Config{})
	if err == nil || !strings.Contains(err.Error(), "no Runner") {
		t.Fatalf("Run without a Runner = %v, want an error saying so", err)
	}
}

// TestRunStepFails runs the demo with a Runner whose subcommands all fail:
// step 1 must fail, naming the step and the subcommand's standard error,
// and the directory must be gone.
func TestRunStepFails(t *testing.T) {
	if _, err := goCommand(); err != nil {
		t.Skip(err)
	}
	var ran []string
	fail := func(_ context.Context, args []string, _, stderr io.Writer) error {
		ran = append(ran, args[0])
		io.WriteString(stderr, "attestlog: cannot write keys here\n")
		return errors.New("exit status 1")
	}
	var out strings.Builder
	err := Run(context.Background(), Config{Run: fail, Stdout: &out})
	want := "demo: step 1 (a log and three witnesses): attestlog keygen: exit status 1\nattestlog: cannot write keys here"
	if err == nil || err.Error() != want {
		t.Fatalf("Run = %v, want %q", err, want)
	}
	if len(ran) != 1 || ran[0] != "keygen" {
		t.Errorf("the demo ran %q after keygen failed, want only keygen", ran)
	}
	first, _, _ := strings.Cut(out.String(), "\n")
	_, dir, ok := strings.Cut(first, "on loopback, in ")
	if !ok {
		t.Fatalf("the demo did not say where it works: %q", first)
	}
	if _, err := os.Stat(dir); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("the demo's directory is still there: %v", err)
	}
}

func TestWrap(t *testing.T) {
	long := strings.Repeat("x", 120)
	for _, tt := range []struct{ in, want string }{
		{"", "  \n"},
		{"one  two\nthree", "   one two three\n"},
		{strings.Repeat("word ", 25), "  " + strings.Repeat(" word", 19) + "\n  " + strings.Repeat(" word", 6) + "\n"},
		{long + " y", "   " + long + "\n   y\n"},
	} {
		if got := wrap(tt.in); got != tt.want {
			t.Errorf("wrap(%q) = %q, want %q", tt.in, got, tt.want)
		}
		for _, l := range strings.Split(strings.TrimSuffix(wrap(tt.in), "\n"), "\n") {
			if len(l) > width && strings.Count(strings.TrimSpace(l), " ") > 0 {
				t.Errorf("wrap(%q) printed a line of %d bytes with more than one word", tt.in, len(l))
			}
		}
	}
}

func TestWording(t *testing.T) {
	for _, tt := range []struct{ got, want string }{
		{exitMeaning(2), "builder quorum not met"},
		{exitMeaning(10), "2: builder quorum not met + 8: proof, signature or checkpoint failure"},
		{claimList([]uint64{4}), "claim 4 names"},
		{claimList([]uint64{0, 1, 2}), "claims 0, 1 and 2 name"},
		{andList(nil), ""},
		{andList([]string{"a"}), "a"},
		{andList([]string{"a", "b"}), "a and b"},
		{keyName("builder.example/mirror+1234abcd+AQID"), "builder.example/mirror"},
		{short("0123456789abcdef"), "0123456789ab"},
		{short("0123"), "0123"},
		{rollbackRefusal(errors.New("attestlog submit: exit status 1\nattestlog: log: store rolled back: witness w1 has cosigned tree size 5, this log holds tree size 4; appends are refused until ...")),
			"log: store rolled back: witness w1 has cosigned tree size 5, this log holds tree size 4."},
		{rollbackRefusal(errors.New("attestlog submit: connection refused")), ""},
	} {
		if tt.got != tt.want {
			t.Errorf("got %q, want %q", tt.got, tt.want)
		}
	}
}
