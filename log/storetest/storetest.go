// Package storetest is the conformance suite of [log.Store]: every
// backend (bbolt, PostgreSQL) runs it, so that they keep one semantics.
// Import it only from _test.go files.
package storetest

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/attestlog/attestlog/log"
	"github.com/attestlog/attestlog/log/claim/format"
	"github.com/attestlog/attestlog/log/claim/record/recordtest"
	"github.com/transparency-dev/merkle/rfc6962"
	"golang.org/x/mod/sumdb/tlog"
)

// A Backend makes the stores the suite tests.
type Backend struct {
	// New returns where a new, empty store can be created (a file name, a
	// database URL); each call a fresh one.
	New func(t *testing.T) string
	// Open opens the store at place, creating it if it is new. The suite
	// closes every store it opens.
	Open func(t *testing.T, place string) log.Store
}

// Run runs the suite against b, each test as a subtest of t.
func Run(t *testing.T, b Backend) {
	for _, tc := range []struct {
		name string
		fn   func(*testing.T, Backend)
	}{
		{"Empty", testEmpty},
		{"CommitAndRead", testCommitAndRead},
		{"Reopen", testReopen},
		{"StartCheck", testStartCheck},
		{"FailedBatchLeavesNothing", testFailedBatch},
		{"IndexScanOrder", testIndexScan},
		{"IndexDelete", testIndexDelete},
		{"LargeValues", testLargeValues},
		{"Witnessed", testWitnessed},
		{"ConcurrentReaders", testConcurrentReaders},
		{"ClaimIndexV2", testClaimIndexV2},
	} {
		t.Run(tc.name, func(t *testing.T) { tc.fn(t, b) })
	}
}

func open(t *testing.T, b Backend, place string) log.Store {
	t.Helper()
	s := b.Open(t, place)
	t.Cleanup(func() { s.Close() })
	return s
}

// A chain builds batches that extend one another, as a sequencer would.
type chain struct {
	size int64
	root tlog.Hash
}

func newChain() *chain { return &chain{root: tlog.Hash(rfc6962.DefaultHasher.EmptyRoot())} }

// next returns a batch of entries that extends c, with a made-up root and
// checkpoint (stores do not verify them), and advances c as if it committed.
func (c *chain) next(entries ...[]byte) *log.Batch {
	b := &log.Batch{Start: c.size, PrevRoot: c.root, Entries: entries, Tiles: map[log.TileID][]byte{}}
	for _, e := range entries {
		b.Hashes = append(b.Hashes, tlog.RecordHash(e))
	}
	c.size += int64(len(entries))
	c.root = sha256.Sum256(fmt.Appendf(nil, "root %d %x", c.size, c.root))
	b.Root = c.root
	b.Checkpoint = checkpoint(c.size)
	return b
}

func checkpoint(size int64) []byte { return fmt.Appendf(nil, "test checkpoint\n%d\n", size) }

func commit(t *testing.T, s log.Store, b *log.Batch) {
	t.Helper()
	if err := s.Commit(b); err != nil {
		t.Fatalf("Commit(start %d, %d entries): %v", b.Start, len(b.Entries), err)
	}
}

func entry(i int) []byte { return fmt.Appendf(nil, "entry %d", i) }

func testEmpty(t *testing.T, b Backend) {
	s := open(t, b, b.New(t))
	if cp, err := s.Checkpoint(); err != nil || cp != nil {
		t.Errorf("Checkpoint() = %q, %v; want nil, nil", cp, err)
	}
	if w, err := s.Witnessed(); err != nil || w != nil {
		t.Errorf("Witnessed() = %q, %v; want nil, nil", w, err)
	}
	if ts, err := s.Tiles([]log.TileID{{Level: 0, N: 0}, {Level: 1, N: 0}}); err != nil || len(ts) != 2 || ts[0] != nil || ts[1] != nil {
		t.Errorf("Tiles = %q, %v; want two nils", ts, err)
	}
	if es, err := s.Entries(0, 0); err != nil || len(es) != 0 {
		t.Errorf("Entries(0, 0) = %q, %v; want none", es, err)
	}
	if _, err := s.Entries(0, 1); !errors.Is(err, log.ErrNotFound) {
		t.Errorf("Entries(0, 1) error = %v; want ErrNotFound", err)
	}
	if idx, err := s.Lookup([]tlog.Hash{tlog.RecordHash(entry(0))}); err != nil || !slices.Equal(idx, []int64{-1}) {
		t.Errorf("Lookup = %v, %v; want [-1]", idx, err)
	}
	if v, err := s.IndexGet("space", []byte("k")); err != nil || v != nil {
		t.Errorf("IndexGet = %q, %v; want nil", v, err)
	}
	if err := s.IndexScan("space", nil, func(k, _ []byte) bool { t.Errorf("IndexScan of an empty store gave %q", k); return true }); err != nil {
		t.Error(err)
	}
}

// fill commits three batches to s: entries 0..9, tiles widened and added,
// index records written and overwritten; it returns the chain.
func fill(t *testing.T, s log.Store) *chain {
	t.Helper()
	c := newChain()
	b := c.next(entry(0), entry(1), entry(2))
	b.Tiles[log.TileID{Level: 0, N: 0}] = bytes.Repeat([]byte{1}, 3*32)
	b.Index = []log.IndexWrite{{Space: "a", Key: []byte("k1"), Value: []byte("v1")}, {Space: "b", Key: []byte("k1"), Value: []byte("other space")}}
	commit(t, s, b)
	b = c.next(entry(3), entry(4), entry(5), entry(6))
	b.Tiles[log.TileID{Level: 0, N: 0}] = bytes.Repeat([]byte{1}, 7*32)
	b.Index = []log.IndexWrite{
		{Space: "a", Key: []byte("k2"), Value: []byte("first")},
		{Space: "a", Key: []byte("k2"), Value: []byte("v2")},  // the later write in a batch wins
		{Space: "a", Key: []byte("k1"), Value: []byte("v1'")}, // and a later batch
		{Space: "a", Key: []byte("k3"), Value: []byte{}},
	}
	commit(t, s, b)
	commit(t, s, c.next()) // a batch of no entries: a new checkpoint only
	b = c.next(entry(7), entry(8), entry(9))
	b.Tiles[log.TileID{Level: 0, N: 0}] = bytes.Repeat([]byte{1}, 10*32)
	b.Tiles[log.TileID{Level: 1, N: 0}] = bytes.Repeat([]byte{2}, 32)
	commit(t, s, b)
	return c
}

// checkFilled checks that s holds what fill committed.
func checkFilled(t *testing.T, s log.Store) {
	t.Helper()
	if cp, err := s.Checkpoint(); err != nil || !bytes.Equal(cp, checkpoint(10)) {
		t.Errorf("Checkpoint() = %q, %v; want %q", cp, err, checkpoint(10))
	}
	es, err := s.Entries(0, 10)
	if err != nil {
		t.Fatalf("Entries(0, 10): %v", err)
	}
	for i, e := range es {
		if !bytes.Equal(e, entry(i)) {
			t.Errorf("entry %d = %q, want %q", i, e, entry(i))
		}
	}
	if es, err := s.Entries(4, 3); err != nil || len(es) != 3 || !bytes.Equal(es[0], entry(4)) || !bytes.Equal(es[2], entry(6)) {
		t.Errorf("Entries(4, 3) = %q, %v", es, err)
	}
	for _, r := range [][2]int64{{9, 2}, {10, 1}, {-1, 1}} {
		if _, err := s.Entries(r[0], int(r[1])); !errors.Is(err, log.ErrNotFound) {
			t.Errorf("Entries(%d, %d) error = %v, want ErrNotFound", r[0], r[1], err)
		}
	}
	ts, err := s.Tiles([]log.TileID{{Level: 1, N: 0}, {Level: 0, N: 0}, {Level: 0, N: 1}, {Level: 1, N: 0}})
	if err != nil {
		t.Fatal(err)
	}
	want := [][]byte{bytes.Repeat([]byte{2}, 32), bytes.Repeat([]byte{1}, 10*32), nil, bytes.Repeat([]byte{2}, 32)}
	for i := range want {
		if !bytes.Equal(ts[i], want[i]) || (ts[i] == nil) != (want[i] == nil) {
			t.Errorf("tile %d of the request = %x, want %x", i, ts[i], want[i])
		}
	}
	hashes := []tlog.Hash{tlog.RecordHash(entry(9)), tlog.RecordHash([]byte("absent")), tlog.RecordHash(entry(0)), tlog.RecordHash(entry(9))}
	if idx, err := s.Lookup(hashes); err != nil || !slices.Equal(idx, []int64{9, -1, 0, 9}) {
		t.Errorf("Lookup = %v, %v; want [9 -1 0 9]", idx, err)
	}
	for _, kv := range [][3]string{{"a", "k1", "v1'"}, {"a", "k2", "v2"}, {"b", "k1", "other space"}} {
		if v, err := s.IndexGet(kv[0], []byte(kv[1])); err != nil || string(v) != kv[2] {
			t.Errorf("IndexGet(%s, %s) = %q, %v; want %q", kv[0], kv[1], v, err, kv[2])
		}
	}
	if v, err := s.IndexGet("a", []byte("k3")); err != nil || v == nil || len(v) != 0 {
		t.Errorf("IndexGet of an empty value = %#v, %v; want a non-nil empty slice", v, err)
	}
	if v, err := s.IndexGet("c", []byte("k1")); err != nil || v != nil {
		t.Errorf("IndexGet in a space never written = %q, %v; want nil", v, err)
	}
}

func testCommitAndRead(t *testing.T, b Backend) {
	s := open(t, b, b.New(t))
	fill(t, s)
	checkFilled(t, s)
}

func testReopen(t *testing.T, b Backend) {
	place := b.New(t)
	s := b.Open(t, place)
	c := fill(t, s)
	if err := s.SetWitnessed(checkpoint(10)); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s = open(t, b, place)
	checkFilled(t, s)
	if w, err := s.Witnessed(); err != nil || !bytes.Equal(w, checkpoint(10)) {
		t.Errorf("Witnessed() after reopening = %q, %v", w, err)
	}
	commit(t, s, c.next(entry(10))) // the swap continues from the stored (size, root)
}

func testStartCheck(t *testing.T, b Backend) {
	s := open(t, b, b.New(t))
	c := fill(t, s)
	stale := []struct {
		name  string
		batch func() *log.Batch
	}{
		{"start behind", func() *log.Batch { b := c.next(entry(100)); b.Start = 9; return b }},
		{"start ahead", func() *log.Batch { b := c.next(entry(100)); b.Start = 11; return b }},
		{"another root", func() *log.Batch { b := c.next(entry(100)); b.PrevRoot[0] ^= 1; return b }},
		{"replay of an earlier batch", func() *log.Batch { return newChain().next(entry(0)) }},
	}
	for _, tc := range stale {
		saved := *c
		b := tc.batch()
		*c = saved
		b.Tiles[log.TileID{Level: 0, N: 0}] = bytes.Repeat([]byte{9}, 11*32)
		b.Index = []log.IndexWrite{{Space: "a", Key: []byte("k1"), Value: []byte("overwritten")}}
		if err := s.Commit(b); !errors.Is(err, log.ErrStaleBatch) {
			t.Errorf("%s: Commit error = %v, want ErrStaleBatch", tc.name, err)
		}
		checkFilled(t, s)
	}
	commit(t, s, c.next(entry(10)))
}

func testFailedBatch(t *testing.T, b Backend) {
	s := open(t, b, b.New(t))
	c := fill(t, s)
	saved := *c
	bad := c.next(entry(10), entry(11))
	bad.Tiles[log.TileID{Level: 0, N: 0}] = bytes.Repeat([]byte{1}, 12*32)
	bad.Tiles[log.TileID{Level: 2, N: 0}] = bytes.Repeat([]byte{3}, 32)
	bad.Index = []log.IndexWrite{
		{Space: "a", Key: []byte("k1"), Value: []byte("overwritten")},
		{Space: "new", Key: []byte("k"), Value: []byte("v")},
		{Space: "a", Key: nil, Value: []byte("an empty key fails the batch")},
	}
	if err := s.Commit(bad); err == nil {
		t.Fatal("Commit of a batch with an empty index key succeeded")
	}
	checkFilled(t, s)
	if idx, err := s.Lookup([]tlog.Hash{tlog.RecordHash(entry(10))}); err != nil || idx[0] != -1 {
		t.Errorf("Lookup of an entry of the failed batch = %v, %v; want -1", idx, err)
	}
	if ts, err := s.Tiles([]log.TileID{{Level: 2, N: 0}}); err != nil || ts[0] != nil {
		t.Errorf("tile of the failed batch = %x, %v; want none", ts[0], err)
	}
	if v, err := s.IndexGet("new", []byte("k")); err != nil || v != nil {
		t.Errorf("index record of the failed batch = %q, %v; want none", v, err)
	}
	*c = saved
	commit(t, s, c.next(entry(10), entry(11)))
	if es, err := s.Entries(10, 2); err != nil || !bytes.Equal(es[1], entry(11)) {
		t.Errorf("Entries(10, 2) after retrying = %q, %v", es, err)
	}
}

func testIndexScan(t *testing.T, b Backend) {
	s := open(t, b, b.New(t))
	keys := [][]byte{
		{0x00}, {0x01}, {0x01, 0x00}, {0x01, 0x00, 0x00}, {0x01, 0x7f}, {0x01, 0x80}, {0x01, 0xfe, 0xff},
		{0x01, 0xff}, {0x01, 0xff, 0x00}, {0x01, 0xff, 0xff}, {0x01, 0xff, 0xff, 0x01}, {0x02}, {0x02, 0x00},
		{0x7f, 0xff}, {0x80}, {0xfe, 0xff, 0xff}, {0xff}, {0xff, 0x00}, {0xff, 0xff}, {0xff, 0xff, 0xff},
		[]byte("mismatch/000001"), []byte("mismatch/000002"), []byte("mismatch/00001"),
	}
	rng := rand.New(rand.NewPCG(1, 2))
	shuffled := slices.Clone(keys)
	rng.Shuffle(len(shuffled), func(i, j int) { shuffled[i], shuffled[j] = shuffled[j], shuffled[i] })
	c := newChain()
	for len(shuffled) > 0 { // several batches, keys in random order
		n := min(len(shuffled), 1+rng.IntN(6))
		b := c.next()
		for _, k := range shuffled[:n] {
			b.Index = append(b.Index, log.IndexWrite{Space: "scan", Key: k, Value: fmt.Appendf(nil, "%x", k)},
				log.IndexWrite{Space: "scan2", Key: k, Value: []byte("other")})
		}
		commit(t, s, b)
		shuffled = shuffled[n:]
	}
	slices.SortFunc(keys, bytes.Compare)
	for _, prefix := range [][]byte{nil, {}, {0x01}, {0x01, 0xff}, {0x01, 0xff, 0xff}, {0xff}, {0xff, 0xff}, {0xff, 0xff, 0xff, 0xff}, {0x03}, {0x00}, []byte("mismatch/0000"), []byte("mismatch/00001")} {
		var want, got [][]byte
		for _, k := range keys {
			if bytes.HasPrefix(k, prefix) {
				want = append(want, k)
			}
		}
		err := s.IndexScan("scan", prefix, func(k, v []byte) bool {
			if string(v) != fmt.Sprintf("%x", k) {
				t.Errorf("IndexScan gave key %x with value %q", k, v)
			}
			got = append(got, bytes.Clone(k))
			return true
		})
		if err != nil {
			t.Fatal(err)
		}
		if !slices.EqualFunc(got, want, bytes.Equal) {
			t.Errorf("IndexScan(prefix %x) = %x, want %x", prefix, got, want)
		}
		if len(want) > 1 { // stopping early
			got = nil
			s.IndexScan("scan", prefix, func(k, _ []byte) bool { got = append(got, bytes.Clone(k)); return len(got) < 2 })
			if !slices.EqualFunc(got, want[:2], bytes.Equal) {
				t.Errorf("IndexScan(prefix %x) stopping after two = %x, want %x", prefix, got, want[:2])
			}
		}
	}
	checkIndexGetMany(t, s, keys)
}

// checkIndexGetMany reads, in one IndexGetMany, every key of space "scan"
// (which holds keys, each with its hex as value), absent keys, prefixes of
// every kind, and a space never written, and compares each answer with
// what the keys imply.
func checkIndexGetMany(t *testing.T, s log.Store, keys [][]byte) {
	t.Helper()
	var reads []log.IndexRead
	for _, k := range keys {
		reads = append(reads, log.IndexRead{Space: "scan", Key: k}, log.IndexRead{Space: "scan2", Key: k})
	}
	for _, k := range [][]byte{nil, {0x01, 0x00, 0x01}, {0x03}, {0xff, 0xff, 0xff, 0xff}} {
		reads = append(reads, log.IndexRead{Space: "scan", Key: k})
	}
	for _, p := range [][]byte{nil, {0x01}, {0x01, 0xfe}, {0x01, 0xff}, {0x01, 0xff, 0xff}, {0x03}, {0x7f}, {0xff}, {0xff, 0xff, 0xff}, {0xff, 0xff, 0xff, 0xff}, []byte("mismatch/00001")} {
		reads = append(reads, log.IndexRead{Space: "scan", Key: p, Prefix: true})
	}
	reads = append(reads, log.IndexRead{Space: "never", Key: []byte{0x01}}, log.IndexRead{Space: "never", Prefix: true})
	got, err := s.IndexGetMany(reads)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(reads) {
		t.Fatalf("IndexGetMany of %d reads gave %d values", len(reads), len(got))
	}
	for i, r := range reads {
		var want []byte
		for _, k := range keys { // sorted: the first match is the first in key order
			if r.Space == "never" || !(bytes.Equal(k, r.Key) || r.Prefix && bytes.HasPrefix(k, r.Key)) {
				continue
			}
			want = fmt.Appendf(nil, "%x", k)
			if r.Space == "scan2" {
				want = []byte("other")
			}
			break
		}
		if !bytes.Equal(got[i], want) || (got[i] == nil) != (want == nil) {
			t.Errorf("IndexGetMany read %d (space %s, key %x, prefix %v) = %q, want %q", i, r.Space, r.Key, r.Prefix, got[i], want)
		}
	}
	if got, err := s.IndexGetMany(nil); err != nil || len(got) != 0 {
		t.Errorf("IndexGetMany(nil) = %q, %v; want none", got, err)
	}
}

func testLargeValues(t *testing.T, b Backend) {
	s := open(t, b, b.New(t))
	rng := rand.NewChaCha8([32]byte{1})
	big := func(n int) []byte { p := make([]byte, n); rng.Read(p); return p }
	e := big(65535)
	value := big(4 << 20)
	tile := big(256 * 32)
	cp := big(64 << 10)
	c := newChain()
	bt := c.next(e, big(1), []byte{})
	bt.Tiles[log.TileID{Level: 0, N: 0}] = tile
	bt.Index = []log.IndexWrite{{Space: "big", Key: big(512), Value: value}}
	bt.Checkpoint = cp
	commit(t, s, bt)
	es, err := s.Entries(0, 3)
	if err != nil || !bytes.Equal(es[0], e) || es[2] == nil || len(es[2]) != 0 {
		t.Errorf("Entries: %v (entry of 65535 bytes equal: %v; empty entry: %#v)", err, err == nil && bytes.Equal(es[0], e), es)
	}
	if ts, err := s.Tiles([]log.TileID{{Level: 0, N: 0}}); err != nil || !bytes.Equal(ts[0], tile) {
		t.Errorf("full tile differs (%v)", err)
	}
	if got, err := s.Checkpoint(); err != nil || !bytes.Equal(got, cp) {
		t.Errorf("checkpoint of 64 KiB differs (%v)", err)
	}
	if v, err := s.IndexGet("big", bt.Index[0].Key); err != nil || !bytes.Equal(v, value) {
		t.Errorf("index value of 4 MiB differs (%v)", err)
	}
	n := 0
	s.IndexScan("big", bt.Index[0].Key[:100], func(_, v []byte) bool { n++; return bytes.Equal(v, value) })
	if n != 1 {
		t.Errorf("IndexScan found %d records, want 1", n)
	}
}

func testWitnessed(t *testing.T, b Backend) {
	s := open(t, b, b.New(t))
	c := newChain()
	commit(t, s, c.next(entry(0)))
	for _, n := range []string{"test checkpoint\n1\n\n— first", "test checkpoint\n1\n\n— second"} {
		if err := s.SetWitnessed([]byte(n)); err != nil {
			t.Fatal(err)
		}
		if w, err := s.Witnessed(); err != nil || string(w) != n {
			t.Errorf("Witnessed() = %q, %v; want %q", w, err, n)
		}
	}
	commit(t, s, c.next(entry(1)))
	if w, err := s.Witnessed(); err != nil || !strings.HasSuffix(string(w), "second") {
		t.Errorf("Witnessed() after a commit = %q, %v", w, err)
	}
	if cp, err := s.Checkpoint(); err != nil || !bytes.Equal(cp, checkpoint(2)) {
		t.Errorf("Checkpoint() = %q, %v", cp, err)
	}
}

// testConcurrentReaders runs readers while one writer commits, and checks
// that every read sees the state some commit left: each commit writes two
// tiles and two index records of one generation, so a read that sees two
// generations saw part of a commit.
func testConcurrentReaders(t *testing.T, b Backend) {
	s := open(t, b, b.New(t))
	const commits = 150
	var done atomic.Bool
	var wg sync.WaitGroup
	for r := range 4 {
		wg.Go(func() {
			for reads := 0; !done.Load() || reads < 5; reads++ {
				if err := readConsistent(s); err != nil {
					t.Errorf("reader %d: %v", r, err)
					return
				}
			}
		})
	}
	c := newChain()
	for gen := 1; gen <= commits; gen++ {
		var es [][]byte
		for range 1 + gen%4 {
			es = append(es, entry(int(c.size)+len(es)))
		}
		b := c.next(es...)
		data := bytes.Repeat([]byte{byte(gen)}, 32*(1+gen%256))
		b.Tiles[log.TileID{Level: 0, N: 0}] = data
		b.Tiles[log.TileID{Level: 1, N: 0}] = bytes.Clone(data)
		g := []byte(strconv.Itoa(gen))
		b.Index = []log.IndexWrite{{Space: "gen", Key: []byte("a"), Value: g}, {Space: "gen", Key: []byte("b"), Value: g}}
		if err := s.Commit(b); err != nil {
			t.Error(err)
			break
		}
	}
	done.Store(true)
	wg.Wait()
}

func readConsistent(s log.Store) error {
	cp, err := s.Checkpoint()
	if err != nil {
		return err
	}
	var size int64
	if cp != nil {
		if _, err := fmt.Sscanf(string(cp), "test checkpoint\n%d\n", &size); err != nil {
			return fmt.Errorf("checkpoint %q: %v", cp, err)
		}
	}
	// Entries only grow: everything the checkpoint covers must be there.
	es, err := s.Entries(0, int(size))
	if err != nil {
		return fmt.Errorf("entries of checkpoint %d: %w", size, err)
	}
	hashes := make([]tlog.Hash, len(es))
	for i, e := range es {
		if !bytes.Equal(e, entry(i)) {
			return fmt.Errorf("entry %d = %q", i, e)
		}
		hashes[i] = tlog.RecordHash(e)
	}
	idx, err := s.Lookup(hashes)
	if err != nil {
		return err
	}
	for i, x := range idx {
		if x != int64(i) {
			return fmt.Errorf("Lookup of entry %d = %d", i, x)
		}
	}
	ts, err := s.Tiles([]log.TileID{{Level: 0, N: 0}, {Level: 1, N: 0}})
	if err != nil {
		return err
	}
	if !bytes.Equal(ts[0], ts[1]) {
		return fmt.Errorf("Tiles saw two commits: tiles of %d and %d bytes", len(ts[0]), len(ts[1]))
	}
	var vals []string
	if err := s.IndexScan("gen", nil, func(_, v []byte) bool { vals = append(vals, string(v)); return true }); err != nil {
		return err
	}
	if len(vals) == 2 && vals[0] != vals[1] || len(vals) == 1 {
		return fmt.Errorf("IndexScan saw two commits: %q", vals)
	}
	return nil
}

// testClaimIndexV2 indexes v2 claim entries with the log's ClaimIndex on
// the store and finds them by file name (digest-only claims), by builder
// and by source with several platforms in one claim: the index spaces of
// issue 11 work on every backend.
func testClaimIndexV2(t *testing.T, b Backend) {
	s := open(t, b, b.New(t))
	ed, ed2 := recordtest.NewEd25519(t, 1), recordtest.NewEd25519(t, 2)
	m := recordtest.NewMinisign(t, 3)
	files := map[string][]byte{"hello-1.0-x86_64-linux-gnu.tar.gz": []byte("a"), "hello-1.0-aarch64-linux-gnu.tar.gz": []byte("b")}
	const gitCommit = "0123456789abcdef0123456789abcdef01234567"
	entries := [][]byte{
		ed.SumsEntry(t, recordtest.Sums(files), format.Annotations{}),
		ed2.SumsEntry(t, recordtest.SumsWithDigest("hello-1.0-x86_64-linux-gnu.tar.gz", strings.Repeat("e", 64)), format.Annotations{}),
		m.Entry(t, "hello-1.0-x86_64-linux-gnu.tar.gz", []byte("a"), true, "source:git+https://example.org/hello\tcommit:"+gitCommit),
		m.Entry(t, "hello-1.0-aarch64-linux-gnu.tar.gz", []byte("b"), true, "source:git+https://example.org/hello\tcommit:"+gitCommit),
	}
	c := newChain()
	var ix log.ClaimIndex
	for i, e := range entries { // one batch per entry: the indexer reads what earlier ones wrote
		writes, err := ix.Index(s, int64(i), []log.NewEntry{{Bytes: e}})
		if err != nil {
			t.Fatal(err)
		}
		bt := c.next(e)
		bt.Index = writes
		commit(t, s, bt)
	}
	for _, tc := range []struct {
		what string
		got  func() ([]int64, error)
		want []int64
	}{
		{"name", func() ([]int64, error) { return ix.ByName(s, "hello-1.0-x86_64-linux-gnu.tar.gz", 4) }, []int64{0, 1}},
		{"name below 1", func() ([]int64, error) { return ix.ByName(s, "hello-1.0-x86_64-linux-gnu.tar.gz", 1) }, []int64{0}},
		{"other name", func() ([]int64, error) { return ix.ByName(s, "hello-1.0-aarch64-linux-gnu.tar.gz", 4) }, []int64{0}},
		{"builder", func() ([]int64, error) { return ix.ByBuilder(s, "ed25519:"+ed2.Verifier.KeyID(), 4) }, []int64{1}},
		{"source, all platforms", func() ([]int64, error) { return ix.BySource(s, "git+https://example.org/hello", gitCommit, "", 4) }, []int64{2, 3}},
		{"source, arm64", func() ([]int64, error) {
			return ix.BySource(s, "git+https://example.org/hello", gitCommit, "linux/arm64", 4)
		}, []int64{3}},
		{"digest", func() ([]int64, error) { return ix.ByDigest(s, strings.Repeat("e", 64), 4) }, []int64{1}},
	} {
		got, err := tc.got()
		if err != nil || !slices.Equal(got, tc.want) {
			t.Errorf("%s: %v, %v; want %v", tc.what, got, err, tc.want)
		}
	}
}

// testIndexDelete checks that a delete removes a record, that the last
// write of a key in a batch counts (a put after a delete, a delete after a
// put), that deleting an absent record or from an absent space is no
// error, and that an empty key fails the batch.
func testIndexDelete(t *testing.T, b Backend) {
	s := open(t, b, b.New(t))
	c := newChain()
	put := func(space, k, v string) log.IndexWrite {
		return log.IndexWrite{Space: space, Key: []byte(k), Value: []byte(v)}
	}
	del := func(space, k string) log.IndexWrite {
		return log.IndexWrite{Space: space, Key: []byte(k), Delete: true}
	}
	batch := c.next(entry(0))
	batch.Index = []log.IndexWrite{put("d", "a", "1"), put("d", "b", "2"), put("d", "c", "3"), put("d", "e", "5"), put("other", "a", "kept")}
	commit(t, s, batch)
	batch = c.next(entry(1))
	batch.Index = []log.IndexWrite{
		del("d", "a"),
		del("d", "b"), put("d", "b", "2'"), // put after delete: kept
		put("d", "c", "3'"), del("d", "c"), // delete after put: gone
		del("d", "absent"), del("no such space", "a"),
		put("d", "f", "6"),
	}
	commit(t, s, batch)
	want := map[string]string{"b": "2'", "e": "5", "f": "6"}
	var got []string
	if err := s.IndexScan("d", nil, func(k, v []byte) bool { got = append(got, string(k)+"="+string(v)); return true }); err != nil {
		t.Fatal(err)
	}
	if w := []string{"b=2'", "e=5", "f=6"}; !slices.Equal(got, w) {
		t.Errorf("IndexScan after deletes = %q, want %q", got, w)
	}
	for _, k := range []string{"a", "b", "c", "e", "f"} {
		v, err := s.IndexGet("d", []byte(k))
		if w, ok := want[k]; err != nil || (v == nil) == ok || ok && string(v) != w {
			t.Errorf("IndexGet(%q) = %q, %v; want %q (present %v)", k, v, err, w, ok)
		}
	}
	if v, err := s.IndexGet("other", []byte("a")); err != nil || string(v) != "kept" {
		t.Errorf("a delete in one space removed the key of another: %q, %v", v, err)
	}
	saved := *c
	bad := c.next(entry(2))
	bad.Index = []log.IndexWrite{del("d", "e"), {Space: "d", Delete: true}}
	if err := s.Commit(bad); err == nil {
		t.Fatal("Commit of a batch deleting an empty key succeeded")
	}
	*c = saved
	if v, err := s.IndexGet("d", []byte("e")); err != nil || string(v) != "5" {
		t.Errorf("a failed batch's delete was applied: %q, %v", v, err)
	}
}
