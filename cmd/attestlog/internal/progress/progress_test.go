package progress

import (
	"bytes"
	"strings"
	"testing"
	"time"
)

func TestProgressBarLine(t *testing.T) {
	start := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	p := &Bar{verb: "uploading", name: "hello", total: 30 << 20, start: start}
	for _, tt := range []struct {
		done    int64
		elapsed time.Duration
		want    string
	}{
		{12 << 20, 3 * time.Second, "uploading hello [=========>              ] 12.0 MiB / 30.0 MiB  4.0 MiB/s  ETA 5s"},
		{0, 0, "uploading hello [>                       ] 0 B / 30.0 MiB  -  ETA -"},
		{30 << 20, 10 * time.Second, "uploading hello [========================] 30.0 MiB / 30.0 MiB  3.0 MiB/s  ETA 0s"},
	} {
		if got := p.line(tt.done, start.Add(tt.elapsed)); got != tt.want {
			t.Errorf("line(%d after %v) =\n%q, want\n%q", tt.done, tt.elapsed, got, tt.want)
		}
	}
	p.name = "evil\x1b[2Jname"
	if got := p.line(0, start); !strings.Contains(got, `evil\x1b[2Jname`) {
		t.Errorf("line shows the name %q unescaped: %q", p.name, got)
	}
}

// TestProgressBarRedraws checks that the bar redraws at most every
// progressRedraw, and always for the last byte.
func TestProgressBarRedraws(t *testing.T) {
	var out bytes.Buffer
	start := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	now := start
	p := &Bar{w: &out, verb: "downloading", name: "hello", total: 100, start: start, now: func() time.Time { return now }}
	for i, step := range []struct {
		after time.Duration
		done  int64
	}{{10 * time.Millisecond, 10}, {20 * time.Millisecond, 20}, {150 * time.Millisecond, 50}, {160 * time.Millisecond, 100}} {
		now = start.Add(step.after)
		p.Update(step.done)
		if got, want := strings.Count(out.String(), "\r\x1b[K"), []int{1, 1, 2, 3}[i]; got != want {
			t.Errorf("after update(%d) at %v: %d redraws, want %d", step.done, step.after, got, want)
		}
	}
}

// TestProgressBarOnlyOnTerminal checks where a bar is shown: on a terminal
// (a pseudo-terminal here), not in a buffer or a pipe.
