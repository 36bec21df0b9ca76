package log_test

import (
	"context"
	"net/http/httptest"
	"testing"

	"github.com/attestlog/attestlog/client"
	"github.com/attestlog/attestlog/log"
	"github.com/attestlog/attestlog/log/logtest"
	"github.com/attestlog/attestlog/tiles"
	fmtlog "github.com/transparency-dev/formats/log"
	"github.com/transparency-dev/merkle/proof"
	"github.com/transparency-dev/merkle/rfc6962"
	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"
)

// TestInteroperability grows a log across the 256 and 65,536 boundaries, so
// that it has partial tiles at levels 0, 1 and 2, through several
// checkpoints, and checks everything it serves over HTTP with independent
// implementations: x/mod's note and tile hash reader, transparency-dev's
// merkle proofs and checkpoint parser.
func TestInteroperability(t *testing.T) {
	if testing.Short() {
		t.Skip("appends 70,000 entries")
	}
	l := logtest.New(t, "", log.Config{})
	srv := httptest.NewServer(l.Handler())
	defer srv.Close()
	fetch := client.HTTPFetcher{Base: srv.URL}
	ctx := context.Background()

	var entries [][]byte
	var published []*log.Signed
	for _, size := range []int{1, 255, 256, 257, 1000, 65535, 65536, 65537, 70000} {
		var chunk [][]byte
		for i := len(entries); i < size; i++ {
			chunk = append(chunk, entry(i))
		}
		l.Append(t, chunk...)
		entries = append(entries, chunk...)
		cp := l.Checkpoint()
		if cp.Size != int64(size) {
			t.Fatalf("checkpoint size %d after appending %d entries", cp.Size, size)
		}
		published = append(published, cp)
	}

	for _, cp := range published {
		checkNote(t, cp, l.Verifier)
		authenticateTiles(t, ctx, fetch, cp, entries)
	}
	last := published[len(published)-1]
	served, err := fetch.Fetch(ctx, "checkpoint")
	if err != nil || string(served) != string(last.Note) {
		t.Fatalf("served checkpoint %q (%v), want %q", served, err, last.Note)
	}

	// Every entry's inclusion in the final tree, and a sample in every published tree.
	for i, e := range entries {
		checkInclusion(t, l, int64(i), last, e)
		for _, cp := range published {
			if int64(i) < cp.Size && i%997 == 0 {
				checkInclusion(t, l, int64(i), cp, e)
			}
		}
	}
	// Consistency between every pair of published sizes.
	for i, a := range published {
		for _, b := range published[i:] {
			p, err := l.ConsistencyProof(a.Size, b.Size)
			if err != nil {
				t.Fatalf("ConsistencyProof(%d, %d): %v", a.Size, b.Size, err)
			}
			if err := proof.VerifyConsistency(rfc6962.DefaultHasher, uint64(a.Size), uint64(b.Size), raw(p), a.Hash[:], b.Hash[:]); err != nil {
				t.Errorf("consistency %d -> %d does not verify: %v", a.Size, b.Size, err)
			}
		}
	}
	r, err := client.CheckLog(ctx, fetch, l.Verifier)
	if err != nil {
		t.Fatalf("CheckLog over HTTP: %v", err)
	}
	if want := len(tiles.NewTiles(0, last.Size)) - r.Bundles; r.Tiles != want || r.Bundles != 274 {
		t.Errorf("CheckLog authenticated %d tiles and %d bundles, want %d and 274", r.Tiles, r.Bundles, want)
	}
}

// checkNote verifies a checkpoint with x/mod's note and transparency-dev's parser.
func checkNote(t *testing.T, cp *log.Signed, v note.Verifier) {
	t.Helper()
	n, err := note.Open(cp.Note, note.VerifierList(v))
	if err != nil {
		t.Fatalf("note.Open(checkpoint %d): %v", cp.Size, err)
	}
	// tlog.ParseTree reads the Go checksum database's spelling of the same body.
	tree, err := tlog.ParseTree([]byte("go.sum database tree\n" + n.Text[len(logtest.Origin)+1:]))
	if err != nil || tree.N != cp.Size || tree.Hash != cp.Hash {
		t.Fatalf("tlog.ParseTree: %+v, %v; want size %d root %v", tree, err, cp.Size, cp.Hash)
	}
	c, _, _, err := fmtlog.ParseCheckpoint(cp.Note, logtest.Origin, v)
	if err != nil || c.Size != uint64(cp.Size) || string(c.Hash) != string(cp.Hash[:]) {
		t.Fatalf("formats ParseCheckpoint: %+v, %v", c, err)
	}
}

// authenticateTiles reads every leaf hash of the tree of cp through
// tlog.TileHashReader, which authenticates each served tile (partial ones
// of that size included) against cp's root, and compares them with entries.
func authenticateTiles(t *testing.T, ctx context.Context, f client.Fetcher, cp *log.Signed, entries [][]byte) {
	t.Helper()
	hr := tlog.TileHashReader(tlog.Tree{N: cp.Size, Hash: cp.Hash}, httpTiles{ctx, f})
	for start := int64(0); start < cp.Size; start += tiles.Width {
		var indexes []int64
		for i := start; i < min(start+tiles.Width, cp.Size); i++ {
			indexes = append(indexes, tlog.StoredHashIndex(0, i))
		}
		hashes, err := hr.ReadHashes(indexes)
		if err != nil {
			t.Fatalf("tree size %d: TileHashReader for entries from %d: %v", cp.Size, start, err)
		}
		for i, h := range hashes {
			if h != tlog.RecordHash(entries[start+int64(i)]) {
				t.Fatalf("tree size %d: leaf %d is not the hash of its entry", cp.Size, start+int64(i))
			}
		}
	}
	root, err := tlog.TreeHash(cp.Size, hr)
	if err != nil || root != cp.Hash {
		t.Fatalf("tlog.TreeHash(%d) = %v, %v; want %v", cp.Size, root, err, cp.Hash)
	}
}

func checkInclusion(t *testing.T, l *logtest.Log, index int64, cp *log.Signed, e []byte) {
	t.Helper()
	p, err := l.InclusionProof(index, cp.Size)
	if err != nil {
		t.Fatalf("InclusionProof(%d, %d): %v", index, cp.Size, err)
	}
	if err := proof.VerifyInclusion(rfc6962.DefaultHasher, uint64(index), uint64(cp.Size), rfc6962.DefaultHasher.HashLeaf(e), raw(p), cp.Hash[:]); err != nil {
		t.Fatalf("inclusion of %d in %d does not verify: %v", index, cp.Size, err)
	}
}

func raw(hs []tlog.Hash) [][]byte {
	out := make([][]byte, len(hs))
	for i := range hs {
		out[i] = hs[i][:]
	}
	return out
}

// httpTiles is a tlog.TileReader over HTTP with C2SP paths.
type httpTiles struct {
	ctx context.Context
	f   client.Fetcher
}

func (h httpTiles) Height() int { return tiles.Height }

func (h httpTiles) ReadTiles(ts []tlog.Tile) ([][]byte, error) {
	out := make([][]byte, len(ts))
	for i, t := range ts {
		d, err := h.f.Fetch(h.ctx, tiles.Path(t))
		if err != nil {
			return nil, err
		}
		out[i] = d
	}
	return out, nil
}

func (httpTiles) SaveTiles([]tlog.Tile, [][]byte) {}
