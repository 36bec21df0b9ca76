package pgstore

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
)

// publishIdleTimeout bounds how long a holder of the publication lock may
// leave its transaction idle (its process frozen, or a PUT that hangs)
// before PostgreSQL ends its session and so passes the lock on. The
// publisher bounds its checkpoint write well below it.
const publishIdleTimeout = 2 * time.Minute

// createPublished creates the table of the checkpoints published to
// buckets if the database has none (one made before it existed): an
// addition that older versions ignore, so the schema version stays.
const createPublished = `CREATE TABLE attestlog_published (
	bucket text PRIMARY KEY,
	tree_size bigint NOT NULL,
	note bytea NOT NULL
)`

// initPublished creates attestlog_published if it is missing; it runs
// under the schema lock. It looks first, since CREATE TABLE IF NOT EXISTS
// needs the CREATE privilege even when the table exists, which the role
// serve runs as need not have (see the README).
func initPublished(ctx context.Context, tx pgx.Tx) error {
	var exists bool
	if err := tx.QueryRow(ctx, `SELECT to_regclass('attestlog_published') IS NOT NULL`).Scan(&exists); err != nil {
		return fmt.Errorf("looking for the table of published checkpoints: %w", err)
	}
	if exists {
		return nil
	}
	if _, err := tx.Exec(ctx, createPublished); err != nil {
		return fmt.Errorf("creating the table attestlog_published, which this version adds: %w (start serve once as the role that owns the log's tables, or have it run: %s)",
			err, strings.Join(strings.Fields(createPublished), " "))
	}
	return nil
}

// PublishedCheckpoint returns the checkpoint note recorded as the one in
// bucket ([Store.LockPublished]), or nil if none is. It takes no lock: by
// the time it returns, a newer one may be recorded.
func (s *Store) PublishedCheckpoint(ctx context.Context, bucket string) ([]byte, error) {
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	var n []byte
	err := s.pool.QueryRow(ctx, `SELECT note FROM attestlog_published WHERE bucket = $1`, bucket).Scan(&n)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("pgstore: reading the checkpoint published to %s: %w", bucket, err)
	}
	if len(n) == 0 { // a cleared record
		return nil, nil
	}
	return n, nil
}

// LockPublished takes the publication lock of bucket, which serialises the
// checkpoint writes of every frontend of the log to that bucket, and
// returns the checkpoint note recorded as the bucket's (nil if none). The
// lock is a row lock (SELECT ... FOR UPDATE) in a transaction of its own,
// taken by inserting the bucket's row if it has none, so it exists before
// the first checkpoint is published.
//
// record stores note, a checkpoint note, as the bucket's and ends the
// lock by committing; it stores nothing unless note's tree is larger than
// the recorded one's, or the recorded one is empty, and a nil note clears
// the record (for a bucket found emptied). It fails if the lock was lost
// (the session ended: PostgreSQL ends a session whose transaction stays
// idle for publishIdleTimeout), in which case nothing was recorded. unlock
// ends the lock without recording; after record it does nothing. One of
// them must be called.
func (s *Store) LockPublished(ctx context.Context, bucket string) (recorded []byte, record func(note []byte) error, unlock func(), err error) {
	// Bounds the wait for the lock too: a holder whose session hangs holds
	// it up to publishIdleTimeout.
	ctx, cancel := context.WithTimeout(ctx, s.timeout+publishIdleTimeout)
	defer cancel()
	tx, err := s.pool.Begin(ctx)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("pgstore: taking the publication lock of %s: %w", bucket, err)
	}
	rollback := func() {
		ctx, cancel := s.ctx()
		defer cancel()
		tx.Rollback(ctx)
	}
	if _, err := tx.Exec(ctx, fmt.Sprintf(`SET LOCAL idle_in_transaction_session_timeout = %d`, publishIdleTimeout.Milliseconds())); err != nil {
		rollback()
		return nil, nil, nil, fmt.Errorf("pgstore: taking the publication lock of %s: %w", bucket, err)
	}
	// The insert makes the row the lock is on, once; the SELECT waits for
	// and takes the lock.
	if _, err := tx.Exec(ctx, `INSERT INTO attestlog_published (bucket, tree_size, note) VALUES ($1, -1, '') ON CONFLICT (bucket) DO NOTHING`, bucket); err != nil {
		rollback()
		return nil, nil, nil, fmt.Errorf("pgstore: taking the publication lock of %s: %w", bucket, err)
	}
	if err := tx.QueryRow(ctx, `SELECT note FROM attestlog_published WHERE bucket = $1 FOR UPDATE`, bucket).Scan(&recorded); err != nil {
		rollback()
		return nil, nil, nil, fmt.Errorf("pgstore: taking the publication lock of %s: %w", bucket, err)
	}
	if len(recorded) == 0 {
		recorded = nil
	}
	ended := false
	unlock = func() {
		if !ended {
			ended = true
			rollback()
		}
	}
	record = func(note []byte) error {
		if ended {
			return errors.New("pgstore: recording a published checkpoint: the publication lock was already let go")
		}
		ended = true
		size := int64(-1)
		if note != nil {
			var err error
			if size, err = noteSize(note); err != nil {
				rollback()
				return fmt.Errorf("pgstore: recording the checkpoint published to %s: %w", bucket, err)
			}
		}
		ctx, cancel := s.ctx()
		defer cancel()
		tag, err := tx.Exec(ctx, `UPDATE attestlog_published SET tree_size = $2, note = $3 WHERE bucket = $1 AND (tree_size < $2 OR $2 < 0)`,
			bucket, size, nonNil(note))
		if err != nil {
			tx.Rollback(ctx)
			return fmt.Errorf("pgstore: recording the checkpoint of size %d published to %s: %w", size, bucket, err)
		}
		if tag.RowsAffected() != 1 {
			tx.Rollback(ctx)
			return fmt.Errorf("pgstore: recording the checkpoint of size %d published to %s: a checkpoint at least as large is recorded", size, bucket)
		}
		if err := tx.Commit(ctx); err != nil {
			return fmt.Errorf("pgstore: recording the checkpoint of size %d published to %s (the publication lock was lost?): %w", size, bucket, err)
		}
		return nil
	}
	return recorded, record, unlock, nil
}
