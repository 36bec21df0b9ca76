package netconf

import (
	"errors"
	"strings"
	"testing"

	"github.com/attestlog/attestlog/cmd/attestlog/internal/usage"
)

func TestParseLogAddr(t *testing.T) {
	for _, tt := range []struct {
		in, target string
		tls        bool
		wantErr    string
	}{
		{in: "127.0.0.1:7381", target: "127.0.0.1:7381"},
		{in: "grpc://127.0.0.1:7381", target: "127.0.0.1:7381"},
		{in: "grpcs://log.example.org", target: "log.example.org", tls: true},
		{in: "grpcs://log.example.org:8443", target: "log.example.org:8443", tls: true},
		{in: "grpcs://[::1]:8443", target: "[::1]:8443", tls: true},
		{in: "", wantErr: "--log is empty"},
		{in: "https://log.example.org", wantErr: `unknown scheme "https"`},
		{in: "grpcs://", wantErr: "want grpcs://HOST[:PORT]"},
		{in: "grpcs://log.example.org/path", wantErr: "no path"},
		{in: "grpcs://user@log.example.org", wantErr: "no path, user"},
		{in: "grpcs://log.example.org?x=1", wantErr: "no path, user or query"},
		{in: "grpcs://:443", wantErr: "want grpcs://HOST[:PORT]"},
	} {
		target, tls, err := ParseLogAddr(tt.in)
		if tt.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) || !errors.As(err, new(usage.Error)) {
				t.Errorf("ParseLogAddr(%q) = %q, %v, %v; want a usage error containing %q", tt.in, target, tls, err, tt.wantErr)
			}
			continue
		}
		if err != nil || target != tt.target || tls != tt.tls {
			t.Errorf("ParseLogAddr(%q) = %q, %v, %v; want %q, %v", tt.in, target, tls, err, tt.target, tt.tls)
		}
	}
}

func FuzzParseLogAddr(f *testing.F) {
	for _, s := range []string{"127.0.0.1:7381", "grpcs://log.example.org:443", "grpc://[::1]:1", "https://x", "grpcs://a/b"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		target, useTLS, err := ParseLogAddr(s)
		if err != nil {
			return
		}
		scheme, _, hasScheme := strings.Cut(s, "://")
		switch {
		case !hasScheme && (target != s || useTLS):
			t.Fatalf("ParseLogAddr(%q) = %q, %v; want the address itself, plaintext", s, target, useTLS)
		case hasScheme && (scheme+"://"+target != s || useTLS != (scheme == "grpcs")):
			t.Fatalf("ParseLogAddr(%q) = %q, %v; want the rest of the address, TLS for grpcs", s, target, useTLS)
		case target == "":
			t.Fatalf("ParseLogAddr(%q) = empty target", s)
		}
	})
}
