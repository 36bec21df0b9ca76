package attest_test

import (
	"strings"
	"testing"

	"github.com/attestlog/attestlog/client/attest"
)

func TestSourceURI(t *testing.T) {
	for _, tt := range []struct {
		remote, want, wantErr string
	}{
		{remote: "https://example.org/hello.git", want: "git+https://example.org/hello"},
		{remote: "https://Example.ORG/hello/", want: "git+https://example.org/hello"},
		{remote: "https://example.org:8443/group/hello", want: "git+https://example.org:8443/group/hello"},
		{remote: "https://user:token@example.org/hello.git", want: "git+https://example.org/hello"},
		{remote: "git@github.com:owner/repo.git", want: "git+https://github.com/owner/repo"},
		{remote: "github.com:owner/repo", want: "git+https://github.com/owner/repo"},
		{remote: "git@example.org:/srv/repo.git", want: "git+https://example.org/srv/repo"},
		{remote: "ssh://git@gitlab.example.org/group/sub/repo.git", want: "git+https://gitlab.example.org/group/sub/repo"},
		{remote: "ssh://git@example.org:2222/x/y.git", want: "git+https://example.org/x/y"},
		{remote: "git+https://example.org/hello", want: "git+https://example.org/hello"},
		{remote: "http://example.org/hello", wantErr: "scheme http cannot be mapped to https"},
		{remote: "git://example.org/hello", wantErr: "scheme git cannot be mapped"},
		{remote: "file:///srv/repo.git", wantErr: "scheme file cannot be mapped"},
		{remote: "/srv/repo.git", wantErr: "not a remote URL"},
		{remote: "../repo", wantErr: "not a remote URL"},
		{remote: "git@example.org:~user/repo", wantErr: "want [user@]host:path"},
		{remote: "git@:repo", wantErr: "want [user@]host:path"},
		{remote: "https://example.org/", wantErr: "no repository path"},
		{remote: "https://example.org/hello?x=1", wantErr: "no query or fragment"},
		{remote: "ssh:///path", wantErr: "want a host"},
	} {
		t.Run(tt.remote, func(t *testing.T) {
			got, err := attest.SourceURI(tt.remote)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Errorf("attest.SourceURI(%q) = %q, %v, want error containing %q", tt.remote, got, err, tt.wantErr)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Errorf("attest.SourceURI(%q) = %q, %v, want %q", tt.remote, got, err, tt.want)
			}
		})
	}
}

// FuzzSourceURI checks that SourceURI never panics and that what it returns
// is a fixed point: a claim's source URI, given again, comes back as is.
func FuzzSourceURI(f *testing.F) {
	for _, s := range []string{"https://example.org/hello.git", "git@github.com:owner/repo.git", "ssh://git@example.org:2222/x/y.git", "git+https://example.org/hello", "a:b", "https://u:p@[::1]:1/x?y"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, remote string) {
		got, err := attest.SourceURI(remote)
		if err != nil {
			return
		}
		if again, err := attest.SourceURI(got); err != nil || again != got {
			t.Fatalf("SourceURI(%q) = %q, but SourceURI(%q) = %q, %v", remote, got, got, again, err)
		}
	})
}
