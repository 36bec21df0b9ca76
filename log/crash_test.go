package log_test

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/attestlog/attestlog/client"
	"github.com/attestlog/attestlog/log"
	"github.com/attestlog/attestlog/log/logtest"
	"github.com/transparency-dev/merkle/proof"
	"github.com/transparency-dev/merkle/rfc6962"
	"golang.org/x/mod/sumdb/tlog"
)

// Environment of the crash child; set only by TestCrash.
const (
	envCrashDir  = "ATTESTLOG_CRASH_DIR"
	envCrashSeed = "ATTESTLOG_CRASH_SEED"
	// ATTESTLOG_CRASH_ITERATIONS overrides the number of kills TestCrash makes.
	envCrashIterations = "ATTESTLOG_CRASH_ITERATIONS"
)

// TestCrash kills a child process that appends with 64 concurrent appenders
// at random moments, reopens the log each time and checks that every
// acknowledged entry is at its index, that every checkpoint the child
// published is consistent with the reopened tree, and that the invariant
// checker passes. The log grows across iterations.
func TestCrash(t *testing.T) {
	if testing.Short() {
		t.Skip("kills and reopens a log many times")
	}
	iterations := 25
	if s := os.Getenv(envCrashIterations); s != "" {
		iterations, _ = strconv.Atoi(s)
	}
	dir := t.TempDir()
	rng := rand.New(rand.NewPCG(1, uint64(time.Now().UnixNano())))
	var acked, published, emptyRuns int
	for i := range iterations {
		killAfter := time.Duration(20+rng.IntN(400)) * time.Millisecond
		acks, cps := runCrashChild(t, dir, i, killAfter)
		acked += len(acks)
		published += len(cps)
		if len(acks) == 0 {
			emptyRuns++
		}
		t.Run(fmt.Sprintf("reopen%d", i), func(t *testing.T) { checkAfterCrash(t, dir, acks, cps) })
		if t.Failed() {
			return
		}
	}
	t.Logf("%d kills: %d acknowledged appends and %d published checkpoints checked after reopen; %d kills came before any acknowledgement",
		iterations, acked, published, emptyRuns)
}

type ack struct {
	index int64
	entry []byte
}

// runCrashChild runs TestCrashChild in a new process and SIGKILLs it after
// killAfter, returning what it reported: acknowledged appends and checkpoints.
func runCrashChild(t *testing.T, dir string, iteration int, killAfter time.Duration) ([]ack, [][]byte) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestCrashChild$", "-test.v")
	cmd.Env = append(os.Environ(), envCrashDir+"="+dir, envCrashSeed+"="+strconv.Itoa(iteration))
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var once sync.Once
	kill := func() { once.Do(func() { cmd.Process.Signal(syscall.SIGKILL) }) }
	var started atomic.Bool
	go func() { // time the kill from the child's first line, so start-up cost does not eat the window
		for !started.Load() {
			time.Sleep(time.Millisecond)
		}
		time.Sleep(killAfter)
		kill()
	}()
	deadline := time.AfterFunc(time.Minute, kill) // a hung child must not hang the test
	defer deadline.Stop()
	var acks []ack
	var cps [][]byte
	r := bufio.NewReader(out)
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			break // a line the kill cut short has no newline and is dropped
		}
		switch kind, rest, _ := strings.Cut(strings.TrimSuffix(line, "\n"), " "); kind {
		case "started":
			started.Store(true)
		case "ack":
			idx, e, _ := strings.Cut(rest, " ")
			n, err1 := strconv.ParseInt(idx, 10, 64)
			b, err2 := base64.StdEncoding.DecodeString(e)
			if err1 == nil && err2 == nil {
				acks = append(acks, ack{n, b})
			}
		case "checkpoint":
			if b, err := base64.StdEncoding.DecodeString(rest); err == nil {
				cps = append(cps, b)
			}
		}
	}
	started.Store(true)
	kill()
	cmd.Wait()
	return acks, cps
}

// TestCrashChild is the process TestCrash kills; it does nothing otherwise.
func TestCrashChild(t *testing.T) {
	dir := os.Getenv(envCrashDir)
	if dir == "" {
		t.Skip("run by TestCrash")
	}
	seed := os.Getenv(envCrashSeed)
	l := logtest.New(t, dir, log.Config{Indexer: crashIndexer{}})
	// Move the staged dedup and index records every few batches, not every
	// 32,768 entries or 65,536 records, so that kills also land in and
	// around those commits.
	l.Store.SetDedupStageLimit(500)
	l.Store.SetIndexStageLimit(700)
	var mu sync.Mutex
	w := bufio.NewWriter(os.Stdout)
	report := func(format string, args ...any) {
		mu.Lock()
		fmt.Fprintf(w, format, args...)
		w.Flush()
		mu.Unlock()
	}
	report("started\n")
	var lastSize atomic.Int64
	lastSize.Store(-1)
	var wg sync.WaitGroup
	for g := range 64 {
		wg.Go(func() {
			for n := 0; ; n++ {
				e := []byte(fmt.Sprintf("crash seed %s appender %d entry %d", seed, g, n))
				if n%10 == 9 { // now and then, an entry the log already has
					e = []byte(fmt.Sprintf("crash seed %s appender %d entry %d", seed, g, n/2))
				}
				idx, err := l.Add(e)(context.Background())
				if err != nil {
					continue // pushback; never under this load, but not an acknowledgement either
				}
				report("ack %d %s\n", idx, base64.StdEncoding.EncodeToString(e))
				if cp := l.Checkpoint(); cp.Size > lastSize.Load() {
					lastSize.Store(cp.Size)
					report("checkpoint %s\n", base64.StdEncoding.EncodeToString(cp.Note))
				}
			}
		})
	}
	wg.Wait()
}

// checkAfterCrash reopens the log and checks what the killed child reported.
func checkAfterCrash(t *testing.T, dir string, acks []ack, cps [][]byte) {
	l := logtest.New(t, dir, log.Config{})
	head := l.Checkpoint()
	seen := make(map[string]int64)
	for _, a := range acks {
		if prev, ok := seen[string(a.entry)]; ok && prev != a.index {
			t.Fatalf("entry %q acknowledged at %d and at %d", a.entry, prev, a.index)
		}
		seen[string(a.entry)] = a.index
		if a.index >= head.Size {
			t.Fatalf("acknowledged index %d lost: reopened tree has size %d", a.index, head.Size)
		}
		got, err := l.Store.Entries(a.index, 1)
		if err != nil || string(got[0]) != string(a.entry) {
			t.Fatalf("entry %d is %q (%v), acknowledged as %q", a.index, got, err, a.entry)
		}
	}
	for _, msg := range cps {
		cp, err := client.OpenCheckpoint(msg, l.Verifier)
		if err != nil {
			t.Fatalf("published checkpoint does not verify: %v", err)
		}
		if cp.Size > head.Size {
			t.Fatalf("published checkpoint of size %d, reopened tree has %d: rewound", cp.Size, head.Size)
		}
		p, err := l.ConsistencyProof(cp.Size, head.Size)
		if err != nil {
			t.Fatal(err)
		}
		if err := proof.VerifyConsistency(rfc6962.DefaultHasher, uint64(cp.Size), uint64(head.Size), raw(p), cp.Hash[:], head.Hash[:]); err != nil {
			t.Fatalf("published checkpoint %d is inconsistent with the reopened tree %d: %v", cp.Size, head.Size, err)
		}
	}
	if _, err := client.CheckLog(context.Background(), l, l.Verifier); err != nil {
		t.Fatalf("CheckLog after reopen: %v", err)
	}
	checkDedup(t, l.Store, head.Size)
	checkCrashIndex(t, l.Store, head.Size)
}

// crashIndexer writes two records per entry to spaces the bbolt store
// stages, so that TestCrash kills the child in and around index stage
// moves: digest, H(entry) || index -> "", and source, H(index % 7) ||
// index -> entry.
type crashIndexer struct{}

func (crashIndexer) Index(_ log.Store, first int64, entries []log.NewEntry) ([]log.IndexWrite, error) {
	var out []log.IndexWrite
	for i, e := range entries {
		idx := first + int64(i)
		h := sha256.Sum256(e.Bytes)
		out = append(out, log.IndexWrite{Space: "digest", Key: binary.BigEndian.AppendUint64(h[:], uint64(idx))},
			log.IndexWrite{Space: "source", Key: binary.BigEndian.AppendUint64(crashGroup(idx), uint64(idx)), Value: e.Bytes})
	}
	return out, nil
}

func crashGroup(idx int64) []byte {
	h := sha256.Sum256([]byte{byte(idx % 7)})
	return h[:]
}

// checkCrashIndex checks that s holds crashIndexer's records of every
// entry of a tree of size n, and no others.
func checkCrashIndex(t *testing.T, s *log.BoltStore, n int64) {
	t.Helper()
	es, err := s.Entries(0, int(n))
	if err != nil && n > 0 {
		t.Fatal(err)
	}
	reads := make([]log.IndexRead, len(es))
	for i, e := range es {
		h := sha256.Sum256(e)
		reads[i] = log.IndexRead{Space: "digest", Key: binary.BigEndian.AppendUint64(h[:], uint64(i))}
	}
	got, err := s.IndexGetMany(reads)
	if err != nil {
		t.Fatal(err)
	}
	for i, v := range got {
		if v == nil {
			t.Fatalf("index record of entry %d (digest) lost", i)
		}
	}
	var records int64
	for g := range int64(7) {
		want := g
		err := s.IndexScan("source", crashGroup(g), func(k, v []byte) bool {
			idx := int64(binary.BigEndian.Uint64(k[len(k)-8:]))
			if idx != want || idx >= n || !bytes.Equal(v, es[idx]) {
				t.Fatalf("source index of group %d: record of entry %d (%q), want entry %d of %d", g, idx, v, want, n)
			}
			want += 7
			records++
			return true
		})
		if err != nil {
			t.Fatal(err)
		}
		if want < n {
			t.Fatalf("source index of group %d ends before entry %d of %d", g, want, n)
		}
	}
	if records != n {
		t.Fatalf("%d source index records for %d entries", records, n)
	}
}

// checkDedup checks that the deduplication index of s names every entry of
// a tree of size n at its own index.
func checkDedup(t *testing.T, s log.Store, n int64) {
	t.Helper()
	for start := int64(0); start < n; start += 1000 {
		es, err := s.Entries(start, int(min(1000, n-start)))
		if err != nil {
			t.Fatal(err)
		}
		hashes := make([]tlog.Hash, len(es))
		for i, e := range es {
			hashes[i] = tlog.RecordHash(e)
		}
		idx, err := s.Lookup(hashes)
		if err != nil {
			t.Fatal(err)
		}
		for i, x := range idx {
			if x != start+int64(i) {
				t.Fatalf("dedup index names entry %d at %d", start+int64(i), x)
			}
		}
	}
}
