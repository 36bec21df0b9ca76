package client

import (
	"fmt"
	"strings"
	"testing"

	"github.com/attestlog/attestlog/log/claim"
)

// BenchmarkMonitorAddToBusyBuild measures what adding one more claim to a
// monitor's index costs when its build already has n digests (a mismatch
// of n digests). The cost must not grow with n.
func BenchmarkMonitorAddToBusyBuild(b *testing.B) {
	id := claim.Identity{Source: "git+https://example.org/x", Commit: strings.Repeat("a", 40), Platform: "linux/amd64", Artifact: "x"}
	keys := func(digest string) (claim.IndexKeys, []string) {
		return claim.IndexKeys{Digests: []string{digest}, Builds: []claim.Build{{Source: id.Source, Commit: id.Commit, Platform: id.Platform}},
			Identities: []claim.Identity{id}}, []string{digest}
	}
	for _, n := range []int{100, 1000, 10000} {
		b.Run(fmt.Sprintf("n=%d", n), func(b *testing.B) {
			ms := newMonitorState("example.test/log")
			for i := range n {
				k, d := keys(fmt.Sprintf("%064x", i))
				ms.add(int64(i), k, d, "recipe")
			}
			k, d := keys(fmt.Sprintf("%064x", n-1)) // the newest digest: the end of a scan
			idx := int64(n)
			for b.Loop() {
				ms.add(idx, k, d, "recipe")
				idx++
			}
			if got := len(ms.Builds[0].Digests); got != n {
				b.Fatalf("%d digests, want %d", got, n)
			}
		})
	}
}
