package main

import (
	"bytes"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/attestlog/attestlog/client"
	"github.com/attestlog/attestlog/log/logtest"
)

// dialTrap returns the address of a listener that fails the test if
// anything connects to it before the test ends.
func dialTrap(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var dialled atomic.Int32
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			dialled.Add(1)
			c.Close()
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		<-done
		if n := dialled.Load(); n > 0 {
			t.Errorf("%d connections to %s: offline verification dialled the log", n, ln.Addr())
		}
	})
	return ln.Addr().String()
}

func TestBundleOffline(t *testing.T) {
	if testing.Short() {
		t.Skip("runs a log with witnesses")
	}
	tl := newTestLog(t)
	var idx []int64
	for _, s := range []string{"ci-a", "alice", "bob"} {
		idx = append(idx, tl.addClaim(t, "met", "hello", sha256Hex(binaryOf("met")), s))
	}
	tl.addClaim(t, "met", "hello.sig", sha256Hex([]byte("signature")), "carol") // same build, another artifact
	tl.waitWitnessed(t)
	policy := tl.policy(t, "")
	dir := t.TempDir()
	bin := filepath.Join(dir, "hello")
	writeFile(t, bin, binaryOf("met"))
	out := filepath.Join(dir, "hello.bundle")
	code, o := runCode(t, "bundle", "--log", tl.grpcAddr, "--policy", policy, bin, "-o", out)
	if code != 0 || !strings.Contains(o, fmt.Sprintf("wrote %s: sha256 %s, 3 claims naming it and 1 more about its builds, proven against example.test/attestlog tree size 4", out, sha256Hex(binaryOf("met")))) ||
		!strings.Contains(o, "verified under the policy: TRUSTED (3 builders agree)") {
		t.Fatalf("bundle: exit %d\n%s", code, o)
	}
	if _, err := client.ParseBundle(readBytes(t, out)); err != nil {
		t.Fatalf("the bundle written does not parse: %v", err)
	}

	// From here on nothing may be dialled: --log and the environment point
	// at a trap.
	trap := dialTrap(t)
	t.Setenv("ATTESTLOG_LOG_GRPC", trap)
	offline := func(t *testing.T, bundle string, args ...string) (int, string) {
		t.Helper()
		code, out := runCode(t, append([]string{"verify", "--policy", policy, "--bundle", bundle, "--log", trap}, args...)...)
		t.Logf("verify --bundle %s %q: exit %d\n%s", filepath.Base(bundle), args, code, out)
		return code, squeeze(out)
	}
	if code, o := offline(t, out, "--state", "", bin); code != 0 || !strings.Contains(o, "TRUSTED: "+bin) {
		t.Fatalf("verify --bundle: exit %d\n%s", code, o)
	}
	other := filepath.Join(dir, "other")
	writeFile(t, other, []byte("another binary"))
	if code, o := offline(t, out, "--state", "", other); code != exitOperational || !strings.Contains(o, "not in the bundle: claims for sha256 "+sha256Hex([]byte("another binary"))) {
		t.Errorf("verify --bundle of another file: exit %d\n%s", code, o)
	}

	tamper := func(t *testing.T, edit func(b *client.Bundle)) string {
		t.Helper()
		b, err := client.ParseBundle(readBytes(t, out))
		if err != nil {
			t.Fatal(err)
		}
		edit(b)
		data, err := b.Marshal()
		if err != nil {
			t.Fatal(err)
		}
		path := filepath.Join(t.TempDir(), "tampered.bundle")
		writeFile(t, path, data)
		return path
	}
	for _, tt := range []struct {
		desc     string
		edit     func(*client.Bundle)
		wantCode int
		want     []string
	}{
		{desc: "tampered proof", edit: func(b *client.Bundle) { b.Claims[1].Proof[0][5] ^= 1 },
			wantCode: client.ExitNoQuorum | client.ExitVerifyErr,
			want:     []string{fmt.Sprintf("problem: inclusion proof, claim %d: in the tree of size 4:", idx[1]), "silent: alice"}},
		{desc: "missing cosignature", edit: func(b *client.Bundle) { b.Checkpoint = dropCosignatures(b.Checkpoint, 1) },
			wantCode: client.ExitNoQuorum | client.ExitVerifyErr,
			want:     []string{"problem: checkpoint: tiles: witness quorum not met: quorum witnesses, cosigned by [w", "claims were not looked up"}},
		{desc: "swapped claims", edit: func(b *client.Bundle) { b.Claims[0].Entry, b.Claims[2].Entry = b.Claims[2].Entry, b.Claims[0].Entry },
			wantCode: client.ExitNoQuorum | client.ExitVerifyErr,
			want: []string{fmt.Sprintf("problem: inclusion proof, claim %d:", idx[0]), fmt.Sprintf("problem: inclusion proof, claim %d:", idx[2]),
				"agreed: alice", "silent: ci", "silent: bob"}},
		// Leaving a claim out is seen offline: the bundle's index proof
		// lists it.
		{desc: "a claim left out", edit: func(b *client.Bundle) { b.Claims = b.Claims[1:] },
			wantCode: client.ExitNoQuorum | client.ExitVerifyErr, want: []string{"silent: ci (no claim naming this digest; counts as no)",
				fmt.Sprintf("problem: hidden claim, claim %d: the lookup by digest", idx[0])}},
	} {
		t.Run(tt.desc, func(t *testing.T) {
			code, o := offline(t, tamper(t, tt.edit), "--state", "", bin)
			if code != tt.wantCode {
				t.Errorf("exit %d, want %d\n%s", code, tt.wantCode, o)
			}
			for _, w := range tt.want {
				if !strings.Contains(o, w) {
					t.Errorf("output lacks %q:\n%s", w, o)
				}
			}
		})
	}

	// A bundle written against a remembered checkpoint carries the
	// consistency proof that a verifier remembering it needs.
	t.Run("remembered state", func(t *testing.T) {
		state := t.TempDir()
		if code, o := runCode(t, "verify", "--log", tl.grpcAddr, "--policy", policy, "--state", state, bin); code != 0 {
			t.Fatalf("verify online: exit %d\n%s", code, o)
		}
		tl.addClaim(t, "later", "tool", sha256Hex([]byte("tool")), "alice")
		tl.addClaim(t, "later", "tool", sha256Hex([]byte("tool")), "bob")
		tl.waitWitnessed(t)
		plain, withProof := filepath.Join(dir, "plain.bundle"), filepath.Join(dir, "proof.bundle")
		if code, o := runCode(t, "bundle", "--log", tl.grpcAddr, "--unverified", bin, "-o", plain); code != 0 || strings.Contains(o, "consistency proof") || !strings.Contains(o, "NOT VERIFIED (--unverified)") {
			t.Fatalf("bundle: exit %d\n%s", code, o)
		}
		code, o := runCode(t, "bundle", "--log", tl.grpcAddr, "--policy", policy, "--state", state, bin, "-o", withProof)
		if code != 0 || !strings.Contains(o, "with a consistency proof between the remembered tree size 4 and 6") {
			t.Fatalf("bundle --state: exit %d\n%s", code, o)
		}
		if got := rememberedSizeIn(t, state); got != 4 {
			t.Errorf("bundle --state changed the remembered size to %d", got)
		}
		if code, o := offline(t, plain, "--state", state, bin); code != client.ExitNoQuorum|client.ExitVerifyErr ||
			!strings.Contains(o, "problem: consistency: client: no consistency proof from tree size 4 to 6: client: not in the bundle") {
			t.Errorf("verify --bundle without the proof: exit %d\n%s", code, o)
		}
		if code, o := offline(t, withProof, "--state", state, bin); code != 0 {
			t.Errorf("verify --bundle with the proof: exit %d\n%s", code, o)
		}
		if got := rememberedSizeIn(t, state); got != 6 {
			t.Errorf("remembered size %d after verifying the bundle, want 6", got)
		}
	})

	t.Run("bundle refused by the policy", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "refused.bundle")
		code, o := runCode(t, "bundle", "--log", tl.grpcAddr, "--policy", tl.policy(t, "quorum w3"), bin, "-o", path)
		if code != client.ExitNoQuorum|client.ExitVerifyErr || !strings.Contains(o, "bundle: not written: it does not verify under the policy") {
			t.Errorf("bundle under a policy it fails: exit %d\n%s", code, o)
		}
		if _, err := os.Stat(path); err == nil {
			t.Errorf("bundle wrote %s", path)
		}
	})
}

// dropCosignatures keeps the log's signature and the first keep
// cosignatures of a checkpoint note.
func dropCosignatures(msg []byte, keep int) []byte {
	text, sigs, _ := bytes.Cut(msg, []byte("\n\n"))
	lines := strings.SplitAfter(string(sigs), "\n")
	var out []string
	for _, l := range lines {
		if l == "" {
			continue
		}
		if strings.HasPrefix(l, "— "+logtest.Origin+" ") || keep > 0 {
			if !strings.HasPrefix(l, "— "+logtest.Origin+" ") {
				keep--
			}
			out = append(out, l)
		}
	}
	return append(append(text, "\n\n"...), strings.Join(out, "")...)
}

func rememberedSizeIn(t *testing.T, dir string) int64 {
	t.Helper()
	st, err := client.OpenState(dir)
	if err != nil {
		t.Fatal(err)
	}
	n, err := st.RememberedSize(logtest.Origin)
	if err != nil {
		t.Fatal(err)
	}
	return n
}
