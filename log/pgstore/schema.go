package pgstore

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"
	"golang.org/x/mod/sumdb/tlog"
)

// The tables of a log, all named attestlog_*:
//
//	attestlog_meta     one row: schema_version, origin, vkey (the log the
//	                   database belongs to), tree_size and root (what Commit
//	                   compares and swaps), checkpoint (the latest signed
//	                   checkpoint note, NULL before the first commit),
//	                   witnessed (the latest witnessed checkpoint note, or NULL)
//	attestlog_entries  idx -> entry bytes
//	attestlog_tiles    (level, n) -> hash tile data, full or partial
//	attestlog_dedup    leaf hash (32 bytes) -> idx
//	attestlog_index    (space, key) -> value: the Indexer's records; keys are
//	                   bytea, which PostgreSQL orders bytewise as bbolt does
//	attestlog_published bucket -> tree_size, note: the checkpoint last written
//	                   to each tiles bucket, whose row lock serialises the
//	                   frontends' writes of it (published.go; added to
//	                   existing databases at open, without a new version)
//
// Schema versions: 1 is this layout.
const schemaVersion = 1

// schemaLockID is the advisory lock taken while creating or checking the
// tables ("attestlo" in ASCII).
const schemaLockID = 0x6174746573746c6f

var createTables = []string{
	`CREATE TABLE attestlog_meta (
		singleton boolean PRIMARY KEY DEFAULT true CHECK (singleton),
		schema_version integer NOT NULL,
		origin text NOT NULL,
		vkey text NOT NULL,
		tree_size bigint NOT NULL,
		root bytea NOT NULL,
		checkpoint bytea,
		witnessed bytea
	)`,
	`CREATE TABLE attestlog_entries (idx bigint PRIMARY KEY, data bytea NOT NULL)`,
	`CREATE TABLE attestlog_tiles (level smallint NOT NULL, n bigint NOT NULL, data bytea NOT NULL, PRIMARY KEY (level, n))`,
	`CREATE TABLE attestlog_dedup (hash bytea PRIMARY KEY, idx bigint NOT NULL)`,
	`CREATE TABLE attestlog_index (space text NOT NULL, key bytea NOT NULL, value bytea NOT NULL, PRIMARY KEY (space, key))`,
}

// ErrOtherLog means the database holds the tables of another log.
var ErrOtherLog = errors.New("pgstore: the database holds another log")

// initSchema creates the tables in a new database, or checks that an
// existing one is of a known version and holds the log named by origin
// and vkey. It writes nothing to a database it refuses.
func initSchema(ctx context.Context, tx pgx.Tx, origin, vkey string, emptyRoot tlog.Hash) error {
	if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1)`, int64(schemaLockID)); err != nil {
		return fmt.Errorf("taking the schema lock: %w", err)
	}
	var exists bool
	if err := tx.QueryRow(ctx, `SELECT to_regclass('attestlog_meta') IS NOT NULL`).Scan(&exists); err != nil {
		return fmt.Errorf("looking for the log's tables: %w", err)
	}
	if !exists {
		for _, stmt := range createTables {
			if _, err := tx.Exec(ctx, stmt); err != nil {
				return fmt.Errorf("creating the log's tables: %w", err)
			}
		}
		_, err := tx.Exec(ctx, `INSERT INTO attestlog_meta (schema_version, origin, vkey, tree_size, root) VALUES ($1, $2, $3, 0, $4)`,
			schemaVersion, origin, vkey, emptyRoot[:])
		if err != nil {
			return fmt.Errorf("recording the log's identity: %w", err)
		}
		return nil
	}
	var version int
	var gotOrigin, gotVKey string
	err := tx.QueryRow(ctx, `SELECT schema_version, origin, vkey FROM attestlog_meta`).Scan(&version, &gotOrigin, &gotVKey)
	if errors.Is(err, pgx.ErrNoRows) {
		return errors.New("pgstore: table attestlog_meta exists but is empty: the database was not set up by attestlog, or was damaged; use an empty database")
	}
	if err != nil {
		return fmt.Errorf("reading the log's identity: %w", err)
	}
	switch {
	case version > schemaVersion:
		return fmt.Errorf("pgstore: the database has schema version %d, this attestlog knows versions up to %d: run the attestlog that wrote it, or a newer one", version, schemaVersion)
	case gotOrigin != origin:
		return fmt.Errorf("%w: its origin is %q, this log's is %q: point the store at this log's own database (or schema)", ErrOtherLog, gotOrigin, origin)
	case gotVKey != vkey:
		return fmt.Errorf("%w: origin %q, but signed by the key %s, not this log's key %s: use the data directory holding that log's key, or an empty database", ErrOtherLog, origin, gotVKey, vkey)
	}
	return nil
}
