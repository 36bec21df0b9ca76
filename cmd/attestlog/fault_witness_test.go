package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"fmt"
	"io"
	mrand "math/rand/v2"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/attestlog/attestlog/tiles"
	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"
)

// memTree is an in-memory Merkle tree for building checkpoints and proofs.
type memTree struct{ hashes []tlog.Hash }

func (m *memTree) ReadHashes(idx []int64) ([]tlog.Hash, error) {
	out := make([]tlog.Hash, len(idx))
	for i, x := range idx {
		out[i] = m.hashes[x]
	}
	return out, nil
}

func (m *memTree) append(t *testing.T, n int64, entry string) {
	hs, err := tlog.StoredHashes(n, []byte(entry), m)
	if err != nil {
		t.Fatal(err)
	}
	m.hashes = append(m.hashes, hs...)
}

// lineage is one history of the test log: the main one or a fork.
type lineage struct {
	name string
	tree memTree
	size int64
}

func (l *lineage) grow(t *testing.T, to int64, diverge int64) {
	for ; l.size < to; l.size++ {
		e := fmt.Sprintf("entry %d", l.size)
		if l.size >= diverge {
			e = l.name + " " + e
		}
		l.tree.append(t, l.size, e)
	}
}

// TestFaultKillWitness SIGKILLs a witness process at random moments while a
// client races two lineages of one log at it (a main tree and a fork that
// diverges after 20 entries), each request claiming the witness's current
// size as old size. Across all restarts the witness must never cosign both
// lineages beyond the divergence, and its cosignature timestamps never go
// back. Three kills by default; ATTESTLOG_FAULT_ITERATIONS for more.
func TestFaultKillWitness(t *testing.T) {
	if testing.Short() {
		t.Skip("kills processes")
	}
	iterations := 3
	if s := os.Getenv(envFaultIterations); s != "" {
		iterations, _ = strconv.Atoi(s)
	}
	dir := t.TempDir()
	logSkey, logVkey, err := note.GenerateKey(nil, "fault.example/log")
	if err != nil {
		t.Fatal(err)
	}
	logSigner, _ := note.NewSigner(logSkey)
	logsFile := filepath.Join(dir, "logs")
	os.WriteFile(logsFile, []byte("log "+logVkey+"\n"), 0o644)
	const diverge = 20
	lines := []*lineage{{name: "main"}, {name: "fork"}}
	cosigned := map[string]int64{} // lineage -> largest size cosigned beyond the divergence
	var lastTimestamp uint64
	var mu sync.Mutex
	rng := mrand.New(mrand.NewPCG(uint64(time.Now().UnixNano()), 3))
	addr := "127.0.0.1:0"
	var witnessSize int64
	for i := range iterations {
		p := startProc(t, []string{"witness vkey:", "http listening on"}, "witness", "--data", filepath.Join(dir, "w"),
			"--http", addr, "--name", "w.example", "--logs", logsFile, "--log-level", "error")
		addr = p.get("http listening on")
		vkey := p.get("witness vkey:")
		wv, err := tiles.ParsePolicy([]byte("log " + logVkey + "\nwitness w " + vkey + "\nquorum w\n"))
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		var wg sync.WaitGroup
		reqRng := mrand.New(mrand.NewPCG(uint64(i), 11)) // the request goroutine's own
		wg.Go(func() {
			for ctx.Err() == nil {
				mu.Lock()
				old := witnessSize
				mu.Unlock()
				target := old + 1 + int64(reqRng.IntN(5))
				var round sync.WaitGroup
				for _, l := range lines {
					round.Go(func() {
						mu.Lock()
						l.grow(t, target, diverge)
						body, cp := witnessRequest(t, &l.tree, old, target, logSigner)
						mu.Unlock()
						code, resp := post(ctx, "http://"+addr+"/add-checkpoint", body)
						mu.Lock()
						defer mu.Unlock()
						switch code {
						case 200:
							vc, err := wv.VerifyCheckpoint(append(cp, resp...))
							if err != nil {
								t.Errorf("cosignature does not verify: %v", err)
								return
							}
							ts := uint64(vc.Cosigners["w"].Unix())
							if ts < lastTimestamp {
								t.Errorf("cosignature timestamp went back from %d to %d", lastTimestamp, ts)
							}
							lastTimestamp = ts
							if target > diverge {
								cosigned[l.name] = max(cosigned[l.name], target)
							}
							witnessSize = max(witnessSize, target)
						case 409:
							if n, err := strconv.ParseInt(strings.TrimSpace(string(resp)), 10, 64); err == nil {
								witnessSize = n
							}
						}
					})
				}
				round.Wait()
			}
		})
		time.Sleep(time.Duration(50+rng.IntN(300)) * time.Millisecond)
		p.cmd.Process.Signal(syscall.SIGKILL)
		<-p.done
		cancel()
		wg.Wait()
		if len(cosigned) > 1 {
			t.Fatalf("after %d kills the witness cosigned both lineages beyond their divergence: %v", i+1, cosigned)
		}
	}
	t.Logf("%d kills: the witness cosigned one lineage only (%v), timestamps never went back", iterations, cosigned)
}

// witnessRequest builds an add-checkpoint body for the tree at size, with a
// consistency proof from old, and returns it with the signed checkpoint.
func witnessRequest(t *testing.T, tree *memTree, old, size int64, s note.Signer) ([]byte, []byte) {
	root, err := tlog.TreeHash(size, tree)
	if err != nil {
		t.Fatal(err)
	}
	cp, err := note.Sign(&note.Note{Text: string(tiles.Checkpoint{Origin: "fault.example/log", Size: size, Hash: root}.Format())}, s)
	if err != nil {
		t.Fatal(err)
	}
	body := fmt.Appendf(nil, "old %d\n", old)
	if old > 0 && old < size {
		p, err := tlog.ProveTree(size, old, tree)
		if err != nil {
			t.Fatal(err)
		}
		for _, h := range p {
			body = append(body, base64.StdEncoding.EncodeToString(h[:])+"\n"...)
		}
	}
	return append(append(body, '\n'), cp...), cp
}

// post sends a request and returns the status and body; 0 if it failed.
func post(ctx context.Context, url string, body []byte) (int, []byte) {
	req, _ := http.NewRequestWithContext(ctx, "POST", url, bytes.NewReader(body))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, nil
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b
}
