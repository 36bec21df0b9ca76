package client_test

import (
	"testing"

	"github.com/attestlog/attestlog/client"
)

func FuzzParseReceipt(f *testing.F) {
	f.Add([]byte(`{"index": 0, "tree_size": 1, "entry": "YQ==", "inclusion_proof": [], "checkpoint": "x"}`))
	f.Add([]byte(`{"index": 0} {}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := client.ParseReceipt(b)
		if err != nil {
			return
		}
		if r.Checkpoint == "" || len(r.Entry) == 0 {
			t.Fatalf("client.ParseReceipt(%q) accepted a receipt with no checkpoint or entry", b)
		}
	})
}
