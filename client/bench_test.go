package client_test

import (
	"context"
	"testing"

	"github.com/attestlog/attestlog/client"
)

// BenchmarkVerifyBundle verifies a bundle offline: three claims naming the
// digest (a quorum of the test policy) and a checkpoint with three
// cosignatures, in a log of 1,000 entries. "parse" includes parsing the
// bundle file, as attestlog verify --bundle does.
func BenchmarkVerifyBundle(b *testing.B) {
	w := newWorld(b)
	p := w.policy(b)
	l := &fakeLog{w: w}
	l.append(b, w.claimEntry(b, "hello", good, "linux/amd64", "ci-a"))
	for i := range 997 {
		l.append(b, w.claimEntry(b, "other", sha(string(rune(i))), "linux/arm64", "carol"))
	}
	l.append(b, w.claimEntry(b, "hello", good, "linux/amd64", "alice"), w.claimEntry(b, "hello", good, "linux/amd64", "bob"))
	src := &fakeSource{t: b, log: l, checkpoint: l.note(b, int64(len(l.entries)), 1, 2, 3)}
	bundle, err := client.NewBundle(context.Background(), src, good)
	if err != nil {
		b.Fatal(err)
	}
	data, err := bundle.Marshal()
	if err != nil {
		b.Fatal(err)
	}
	if len(bundle.Claims) != 3 {
		b.Fatalf("bundle holds %d claims, want 3", len(bundle.Claims))
	}
	verify := func(b *testing.B, bd *client.Bundle) {
		v, err := client.Verify(context.Background(), p, client.BundleSource{Bundle: bd}, good, client.VerifyOptions{})
		if err != nil {
			b.Fatal(err)
		}
		if v.ExitCode() != 0 || len(v.Checkpoint.Witnesses) != 3 {
			b.Fatalf("exit code %d, %d cosignatures", v.ExitCode(), len(v.Checkpoint.Witnesses))
		}
	}
	b.Run("verify", func(b *testing.B) {
		for b.Loop() {
			verify(b, bundle)
		}
	})
	b.Run("parse+verify", func(b *testing.B) {
		b.SetBytes(int64(len(data)))
		for b.Loop() {
			bd, err := client.ParseBundle(data)
			if err != nil {
				b.Fatal(err)
			}
			verify(b, bd)
		}
	})
}
