package log

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"github.com/attestlog/attestlog/log/claim"
	"github.com/attestlog/attestlog/log/claim/record"
	"github.com/attestlog/attestlog/log/vindex"
)

// Index spaces of [ClaimIndex]. Keys of the first four end in the
// big-endian entry index, so a prefix scan lists claims in log order:
//
//	digest               sha256 (32) || index -> ""
//	source               H(source, commit) (32) || index -> platform ["\n" platform]...
//	identity             K(identity) (32) || index -> artifact sha256 (32) [|| recipe sha256 (32)]
//	builder              H(builder) (32) || index -> ""
//	name                 H(file name) (32) || index -> ""     digest-only claims only
//	mismatch-identity    K(identity) (32) -> order (12) || identity, JSON
//	mismatch-order       order (12) -> K(identity) (32)
//
// H is SHA-256 over the fields joined by NUL bytes, which no field contains;
// K is [claim.Identity.Key], the same hash over the four identity fields. A
// mismatch is identified by its build identity: there is at most one per
// identity, and a claim with several subjects can create several. Its order
// is the index of the claim that created it (8 bytes) and the position of
// the subject in that claim (4 bytes), big-endian, which is how mismatches
// are listed. Which keys an entry belongs under is [record.Record.Keys]
// (for a v1 entry, exactly [claim.Keys]); monitors recompute the same keys
// from the entries. A builder is named by its vkey (signed-note keys, every
// v1 signer) or "<scheme>:<key ID>"; a claim's source record lists the
// platforms of its builds (a v2 claim may have several; a v1 claim one);
// an identity record has no recipe when the signature names none. The
// name space (issue 11) indexes digest-only claims, which have no
// identity, by subject file name.
//
// Schema version 1 (before mismatches were keyed by identity) had the spaces
// "mismatch" (index of the creating claim -> identity) and "mismatch-ident";
// [OpenBolt] migrates it (schema.go).
const (
	spaceDigest           = "digest"
	spaceSource           = "source"
	spaceIdentity         = "identity"
	spaceBuilder          = "builder"
	spaceName             = "name"
	spaceMismatchIdentity = "mismatch-identity"
	spaceMismatchOrder    = "mismatch-order"
	mismatchOrderSize     = 12
)

// ClaimIndex indexes build claims (log/claim entries) by artifact digest, by
// source and commit, by build identity and by builder key, and records a
// mismatch the moment a second digest appears for one build identity.
// Index-commitment entries (log/vindex) are not claims: it writes the
// verifiable index's nodes they carry from the [IndexCommitter]. It is
// an [Indexer] for the sequencer and answers lookups from the same store.
// It is safe for concurrent use. A Log gives its ClaimIndex a place to
// leave the index keys of the claims it parses for the Log's
// [IndexCommitter], so that the committer does not parse them again; the
// zero ClaimIndex has none.
type ClaimIndex struct {
	keys *keyCache
}

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
	k := id.Key()
	return k[:]
}

func withIndex(prefix []byte, i int64) []byte {
	return binary.BigEndian.AppendUint64(bytes.Clone(prefix), uint64(i))
}

// mismatchOrder encodes where a mismatch is listed: after the mismatches of
// earlier claims, and of earlier subjects of the same claim.
func mismatchOrder(claimIndex int64, subject int) []byte {
	return binary.BigEndian.AppendUint32(binary.BigEndian.AppendUint64(nil, uint64(claimIndex)), uint32(subject))
}

// A ParsedClaim is a claim entry decoded and verified, as [ClaimIndex]
// reads it; pass it to [Log.AppendParsed] to spare the sequencer decoding
// it again. Record is the entry's record (log/claim/record); a v1 claim
// may give Entry and Claim instead, from which the record is derived.
type ParsedClaim struct {
	Record *record.Record
	Entry  *claim.Entry
	Claim  *claim.Claim
}

func parseClaim(e NewEntry) (*record.Record, error) {
	if p, ok := e.Parsed.(ParsedClaim); ok {
		if p.Record != nil {
			return p.Record, nil
		}
		return record.FromV1(p.Entry, p.Claim), nil
	}
	return record.Decode(e.Bytes)
}

// Index implements [Indexer]. Its cost per claim does not depend on how
// many claims or digests an identity already has (see isNewMismatch), and
// it reads the store once per batch, whatever the batch holds: a store
// behind a network (PostgreSQL) is then not bound by round trips.
func (c ClaimIndex) Index(s Store, first int64, entries []NewEntry) ([]IndexWrite, error) {
	parsed := make([]*record.Record, len(entries))
	keys := make([]claim.IndexKeys, len(entries))
	commitment := make([]bool, len(entries))
	var iks [][]byte
	for i, e := range entries {
		if commitment[i] = vindex.IsCommitment(e.Bytes); commitment[i] {
			continue // indexed in the second pass
		}
		r, err := parseClaim(e)
		if err != nil {
			return nil, fmt.Errorf("entry %d: %w", first+int64(i), err)
		}
		parsed[i], keys[i] = r, r.Keys()
		c.keys.put(first+int64(i), e.leafHash(), keys[i])
		for _, id := range keys[i].Identities {
			iks = append(iks, identityKey(id))
		}
	}
	known, err := readIdentities(s, iks)
	if err != nil {
		return nil, err
	}
	var out []IndexWrite
	put := func(space string, k, v []byte) { out = append(out, IndexWrite{Space: space, Key: k, Value: v}) }
	for i, r := range parsed {
		idx := first + int64(i)
		if commitment[i] {
			// Not a claim: an index commitment, which carries the map's
			// new nodes (indexmap.go).
			w, err := indexCommitment(s, idx, entries[i])
			if err != nil {
				return nil, fmt.Errorf("entry %d: %w", idx, err)
			}
			out = append(out, w...)
			continue
		}
		keys := keys[i]
		for _, b := range keys.Builders {
			put(spaceBuilder, withIndex(hashFields(b), idx), nil)
		}
		if len(keys.Builds) > 0 {
			// A claim has one source; its builds differ in platform only.
			b := keys.Builds[0]
			put(spaceSource, withIndex(hashFields(b.Source, b.Commit), idx), []byte(platforms(keys.Builds)))
		}
		for _, d := range keys.Digests {
			digest, _ := hex.DecodeString(d)
			put(spaceDigest, withIndex(digest, idx), nil)
		}
		for _, n := range keys.Names {
			put(spaceName, withIndex(hashFields(n), idx), nil)
		}
		recipe, _ := hex.DecodeString(r.Recipe) // none (no bytes) when the signature names no recipe
		subjects := r.IdentitySubjects()
		for j, id := range keys.Identities {
			digest, _ := hex.DecodeString(r.Subjects[subjects[j]].SHA256)
			ik := identityKey(id)
			put(spaceIdentity, withIndex(ik, idx), append(bytes.Clone(digest), recipe...))
			if known.isNewMismatch(ik, digest) {
				rec, _ := json.Marshal(id)
				order := mismatchOrder(idx, subjects[j])
				put(spaceMismatchIdentity, ik, append(bytes.Clone(order), rec...))
				put(spaceMismatchOrder, order, ik)
				known.mismatched[string(ik)] = true
			}
		}
	}
	return out, nil
}

// identities is what a batch of claims needs to know about the build
// identities it names, keyed by identity key.
type identities struct {
	// firstDigest is the artifact digest of the identity's first claim, in
	// the store or, for an identity new to the store, in the batch.
	firstDigest map[string][]byte
	// mismatched holds the identities with a recorded mismatch, in the
	// store or created earlier in the batch.
	mismatched map[string]bool
}

// readIdentities reads, in one [Store.IndexGetMany], whether each identity
// key has a mismatch and the first claim recorded for it.
func readIdentities(s Store, iks [][]byte) (*identities, error) {
	known := &identities{firstDigest: make(map[string][]byte, len(iks)), mismatched: map[string]bool{}}
	reads := make([]IndexRead, 0, 2*len(iks))
	seen := make(map[string]bool, len(iks))
	for _, ik := range iks {
		if !seen[string(ik)] {
			seen[string(ik)] = true
			reads = append(reads, IndexRead{Space: spaceMismatchIdentity, Key: ik}, IndexRead{Space: spaceIdentity, Key: ik, Prefix: true})
		}
	}
	if len(reads) == 0 {
		return known, nil
	}
	vals, err := s.IndexGetMany(reads)
	if err != nil {
		return nil, fmt.Errorf("reading the identities of the batch: %w", err)
	}
	for i := 0; i < len(reads); i += 2 {
		ik := string(reads[i].Key)
		if vals[i] != nil {
			known.mismatched[ik] = true
		}
		if v := vals[i+1]; v != nil {
			if len(v) < sha256.Size {
				return nil, fmt.Errorf("%w: identity record of %x has %d bytes", ErrCorrupt, reads[i].Key, len(v))
			}
			known.firstDigest[ik] = v[:sha256.Size]
		}
	}
	return known, nil
}

// isNewMismatch reports whether a claim of digest for the identity with key
// ik creates a mismatch: no mismatch was recorded for it yet, and its first
// claim names another digest. An identity without a mismatch has one digest
// in all its claims, so its first claim stands for every one: the check
// needs two records whatever the number of claims already recorded (a scan
// of them all made every append to a busy build slower). A claim of an
// identity new to the store becomes its first.
func (k *identities) isNewMismatch(ik, digest []byte) bool {
	if k.mismatched[string(ik)] {
		return false
	}
	want, ok := k.firstDigest[string(ik)]
	if !ok {
		k.firstDigest[string(ik)] = digest
		return false
	}
	return !bytes.Equal(want, digest)
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
		if i := int64(binary.BigEndian.Uint64(k[len(k)-8:])); i < limit && (platform == "" || hasPlatform(v, platform)) {
			out = append(out, i)
		}
		return true
	})
	return out, err
}

// ByBuilder returns the indexes, below limit, of the claims signed by a
// builder, named as [claim.IndexKeys] Builders name it: a signed-note
// signer by its vkey, any other by "<scheme>:<key ID>".
func (ClaimIndex) ByBuilder(s Store, builder string, limit int64) ([]int64, error) {
	return scanIndexes(s, spaceBuilder, hashFields(builder), limit)
}

// ByName returns the indexes, below limit, of the digest-only claims
// naming a file name ([claim.IndexKeys] Names).
func (ClaimIndex) ByName(s Store, name string, limit int64) ([]int64, error) {
	return scanIndexes(s, spaceName, hashFields(name), limit)
}

// platforms returns the value of a source record: the platforms of the
// claim's builds, one per line (one, for every v1 claim, as before).
func platforms(bs []claim.Build) string {
	ps := make([]string, len(bs))
	for i, b := range bs {
		ps[i] = b.Platform
	}
	return strings.Join(ps, "\n")
}

// hasPlatform reports whether a source record's value names platform.
func hasPlatform(v []byte, platform string) bool {
	return slices.Contains(strings.Split(string(v), "\n"), platform)
}

// HasDigest reports whether a claim below limit names the artifact digest.
func (c ClaimIndex) HasDigest(s Store, sha256Hex string, limit int64) (bool, error) {
	idx, err := c.ByDigest(s, sha256Hex, limit)
	return len(idx) > 0, err
}

// A MismatchRecord is a build identity for which claims name different
// artifact digests.
type MismatchRecord struct {
	// Claim is the index of the claim that created the mismatch (the first
	// to name a second digest), and Subject the position of the identity's
	// subject in it. Together they order mismatches; the identity names one.
	Claim    int64
	Subject  int
	Identity claim.Identity
	Digests  []MismatchDigest // in order of first appearance
}

// ID returns the mismatch's identifier: its identity ID, 64 hex digits.
func (m MismatchRecord) ID() string { return m.Identity.ID() }

// A MismatchDigest is one digest claimed for a mismatched build.
type MismatchDigest struct {
	SHA256  string
	Claims  []int64  // indexes of the claims naming it, in log order
	Recipes []string // their recipe digests, in the same order
}

// A MismatchCursor is where a page of [ClaimIndex.Mismatches] starts: after
// the mismatch created by subject Subject of claim Claim. The zero value
// with Claim -1 starts at the beginning.
type MismatchCursor struct {
	Claim   int64
	Subject int
}

// Mismatches returns up to n mismatches created below limit and listed
// after cursor, in order (claim index, then subject position), with every
// claim involved below limit.
func (c ClaimIndex) Mismatches(s Store, after MismatchCursor, n int, limit int64) ([]MismatchRecord, error) {
	var keys [][]byte
	var from []byte
	if after.Claim >= 0 {
		from = mismatchOrder(after.Claim, after.Subject)
	}
	err := s.IndexScan(spaceMismatchOrder, nil, func(k, v []byte) bool {
		if int64(binary.BigEndian.Uint64(k)) >= limit {
			return false
		}
		if bytes.Compare(k, from) > 0 {
			keys = append(keys, bytes.Clone(v))
		}
		return len(keys) < n
	})
	if err != nil {
		return nil, err
	}
	out := make([]MismatchRecord, 0, len(keys))
	for _, ik := range keys {
		m, ok, err := c.mismatch(s, ik, limit)
		if err != nil {
			return nil, err
		}
		if !ok {
			return nil, fmt.Errorf("%w: mismatch order lists identity %x, which has no mismatch", ErrCorrupt, ik)
		}
		out = append(out, m)
	}
	return out, nil
}

// Mismatch returns the mismatch of the identity with the given key
// ([claim.Identity.Key]), if one was created below limit.
func (c ClaimIndex) Mismatch(s Store, key [sha256.Size]byte, limit int64) (MismatchRecord, bool, error) {
	return c.mismatch(s, key[:], limit)
}

// MismatchesOfClaim returns the mismatches that the claim at index created,
// if it is below limit, in subject order. Before mismatches were keyed by
// identity, the creating claim's index was their ID: this answers it.
func (c ClaimIndex) MismatchesOfClaim(s Store, index, limit int64) ([]MismatchRecord, error) {
	if index < 0 || index >= limit {
		return nil, nil
	}
	var keys [][]byte
	err := s.IndexScan(spaceMismatchOrder, binary.BigEndian.AppendUint64(nil, uint64(index)), func(_, v []byte) bool {
		keys = append(keys, bytes.Clone(v))
		return true
	})
	if err != nil {
		return nil, err
	}
	var out []MismatchRecord
	for _, ik := range keys {
		m, ok, err := c.mismatch(s, ik, limit)
		if err != nil {
			return nil, err
		}
		if ok {
			out = append(out, m)
		}
	}
	return out, nil
}

// mismatch reads the mismatch of identity key ik, with its claims below limit.
func (ClaimIndex) mismatch(s Store, ik []byte, limit int64) (MismatchRecord, bool, error) {
	raw, err := s.IndexGet(spaceMismatchIdentity, ik)
	if err != nil || raw == nil {
		return MismatchRecord{}, false, err
	}
	if len(raw) < mismatchOrderSize {
		return MismatchRecord{}, false, fmt.Errorf("%w: mismatch %x: %d bytes", ErrCorrupt, ik, len(raw))
	}
	m := MismatchRecord{Claim: int64(binary.BigEndian.Uint64(raw)), Subject: int(binary.BigEndian.Uint32(raw[8:]))}
	if m.Claim >= limit {
		return MismatchRecord{}, false, nil
	}
	if err := json.Unmarshal(raw[mismatchOrderSize:], &m.Identity); err != nil {
		return m, false, fmt.Errorf("%w: mismatch %x: %v", ErrCorrupt, ik, err)
	}
	if !bytes.Equal(identityKey(m.Identity), ik) {
		return m, false, fmt.Errorf("%w: mismatch %x holds the identity of %s", ErrCorrupt, ik, m.Identity.ID())
	}
	pos := map[string]int{}
	err = s.IndexScan(spaceIdentity, ik, func(k, v []byte) bool {
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
	return m, err == nil, err
}
