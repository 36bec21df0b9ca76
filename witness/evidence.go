package witness

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"
)

// ErrNotFound means the witness has no such checkpoint or evidence.
var ErrNotFound = errors.New("witness: not found")

// Evidence is a checkpoint, validly signed by a key the witness trusts for
// its origin, that cannot be consistent with the checkpoint the witness
// cosigned: a root other than the cosigned one at the cosigned size, a size 0
// with a root other than the empty tree's, or a consistency proof that leads
// to the checkpoint's root from a tree of the cosigned size whose root is not
// the cosigned one. Each shows, from signed bytes alone, that the log signed
// two trees that are not one history. The witness keeps one record per
// distinct checkpoint body, however often it is sent.
type Evidence struct {
	ID     uint64    `json:"id"`     // sequence number, from 1
	Origin string    `json:"origin"` // the checkpoint's origin
	Reason string    `json:"reason"` // the check that failed, as answered to the client
	Time   time.Time `json:"time"`   // when the witness first received the checkpoint
	// Seen is how many times the witness received and refused this
	// checkpoint, the first time included; LastTime is the last of them.
	Seen     int64     `json:"seen"`
	LastTime time.Time `json:"last_time"`
	// Request is the first add-checkpoint request body with the checkpoint,
	// verbatim: the old size, the proof and the signed checkpoint.
	Request string `json:"request,omitempty"`
	// Latest is the latest checkpoint the witness had cosigned for the origin
	// at the time, with the log's signatures and its cosignature; empty if none.
	Latest string `json:"latest,omitempty"`
}

// An evidenceKey identifies the evidence of one checkpoint: the SHA-256 of
// its body, the signed note's text.
type evidenceKey [sha256.Size]byte

func keyOf(text string) evidenceKey { return sha256.Sum256([]byte(text)) }

func u64(n uint64) []byte { return binary.BigEndian.AppendUint64(nil, n) }

// lookupEvidence returns the ID of the evidence of the checkpoint k, if any.
func lookupEvidence(tx *bolt.Tx, k evidenceKey) (uint64, bool, error) {
	v := tx.Bucket(bucketEvidenceIndex).Get(k[:])
	switch len(v) {
	case 0:
		return 0, false, nil
	case 8:
		return binary.BigEndian.Uint64(v), true, nil
	}
	return 0, false, fmt.Errorf("%w: evidence index entry %x has %d bytes", errCorrupt, k, len(v))
}

// evidenceCount returns how many evidence records of origin are stored.
func evidenceCount(tx *bolt.Tx, origin string) (int64, error) {
	v := tx.Bucket(bucketEvidenceCount).Get([]byte(origin))
	switch len(v) {
	case 0:
		return 0, nil
	case 8:
		return int64(binary.BigEndian.Uint64(v)), nil
	}
	return 0, fmt.Errorf("%w: evidence count of %s has %d bytes", errCorrupt, origin, len(v))
}

// putEvidence stores e, the evidence of the checkpoint k, seen once, under
// the next ID, which it returns, and counts it for its origin.
func putEvidence(tx *bolt.Tx, k evidenceKey, e Evidence) (uint64, error) {
	b := tx.Bucket(bucketEvidence)
	id, err := b.NextSequence()
	if err != nil {
		return 0, fmt.Errorf("witness: numbering evidence: %w", err)
	}
	e.ID, e.Seen, e.LastTime = id, 1, e.Time
	v, err := json.Marshal(e)
	if err != nil {
		return 0, fmt.Errorf("witness: encoding evidence: %w", err)
	}
	if err := b.Put(u64(id), v); err != nil {
		return 0, fmt.Errorf("witness: storing evidence: %w", err)
	}
	if err := tx.Bucket(bucketEvidenceIndex).Put(k[:], u64(id)); err != nil {
		return 0, fmt.Errorf("witness: indexing evidence: %w", err)
	}
	if err := putSeen(tx, id, 1, e.Time); err != nil {
		return 0, err
	}
	n, err := evidenceCount(tx, e.Origin)
	if err != nil {
		return 0, err
	}
	if err := tx.Bucket(bucketEvidenceCount).Put([]byte(e.Origin), u64(uint64(n+1))); err != nil {
		return 0, fmt.Errorf("witness: counting evidence: %w", err)
	}
	return id, nil
}

// getSeen returns how many times the evidence id was seen and when last;
// ok is false if its record predates the count.
func getSeen(tx *bolt.Tx, id uint64) (n int64, last time.Time, ok bool, err error) {
	v := tx.Bucket(bucketEvidenceSeen).Get(u64(id))
	switch len(v) {
	case 0:
		return 0, time.Time{}, false, nil
	case 16:
		return int64(binary.BigEndian.Uint64(v)), time.Unix(0, int64(binary.BigEndian.Uint64(v[8:]))).UTC(), true, nil
	}
	return 0, time.Time{}, false, fmt.Errorf("%w: seen count of evidence %d has %d bytes", errCorrupt, id, len(v))
}

func putSeen(tx *bolt.Tx, id uint64, n int64, last time.Time) error {
	v := binary.BigEndian.AppendUint64(u64(uint64(n)), uint64(last.UnixNano()))
	if err := tx.Bucket(bucketEvidenceSeen).Put(u64(id), v); err != nil {
		return fmt.Errorf("witness: counting evidence %d: %w", id, err)
	}
	return nil
}

// seenAgain counts one more sighting of the evidence id, at the time at, and
// returns how many there have been.
func seenAgain(tx *bolt.Tx, id uint64, at time.Time) (int64, error) {
	n, _, ok, err := getSeen(tx, id)
	if err != nil {
		return 0, err
	}
	if !ok {
		n = 1
	}
	n++
	return n, putSeen(tx, id, n, at)
}

// getEvidence decodes the stored evidence id with its seen count, or
// returns an error wrapping [ErrNotFound].
func getEvidence(tx *bolt.Tx, id uint64) (Evidence, error) {
	var e Evidence
	v := tx.Bucket(bucketEvidence).Get(u64(id))
	if v == nil {
		return e, fmt.Errorf("evidence %d: %w", id, ErrNotFound)
	}
	if err := json.Unmarshal(v, &e); err != nil {
		return e, fmt.Errorf("%w: evidence %d: %v", errCorrupt, id, err)
	}
	n, last, ok, err := getSeen(tx, id)
	switch {
	case err != nil:
		return e, err
	case ok:
		e.Seen, e.LastTime = n, last
	default:
		e.Seen, e.LastTime = 1, e.Time
	}
	return e, nil
}

// indexEvidence builds the evidence index and the counts of a file written
// before they existed. Records whose request does not parse stay unindexed;
// of several records of one checkpoint, the first is indexed.
func indexEvidence(tx *bolt.Tx) error {
	counts := make(map[string]uint64)
	err := tx.Bucket(bucketEvidence).ForEach(func(k, v []byte) error {
		var e Evidence
		if err := json.Unmarshal(v, &e); err != nil || len(k) != 8 {
			return fmt.Errorf("%w: evidence %x: %v", errCorrupt, k, err)
		}
		counts[e.Origin]++
		req, err := parseRequest([]byte(e.Request))
		if err != nil {
			return nil
		}
		ek := keyOf(req.text)
		if _, ok, err := lookupEvidence(tx, ek); err != nil || ok {
			return err
		}
		return tx.Bucket(bucketEvidenceIndex).Put(ek[:], k)
	})
	if err != nil {
		return err
	}
	for origin, n := range counts {
		if err := tx.Bucket(bucketEvidenceCount).Put([]byte(origin), u64(n)); err != nil {
			return err
		}
	}
	return nil
}

// ListEvidence returns the evidence the witness has kept, oldest first,
// without the Request and Latest notes; see [Witness.Evidence].
func (w *Witness) ListEvidence() ([]Evidence, error) {
	list := []Evidence{}
	err := w.db.View(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketEvidence).ForEach(func(k, _ []byte) error {
			if len(k) != 8 {
				return fmt.Errorf("%w: evidence key %x", errCorrupt, k)
			}
			e, err := getEvidence(tx, binary.BigEndian.Uint64(k))
			if err != nil {
				return err
			}
			e.Request, e.Latest = "", ""
			list = append(list, e)
			return nil
		})
	})
	return list, err
}

// Evidence returns the evidence numbered id, or an error wrapping [ErrNotFound].
func (w *Witness) Evidence(id uint64) (Evidence, error) {
	var e Evidence
	err := w.db.View(func(tx *bolt.Tx) error {
		var err error
		e, err = getEvidence(tx, id)
		return err
	})
	return e, err
}
