package client_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/attestlog/attestlog/client"
	"github.com/attestlog/attestlog/log/claim"
	"github.com/attestlog/attestlog/log/claim/record"
	"github.com/attestlog/attestlog/log/vindex"
	"github.com/attestlog/attestlog/tiles"
	fnote "github.com/transparency-dev/formats/note"
	"github.com/transparency-dev/merkle/rfc6962"
	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"
)

const (
	testOrigin = "example.test/attestlog"
	testSource = "git+https://example.org/hello"
	testCommit = "0123456789abcdef0123456789abcdef01234567"
)

// keys returns a fixed signed-note Ed25519 key pair.
func keys(t testing.TB, name string, seed byte) (skey, vkey string) {
	t.Helper()
	skey, vkey, err := note.GenerateKey(bytes.NewReader(bytes.Repeat([]byte{seed}, 32)), name)
	if err != nil {
		t.Fatal(err)
	}
	return skey, vkey
}

func signer(t testing.TB, skey string) note.Signer {
	t.Helper()
	s, err := note.NewSigner(skey)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// builderKey returns a fixed builder key.
func builderKey(t testing.TB, name string, seed byte) claim.Key {
	skey, vkey := keys(t, name, seed)
	return claim.Key{Signer: signer(t, skey), VKey: vkey}
}

// A world is the keys of a test: a log, three witnesses and builders.
type world struct {
	logSigner note.Signer
	logVKey   string
	witnesses []note.Signer // cosignature/v1 signers of w1, w2, w3
	wVKeys    []string      // their cosignature vkeys
	b         map[string]claim.Key
}

func newWorld(t testing.TB) *world {
	t.Helper()
	skey, vkey := keys(t, testOrigin, 1)
	w := &world{logSigner: signer(t, skey), logVKey: vkey, b: map[string]claim.Key{}}
	for i := range 3 {
		skey, vkey := keys(t, fmt.Sprintf("w%d.example", i+1), byte(10+i))
		cs, err := fnote.NewSignerForCosignatureV1(skey)
		if err != nil {
			t.Fatal(err)
		}
		cv, err := fnote.VKeyToCosignatureV1(vkey)
		if err != nil {
			t.Fatal(err)
		}
		w.witnesses, w.wVKeys = append(w.witnesses, cs), append(w.wVKeys, cv)
	}
	for i, name := range []string{"ci-a", "ci-b", "alice", "bob", "carol", "mallory"} {
		w.b[name] = builderKey(t, name+".example", byte(20+i))
	}
	return w
}

// policyText is the test policy: 2 of 3 witnesses; ci (two keys) and 2 of
// 3 rebuilders must agree. The group "cipair" exists to show that ci's two
// keys are one vote.
func (w *world) policyText() string {
	return fmt.Sprintf(`log %s
witness w1 %s
witness w2 %s
witness w3 %s
group witnesses 2 w1 w2 w3
quorum witnesses
builder ci %s
builder alice %s
builder ci %s
builder bob %s
builder carol %s
builders rebuilders 2 alice bob carol
builders release all ci rebuilders
builders cipair 2 ci carol
agree release
`, w.logVKey, w.wVKeys[0], w.wVKeys[1], w.wVKeys[2], w.b["ci-a"].VKey, w.b["alice"].VKey, w.b["ci-b"].VKey, w.b["bob"].VKey, w.b["carol"].VKey)
}

func (w *world) policy(t testing.TB) *client.Policy {
	t.Helper()
	p, err := client.ParsePolicy([]byte(w.policyText()))
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func sha(b string) string { h := sha256.Sum256([]byte(b)); return hex.EncodeToString(h[:]) }

// claimEntry returns an entry claiming that artifact of the test build for
// platform has digest, signed by the named builders.
func (w *world) claimEntry(t testing.TB, artifact, digest, platform string, signers ...string) []byte {
	t.Helper()
	c := &claim.Claim{
		Subjects: []claim.Subject{{Name: artifact, SHA256: digest}},
		Source:   testSource, Commit: testCommit, Recipe: sha("recipe"),
		Platform: platform, BuilderID: "https://builders.example/" + strings.Join(signers, "+"),
	}
	st, err := claim.NewStatement(c)
	if err != nil {
		t.Fatal(err)
	}
	var ks []claim.Key
	for _, s := range signers {
		ks = append(ks, w.b[s])
	}
	e, err := claim.SignStatement(st, ks...)
	if err != nil {
		t.Fatal(err)
	}
	return e.Marshal()
}

// A fakeLog is a log in memory: entries and their RFC 6962 stored hashes.
type fakeLog struct {
	w       *world
	entries [][]byte
	hashes  []tlog.Hash
	// hidden are entries a lying log leaves out of its map (and so of the
	// roots it commits) and of its lookups.
	hidden map[int64]bool
}

func (l *fakeLog) reader() tlog.HashReader {
	return tlog.HashReaderFunc(func(idx []int64) ([]tlog.Hash, error) {
		out := make([]tlog.Hash, len(idx))
		for i, x := range idx {
			if x >= int64(len(l.hashes)) {
				return nil, fmt.Errorf("no stored hash %d", x)
			}
			out[i] = l.hashes[x]
		}
		return out, nil
	})
}

func (l *fakeLog) append(t testing.TB, entries ...[]byte) {
	t.Helper()
	for _, e := range entries {
		hs, err := tlog.StoredHashes(int64(len(l.entries)), e, l.reader())
		if err != nil {
			t.Fatal(err)
		}
		l.hashes = append(l.hashes, hs...)
		l.entries = append(l.entries, e)
	}
}

func (l *fakeLog) root(t testing.TB, size int64) tlog.Hash {
	t.Helper()
	if size == 0 {
		return tlog.Hash(rfc6962.DefaultHasher.EmptyRoot())
	}
	h, err := tlog.TreeHash(size, l.reader())
	if err != nil {
		t.Fatal(err)
	}
	return h
}

// note returns the checkpoint of the first size entries, signed by the log
// and cosigned by the witnesses with the given numbers (1 to 3).
func (l *fakeLog) note(t testing.TB, size int64, witnesses ...int) []byte {
	t.Helper()
	body := tiles.Checkpoint{Origin: testOrigin, Size: size, Hash: l.root(t, size)}.Format()
	signers := []note.Signer{l.w.logSigner}
	for _, n := range witnesses {
		signers = append(signers, l.w.witnesses[n-1])
	}
	msg, err := note.Sign(&note.Note{Text: string(body)}, signers...)
	if err != nil {
		t.Fatal(err)
	}
	return msg
}

// A fakeSource is an honest Source over a fakeLog, unless its hooks say otherwise.
type fakeSource struct {
	t          testing.TB
	log        *fakeLog
	checkpoint []byte
	// unwitnessed, if set, is the log's size past the checkpoint: lookups
	// report matching entries up to it as unwitnessed.
	unwitnessed int64
	// tamper, if set, changes every lookup's answer.
	tamper func(lk *client.Lookup)
	// tamperDigest, if set, changes the answers of ClaimsByDigest only.
	tamperDigest func(lk *client.Lookup)
	// tamperSource, if set, changes the answers of ClaimsBySource only.
	tamperSource func(lk *client.Lookup)
	tamperName   func(lk *client.Lookup)
	// consistencyErr, if set, is the error of ConsistencyProof.
	consistencyErr error
	// proofFrom, if set, is the log whose tree ConsistencyProof proves,
	// instead of log: a junk proof for log's checkpoints.
	proofFrom *fakeLog
}

func (s *fakeSource) Checkpoint(context.Context) ([]byte, error) {
	return bytes.Clone(s.checkpoint), nil
}

// indexProof returns the honest index proof for key at size: against the
// latest commitment entry below size, if the log has one.
func (l *fakeLog) indexProof(t testing.TB, key vindex.Key, size int64) *client.IndexProof {
	t.Helper()
	ip := &client.IndexProof{Left: []tlog.Hash{}}
	var n int64
	for i := size - 1; i >= 0; i-- {
		c, err := vindex.ParseCommitment(l.entries[i])
		if err != nil {
			continue
		}
		p, err := tlog.ProveRecord(size, i, l.reader())
		if err != nil {
			t.Fatal(err)
		}
		ip.Commitment = &client.ProvenClaim{Index: i, Entry: bytes.Clone(l.entries[i]), Proof: p}
		ms, list := l.mapOf(t, c.Size)
		mp, err := vindex.Prove(ms, key, list[key])
		if err != nil {
			t.Fatal(err)
		}
		if ip.MapProof, err = mp.AppendBinary(nil); err != nil {
			t.Fatal(err)
		}
		n = c.Size
		break
	}
	var start int64
	for level := 62; level >= 0; level-- {
		if n&(1<<level) != 0 {
			h, err := l.reader().ReadHashes([]int64{tlog.StoredHashIndex(level, start>>level)})
			if err != nil {
				t.Fatal(err)
			}
			ip.Left = append(ip.Left, h[0])
			start += 1 << level
		}
	}
	for _, e := range l.entries[n:size] {
		ip.Tail = append(ip.Tail, bytes.Clone(e))
	}
	return ip
}

// mapOf returns the map over the entries [0, n) and the list of each key.
func (l *fakeLog) mapOf(t testing.TB, n int64) (*vindex.MemStore, map[vindex.Key][]int64) {
	t.Helper()
	ms := &vindex.MemStore{}
	lists := map[vindex.Key][]int64{}
	var adds []vindex.Addition
	for i, e := range l.entries[:n] {
		if l.hidden[int64(i)] {
			continue
		}
		keys, _ := vindex.EntryKeys(e)
		for _, k := range keys {
			adds = append(adds, vindex.Addition{Key: k, Index: int64(i)})
			lists[k] = append(lists[k], int64(i))
		}
	}
	if _, err := vindex.Update(ms, adds); err != nil {
		t.Fatal(err)
	}
	return ms, lists
}

// commit appends an index commitment to the entries [0, n) of l, with the
// root the entries give, and returns it.
func (l *fakeLog) commit(t testing.TB, n int64) vindex.Commitment {
	t.Helper()
	ms, _ := l.mapOf(t, n)
	root, err := vindex.Root(ms)
	if err != nil {
		t.Fatal(err)
	}
	c := vindex.Commitment{Size: n, Root: root}
	l.append(t, c.Marshal())
	return c
}

// fakeRecord returns what an honest log's index sees in an entry: a v1
// entry parsed (its signatures unchecked, so that a test's bad signature
// reaches Verify) or a v2 entry decoded; nil if neither.
func fakeRecord(e []byte) *record.Record {
	if ent, err := claim.ParseEntry(e); err == nil {
		c, err := claim.ParseStatement(ent.Payload)
		if err != nil {
			return nil
		}
		return record.FromV1(ent, c)
	}
	r, err := record.Decode(e)
	if err != nil {
		return nil
	}
	return r
}

func (s *fakeSource) lookup(size int64, key vindex.Key, match func(*record.Record) bool) (client.Lookup, error) {
	lk := client.Lookup{Index: s.log.indexProof(s.t, key, size)}
	for i, e := range s.log.entries {
		r := fakeRecord(e)
		if r == nil || !match(r) || s.log.hidden[int64(i)] {
			continue
		}
		if int64(i) >= size {
			if int64(i) < s.unwitnessed {
				lk.Unwitnessed = append(lk.Unwitnessed, int64(i))
			}
			continue
		}
		p, err := tlog.ProveRecord(size, int64(i), s.log.reader())
		if err != nil {
			return client.Lookup{}, err
		}
		lk.Claims = append(lk.Claims, client.ProvenClaim{Index: int64(i), Entry: bytes.Clone(e), Proof: p})
	}
	if s.tamper != nil {
		s.tamper(&lk)
	}
	return lk, nil
}

func (s *fakeSource) ClaimsByDigest(_ context.Context, d string, size int64) (client.Lookup, error) {
	lk, err := s.lookup(size, vindex.DigestKey(d), func(r *record.Record) bool {
		return slices.ContainsFunc(r.Subjects, func(sub record.Subject) bool { return sub.SHA256 == d })
	})
	if err == nil && s.tamperDigest != nil {
		s.tamperDigest(&lk)
	}
	return lk, err
}

func (s *fakeSource) ClaimsBySource(_ context.Context, source, commit, platform string, size int64) (client.Lookup, error) {
	key := vindex.SourceKey(source, commit)
	if platform != "" {
		key = vindex.BuildKey(source, commit, platform)
	}
	lk, err := s.lookup(size, key, func(r *record.Record) bool {
		return !r.DigestOnly() && r.Source == source && r.Commit == commit &&
			slices.ContainsFunc(r.Subjects, func(sub record.Subject) bool { return platform == "" || sub.Platform == platform })
	})
	if err == nil && s.tamperSource != nil {
		s.tamperSource(&lk)
	}
	return lk, err
}

func (s *fakeSource) ClaimsByName(_ context.Context, name string, size int64) (client.Lookup, error) {
	lk, err := s.lookup(size, vindex.NameKey(name), func(r *record.Record) bool {
		return r.DigestOnly() && slices.ContainsFunc(r.Subjects, func(sub record.Subject) bool { return sub.Name == name })
	})
	if err == nil && s.tamperName != nil {
		s.tamperName(&lk)
	}
	return lk, err
}

func (s *fakeSource) ConsistencyProof(_ context.Context, oldSize, newSize int64) ([]tlog.Hash, error) {
	if s.consistencyErr != nil {
		return nil, s.consistencyErr
	}
	l := s.log
	if s.proofFrom != nil {
		l = s.proofFrom
	}
	if newSize > int64(len(l.entries)) {
		return nil, errors.New("fake: tree size past the log")
	}
	return tlog.ProveTree(newSize, oldSize, l.reader())
}
