package log

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"fmt"

	"github.com/attestlog/attestlog/log/claim"
)

// Index spaces of [ClaimIndex]. Keys end in the big-endian entry index, so a
// prefix scan lists claims in log order:
//
//	digest           sha256 (32) || index -> ""
//	source           H(source, commit) (32) || index -> platform
//	identity         H(identity) (32) || index -> artifact sha256 (32) || recipe sha256 (32)
//	builder          H(vkey) (32) || index -> ""
//	mismatch         id (8, the index of the claim that created it) -> identity, JSON
//	mismatch-ident   H(identity) (32) -> id (8)
//
// H is SHA-256 over the fields joined by NUL bytes, which no field contains.
const (
	spaceDigest        = "digest"
	spaceSource        = "source"
	spaceIdentity      = "identity"
	spaceBuilder       = "builder"
	spaceMismatch      = "mismatch"
	spaceMismatchIdent = "mismatch-ident"
)

// ClaimIndex indexes build claims (log/claim entries) by artifact digest, by
// source and commit, by build identity and by builder key, and records a
// mismatch the moment a second digest appears for one build identity. It is
// an [Indexer] for the sequencer and answers lookups from the same store.
// It holds no state and is safe for concurrent use.
type ClaimIndex struct{}

var _ Indexer = ClaimIndex{}

func hashFields(fields ...string) []byte {
	h := sha256.New()
	for i, f := range fields {
		if i > 0 {
			h.Write([]byte{0})
		}
		h.Write([]byte(f))
	}
	return h.Sum(nil)
}

func identityKey(id claim.Identity) []byte {
	return hashFields(id.Source, id.Commit, id.Platform, id.Artifact)
}

func withIndex(prefix []byte, i int64) []byte {
	return binary.BigEndian.AppendUint64(bytes.Clone(prefix), uint64(i))
}

// A ParsedClaim is a claim entry with its statement, as [ClaimIndex] reads
// it; pass it to [Log.AppendParsed] to spare the sequencer parsing it again.
type ParsedClaim struct {
	Entry *claim.Entry
	Claim *claim.Claim
}

func parseClaim(e NewEntry) (ParsedClaim, error) {
	if p, ok := e.Parsed.(ParsedClaim); ok {
		return p, nil
	}
	ent, err := claim.ParseEntry(e.Bytes)
	if err != nil {
		return ParsedClaim{}, err
	}
	c, err := claim.ParseStatement(ent.Payload)
	return ParsedClaim{Entry: ent, Claim: c}, err
}

// Index implements [Indexer].
func (ClaimIndex) Index(s Store, first int64, entries []NewEntry) ([]IndexWrite, error) {
	var out []IndexWrite
	put := func(space string, k, v []byte) { out = append(out, IndexWrite{Space: space, Key: k, Value: v}) }
	// Per identity: the digests seen earlier in this batch, and whether it
	// became a mismatch in this batch.
	batchDigests := map[string]map[string]bool{}
	batchMismatch := map[string]bool{}
	for i, e := range entries {
		idx := first + int64(i)
		pc, err := parseClaim(e)
		if err != nil {
			return nil, fmt.Errorf("entry %d: %w", idx, err)
		}
		ent, c := pc.Entry, pc.Claim
		for _, sig := range ent.Signatures {
			put(spaceBuilder, withIndex(hashFields(sig.VKey), idx), nil)
		}
		put(spaceSource, withIndex(hashFields(c.Source, c.Commit), idx), []byte(c.Platform))
		recipe, _ := hex.DecodeString(c.Recipe)
		ids := c.Identities()
		for j, sub := range c.Subjects {
			digest, _ := hex.DecodeString(sub.SHA256)
			put(spaceDigest, withIndex(digest, idx), nil)
			id := ids[j]
			ik := identityKey(id)
			put(spaceIdentity, withIndex(ik, idx), append(bytes.Clone(digest), recipe...))
			mismatch, err := isNewMismatch(s, ik, digest, batchDigests, batchMismatch)
			if err != nil {
				return nil, fmt.Errorf("entry %d: %w", idx, err)
			}
			if mismatch {
				rec, _ := json.Marshal(id)
				put(spaceMismatch, binary.BigEndian.AppendUint64(nil, uint64(idx)), rec)
				put(spaceMismatchIdent, ik, binary.BigEndian.AppendUint64(nil, uint64(idx)))
				batchMismatch[string(ik)] = true
			}
			if batchDigests[string(ik)] == nil {
				batchDigests[string(ik)] = map[string]bool{}
			}
			batchDigests[string(ik)][string(digest)] = true
		}
	}
	return out, nil
}

// isNewMismatch reports whether a claim of digest for the identity with key
// ik creates a mismatch: another digest was claimed for it before, and no
// mismatch was recorded for it yet.
func isNewMismatch(s Store, ik, digest []byte, batchDigests map[string]map[string]bool, batchMismatch map[string]bool) (bool, error) {
	if batchMismatch[string(ik)] {
		return false, nil
	}
	if v, err := s.IndexGet(spaceMismatchIdent, ik); err != nil || v != nil {
		return false, err
	}
	for d := range batchDigests[string(ik)] {
		if d != string(digest) {
			return true, nil
		}
	}
	differs := false
	err := s.IndexScan(spaceIdentity, ik, func(_, v []byte) bool {
		differs = !bytes.Equal(v[:sha256.Size], digest)
		return !differs
	})
	return differs, err
}

// scanIndexes returns the entry indexes at the end of the keys under prefix
// in space, below limit (exclusive).
func scanIndexes(s Store, space string, prefix []byte, limit int64) ([]int64, error) {
	var out []int64
	err := s.IndexScan(space, prefix, func(k, _ []byte) bool {
		if i := int64(binary.BigEndian.Uint64(k[len(k)-8:])); i < limit {
			out = append(out, i)
		}
		return true
	})
	return out, err
}

// ByDigest returns the indexes, below limit, of the claims naming the
// artifact digest (64 lowercase hex digits).
func (ClaimIndex) ByDigest(s Store, sha256Hex string, limit int64) ([]int64, error) {
	d, err := hex.DecodeString(sha256Hex)
	if err != nil || len(d) != sha256.Size {
		return nil, fmt.Errorf("log: digest %q is not 64 hex digits", sha256Hex)
	}
	return scanIndexes(s, spaceDigest, d, limit)
}

// BySource returns the indexes, below limit, of the claims about a
// normalised source URI and commit, for one platform or, if platform is
// empty, all.
func (ClaimIndex) BySource(s Store, source, commit, platform string, limit int64) ([]int64, error) {
	var out []int64
	err := s.IndexScan(spaceSource, hashFields(source, commit), func(k, v []byte) bool {
		if i := int64(binary.BigEndian.Uint64(k[len(k)-8:])); i < limit && (platform == "" || string(v) == platform) {
			out = append(out, i)
		}
		return true
	})
	return out, err
}

// ByBuilder returns the indexes, below limit, of the claims signed by vkey.
func (ClaimIndex) ByBuilder(s Store, vkey string, limit int64) ([]int64, error) {
	return scanIndexes(s, spaceBuilder, hashFields(vkey), limit)
}

// HasDigest reports whether a claim below limit names the artifact digest.
func (c ClaimIndex) HasDigest(s Store, sha256Hex string, limit int64) (bool, error) {
	idx, err := c.ByDigest(s, sha256Hex, limit)
	return len(idx) > 0, err
}

// A MismatchRecord is a build identity for which claims name different
// artifact digests.
type MismatchRecord struct {
	ID       int64 // index of the claim that created the mismatch
	Identity claim.Identity
	Digests  []MismatchDigest // in order of first appearance
}

// A MismatchDigest is one digest claimed for a mismatched build.
type MismatchDigest struct {
	SHA256  string
	Claims  []int64  // indexes of the claims naming it, in log order
	Recipes []string // their recipe digests, in the same order
}

// Mismatches returns up to n mismatches with IDs greater than after and
// below limit, oldest first, with every claim involved.
func (c ClaimIndex) Mismatches(s Store, after int64, n int, limit int64) ([]MismatchRecord, error) {
	var ids []int64
	var raws [][]byte
	err := s.IndexScan(spaceMismatch, nil, func(k, v []byte) bool {
		id := int64(binary.BigEndian.Uint64(k))
		if id > after && id < limit {
			ids, raws = append(ids, id), append(raws, bytes.Clone(v))
		}
		return len(ids) < n && id < limit
	})
	if err != nil {
		return nil, err
	}
	out := make([]MismatchRecord, len(ids))
	for i := range ids {
		if out[i], err = c.mismatch(s, ids[i], raws[i], limit); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// Mismatch returns the mismatch with the given ID, if it exists below limit.
func (c ClaimIndex) Mismatch(s Store, id, limit int64) (MismatchRecord, bool, error) {
	if id < 0 || id >= limit {
		return MismatchRecord{}, false, nil
	}
	raw, err := s.IndexGet(spaceMismatch, binary.BigEndian.AppendUint64(nil, uint64(id)))
	if err != nil || raw == nil {
		return MismatchRecord{}, false, err
	}
	m, err := c.mismatch(s, id, raw, limit)
	return m, err == nil, err
}

func (ClaimIndex) mismatch(s Store, id int64, raw []byte, limit int64) (MismatchRecord, error) {
	m := MismatchRecord{ID: id}
	if err := json.Unmarshal(raw, &m.Identity); err != nil {
		return m, fmt.Errorf("%w: mismatch %d: %v", ErrCorrupt, id, err)
	}
	pos := map[string]int{}
	err := s.IndexScan(spaceIdentity, identityKey(m.Identity), func(k, v []byte) bool {
		idx := int64(binary.BigEndian.Uint64(k[len(k)-8:]))
		if idx >= limit {
			return false
		}
		d, r := hex.EncodeToString(v[:sha256.Size]), hex.EncodeToString(v[sha256.Size:])
		i, ok := pos[d]
		if !ok {
			i = len(m.Digests)
			pos[d] = i
			m.Digests = append(m.Digests, MismatchDigest{SHA256: d})
		}
		m.Digests[i].Claims = append(m.Digests[i].Claims, idx)
		m.Digests[i].Recipes = append(m.Digests[i].Recipes, r)
		return true
	})
	return m, err
}
