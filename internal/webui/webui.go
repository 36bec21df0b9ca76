// Package webui holds what the log's status pages (log/web) and the
// witness's page share: the style sheet, the security headers every page is
// served with, and the template functions that show attacker-controlled
// text safely. It is internal: the pages' look is not API.
//
// Pages are server-rendered with html/template, which escapes every value
// for its context; the functions here add what escaping does not cover:
// control, line separator and bidi characters, which a claim's free-text
// fields may carry and which would otherwise be invisible or reorder what a
// reader sees. It is safe for concurrent use.
package webui

import (
	_ "embed"
	"fmt"
	"html/template"
	"net/http"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/attestlog/attestlog/internal/textsafe"
)

// StylePath is where both servers serve [Style].
const StylePath = "/static/style.css"

//go:embed style.css
var style []byte

// ContentSecurityPolicy allows the page its own style sheet, images and
// forms, and nothing else: no script of any origin, inline or not, runs.
const ContentSecurityPolicy = "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'"

// SetHeaders sets the security headers of every page and download.
func SetHeaders(h http.Header) {
	h.Set("Content-Security-Policy", ContentSecurityPolicy)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("X-Frame-Options", "DENY")
}

// ServeStyle serves the style sheet.
func ServeStyle(w http.ResponseWriter, _ *http.Request) {
	SetHeaders(w.Header())
	w.Header().Set("Content-Type", "text/css; charset=utf-8")
	w.Header().Set("Cache-Control", "public, max-age=3600")
	w.Write(style)
}

// Render executes the template named "layout" of t with data and writes it
// with code and the security headers. A template that fails (a bug, not
// input) is reported as an error before anything is written.
func Render(w http.ResponseWriter, t *template.Template, code int, data any) error {
	var b strings.Builder
	if err := t.ExecuteTemplate(&b, "layout", data); err != nil {
		return fmt.Errorf("rendering page: %w", err)
	}
	SetHeaders(w.Header())
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-cache")
	w.WriteHeader(code)
	_, err := w.Write([]byte(b.String()))
	return err
}

// Funcs returns the template functions of the pages, with now as the clock:
//
//	visible   text with control, line separator and bidi characters shown as ⟨U+XXXX⟩
//	short     the first 12 characters of a digest, then "…"
//	keyname   the name of a signed-note verifier key (its text before the first '+')
//	ago       how long before now a time was, e.g. "3m12s ago"; "never" for the zero time
//	utc       a time in UTC, to the second
func Funcs(now func() time.Time) template.FuncMap {
	return template.FuncMap{
		"visible": Visible,
		"short":   Short,
		"keyname": KeyName,
		"ago":     func(t time.Time) string { return Ago(now(), t) },
		"utc":     func(t time.Time) string { return t.UTC().Format("2006-01-02 15:04:05 UTC") },
	}
}

// Visible returns s with every C0 and C1 control, DEL, Unicode line and
// paragraph separator and bidi formatting character replaced by ⟨U+XXXX⟩,
// and invalid UTF-8 by ⟨bad byte⟩, so that a reader sees every character
// that is there and none moves or hides another. The result still needs
// HTML escaping, which html/template does.
func Visible(s string) string {
	if !strings.ContainsFunc(s, textsafe.Hidden) && utf8.ValidString(s) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); {
		r, n := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && n == 1:
			fmt.Fprintf(&b, "⟨bad byte %#02x⟩", s[i])
		case textsafe.Hidden(r): // tabs and newlines too: Visible is for one-line fields
			fmt.Fprintf(&b, "⟨%U⟩", r)
		default:
			b.WriteString(s[i : i+n])
		}
		i += n
	}
	return b.String()
}

// Short returns the first 12 characters of a hex digest followed by "…",
// or s itself if it is not longer.
func Short(s string) string {
	if len(s) <= 12 {
		return s
	}
	return s[:12] + "…"
}

// KeyName returns the name of a signed-note verifier key, the text before
// its first '+'.
func KeyName(vkey string) string {
	name, _, _ := strings.Cut(vkey, "+")
	return name
}

// Ago says how long before now t was, to the second: "just now", "42s
// ago", "3m12s ago", "2h5m ago"; "never" for the zero time, "in the
// future" for a time after now.
func Ago(now, t time.Time) string {
	if t.IsZero() {
		return "never"
	}
	d := now.Sub(t).Truncate(time.Second)
	switch {
	case d < 0:
		return "in the future"
	case d < time.Second:
		return "just now"
	case d >= time.Hour:
		d = d.Truncate(time.Minute)
	}
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	return s + " ago"
}
