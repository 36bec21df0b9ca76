package witness

import (
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
// its origin, that failed a consistency check: a consistency proof that does
// not verify, a root other than the cosigned one at the cosigned size, or a
// size 0 with a root other than the empty tree's. Either the log forked or
// the client sent a wrong proof; the signed bytes tell which.
type Evidence struct {
	ID     uint64    `json:"id"`     // sequence number, from 1
	Origin string    `json:"origin"` // the checkpoint's origin
	Reason string    `json:"reason"` // the check that failed, as answered to the client
	Time   time.Time `json:"time"`   // when the witness received the request
	// Request is the add-checkpoint request body, verbatim: the old size,
	// the proof and the signed checkpoint.
	Request string `json:"request,omitempty"`
	// Latest is the latest checkpoint the witness had cosigned for the origin
	// at the time, with the log's signatures and its cosignature; empty if none.
	Latest string `json:"latest,omitempty"`
}

// putEvidence stores e under the next sequence number, which it returns.
func putEvidence(tx *bolt.Tx, e Evidence) (uint64, error) {
	b := tx.Bucket(bucketEvidence)
	id, err := b.NextSequence()
	if err != nil {
		return 0, fmt.Errorf("witness: numbering evidence: %w", err)
	}
	e.ID = id
	v, err := json.Marshal(e)
	if err != nil {
		return 0, fmt.Errorf("witness: encoding evidence: %w", err)
	}
	if err := b.Put(binary.BigEndian.AppendUint64(nil, id), v); err != nil {
		return 0, fmt.Errorf("witness: storing evidence: %w", err)
	}
	return id, nil
}

// ListEvidence returns the evidence the witness has kept, oldest first,
// without the Request and Latest notes; see [Witness.Evidence].
func (w *Witness) ListEvidence() ([]Evidence, error) {
	list := []Evidence{}
	err := w.db.View(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketEvidence).ForEach(func(k, v []byte) error {
			var e Evidence
			if err := json.Unmarshal(v, &e); err != nil {
				return fmt.Errorf("%w: evidence %x: %v", errCorrupt, k, err)
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
		v := tx.Bucket(bucketEvidence).Get(binary.BigEndian.AppendUint64(nil, id))
		if v == nil {
			return fmt.Errorf("evidence %d: %w", id, ErrNotFound)
		}
		if err := json.Unmarshal(v, &e); err != nil {
			return fmt.Errorf("%w: evidence %d: %v", errCorrupt, id, err)
		}
		return nil
	})
	return e, err
}
