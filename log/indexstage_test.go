package log_test

import (
	"bytes"
	"errors"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/attestlog/attestlog/log"
)

// TestIndexStaged commits random index writes (puts, overwrites, deletes)
// to staged spaces and an unstaged one of a bbolt store with a small stage,
// reopening it now and then, and after each commit compares every read
// (IndexGet, IndexScan by any prefix, IndexGetMany, IndexSpaces) with a
// model of what was written: a record is found whether it is staged, was
// moved to its bucket, or came in the batch that moved its slice, before a
// reopen as after, and a failed commit changes nothing.
func TestIndexStaged(t *testing.T) {
	const limit = 40
	path := filepath.Join(t.TempDir(), "log.db")
	rng := rand.New(rand.NewPCG(1, 2))
	spaces := []string{"digest", "identity", "builder", "unstaged"}
	// Keys: a 32-byte prefix of a few groups, with an 8-byte suffix, or a
	// short key; first bytes vary, so records fall in many slices.
	var groups [][]byte
	for i := range 12 {
		g := bytes.Repeat([]byte{byte(i * 21)}, 32)
		g[31] = byte(i)
		groups = append(groups, g)
	}
	newKey := func() []byte {
		if rng.IntN(10) == 0 {
			return []byte{byte(rng.IntN(256)), byte(rng.IntN(3))}
		}
		return append(bytes.Clone(groups[rng.IntN(len(groups))]), byte(rng.IntN(256)), 0, 0, 0, 0, 0, 0, byte(rng.IntN(4)))
	}
	model := map[string]map[string]string{}
	for _, sp := range spaces {
		model[sp] = map[string]string{}
	}
	open := func() *log.BoltStore {
		s, err := log.OpenBolt(path)
		if err != nil {
			t.Fatal(err)
		}
		s.SetIndexStageLimit(limit)
		return s
	}
	s := open()
	defer func() { s.Close() }()
	var size int64
	sawStaged, sawMoved := false, false
	for step := range 300 {
		var ws []log.IndexWrite
		for range rng.IntN(12) {
			sp := spaces[rng.IntN(len(spaces))]
			var k []byte
			if existing := keysOf(model[sp]); len(existing) > 0 && rng.IntN(4) == 0 {
				k = []byte(existing[rng.IntN(len(existing))]) // overwrite or delete
			} else {
				k = newKey()
			}
			w := log.IndexWrite{Space: sp, Key: k, Value: []byte{byte(step), byte(rng.IntN(256))}}
			switch rng.IntN(8) {
			case 0:
				w.Value = nil // stored as an empty value, which reads tell from none
			case 1:
				w.Value = []byte{}
			}
			if rng.IntN(8) == 0 {
				w = log.IndexWrite{Space: sp, Key: k, Delete: true}
			}
			ws = append(ws, w)
		}
		if step%17 == 5 {
			// A commit that fails changes nothing.
			err := s.Commit(&log.Batch{Start: size + 1, Index: ws})
			if !errors.Is(err, log.ErrStaleBatch) {
				t.Fatalf("step %d: a stale batch committed: %v", step, err)
			}
		} else {
			if err := s.Commit(&log.Batch{Start: size, Index: ws}); err != nil {
				t.Fatalf("step %d: %v", step, err)
			}
			for _, w := range ws {
				if w.Delete {
					delete(model[w.Space], string(w.Key))
				} else {
					model[w.Space][string(w.Key)] = string(w.Value)
				}
			}
		}
		n, _, moves := s.StagedIndex()
		if n > limit {
			t.Fatalf("step %d: %d staged index records, limit %d", step, n, limit)
		}
		sawStaged, sawMoved = sawStaged || n > 0, sawMoved || moves > 0
		if step%23 == 22 {
			before, _, _ := s.StagedIndex()
			s.Close()
			s = open()
			if after, _, _ := s.StagedIndex(); after != before {
				t.Fatalf("step %d: %d staged index records before reopening, %d after", step, before, after)
			}
		}
		checkIndexModel(t, s, model, groups)
	}
	if !sawStaged || !sawMoved {
		t.Fatalf("staged records seen: %v, moves made: %v; the test exercised one path only", sawStaged, sawMoved)
	}
}

func keysOf(m map[string]string) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	slices.Sort(ks)
	return ks
}

// checkIndexModel compares every index read of s with the model.
func checkIndexModel(t *testing.T, s *log.BoltStore, model map[string]map[string]string, groups [][]byte) {
	t.Helper()
	spaces, err := s.IndexSpaces()
	if err != nil {
		t.Fatal(err)
	}
	for sp, m := range model {
		if len(m) > 0 && !slices.Contains(spaces, sp) {
			t.Fatalf("IndexSpaces() = %q, without %s, which has %d records", spaces, sp, len(m))
		}
		keys := keysOf(m)
		prefixes := [][]byte{nil, {0}, {21}, {42, 42}}
		for _, g := range groups {
			prefixes = append(prefixes, g, append(bytes.Clone(g), 7))
		}
		var reads []log.IndexRead
		for _, p := range prefixes {
			var want []string
			for _, k := range keys {
				if strings.HasPrefix(k, string(p)) {
					want = append(want, k+"="+m[k])
				}
			}
			var got []string
			if err := s.IndexScan(sp, p, func(k, v []byte) bool { got = append(got, string(k)+"="+string(v)); return true }); err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(got, want) {
				t.Fatalf("IndexScan(%s, %x) = %q\nwant %q", sp, p, got, want)
			}
			if len(want) > 1 {
				got = got[:0]
				s.IndexScan(sp, p, func(k, v []byte) bool { got = append(got, string(k)+"="+string(v)); return len(got) < 2 })
				if !slices.Equal(got, want[:2]) {
					t.Fatalf("IndexScan(%s, %x) stopping after two = %q, want %q", sp, p, got, want[:2])
				}
			}
			reads = append(reads, log.IndexRead{Space: sp, Key: p, Prefix: true})
		}
		for _, k := range keys {
			v, err := s.IndexGet(sp, []byte(k))
			if err != nil || string(v) != m[k] || v == nil {
				t.Fatalf("IndexGet(%s, %x) = %q, %v; want %q", sp, k, v, err, m[k])
			}
			reads = append(reads, log.IndexRead{Space: sp, Key: []byte(k)})
		}
		absent := append(bytes.Clone(groups[0]), 1, 2, 3)
		if v, err := s.IndexGet(sp, absent); err != nil || v != nil {
			t.Fatalf("IndexGet(%s, absent key) = %q, %v", sp, v, err)
		}
		reads = append(reads, log.IndexRead{Space: sp, Key: absent})
		got, err := s.IndexGetMany(reads)
		if err != nil {
			t.Fatal(err)
		}
		for i, r := range reads {
			var want []byte
			for _, k := range keys {
				if r.Prefix && strings.HasPrefix(k, string(r.Key)) || !r.Prefix && k == string(r.Key) {
					want = []byte(m[k])
					break
				}
			}
			if !bytes.Equal(got[i], want) || (got[i] == nil) != (want == nil) {
				t.Fatalf("IndexGetMany read %d (%s, %x, prefix %v) = %q, want %q", i, sp, r.Key, r.Prefix, got[i], want)
			}
		}
	}
}
