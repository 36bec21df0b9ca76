package log_test

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/attestlog/attestlog/log"
	"github.com/attestlog/attestlog/log/archive"
	"github.com/attestlog/attestlog/log/claim"
	"github.com/attestlog/attestlog/log/vindex"
	pb "github.com/attestlog/attestlog/proto/attestlog/v1"
	"github.com/transparency-dev/merkle/proof"
	"github.com/transparency-dev/merkle/rfc6962"
	bolt "go.etcd.io/bbolt"
	bolterrors "go.etcd.io/bbolt/errors"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// fakeClock is a settable clock.
type fakeClock struct{ t time.Time }

func (c *fakeClock) now() time.Time { return c.t }

// mapOf recomputes the map over the log's entries [0, n) from the entries,
// as a monitor does.
func mapOf(t *testing.T, l *log.Log, n int64) vindex.Hash {
	t.Helper()
	var adds []vindex.Addition
	for i := range n {
		e, err := l.Entries(i, 1)
		if err != nil {
			t.Fatal(err)
		}
		keys, ok := vindex.EntryKeys(e[0])
		if !ok {
			t.Fatalf("entry %d is neither a claim nor a commitment", i)
		}
		for _, k := range keys {
			adds = append(adds, vindex.Addition{Key: k, Index: i})
		}
	}
	root, err := vindex.Update(&vindex.MemStore{}, adds)
	if err != nil {
		t.Fatal(err)
	}
	return root
}

// checkIndexProof verifies a lookup's index proof against the checkpoint
// of its tree size and returns the commitment and the indexes the map lists.
func checkIndexProof(t *testing.T, cl *claimLog, ip *pb.IndexProof, key vindex.Key) (vindex.Commitment, []int64) {
	t.Helper()
	size := int64(ip.GetTreeSize())
	root, err := cl.TreeHash(size)
	if err != nil {
		t.Fatal(err)
	}
	if len(ip.GetCommitmentEntry()) == 0 {
		return vindex.Commitment{}, nil
	}
	c, err := vindex.ParseCommitment(ip.GetCommitmentEntry())
	if err != nil {
		t.Fatal(err)
	}
	if err := proof.VerifyInclusion(rfc6962.DefaultHasher, ip.GetCommitmentIndex(), uint64(size), rfc6962.DefaultHasher.HashLeaf(ip.GetCommitmentEntry()),
		ip.GetCommitmentInclusionProof(), root[:]); err != nil {
		t.Fatalf("commitment %d: inclusion in the tree of size %d: %v", ip.GetCommitmentIndex(), size, err)
	}
	idx, err := vindex.VerifyProof(c.Root, key, ip.GetMapProof())
	if err != nil {
		t.Fatalf("map proof against commitment %d: %v", ip.GetCommitmentIndex(), err)
	}
	return c, idx
}

// TestIndexCommitter checks when the committer commits (every Entries
// entries or Age, never for an empty tail), that each commitment's root is
// the map recomputed from the entries, that a commitment entry is not
// indexed as a claim, and that lookups prove against the latest commitment
// below the tree size asked for, from either slot.
func TestIndexCommitter(t *testing.T) {
	ctx := context.Background()
	cl := newClaimLog(t, log.ServiceConfig{}, archive.Config{})
	clock := &fakeClock{t: time.Unix(1e9, 0)}
	cfg := log.IndexConfig{Entries: 3, Age: time.Minute, Now: clock.now}
	ic, err := log.NewIndexCommitter(cl.Log.Log, cfg)
	if err != nil {
		t.Fatal(err)
	}
	step := func(want int64) {
		t.Helper()
		got, err := ic.Step(ctx)
		if err != nil || got != want {
			t.Fatalf("Step() = %d, %v, want %d", got, err, want)
		}
	}
	bin := []byte("the binary")
	add := func(builder string) {
		t.Helper()
		if _, err := cl.client.AddClaim(ctx, &pb.AddClaimRequest{Envelope: envelope(t, buildClaim(bin, builder), testBuilder(t, builder))}); err != nil {
			t.Fatal(err)
		}
	}
	step(-1) // empty log
	add("a.example")
	add("b.example")
	step(-1) // two entries wait, fewer than 3, for less than Age
	clock.t = clock.t.Add(time.Minute)
	step(2)
	if got, want := cl.Checkpoint().Size, int64(3); got != want {
		t.Fatalf("tree size %d after the first commitment, want %d", got, want)
	}
	clock.t = clock.t.Add(time.Hour)
	step(-1) // only the commitment itself follows it
	for _, b := range []string{"c.example", "d.example", "e.example"} {
		add(b)
	}
	step(6) // three entries wait: at once
	digest := vindex.DigestKey(sha(bin))
	for _, tc := range []struct {
		size     int64
		wantAt   int64
		wantSize int64
		wantList []int64
	}{
		{size: 7, wantAt: 6, wantSize: 6, wantList: []int64{0, 1, 3, 4, 5}},
		{size: 6, wantAt: 2, wantSize: 2, wantList: []int64{0, 1}},
		{size: 3, wantAt: 2, wantSize: 2, wantList: []int64{0, 1}},
	} {
		resp, err := cl.client.LookupByDigest(ctx, &pb.LookupByDigestRequest{Sha256: sha(bin), TreeSize: uint64(tc.size)})
		if err != nil {
			t.Fatal(err)
		}
		ip := resp.GetIndexProof()
		c, list := checkIndexProof(t, cl, ip, digest)
		if int64(ip.GetCommitmentIndex()) != tc.wantAt || c.Size != tc.wantSize || !slices.Equal(list, tc.wantList) {
			t.Errorf("tree size %d: commitment %d of size %d listing %v, want %d of size %d listing %v",
				tc.size, ip.GetCommitmentIndex(), c.Size, list, tc.wantAt, tc.wantSize, tc.wantList)
		}
		if want := mapOf(t, cl.Log.Log, c.Size); c.Root != want {
			t.Errorf("commitment %d: root %s, the entries give %s", ip.GetCommitmentIndex(), c.Root, want)
		}
		if got, want := len(ip.GetTailLeft()), bitsSet(c.Size); got != want {
			t.Errorf("tree size %d: %d compact range hashes, want %d", tc.size, got, want)
		}
	}
	// Before the first commitment, the whole tree is the tail.
	resp, err := cl.client.LookupByDigest(ctx, &pb.LookupByDigestRequest{Sha256: sha(bin), TreeSize: 2})
	if err != nil || len(resp.GetIndexProof().GetCommitmentEntry()) != 0 || len(resp.GetIndexProof().GetTailLeft()) != 0 {
		t.Fatalf("lookup at size 2: %v, %v; want no commitment", resp.GetIndexProof(), err)
	}

	// A new committer (as after a restart) resumes from the index's state:
	// the third commitment applies the entries [6, 9) to the second's map.
	ic2, err := log.NewIndexCommitter(cl.Log.Log, cfg)
	if err != nil {
		t.Fatal(err)
	}
	for _, b := range []string{"f.example", "g.example"} {
		add(b)
	}
	if got, err := ic2.Step(ctx); err != nil || got != -1 {
		t.Fatalf("Step() after a restart, two entries waiting = %d, %v, want -1", got, err)
	}
	clock.t = clock.t.Add(time.Minute)
	if got, err := ic2.Step(ctx); err != nil || got != 9 {
		t.Fatalf("Step() after a restart = %d, %v, want 9", got, err)
	}
	for _, tc := range []struct {
		platform string
		key      vindex.Key
	}{
		{"", vindex.SourceKey(buildClaim(bin, "").Source, buildClaim(bin, "").Commit)},
		{"linux/amd64", vindex.BuildKey(buildClaim(bin, "").Source, buildClaim(bin, "").Commit, "linux/amd64")},
	} {
		c := buildClaim(bin, "")
		resp, err := cl.client.LookupBySource(ctx, &pb.LookupBySourceRequest{SourceUri: c.Source, Commit: c.Commit, Platform: tc.platform})
		if err != nil {
			t.Fatal(err)
		}
		cm, list := checkIndexProof(t, cl, resp.GetIndexProof(), tc.key)
		if want := []int64{0, 1, 3, 4, 5, 7, 8}; cm.Size != 9 || !slices.Equal(list, want) {
			t.Errorf("lookup by source, platform %q: commitment of size %d listing %v, want size 9 listing %v", tc.platform, cm.Size, list, want)
		}
		if want := mapOf(t, cl.Log.Log, 9); cm.Root != want {
			t.Errorf("third commitment: root %s, the entries give %s", cm.Root, want)
		}
	}
	// The second commitment still serves the trees it is the latest below,
	// from the versions of the strata it wrote, which the third kept.
	for _, size := range []int64{7, 9} {
		resp, err := cl.client.LookupByDigest(ctx, &pb.LookupByDigestRequest{Sha256: sha(bin), TreeSize: uint64(size)})
		if err != nil {
			t.Fatal(err)
		}
		c, list := checkIndexProof(t, cl, resp.GetIndexProof(), digest)
		if want := []int64{0, 1, 3, 4, 5}; resp.GetIndexProof().GetCommitmentIndex() != 6 || c.Size != 6 || !slices.Equal(list, want) {
			t.Errorf("tree size %d after the third commitment: commitment %d of size %d listing %v, want 6 of size 6 listing %v",
				size, resp.GetIndexProof().GetCommitmentIndex(), c.Size, list, want)
		}
	}
	if _, err := cl.client.LookupByDigest(ctx, &pb.LookupByDigestRequest{Sha256: sha(bin), TreeSize: 1000}); err == nil {
		t.Error("lookup at a tree size past the log's succeeded")
	}
}

func bitsSet(n int64) int {
	c := 0
	for ; n > 0; n &= n - 1 {
		c++
	}
	return c
}

// TestIndexOlderLayoutRebuilt: a log whose index is in the layouts of
// older attestlogs (two slots of nodes in "vindex-slot" and "vindex-node";
// versioned strata in "vindex-stratum" with "state" and "prune" records;
// no "state/v3" record) serves no commitment until its next one, which
// rebuilds the map from all the entries, says so in a warning, deletes
// the older layout's records, and serves proofs that check against the
// map recomputed from the entries.
func TestIndexOlderLayoutRebuilt(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	bin := []byte("the binary")
	add := func(cl *claimLog, builder string) {
		t.Helper()
		if _, err := cl.client.AddClaim(ctx, &pb.AddClaimRequest{Envelope: envelope(t, buildClaim(bin, builder), testBuilder(t, builder))}); err != nil {
			t.Fatal(err)
		}
	}
	var first int64
	t.Run("older", func(t *testing.T) {
		cl := newClaimLogIn(t, dir, log.ServiceConfig{}, archive.Config{})
		for _, b := range []string{"a.example", "b.example", "c.example"} {
			add(cl, b)
		}
		ic, err := log.NewIndexCommitter(cl.Log.Log, log.IndexConfig{Entries: 1})
		if err != nil {
			t.Fatal(err)
		}
		if first, err = ic.Step(ctx); err != nil || first != 3 {
			t.Fatalf("Step() = %d, %v, want 3", first, err)
		}
		add(cl, "d.example")
	})
	// Turn the store into the older layouts: the commitment's slot and its
	// nodes, as an attestlog before the versioned layout wrote them, and
	// records of the versioned layout.
	editBolt(t, filepath.Join(dir, "log.db"), func(tx *bolt.Tx) error {
		for _, space := range []string{"vindex-state", "vindex-base", "vindex-delta"} {
			if err := tx.DeleteBucket([]byte("idx:" + space)); err != nil && !errors.Is(err, bolterrors.ErrBucketNotFound) {
				return err
			}
		}
		state, err := tx.CreateBucket([]byte("idx:vindex-state"))
		if err != nil {
			return err
		}
		for _, k := range []string{"state", "prune"} {
			if err := state.Put([]byte(k), bytes.Repeat([]byte{1}, 96)); err != nil {
				return err
			}
		}
		strata, err := tx.CreateBucket([]byte("idx:vindex-stratum"))
		if err != nil {
			return err
		}
		for i := range byte(5) {
			if err := strata.Put([]byte{0, 8, i, 0}, bytes.Repeat([]byte{i}, 80)); err != nil {
				return err
			}
		}
		slots, err := tx.CreateBucket([]byte("idx:vindex-slot"))
		if err != nil {
			return err
		}
		root := mapOfEntries(t, tx, 3)
		slot := binary.BigEndian.AppendUint64(binary.BigEndian.AppendUint64(nil, 3), 3)
		if err := slots.Put([]byte{0}, append(slot, root[:]...)); err != nil {
			return err
		}
		nodes, err := tx.CreateBucket([]byte("idx:vindex-node"))
		if err != nil {
			return err
		}
		for i := range byte(40) {
			if err := nodes.Put([]byte{0, 0, 1, i}, bytes.Repeat([]byte{i}, 65)); err != nil {
				return err
			}
		}
		return nil
	})

	cl := newClaimLogIn(t, dir, log.ServiceConfig{}, archive.Config{})
	resp, err := cl.client.LookupByDigest(ctx, &pb.LookupByDigestRequest{Sha256: sha(bin)})
	if err != nil || len(resp.GetIndexProof().GetCommitmentEntry()) != 0 {
		t.Fatalf("lookup before the rebuild: %v, %v; want no commitment (the whole tree is the tail)", resp.GetIndexProof(), err)
	}
	var logs logBuffer
	ic, err := log.NewIndexCommitter(cl.Log.Log, log.IndexConfig{Entries: 1, Logger: logs.logger()})
	if err != nil {
		t.Fatal(err)
	}
	if idx, err := ic.Step(ctx); err != nil || idx != 5 {
		t.Fatalf("Step() on the older layout = %d, %v, want 5", idx, err)
	}
	if got := logs.lines("WARN", "older attestlog", "rebuilding it from the entries", "entries=5", "old_records=48"); len(got) != 1 {
		t.Errorf("no warning of the rebuild with the entries and the older records counted; the log holds:\n%s", logs.b.String())
	}
	for _, k := range []string{"state", "prune"} {
		if v, err := cl.Store.IndexGet("vindex-state", []byte(k)); err != nil || v != nil {
			t.Errorf("record %q of the versioned layout left after the rebuild: %x, %v", k, v, err)
		}
	}
	for _, space := range []string{"vindex-slot", "vindex-node", "vindex-stratum"} {
		cl.Store.IndexScan(space, nil, func(k, _ []byte) bool {
			t.Errorf("record %x of the older layout's space %s left after the rebuild", k, space)
			return true
		})
	}
	resp, err = cl.client.LookupByDigest(ctx, &pb.LookupByDigestRequest{Sha256: sha(bin)})
	if err != nil {
		t.Fatal(err)
	}
	c, list := checkIndexProof(t, cl, resp.GetIndexProof(), vindex.DigestKey(sha(bin)))
	if want := []int64{0, 1, 2, 4}; resp.GetIndexProof().GetCommitmentIndex() != 5 || c.Size != 5 || !slices.Equal(list, want) {
		t.Errorf("lookup after the rebuild: commitment %d of size %d listing %v, want 5 of size 5 listing %v", resp.GetIndexProof().GetCommitmentIndex(), c.Size, list, want)
	}
	if want := mapOf(t, cl.Log.Log, 5); c.Root != want {
		t.Errorf("rebuilt commitment: root %s, the entries give %s", c.Root, want)
	}
}

// mapOfEntries recomputes the map over the entries [0, n) of a bbolt
// store's transaction.
func mapOfEntries(t *testing.T, tx *bolt.Tx, n int64) vindex.Hash {
	t.Helper()
	var adds []vindex.Addition
	for i := range n {
		e := tx.Bucket([]byte("entries")).Get(binary.BigEndian.AppendUint64(nil, uint64(i)))
		keys, _ := vindex.EntryKeys(e)
		for _, k := range keys {
			adds = append(adds, vindex.Addition{Key: k, Index: i})
		}
	}
	root, err := vindex.Update(&vindex.MemStore{}, adds)
	if err != nil {
		t.Fatal(err)
	}
	return root
}

// TestIndexCommitterParsedKeys checks that the committer takes each
// claim's index keys from the sequencer's parse of it rather than parsing
// the entry again, and only for the very bytes they were parsed from: keys
// left for an index under other bytes (a batch that failed to commit, or
// another frontend's entry at that index) are not used.
func TestIndexCommitterParsedKeys(t *testing.T) {
	ctx := context.Background()
	cl := newClaimLog(t, log.ServiceConfig{}, archive.Config{})
	ic, err := log.NewIndexCommitter(cl.Log.Log, log.IndexConfig{Entries: 3, Age: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	bin := []byte("the binary")
	add := func(builder string) int64 {
		t.Helper()
		r, err := cl.client.AddClaim(ctx, &pb.AddClaimRequest{Envelope: envelope(t, buildClaim(bin, builder), testBuilder(t, builder))})
		if err != nil {
			t.Fatal(err)
		}
		return int64(r.GetClaim().GetIndex())
	}
	for _, b := range []string{"a.example", "b.example", "c.example"} {
		add(b)
	}
	if got := ic.CachedKeys(); got != 3 {
		t.Fatalf("the sequencer left the keys of %d claims, want 3", got)
	}
	at, err := ic.Step(ctx)
	if err != nil || at != 3 {
		t.Fatalf("Step() = %d, %v, want 3", at, err)
	}
	if got := ic.CachedKeys(); got != 0 {
		t.Errorf("%d claims' keys left after the commitment, want 0", got)
	}
	c := latestCommitment(t, cl.Log.Log, at)
	if want := mapOf(t, cl.Log.Log, 3); c.Root != want {
		t.Fatalf("commitment root %s, the entries give %s", c.Root, want)
	}

	// Keys left under an index for other bytes are not used.
	wrong := claim.IndexKeys{Digests: []string{sha([]byte("another binary"))}}
	i := add("d.example")
	ic.CacheKeys(i, []byte("not the entry at this index"), wrong)
	add("e.example")
	add("f.example")
	if at, err = ic.Step(ctx); err != nil || at != 7 {
		t.Fatalf("Step() = %d, %v, want 7", at, err)
	}
	if c, want := latestCommitment(t, cl.Log.Log, at), mapOf(t, cl.Log.Log, 7); c.Root != want {
		t.Errorf("with keys left for other bytes: commitment root %s, the entries give %s", c.Root, want)
	}

	// Keys left for the entry's own bytes are what the committer uses: it
	// does not parse the entry (wrong keys, put there by the test, make a
	// root the entries do not give).
	i = add("g.example")
	e, err := cl.Log.Entries(i, 1)
	if err != nil {
		t.Fatal(err)
	}
	ic.CacheKeys(i, e[0], wrong)
	add("h.example")
	add("i.example")
	if at, err = ic.Step(ctx); err != nil || at != 11 {
		t.Fatalf("Step() = %d, %v, want 11", at, err)
	}
	if c, want := latestCommitment(t, cl.Log.Log, at), mapOf(t, cl.Log.Log, 11); c.Root == want {
		t.Errorf("the committer parsed entry %d again instead of taking the keys the sequencer left", i)
	}
}

// latestCommitment returns the commitment logged at index at.
func latestCommitment(t *testing.T, l *log.Log, at int64) vindex.Commitment {
	t.Helper()
	e, err := l.Entries(at, 1)
	if err != nil {
		t.Fatal(err)
	}
	c, err := vindex.ParseCommitment(e[0])
	if err != nil {
		t.Fatalf("entry %d: %v", at, err)
	}
	return c
}

// TestIndexCommitterSteps checks that a committer far behind (as after a
// rebuild) catches up in commitments of at most MaxEntries entries each,
// and that the last proves every claim.
func TestIndexCommitterSteps(t *testing.T) {
	ctx := context.Background()
	cl := newClaimLog(t, log.ServiceConfig{}, archive.Config{})
	bin := []byte("the binary")
	for i := range 10 {
		b := fmt.Sprintf("b%d.example", i)
		if _, err := cl.client.AddClaim(ctx, &pb.AddClaimRequest{Envelope: envelope(t, buildClaim(bin, b), testBuilder(t, b))}); err != nil {
			t.Fatal(err)
		}
	}
	ic, err := log.NewIndexCommitter(cl.Log.Log, log.IndexConfig{Entries: 1, MaxEntries: 4})
	if err != nil {
		t.Fatal(err)
	}
	var sizes []int64
	var last *pb.IndexProof
	for range 6 {
		idx, err := ic.Step(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if idx < 0 {
			break
		}
		resp, err := cl.client.LookupByDigest(ctx, &pb.LookupByDigestRequest{Sha256: sha(bin)})
		if err != nil {
			t.Fatal(err)
		}
		last = resp.GetIndexProof()
		c, _ := checkIndexProof(t, cl, last, vindex.DigestKey(sha(bin)))
		sizes = append(sizes, c.Size)
	}
	// 10 claims (0-9), then commitments at 10, 11 and 12, of sizes 4, 8
	// and 12 (the claims and the first two commitments); the third is all
	// that follows it, which is not due.
	if want := []int64{4, 8, 12}; !slices.Equal(sizes, want) {
		t.Fatalf("commitments of sizes %v, want %v", sizes, want)
	}
	_, list := checkIndexProof(t, cl, last, vindex.DigestKey(sha(bin)))
	if want := []int64{0, 1, 2, 3, 4, 5, 6, 7, 8, 9}; !slices.Equal(list, want) {
		t.Errorf("the last commitment lists %v, want %v", list, want)
	}
}

// TestIndexCommitterKeepsUp: a committer behind the sequencer by many
// commitments' worth of entries catches up at once, commitment after
// commitment, not one commitment a poll: with one a poll (an hour here)
// it would index MaxEntries entries an hour, and under a load faster than
// MaxEntries a poll the tail a client must read itself would grow
// without bound.
func TestIndexCommitterKeepsUp(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	cl := newClaimLog(t, log.ServiceConfig{}, archive.Config{})
	bin := []byte("the binary")
	const claims = 40
	for i := range claims {
		b := fmt.Sprintf("b%d.example", i)
		if _, err := cl.client.AddClaim(ctx, &pb.AddClaimRequest{Envelope: envelope(t, buildClaim(bin, b), testBuilder(t, b))}); err != nil {
			t.Fatal(err)
		}
	}
	ic, err := log.NewIndexCommitter(cl.Log.Log, log.IndexConfig{Entries: 4, MaxEntries: 4, Age: time.Hour, Poll: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- ic.Run(ctx) }()
	digest := vindex.DigestKey(sha(bin))
	deadline := time.Now().Add(time.Minute)
	for {
		resp, err := cl.client.LookupByDigest(ctx, &pb.LookupByDigestRequest{Sha256: sha(bin)})
		if err != nil {
			t.Fatal(err)
		}
		ip := resp.GetIndexProof()
		var size int64
		if ip.GetCommitmentEntry() != nil {
			c, _ := checkIndexProof(t, cl, ip, digest)
			size = c.Size
		}
		// Commitments of 4 entries each, each adding itself to the tree:
		// the twelfth, of size 48, commits to every claim, and leaves 3
		// entries, fewer than Entries, for an Age of an hour.
		if size >= claims {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the committer committed to %d entries of %d in a minute: it does not catch up", size, cl.Checkpoint().Size)
		}
		time.Sleep(10 * time.Millisecond)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("Run() = %v", err)
	}
}

// TestIndexCommitterAheadOfWitnesses: while the witnesses cosign nothing,
// the committer goes on committing the index past the published
// checkpoint, where it had stopped at the first commitment the witnesses
// had not covered (one commitment, of MaxEntries entries, per witness
// round), and a client holding the published checkpoint is still served a
// commitment below its size that verifies: the anchor each commitment
// keeps. While they stay down, claims go on being logged past the
// commitments the committer may make ahead of them (maxAhead) and the
// index gate's MaxTail, as the gate counts the published tree. Once the
// witnesses cosign again, lookups at the new published size are served
// the latest commitment.
func TestIndexCommitterAheadOfWitnesses(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	ws := []*testWitness{newTestWitness(t, "w0.example", 10), newTestWitness(t, "w1.example", 11), newTestWitness(t, "w2.example", 12)}
	cl := newClaimLogWith(t, t.TempDir(), log.Config{Witnesses: witnessPolicy(t, ws...), WitnessInterval: 5 * time.Millisecond}, log.ServiceConfig{}, archive.Config{})
	bin := []byte("the binary")
	digest := vindex.DigestKey(sha(bin))
	add := func(from, n int) {
		t.Helper()
		for i := from; i < from+n; i++ {
			b := fmt.Sprintf("b%d.example", i)
			if _, err := cl.client.AddClaim(ctx, &pb.AddClaimRequest{Envelope: envelope(t, buildClaim(bin, b), testBuilder(t, b))}); err != nil {
				t.Fatal(err)
			}
		}
	}
	published := func() int64 {
		if p := cl.Published(); p != nil {
			return p.Size
		}
		return 0
	}
	// lookup returns the commitment a lookup at size (0: the latest
	// checkpoint's) is proved with, verified, and its list.
	lookup := func(size int64) (int64, vindex.Commitment, []int64) {
		t.Helper()
		resp, err := cl.client.LookupByDigest(ctx, &pb.LookupByDigestRequest{Sha256: sha(bin), TreeSize: uint64(size)})
		if err != nil {
			t.Fatal(err)
		}
		ip := resp.GetIndexProof()
		c, list := checkIndexProof(t, cl, ip, digest)
		if ip.GetCommitmentEntry() == nil {
			return -1, c, list
		}
		return int64(ip.GetCommitmentIndex()), c, list
	}
	ic, err := log.NewIndexCommitter(cl.Log.Log, log.IndexConfig{Entries: 4, MaxEntries: 4, Age: time.Hour, Poll: 5 * time.Millisecond, MaxTail: 8})
	if err != nil {
		t.Fatal(err)
	}
	add(0, 8)
	done := make(chan error, 1)
	go func() { done <- ic.Run(ctx) }()
	eventually(t, "the first 8 claims are committed and published", func() bool {
		_, c, _ := lookup(0)
		return c.Size >= 8 && published() == cl.Checkpoint().Size
	})

	// Two of three witnesses down: no quorum, nothing published.
	ws[1].down.Store(true)
	ws[2].down.Store(true)
	held := published()
	add(8, 40)
	eventually(t, "every claim is committed with the witnesses down", func() bool {
		_, c, _ := lookup(0)
		return c.Size >= 48
	})
	if p := published(); p != held {
		t.Fatalf("published size %d with two of three witnesses down, want %d", p, held)
	}
	// A client with the published checkpoint gets a commitment below it.
	at, c, list := lookup(held)
	if at < 0 || at >= held || c.Size < 8 {
		t.Fatalf("a lookup at the published size %d was proved with the commitment at %d of size %d, want one below it covering the first 8 claims", held, at, c.Size)
	}
	if len(list) < 8 {
		t.Fatalf("the commitment at %d lists %v", at, list)
	}
	// 32 commitments of 4 entries ahead of the witnesses at most, and a
	// gate at 8: 160 more claims pass both.
	addCtx, stop := context.WithTimeout(ctx, 5*time.Second)
	defer stop()
	for i := 48; i < 208; i++ {
		b := fmt.Sprintf("b%d.example", i)
		if _, err := cl.client.AddClaim(addCtx, &pb.AddClaimRequest{Envelope: envelope(t, buildClaim(bin, b), testBuilder(t, b))}); err != nil {
			t.Fatalf("claim %d with the witnesses down: %v", i, err)
		}
	}

	ws[1].down.Store(false)
	ws[2].down.Store(false)
	eventually(t, "the latest commitment is published and served at the published size", func() bool {
		at, c, _ := lookup(published())
		return c.Size >= 208 && at < published()
	})
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("Run() = %v", err)
	}
}

// TestIndexGate: while the committer runs, a claim is acknowledged only
// once at most MaxTail entries follow the latest commitment, however
// rarely the committer would commit on its own (here never: an hour's
// Age, a billion Entries), so that a client's tail stays bounded; claims
// that find the gate closed wake the committer. Once the committer stops,
// the gate opens.
func TestIndexGate(t *testing.T) {
	ctx := context.Background()
	runCtx, stop := context.WithCancel(ctx)
	defer stop()
	cl := newClaimLog(t, log.ServiceConfig{}, archive.Config{})
	bin := []byte("the binary")
	const maxTail = 8
	ic, err := log.NewIndexCommitter(cl.Log.Log, log.IndexConfig{Entries: 1e9, MaxEntries: 4, Age: time.Hour, Poll: time.Hour, MaxTail: maxTail})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- ic.Run(runCtx) }()
	add := func(i int) {
		t.Helper()
		b := fmt.Sprintf("b%d.example", i)
		if _, err := cl.client.AddClaim(ctx, &pb.AddClaimRequest{Envelope: envelope(t, buildClaim(bin, b), testBuilder(t, b))}); err != nil {
			t.Fatal(err)
		}
	}
	for i := range 40 {
		add(i)
		resp, err := cl.client.LookupByDigest(ctx, &pb.LookupByDigestRequest{Sha256: sha(bin)})
		if err != nil {
			t.Fatal(err)
		}
		c, _ := checkIndexProof(t, cl, resp.GetIndexProof(), vindex.DigestKey(sha(bin)))
		// The claim just acknowledged passed the gate with at most
		// maxTail entries after the commitment.
		if tail := cl.Checkpoint().Size - c.Size; tail > maxTail+1 {
			t.Fatalf("claim %d acknowledged with %d entries after the latest index commitment (size %d), more than %d", i, tail, c.Size, maxTail+1)
		}
	}
	stop()
	if err := <-done; err != nil {
		t.Fatalf("Run() = %v", err)
	}
	// No committer: no gate.
	for i := 40; i < 60; i++ {
		add(i)
	}
}

// TestIndexDeltaTampered: a delta altered in the store (a byte of a
// stratum's hash flipped, as a faulty disk or a meddling operator would)
// makes the log refuse the lookup (an internal error, logged as
// corruption), rather than serve a proof
// that a client would have to catch: the log checks each map proof
// against the committed root before it serves it.
func TestIndexDeltaTampered(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	bin := []byte("the binary")
	t.Run("log", func(t *testing.T) {
		cl := newClaimLogIn(t, dir, log.ServiceConfig{}, archive.Config{})
		ic, err := log.NewIndexCommitter(cl.Log.Log, log.IndexConfig{Entries: 1})
		if err != nil {
			t.Fatal(err)
		}
		for _, b := range []string{"a.example", "b.example"} {
			if _, err := cl.client.AddClaim(ctx, &pb.AddClaimRequest{Envelope: envelope(t, buildClaim(bin, b), testBuilder(t, b))}); err != nil {
				t.Fatal(err)
			}
			if _, err := ic.Step(ctx); err != nil { // the first to the base, the second a delta
				t.Fatal(err)
			}
		}
		if _, err := cl.client.LookupByDigest(ctx, &pb.LookupByDigestRequest{Sha256: sha(bin)}); err != nil {
			t.Fatalf("lookup before the tampering: %v", err)
		}
	})
	editBolt(t, filepath.Join(dir, "log.db"), func(tx *bolt.Tx) error {
		b := tx.Bucket([]byte("idx:vindex-delta"))
		if b == nil {
			return errors.New("no delta was written")
		}
		k, v := b.Cursor().Last()
		v = bytes.Clone(v)
		v[len(v)-1] ^= 1 // the last byte of the last stratum: a hash
		return b.Put(bytes.Clone(k), v)
	})
	cl := newClaimLogIn(t, dir, log.ServiceConfig{}, archive.Config{})
	resp, err := cl.client.LookupByDigest(ctx, &pb.LookupByDigestRequest{Sha256: sha(bin)})
	if status.Code(err) != codes.Internal || resp != nil {
		t.Fatalf("lookup after the tampering = %v, %v; want Internal (the log's store is corrupt) and no answer", resp.GetIndexProof(), err)
	}
}

// TestIndexProofsDuringMerges looks a digest up over and over while
// commitments, one per claim, merge the deltas into the base in steps: a
// proof read while a step rewrites part of the base, or deletes the deltas
// it read, must be served right (verified against the commitment, with
// every claim naming the digest below the commitment's size) or refused
// as a retry, never as the corruption of the index.
func TestIndexProofsDuringMerges(t *testing.T) {
	log.SetIndexMerges(t, 2, 2)
	ctx := context.Background()
	cl := newClaimLog(t, log.ServiceConfig{}, archive.Config{})
	var logs bytes.Buffer // the committer's, read once it is done
	ic, err := log.NewIndexCommitter(cl.Log.Log, log.IndexConfig{Entries: 1, Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	if err != nil {
		t.Fatal(err)
	}
	bin := []byte("the binary")
	const claims = 40
	done := make(chan error, 1)
	go func() {
		defer close(done)
		for i := range claims {
			b := fmt.Sprintf("b%d.example", i)
			if _, err := cl.client.AddClaim(ctx, &pb.AddClaimRequest{Envelope: envelope(t, buildClaim(bin, b), testBuilder(t, b))}); err != nil {
				done <- err
				return
			}
			// Each claim is a commitment's tail, and its commitment a delta.
			if _, err := ic.Step(ctx); err != nil {
				done <- err
				return
			}
		}
	}()
	lookups, proved := 0, 0
	for running := true; running; lookups++ {
		select {
		case err, ok := <-done:
			if ok {
				t.Fatal(err)
			}
			running = false
		default:
		}
		resp, err := cl.client.LookupByDigest(ctx, &pb.LookupByDigestRequest{Sha256: sha(bin)})
		switch status.Code(err) {
		case codes.OK:
		case codes.FailedPrecondition:
			continue // no claim logged yet
		default:
			t.Fatalf("lookup %d: %v", lookups, err)
		}
		ip := resp.GetIndexProof()
		c, list := checkIndexProof(t, cl, ip, vindex.DigestKey(sha(bin)))
		if len(ip.GetCommitmentEntry()) == 0 {
			continue
		}
		// Every claim names the digest; the commitments name nothing.
		var want []int64
		for i := range c.Size {
			e, err := cl.Entries(i, 1)
			if err != nil {
				t.Fatal(err)
			}
			if keys, _ := vindex.EntryKeys(e[0]); slices.Contains(keys, vindex.DigestKey(sha(bin))) {
				want = append(want, i)
			}
		}
		if !slices.Equal(list, want) {
			t.Fatalf("lookup %d: commitment %d of size %d lists %v, want %v", lookups, ip.GetCommitmentIndex(), c.Size, list, want)
		}
		proved++
	}
	steps := strings.Count(logs.String(), "merge_step=1 ")
	t.Logf("%d lookups during %d claims, each followed by a commitment, and %d merges of 2 steps: %d proved against a commitment", lookups, claims, steps, proved)
	if proved == 0 || steps < 3 {
		t.Fatalf("%d lookups proved against a commitment, during %d merges; want some, during 3 or more", proved, steps)
	}
}
