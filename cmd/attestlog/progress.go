package main

import (
	"fmt"
	"io"
	"strings"
	"time"
)

const (
	// progressRedraw is the shortest time between two redraws of a
	// progress bar.
	progressRedraw = 100 * time.Millisecond
	// progressWidth is the width of the bar itself, in characters.
	progressWidth = 24
)

// A progressBar shows the progress of a transfer on one terminal line:
//
//	uploading hello [=========>              ]  12.0 MiB / 30.0 MiB  4.0 MiB/s  ETA 5s
//
// It is nil, and its methods do nothing, when the writer is not a terminal.
type progressBar struct {
	w            io.Writer
	verb, name   string
	total        int64
	start, shown time.Time
	now          func() time.Time
}

// newProgressBar returns a progress bar of a transfer of total bytes on w,
// or nil if w is not a terminal.
func newProgressBar(w io.Writer, verb, name string, total int64) *progressBar {
	if !isTerminal(w) {
		return nil
	}
	now := time.Now()
	return &progressBar{w: w, verb: verb, name: name, total: total, start: now, now: time.Now}
}

// update redraws the bar for done bytes, at most every progressRedraw
// except for the last byte.
func (p *progressBar) update(done int64) {
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

// clear erases the bar's line.
func (p *progressBar) clear() {
	if p != nil {
		fmt.Fprint(p.w, "\r\x1b[K")
	}
}

// line formats the bar for done bytes at now: bytes, rate and time left.
func (p *progressBar) line(done int64, now time.Time) string {
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
	return fmt.Sprintf("%s %s [%s] %s / %s  %s  ETA %s", p.verb, termSafe(p.name), bar, humanBytes(float64(done)), humanBytes(float64(p.total)), rate, eta)
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

// A progressWriter counts the bytes written through it into a progress bar.
type progressWriter struct {
	bar *progressBar
	n   int64
}

func (w *progressWriter) Write(b []byte) (int, error) {
	w.n += int64(len(b))
	w.bar.update(w.n)
	return len(b), nil
}
