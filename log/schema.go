package log

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/json"
	"fmt"

	"github.com/attestlog/attestlog/log/claim"
	bolt "go.etcd.io/bbolt"
)

// The bbolt file of a log holds these buckets:
//
//	meta     "checkpoint" -> latest signed checkpoint note
//	         "size"       -> tree size of that checkpoint, uint64 big-endian
//	         "root"       -> tree size (uint64 big-endian) || root hash, written
//	                         with "size"; Commit compares a batch's PrevRoot with it
//	         "witnessed"  -> latest checkpoint note with a witness quorum
//	         "schema"     -> layout version, uint64 big-endian (schemaVersion)
//	         "dedup-moves" -> slice moves made from dedup-staged to dedup,
//	                         uint64 big-endian (absent: none)
//	         "index-moves" -> slice moves made from index-staged to the idx:
//	                         buckets, uint64 big-endian (absent: none)
//	entries  uint64 big-endian index -> entry bytes
//	tiles    level (1 byte) || uint64 big-endian N -> hash tile data (full or partial)
//	dedup    leaf hash (32 bytes) -> uint64 big-endian index
//	dedup-staged  uint64 big-endian index of a batch's first entry -> the
//	         slice moves made before it was written (uint64 big-endian) ||
//	         the leaf hashes of the batch's entries, 32 bytes each, in index order
//	idx:<space>  index records of an Indexer (for claims, see claimindex.go)
//	index-staged  uint64 big-endian sequence number -> the slice moves made
//	         before it was written (uint64 big-endian) || the writes of one
//	         batch to the staged spaces, each: uvarint length || space,
//	         uvarint length || key, 0 || uvarint length || value (a put) or
//	         1 (a delete)
//
// Entries and tiles have monotonically increasing keys, so their buckets are
// filled completely on split. The deduplication index is dedup and
// dedup-staged together: an entry's record is in exactly one of them. Its
// keys are hashes, so a batch writing its records to dedup would dirty a
// leaf page of it per entry; a batch writes them as one record of
// dedup-staged instead (a page or two, at the end of the bucket). Staged
// records are moved to dedup a slice at a time, a slice being the records
// whose hashes start with one byte, in turn (move m moves slice m % 256,
// sorted): a batch that leaves more than [dedupStageLimit] of the tree records staged
// moves the next slices until no more are. A staged record's hash of slice
// b has been moved when a move of b was made after the record was written;
// a record of dedup-staged is deleted once 256 moves were made after it.
// Every Commit writes all of them in one transaction.
//
// The claim index's spaces whose keys are hashes (digest, source, identity,
// builder, name: stagedSpaces) are staged the same way (indexstage.go): a
// batch writes their records as one record of index-staged, and the staged
// records are moved to their idx: buckets a slice at a time (the records
// whose keys start with one byte, move m moving slice m % 256, sorted) once
// more than [indexStageLimit] are staged. A record of such a space is in
// its bucket or staged, a staged one replacing (or, as a delete, hiding)
// the bucket's of its key; reads merge the two.
//
// Schema versions: 1 (no "schema" key) keyed mismatches by the index of the
// claim that created them, so a claim creating two kept one; 2 keys them by
// build identity; 3 adds dedup-staged, which an attestlog knowing only 2
// would not read (it would append duplicates of the staged entries); 4
// adds index-staged, which an attestlog knowing only 3 would not read (its
// lookups would miss the staged records).
// [OpenBolt] migrates 1, 2 and 3 to 4 in one transaction and refuses
// versions it does not know.
var (
	bucketMeta    = []byte("meta")
	bucketEntries = []byte("entries")
	bucketTiles   = []byte("tiles")
	bucketDedup   = []byte("dedup")

	bucketDedupStaged = []byte("dedup-staged")
	bucketIndexStaged = []byte("index-staged")

	indexBucketPrefix = "idx:"

	keyCheckpoint = []byte("checkpoint")
	keySize       = []byte("size")
	keyRoot       = []byte("root")
	keyWitnessed  = []byte("witnessed")
	keySchema     = []byte("schema")
	keyDedupMoves = []byte("dedup-moves")
	keyIndexMoves = []byte("index-moves")
)

// schemaVersion is the layout this code writes.
const schemaVersion = 4

// The index spaces of schema version 1 that version 2 replaced.
const (
	spaceMismatchV1      = "mismatch"       // creating claim index (8) -> identity, JSON
	spaceMismatchIdentV1 = "mismatch-ident" // H(identity) (32) -> creating claim index (8)
)

// migrate brings the layout of the store in tx to schemaVersion, or fails
// if the store is newer than this code.
func migrate(tx *bolt.Tx) error {
	meta := tx.Bucket(bucketMeta)
	version := uint64(1)
	switch v := meta.Get(keySchema); {
	case v == nil && meta.Get(keySize) == nil:
		version = schemaVersion // a new store
	case v == nil:
	case len(v) != 8:
		return fmt.Errorf("%w: schema version of %d bytes", ErrCorrupt, len(v))
	default:
		version = binary.BigEndian.Uint64(v)
	}
	switch {
	case version == schemaVersion && meta.Get(keySchema) != nil:
		return nil
	case version > schemaVersion:
		return fmt.Errorf("log: the store has schema version %d, this attestlog knows versions up to %d: run the attestlog that wrote it, or a newer one", version, schemaVersion)
	case version < 2:
		if err := migrateMismatches(tx); err != nil {
			return fmt.Errorf("migrating the store from schema version %d to %d: %w", version, schemaVersion, err)
		}
	}
	return meta.Put(keySchema, binary.BigEndian.AppendUint64(nil, schemaVersion))
}

// migrateMismatches rebuilds the mismatch spaces of version 2 from the
// identity index, which version 1 kept complete, and the entries (for the
// identity fields and subject positions), and drops the version 1 spaces.
// Version 1 lost one of two mismatches a claim created; this restores it.
func migrateMismatches(tx *bolt.Tx) error {
	for _, space := range []string{spaceMismatchV1, spaceMismatchIdentV1, spaceMismatchIdentity, spaceMismatchOrder} {
		if tx.Bucket([]byte(indexBucketPrefix+space)) != nil {
			if err := tx.DeleteBucket([]byte(indexBucketPrefix + space)); err != nil {
				return err
			}
		}
	}
	identities := tx.Bucket([]byte(indexBucketPrefix + spaceIdentity))
	if identities == nil {
		return nil // the log does not index claims
	}
	byIdentity, err := tx.CreateBucket([]byte(indexBucketPrefix + spaceMismatchIdentity))
	if err != nil {
		return err
	}
	order, err := tx.CreateBucket([]byte(indexBucketPrefix + spaceMismatchOrder))
	if err != nil {
		return err
	}
	var ik, first []byte // the identity being read, and its first digest
	mismatched := false
	c := identities.Cursor()
	for k, v := c.First(); k != nil; k, v = c.Next() {
		if len(k) != sha256.Size+8 || (len(v) != sha256.Size && len(v) != 2*sha256.Size) {
			return fmt.Errorf("%w: identity index record of %d and %d bytes", ErrCorrupt, len(k), len(v))
		}
		if !bytes.Equal(k[:sha256.Size], ik) {
			ik, first, mismatched = bytes.Clone(k[:sha256.Size]), bytes.Clone(v[:sha256.Size]), false
			continue
		}
		if mismatched || bytes.Equal(v[:sha256.Size], first) {
			continue
		}
		mismatched = true
		idx := int64(binary.BigEndian.Uint64(k[sha256.Size:]))
		id, subject, err := identityOfEntry(tx, idx, ik)
		if err != nil {
			return err
		}
		rec, _ := json.Marshal(id)
		o := mismatchOrder(idx, subject)
		if err := byIdentity.Put(ik, append(bytes.Clone(o), rec...)); err != nil {
			return err
		}
		if err := order.Put(o, ik); err != nil {
			return err
		}
	}
	return nil
}

// identityOfEntry returns the build identity with key ik that the claim
// at idx names, and the position of its subject.
func identityOfEntry(tx *bolt.Tx, idx int64, ik []byte) (claim.Identity, int, error) {
	e := tx.Bucket(bucketEntries).Get(indexKey(idx))
	if e == nil {
		return claim.Identity{}, 0, fmt.Errorf("%w: the identity index names entry %d, which the store lacks", ErrCorrupt, idx)
	}
	r, err := parseClaim(NewEntry{Bytes: e})
	if err != nil {
		return claim.Identity{}, 0, fmt.Errorf("%w: entry %d: %w", ErrCorrupt, idx, err)
	}
	subjects := r.IdentitySubjects()
	for j, id := range r.Identities() {
		if bytes.Equal(identityKey(id), ik) {
			return id, subjects[j], nil
		}
	}
	return claim.Identity{}, 0, fmt.Errorf("%w: the identity index names entry %d for identity %x, which it does not claim", ErrCorrupt, idx, ik)
}
