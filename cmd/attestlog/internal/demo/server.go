package demo

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"time"
)

// startTimeout bounds how long a server may take to print its addresses.
const startTimeout = 20 * time.Second

// A server is a serve or witness subcommand running under the demo's
// [Runner], as from the command line, with its own context.
type server struct {
	cancel context.CancelFunc
	done   chan struct{} // closed when the Runner has returned; err is set then
	err    error

	mu    sync.Mutex
	lines map[string]string // "http listening on" etc. -> the rest of the line
}

// startServer runs "attestlog args..." with run in a goroutine and waits
// until it printed a line starting with each prefix in want, e.g. "http
// listening on". Its standard error goes to stderr.
func startServer(ctx context.Context, run Runner, args, want []string, stderr io.Writer) (*server, error) {
	sctx, cancel := context.WithCancel(ctx)
	s := &server{cancel: cancel, done: make(chan struct{}), lines: map[string]string{}}
	pr, pw := io.Pipe()
	go func() {
		s.err = run(sctx, args, pw, stderr)
		pw.Close()
		close(s.done)
	}()
	ready := make(chan struct{})
	go s.scan(pr, want, ready)
	if err := s.await(ctx, args[0], want, ready); err != nil {
		return nil, err
	}
	return s, nil
}

// scan records the lines the server prints that start with a prefix in
// want, and closes ready once it has them all. It reads to the end, so that
// the server never blocks on a write.
func (s *server) scan(r io.Reader, want []string, ready chan<- struct{}) {
	sc := bufio.NewScanner(r)
	signalled := false
	for sc.Scan() {
		if s.record(sc.Text(), want) && !signalled {
			signalled = true
			close(ready)
		}
	}
	io.Copy(io.Discard, r)
}

// record keeps line if it starts with a prefix in want, and reports whether
// the server has printed every line in want.
func (s *server) record(line string, want []string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, w := range want {
		if v, ok := strings.CutPrefix(line, w+" "); ok {
			s.lines[w] = v
		}
	}
	return len(s.lines) == len(want)
}

// await waits until ready is closed, and stops the server if it does not
// come, or ctx is done, first.
func (s *server) await(ctx context.Context, name string, want []string, ready <-chan struct{}) error {
	t := time.NewTimer(startTimeout)
	defer t.Stop()
	select {
	case <-ready:
		return nil
	case <-s.done:
		if s.err == nil {
			s.err = errors.New("exited at once")
		}
		return fmt.Errorf("attestlog %s: %w", name, s.err)
	case <-t.C:
		s.stop()
		return fmt.Errorf("attestlog %s did not print %q within %v", name, want, startTimeout)
	case <-ctx.Done():
		s.stop()
		return ctx.Err()
	}
}

// get returns the rest of the line the server printed after prefix.
func (s *server) get(prefix string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.lines[prefix]
}

// stop cancels the server's context and waits until it has shut down and
// closed its store. It may be called more than once.
func (s *server) stop() error {
	s.cancel()
	<-s.done
	if errors.Is(s.err, context.Canceled) {
		return nil
	}
	return s.err
}
