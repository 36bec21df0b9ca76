// Package progress draws the progress bar of a transfer on a terminal, for
// attestlog submit --artifact and evidence pull. It draws nothing when the
// writer is not a terminal. A Bar is not safe for concurrent use.
package progress

import (
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/attestlog/attestlog/client/report"
)

const (
	// progressRedraw is the shortest time between two redraws of a
	// progress bar.
	progressRedraw = 100 * time.Millisecond
	// progressWidth is the width of the bar itself, in characters.
	progressWidth = 24
)

// A Bar shows the progress of a transfer on one terminal line:
//
//	uploading hello [=========>              ]  12.0 MiB / 30.0 MiB  4.0 MiB/s  ETA 5s
//
// It is nil, and its methods do nothing, when the writer is not a terminal.
type Bar struct {
	w            io.Writer
	verb, name   string
	total        int64
	start, shown time.Time
	now          func() time.Time
}

// New returns a progress bar of a transfer of total bytes on w,
// or nil if w is not a terminal.
func New(w io.Writer, verb, name string, total int64) *Bar {
	if !IsTerminal(w) {
		return nil
	}
	now := time.Now()
	return &Bar{w: w, verb: verb, name: name, total: total, start: now, now: time.Now}
}

// Update redraws the bar for done bytes, at most every progressRedraw
// except for the last byte.
func (p *Bar) Update(done int64) {
	if p == nil {
		return
	}
	now := p.now()
	if done < p.total && now.Sub(p.shown) < progressRedraw {
		return
	}
	p.shown = now
	fmt.Fprint(p.w, "\r\x1b[K"+p.line(done, now))
}

// Clear erases the bar's line.
func (p *Bar) Clear() {
	if p != nil {
		fmt.Fprint(p.w, "\r\x1b[K")
	}
}

// line formats the bar for done bytes at now: bytes, rate and time left.
func (p *Bar) line(done int64, now time.Time) string {
	frac := 1.0
	if p.total > 0 {
		frac = min(1, float64(done)/float64(p.total))
	}
	filled := int(frac * progressWidth)
	bar := strings.Repeat("=", filled)
	if filled < progressWidth {
		bar += ">" + strings.Repeat(" ", progressWidth-filled-1)
	}
	rate, eta := "-", "-"
	if secs := now.Sub(p.start).Seconds(); secs > 0 && done > 0 {
		r := float64(done) / secs
		rate = humanBytes(r) + "/s"
		eta = (time.Duration(float64(p.total-done)/r*float64(time.Second)) + time.Second/2).Truncate(time.Second).String()
	}
	return fmt.Sprintf("%s %s [%s] %s / %s  %s  ETA %s", p.verb, report.TermSafe(p.name), bar, humanBytes(float64(done)), humanBytes(float64(p.total)), rate, eta)
}

// humanBytes formats a number of bytes in binary units: "512 B", "1.5 MiB".
func humanBytes(n float64) string {
	if n < 1024 {
		return fmt.Sprintf("%.0f B", n)
	}
	units := []string{"KiB", "MiB", "GiB", "TiB"}
	i := 0
	for n /= 1024; n >= 1024 && i < len(units)-1; i++ {
		n /= 1024
	}
	return fmt.Sprintf("%.1f %s", n, units[i])
}

// A Writer counts the bytes written through it into a progress bar.
type Writer struct {
	Bar *Bar
	n   int64
}

// Write counts b and redraws the bar; it never fails.
func (w *Writer) Write(b []byte) (int, error) {
	w.n += int64(len(b))
	w.Bar.Update(w.n)
	return len(b), nil
}

// IsTerminal reports whether w is a terminal (a character device).
func IsTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}
