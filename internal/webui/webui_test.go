package webui

import (
	"testing"
	"time"

	"github.com/attestlog/attestlog/internal/textsafe"
)

func TestVisible(t *testing.T) {
	tests := []struct{ in, want string }{
		{"hello", "hello"},
		{"<b>", "<b>"}, // HTML escaping is html/template's job
		{"a\x1b[2Jb", "a⟨U+001B⟩[2Jb"},
		{"tab\there", "tab⟨U+0009⟩here"},
		{"\u202eevil", "⟨U+202E⟩evil"},
		{"x\u2028y\u0085z\x7f", "x⟨U+2028⟩y⟨U+0085⟩z⟨U+007F⟩"},
		{"bad\xffbyte", "bad⟨bad byte 0xff⟩byte"},
		{"ünïcödé", "ünïcödé"},
	}
	for _, tt := range tests {
		if got := Visible(tt.in); got != tt.want {
			t.Errorf("Visible(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func FuzzVisible(f *testing.F) {
	f.Add("a\x1b\u202e\xff")
	f.Fuzz(func(t *testing.T, s string) {
		for _, r := range Visible(s) {
			if textsafe.Hidden(r) || r == '\uFFFD' && !containsReplacement(s) {
				t.Fatalf("Visible(%q) holds %U", s, r)
			}
		}
	})
}

func containsReplacement(s string) bool {
	for _, r := range s {
		if r == '\uFFFD' {
			return true
		}
	}
	return false
}

func TestAgo(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	tests := []struct {
		t    time.Time
		want string
	}{
		{time.Time{}, "never"},
		{now, "just now"},
		{now.Add(-42 * time.Second), "42s ago"},
		{now.Add(-192 * time.Second), "3m12s ago"},
		{now.Add(-3 * time.Minute), "3m ago"},
		{now.Add(-(2*time.Hour + 5*time.Minute + 7*time.Second)), "2h5m ago"},
		{now.Add(time.Minute), "in the future"},
	}
	for _, tt := range tests {
		if got := Ago(now, tt.t); got != tt.want {
			t.Errorf("Ago(%v) = %q, want %q", now.Sub(tt.t), got, tt.want)
		}
	}
}
