package witness

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"
	"golang.org/x/mod/sumdb/tlog"
)

// The bbolt file of a witness holds these buckets:
//
//	meta            "timestamp" -> the latest cosignature timestamp used, uint64 big-endian Unix seconds
//	logs            origin -> tree size (uint64 big-endian) || root hash (32 bytes) || cosigned checkpoint note
//	evidence        uint64 big-endian ID -> JSON of an [Evidence], written once
//	evidence-index  SHA-256 of the refused checkpoint's body -> its evidence ID
//	evidence-seen   evidence ID -> times seen (uint64) || last seen (int64 Unix nanoseconds), big-endian
//	evidence-count  origin -> number of evidence records of the log (uint64 big-endian)
//
// The cosigned checkpoint note of a log is the latest checkpoint the witness
// cosigned for it: the body, the log's signatures that the witness verified,
// and the witness's cosignature, whose line is last. A log's entry and the
// timestamp are written in the same transaction. The evidence record, its
// index entry, its seen entry and its log's count are written in one
// transaction too; a repeat rewrites only the small seen entry. Files written
// before the index existed get it (and the counts) built on open; a record
// without a seen entry was seen once, at its Time.
var (
	bucketMeta          = []byte("meta")
	bucketLogs          = []byte("logs")
	bucketEvidence      = []byte("evidence")
	bucketEvidenceIndex = []byte("evidence-index")
	bucketEvidenceSeen  = []byte("evidence-seen")
	bucketEvidenceCount = []byte("evidence-count")

	keyTimestamp = []byte("timestamp")
)

// errCorrupt means the bbolt file holds something this package never writes.
var errCorrupt = errors.New("witness: state is corrupt")

// A logState is what the witness remembers of a log: the latest checkpoint
// it cosigned. The zero logState means none.
type logState struct {
	size int64
	root tlog.Hash
	note []byte // the cosigned checkpoint note; nil if none
}

// openState opens or creates the bbolt file at path.
func openState(path string) (*bolt.DB, error) {
	db, err := bolt.Open(path, 0o600, &bolt.Options{
		Timeout: time.Second,
		// The freelist is rebuilt by scanning on open instead of being
		// rewritten on every commit: faster commits, same durability.
		NoFreelistSync: true,
		FreelistType:   bolt.FreelistMapType,
	})
	if err != nil {
		return nil, fmt.Errorf("witness: opening state %s: %w", path, err)
	}
	// Requests share a transaction if they arrive within batchDelay of each
	// other; the fsync is the cost they share.
	db.MaxBatchDelay = batchDelay
	err = db.Update(func(tx *bolt.Tx) error {
		indexed := tx.Bucket(bucketEvidenceIndex) != nil
		for _, name := range [][]byte{bucketMeta, bucketLogs, bucketEvidence, bucketEvidenceIndex, bucketEvidenceSeen, bucketEvidenceCount} {
			if _, err := tx.CreateBucketIfNotExists(name); err != nil {
				return err
			}
		}
		if !indexed {
			return indexEvidence(tx)
		}
		return nil
	})
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("witness: initialising state %s: %w", path, err)
	}
	return db, nil
}

// batchDelay is how long a bbolt batch waits for more requests before it
// commits. bbolt's default, 10ms, would be the latency of every request that
// arrives alone.
const batchDelay = 2 * time.Millisecond

// getLogState returns the stored state of origin, or the zero logState.
// The note is copied out of the transaction.
func getLogState(tx *bolt.Tx, origin string) (logState, error) {
	v := tx.Bucket(bucketLogs).Get([]byte(origin))
	if v == nil {
		return logState{}, nil
	}
	if len(v) < 8+tlog.HashSize {
		return logState{}, fmt.Errorf("%w: state of %s has %d bytes", errCorrupt, origin, len(v))
	}
	return logState{
		size: int64(binary.BigEndian.Uint64(v)),
		root: tlog.Hash(v[8 : 8+tlog.HashSize]),
		note: bytes.Clone(v[8+tlog.HashSize:]),
	}, nil
}

func putLogState(tx *bolt.Tx, origin string, s logState) error {
	v := binary.BigEndian.AppendUint64(make([]byte, 0, 8+tlog.HashSize+len(s.note)), uint64(s.size))
	v = append(v, s.root[:]...)
	v = append(v, s.note...)
	if err := tx.Bucket(bucketLogs).Put([]byte(origin), v); err != nil {
		return fmt.Errorf("witness: storing state of %s: %w", origin, err)
	}
	return nil
}

// getTimestamp returns the latest cosignature timestamp used, or 0 if none.
func getTimestamp(tx *bolt.Tx) (uint64, error) {
	v := tx.Bucket(bucketMeta).Get(keyTimestamp)
	switch len(v) {
	case 0:
		return 0, nil
	case 8:
		return binary.BigEndian.Uint64(v), nil
	}
	return 0, fmt.Errorf("%w: timestamp has %d bytes", errCorrupt, len(v))
}

func putTimestamp(tx *bolt.Tx, ts uint64) error {
	if err := tx.Bucket(bucketMeta).Put(keyTimestamp, binary.BigEndian.AppendUint64(nil, ts)); err != nil {
		return fmt.Errorf("witness: storing timestamp: %w", err)
	}
	return nil
}

// nextTimestamp returns the timestamp of a cosignature signed at now, given
// the latest one used: never earlier than last, and never zero.
func nextTimestamp(last uint64, now time.Time) uint64 {
	return max(uint64(max(now.Unix(), 1)), last)
}
