package witness_test

import (
	"fmt"
	"reflect"
	"strings"
	"testing"

	"github.com/attestlog/attestlog/witness"
	"golang.org/x/mod/sumdb/note"
)

// Fixed verifier keys, so that fuzz seeds are stable.
const (
	vkeyA1 = "a.example/log+634ae0f5+AWjo4RqBALw1yKmPYiSiYQ/POJm3FNcsZ9fN+4vN1Nrf"
	vkeyA2 = "a.example/log+7fe28df2+AU3mK3bP8xNVmWFfOhPJ0s9lFc3nAu3x93EHv90DXQm/"
	vkeyB  = "b.example/log+2877f34d+AULEBCTwNtaw8BG63HOkOYsgz5jfDUTYLGjm3qAbA6wk"
)

func TestFixedVerifierKeys(t *testing.T) {
	for _, vkey := range []string{vkeyA1, vkeyA2, vkeyB} {
		if _, err := note.NewVerifier(vkey); err != nil {
			t.Errorf("note.NewVerifier(%q): %v", vkey, err)
		}
	}
}

func TestParseLogs(t *testing.T) {
	for _, tt := range []struct {
		name    string
		file    string
		want    []witness.Log
		wantErr string
	}{
		{name: "empty", file: "", want: nil},
		{name: "comments and blanks", file: "# logs\n\n   \n\t# indented\n", want: nil},
		{
			name: "one log",
			file: "log " + vkeyA1 + "\n",
			want: []witness.Log{{Origin: "a.example/log", Keys: []string{vkeyA1}}},
		},
		{
			name: "budgets, several keys, comments, no final newline",
			file: "# trusted logs\nlog " + vkeyB + " 100 # b\nlog\t" + vkeyA1 + "\r\n\nlog " + vkeyA2 + "  2400",
			want: []witness.Log{
				{Origin: "b.example/log", Keys: []string{vkeyB}, RequestsPerDay: 100},
				{Origin: "a.example/log", Keys: []string{vkeyA1, vkeyA2}, RequestsPerDay: 2400},
			},
		},
		{
			name: "budget repeated",
			file: "log " + vkeyA1 + " 7\nlog " + vkeyA2 + " 7\n",
			want: []witness.Log{{Origin: "a.example/log", Keys: []string{vkeyA1, vkeyA2}, RequestsPerDay: 7}},
		},
		{name: "unknown keyword", file: "\nwitness " + vkeyA1 + "\n", wantErr: `line 2: unknown keyword "witness"`},
		{name: "no vkey", file: "log\n", wantErr: "line 1: want \"log <vkey> [<requests per day>]\""},
		{name: "too many fields", file: "log " + vkeyA1 + " 1 2\n", wantErr: "line 1: want"},
		{name: "malformed vkey", file: "log a.example/log+00000000+AAAA\n", wantErr: "line 1: malformed verifier key"},
		{name: "private key", file: "log PRIVATE+KEY+a.example/log+00000000+AAAA\n", wantErr: "line 1: malformed verifier key"},
		{name: "zero budget", file: "log " + vkeyA1 + " 0\n", wantErr: `line 1: requests per day "0" is not a positive decimal`},
		{name: "negative budget", file: "log " + vkeyA1 + " -5\n", wantErr: "line 1: requests per day"},
		{name: "budget with leading zero", file: "log " + vkeyA1 + " 010\n", wantErr: "line 1: requests per day"},
		{name: "budget overflow", file: "log " + vkeyA1 + " 99999999999999999999\n", wantErr: "line 1: requests per day"},
		{name: "budget not a number", file: "log " + vkeyA1 + " lots\n", wantErr: "line 1: requests per day"},
		{name: "conflicting budgets", file: "log " + vkeyA1 + " 5\n#\nlog " + vkeyA2 + " 6\n", wantErr: "line 3: budget 6 of a.example/log differs from 5 on line 1"},
		{name: "duplicate vkey", file: "log " + vkeyA1 + "\nlog " + vkeyB + "\nlog " + vkeyA1 + " 5\n", wantErr: "line 3: verifier key already listed on line 1"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got, err := witness.ParseLogs([]byte(tt.file))
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) || !strings.HasPrefix(err.Error(), "witness: logs ") {
					t.Errorf("ParseLogs = %+v, %v; want error containing %q", got, err, tt.wantErr)
				}
				return
			}
			if err != nil || !reflect.DeepEqual(got, tt.want) {
				t.Errorf("ParseLogs = %+v, %v; want %+v", got, err, tt.want)
			}
		})
	}
}

// formatLogs writes logs in the canonical form of the logs file.
func formatLogs(logs []witness.Log) string {
	var b strings.Builder
	for _, l := range logs {
		for i, k := range l.Keys {
			fmt.Fprintf(&b, "log %s", k)
			if i == 0 && l.RequestsPerDay > 0 {
				fmt.Fprintf(&b, " %d", l.RequestsPerDay)
			}
			b.WriteString("\n")
		}
	}
	return b.String()
}

func FuzzParseLogs(f *testing.F) {
	f.Add([]byte("# logs\nlog " + vkeyA1 + " 100\nlog " + vkeyA2 + "\n\nlog " + vkeyB + " # b\n"))
	f.Add([]byte("log " + vkeyA1 + " 5\nlog " + vkeyA2 + " 6\n"))
	f.Add([]byte("log " + vkeyA1 + "\nlog " + vkeyA1 + "\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		logs, err := witness.ParseLogs(b)
		if err != nil {
			if !strings.Contains(err.Error(), "line ") {
				t.Fatalf("ParseLogs(%q) error %q names no line", b, err)
			}
			return
		}
		canon := formatLogs(logs)
		again, err := witness.ParseLogs([]byte(canon))
		if err != nil || !reflect.DeepEqual(again, logs) {
			t.Fatalf("ParseLogs(%q) = %+v, but its canonical form\n%s\nparses as %+v, %v", b, logs, canon, again, err)
		}
		seen := make(map[string]bool)
		for _, l := range logs {
			if seen[l.Origin] || len(l.Keys) == 0 || l.RequestsPerDay < 0 {
				t.Fatalf("ParseLogs(%q) = %+v", b, logs)
			}
			seen[l.Origin] = true
			for _, k := range l.Keys {
				if v, err := note.NewVerifier(k); err != nil || v.Name() != l.Origin {
					t.Fatalf("ParseLogs(%q): key %q of %s", b, k, l.Origin)
				}
			}
		}
	})
}
