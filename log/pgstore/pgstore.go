package pgstore

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/attestlog/attestlog/log"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/transparency-dev/merkle/rfc6962"
	"golang.org/x/mod/sumdb/tlog"
)

const (
	// DefaultTimeout is the default bound on one call of a Store.
	DefaultTimeout = time.Minute
	// DefaultConnectTimeout is the default bound on connecting at Open.
	DefaultConnectTimeout = 10 * time.Second
	// DefaultMaxConns is the default size of the connection pool, unless
	// the URL sets pool_max_conns.
	DefaultMaxConns = 16
	// writerConns is the size of the sequencer's own pool: the writer
	// lock's session and one for its queries, and one to spare.
	writerConns = 3
)

// Config configures a [Store]. URL, Origin and VKey are required; every
// other zero value means the documented default.
type Config struct {
	// URL is the database's postgres:// (or postgresql://) URL, with the
	// parameters of libpq and pgxpool, e.g.
	// "postgres://attestlog:secret@db.example:5432/attestlog?sslmode=verify-full".
	URL string
	// Origin and VKey name the log: a new database records them, an
	// existing one must hold the same (see [ErrOtherLog]).
	Origin, VKey string
	// Timeout bounds each call; default DefaultTimeout.
	Timeout time.Duration
	// ConnectTimeout bounds connecting at Open; default DefaultConnectTimeout.
	ConnectTimeout time.Duration
	// Logger receives warnings about the server's settings; nil discards them.
	Logger *slog.Logger
}

// A Store is a [log.Store] in a PostgreSQL database. It is safe for
// concurrent use.
type Store struct {
	pool *pgxpool.Pool
	// writer is a small pool of its own for what only the sequencer does
	// (the writer lock, reading the checkpoint, the dedup lookup, the
	// indexer's reads, Commit), so that it never queues behind the read
	// path's queries for a connection.
	writer  *pgxpool.Pool
	timeout time.Duration
	// forceSync is set when the server's default synchronous_commit is off,
	// which would make Commit return before its batch is durable.
	forceSync bool
}

var _ log.SharedStore = (*Store)(nil)

// Open connects to the database at cfg.URL, creates the log's tables if
// the database has none, and checks that it holds the log cfg names. An
// unreachable database fails with an error naming the URL (without its
// password) and what to check.
func Open(ctx context.Context, cfg Config) (*Store, error) {
	if cfg.Origin == "" || cfg.VKey == "" {
		return nil, errors.New("pgstore: config: origin and verifier key are required")
	}
	if cfg.Timeout == 0 {
		cfg.Timeout = DefaultTimeout
	}
	if cfg.ConnectTimeout == 0 {
		cfg.ConnectTimeout = DefaultConnectTimeout
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	where := Redact(cfg.URL)
	pc, err := pgxpool.ParseConfig(cfg.URL)
	if err != nil {
		return nil, fmt.Errorf("pgstore: parsing the PostgreSQL URL %s: %w", where, err)
	}
	if !strings.Contains(cfg.URL, "pool_max_conns") {
		pc.MaxConns = DefaultMaxConns
	}
	pc.ConnConfig.ConnectTimeout = cfg.ConnectTimeout
	ctx, cancel := context.WithTimeout(ctx, cfg.ConnectTimeout+cfg.Timeout)
	defer cancel()
	pool, err := pgxpool.NewWithConfig(ctx, pc)
	if err != nil {
		return nil, fmt.Errorf("pgstore: opening PostgreSQL at %s: %w", where, err)
	}
	wc := pc.Copy()
	wc.MaxConns, wc.MinConns = writerConns, 0
	writer, err := pgxpool.NewWithConfig(ctx, wc)
	if err != nil {
		pool.Close()
		return nil, fmt.Errorf("pgstore: opening PostgreSQL at %s: %w", where, err)
	}
	s := &Store{pool: pool, writer: writer, timeout: cfg.Timeout}
	if err := s.open(ctx, cfg, where); err != nil {
		s.Close()
		return nil, err
	}
	return s, nil
}

func (s *Store) open(ctx context.Context, cfg Config, where string) error {
	if err := s.pool.Ping(ctx); err != nil {
		return fmt.Errorf("pgstore: connecting to PostgreSQL at %s: %w (check that the server runs and listens there, that its pg_hba.conf admits this host, and the user, password and database name in the URL)", where, err)
	}
	var fsync, syncCommit string
	if err := s.pool.QueryRow(ctx, `SELECT current_setting('fsync'), current_setting('synchronous_commit')`).Scan(&fsync, &syncCommit); err != nil {
		return fmt.Errorf("pgstore: reading the settings of PostgreSQL at %s: %w", where, err)
	}
	if fsync != "on" {
		cfg.Logger.WarnContext(ctx, "PostgreSQL runs with fsync off: a crash of its machine can lose acknowledged entries", slog.String("store", where))
	}
	s.forceSync = syncCommit == "off"
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		if err := initSchema(ctx, tx, cfg.Origin, cfg.VKey, tlog.Hash(rfc6962.DefaultHasher.EmptyRoot())); err != nil {
			return err
		}
		return initPublished(ctx, tx)
	})
	if err != nil {
		return fmt.Errorf("pgstore: %s: %w", where, err)
	}
	return nil
}

// Redact returns the PostgreSQL URL u without its password, for messages.
func Redact(u string) string {
	p, err := url.Parse(u)
	if err != nil {
		return "(a PostgreSQL URL that does not parse)"
	}
	if p.User != nil {
		p.User = url.User(p.User.Username())
	}
	q := p.Query()
	for k := range q {
		if strings.Contains(strings.ToLower(k), "password") {
			q.Set(k, "xxxxx")
		}
	}
	p.RawQuery = q.Encode()
	return p.String()
}

// Close closes the connection pools.
func (s *Store) Close() error {
	s.pool.Close()
	s.writer.Close()
	return nil
}

func (s *Store) ctx() (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.Background(), s.timeout)
}

// Checkpoint implements [log.Store].
func (s *Store) Checkpoint() ([]byte, error) { return s.metaNote("checkpoint") }

// Witnessed implements [log.Store].
func (s *Store) Witnessed() ([]byte, error) { return s.metaNote("witnessed") }

func (s *Store) metaNote(column string) ([]byte, error) {
	ctx, cancel := s.ctx()
	defer cancel()
	var n []byte
	// On the writer's pool: the sequencer reads the checkpoint under the
	// writer lock, the read path answers from memory.
	if err := s.writer.QueryRow(ctx, `SELECT `+column+` FROM attestlog_meta`).Scan(&n); err != nil {
		return nil, fmt.Errorf("pgstore: reading the %s: %w", column, err)
	}
	return n, nil
}

// SetWitnessed implements [log.SharedStore]: a swap that stores note only
// if the stored witnessed checkpoint is not of a larger tree, so that a
// slow frontend cannot move it back. note must be a checkpoint note.
func (s *Store) SetWitnessed(note []byte) error {
	size, err := noteSize(note)
	if err != nil {
		return fmt.Errorf("pgstore: storing the witnessed checkpoint: %w", err)
	}
	ctx, cancel := s.ctx()
	defer cancel()
	// Every stored note passed noteSize, whose second line the cast reads.
	tag, err := s.pool.Exec(ctx, `UPDATE attestlog_meta SET witnessed = $1
		WHERE witnessed IS NULL OR split_part(convert_from(witnessed, 'UTF8'), E'\n', 2)::bigint <= $2`, note, size)
	if err != nil {
		return fmt.Errorf("pgstore: storing the witnessed checkpoint: %w", err)
	}
	if tag.RowsAffected() != 1 {
		return fmt.Errorf("%w: this one is of tree size %d", log.ErrStaleWitnessed, size)
	}
	return nil
}

// noteSize returns the tree size on the second line of a checkpoint note:
// decimal, without sign or leading zeros.
func noteSize(note []byte) (int64, error) {
	_, rest, ok := bytes.Cut(note, []byte("\n"))
	line, _, ok2 := bytes.Cut(rest, []byte("\n"))
	size, err := strconv.ParseInt(string(line), 10, 64)
	if !ok || !ok2 || err != nil || size < 0 || strconv.FormatInt(size, 10) != string(line) || !utf8.Valid(note) {
		return 0, errors.New("not a checkpoint note (no tree size on its second line, or not UTF-8)")
	}
	return size, nil
}

// writerLockID is the advisory lock of [Store.LockWriter] ("attestwr").
const writerLockID = 0x6174746573747772

// LockWriter implements [log.SharedStore] with a session-level advisory
// lock, held on a connection of its own until unlock. If that connection
// dies (the frontend's process, or the network), PostgreSQL releases the
// lock and another frontend takes it: Commit's swap is what keeps a
// writer that lost the lock from overwriting, and unlock reports the loss.
func (s *Store) LockWriter(ctx context.Context) (unlock func() error, err error) {
	conn, err := s.writer.Acquire(ctx)
	if err != nil {
		return nil, fmt.Errorf("pgstore: taking the writer lock: %w", err)
	}
	if _, err := conn.Exec(ctx, `SELECT pg_advisory_lock($1)`, int64(writerLockID)); err != nil {
		// A cancelled wait may still have taken the lock: close the session.
		conn.Conn().Close(context.Background())
		conn.Release()
		return nil, fmt.Errorf("pgstore: taking the writer lock: %w", err)
	}
	return func() error {
		defer conn.Release()
		ctx, cancel := s.ctx()
		defer cancel()
		var held bool
		if err := conn.QueryRow(ctx, `SELECT pg_advisory_unlock($1)`, int64(writerLockID)).Scan(&held); err != nil {
			conn.Conn().Close(context.Background())
			return fmt.Errorf("pgstore: releasing the writer lock (its session ended: the lock was lost): %w", err)
		}
		if !held {
			return errors.New("pgstore: releasing the writer lock: it was not held (lost with an earlier session)")
		}
		return nil
	}, nil
}

// indexLockID is the advisory lock of [Store.TryLockIndex] ("attestix").
const indexLockID = 0x6174746573746978

// TryLockIndex implements [log.SharedStore] with a session-level advisory
// lock, try-acquired, on a connection of its own until unlock; as with
// [Store.LockWriter], PostgreSQL releases it when that connection dies.
// The connection comes from the read path's pool: the sequencer's own is
// sized for the sequencer alone.
func (s *Store) TryLockIndex(ctx context.Context) (unlock func() error, ok bool, err error) {
	conn, err := s.pool.Acquire(ctx)
	if err != nil {
		return nil, false, fmt.Errorf("pgstore: taking the index lock: %w", err)
	}
	if err := conn.QueryRow(ctx, `SELECT pg_try_advisory_lock($1)`, int64(indexLockID)).Scan(&ok); err != nil {
		// Cancelled, the query may still have taken the lock: close the session.
		conn.Conn().Close(context.Background())
		conn.Release()
		return nil, false, fmt.Errorf("pgstore: taking the index lock: %w", err)
	}
	if !ok {
		conn.Release()
		return nil, false, nil
	}
	return func() error {
		defer conn.Release()
		ctx, cancel := s.ctx()
		defer cancel()
		var held bool
		if err := conn.QueryRow(ctx, `SELECT pg_advisory_unlock($1)`, int64(indexLockID)).Scan(&held); err != nil {
			conn.Conn().Close(context.Background())
			return fmt.Errorf("pgstore: releasing the index lock (its session ended: the lock was lost): %w", err)
		}
		if !held {
			return errors.New("pgstore: releasing the index lock: it was not held (lost with an earlier session)")
		}
		return nil
	}, true, nil
}

// Tiles implements [log.Store].
func (s *Store) Tiles(ids []log.TileID) ([][]byte, error) {
	out := make([][]byte, len(ids))
	if len(ids) == 0 {
		return out, nil
	}
	levels, ns := make([]int16, len(ids)), make([]int64, len(ids))
	for i, id := range ids {
		levels[i], ns[i] = int16(id.Level), id.N
	}
	ctx, cancel := s.ctx()
	defer cancel()
	rows, err := s.pool.Query(ctx, `SELECT q.i, t.data
		FROM unnest($1::smallint[], $2::bigint[]) WITH ORDINALITY AS q(level, n, i)
		JOIN attestlog_tiles t ON t.level = q.level AND t.n = q.n`, levels, ns)
	if err != nil {
		return nil, fmt.Errorf("pgstore: reading tiles: %w", err)
	}
	var i int64
	var data []byte
	_, err = pgx.ForEachRow(rows, []any{&i, &data}, func() error {
		out[i-1] = data
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("pgstore: reading tiles: %w", err)
	}
	return out, nil
}

// Entries implements [log.Store].
func (s *Store) Entries(start int64, n int) ([][]byte, error) {
	out := make([][]byte, 0, max(n, 0))
	if n <= 0 {
		return out, nil
	}
	ctx, cancel := s.ctx()
	defer cancel()
	rows, err := s.pool.Query(ctx, `SELECT idx, data FROM attestlog_entries WHERE idx >= $1 AND idx < $2 ORDER BY idx`, start, start+int64(n))
	if err != nil {
		return nil, fmt.Errorf("pgstore: reading entries: %w", err)
	}
	var idx int64
	var data []byte
	want := start
	_, err = pgx.ForEachRow(rows, []any{&idx, &data}, func() error {
		if idx == want {
			out = append(out, data)
			want++
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("pgstore: reading entries: %w", err)
	}
	if len(out) < n {
		return nil, fmt.Errorf("entry %d: %w", want, log.ErrNotFound)
	}
	return out, nil
}

// Lookup implements [log.Store].
func (s *Store) Lookup(hashes []tlog.Hash) ([]int64, error) {
	out := make([]int64, len(hashes))
	pos := make(map[tlog.Hash][]int, len(hashes))
	keys := make([][]byte, len(hashes))
	for i := range hashes {
		out[i] = -1
		pos[hashes[i]] = append(pos[hashes[i]], i)
		keys[i] = hashes[i][:]
	}
	if len(hashes) == 0 {
		return out, nil
	}
	ctx, cancel := s.ctx()
	defer cancel()
	rows, err := s.writer.Query(ctx, `SELECT hash, idx FROM attestlog_dedup WHERE hash = ANY($1::bytea[])`, keys)
	if err != nil {
		return nil, fmt.Errorf("pgstore: reading the dedup index: %w", err)
	}
	var h []byte
	var idx int64
	_, err = pgx.ForEachRow(rows, []any{&h, &idx}, func() error {
		if len(h) != tlog.HashSize {
			return fmt.Errorf("%w: dedup record with a hash of %d bytes", log.ErrCorrupt, len(h))
		}
		for _, i := range pos[tlog.Hash(h)] {
			out[i] = idx
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("pgstore: reading the dedup index: %w", err)
	}
	return out, nil
}

// IndexGet implements [log.Store].
func (s *Store) IndexGet(space string, key []byte) ([]byte, error) {
	ctx, cancel := s.ctx()
	defer cancel()
	var v []byte
	err := s.pool.QueryRow(ctx, `SELECT value FROM attestlog_index WHERE space = $1 AND key = $2`, space, nonNil(key)).Scan(&v)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("pgstore: reading index %s: %w", space, err)
	}
	return v, nil
}

// IndexScan implements [log.Store]. The scan is one statement, so one
// view; fn runs as rows arrive, and rows after it returns false are still
// read from the connection (not decoded), which costs little for the
// narrow prefixes the log scans.
func (s *Store) IndexScan(space string, prefix []byte, fn func(key, value []byte) bool) error {
	ctx, cancel := s.ctx()
	defer cancel()
	q := `SELECT key, value FROM attestlog_index WHERE space = $1 AND key >= $2 ORDER BY key`
	args := []any{space, nonNil(prefix)}
	if end := prefixEnd(prefix); end != nil {
		q = `SELECT key, value FROM attestlog_index WHERE space = $1 AND key >= $2 AND key < $3 ORDER BY key`
		args = append(args, end)
	}
	rows, err := s.pool.Query(ctx, q, args...)
	if err != nil {
		return fmt.Errorf("pgstore: scanning index %s: %w", space, err)
	}
	defer rows.Close()
	var k, v []byte
	for rows.Next() {
		if err := rows.Scan(&k, &v); err != nil {
			return fmt.Errorf("pgstore: scanning index %s: %w", space, err)
		}
		if !fn(k, v) {
			break
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return fmt.Errorf("pgstore: scanning index %s: %w", space, err)
	}
	return nil
}

// IndexGetMany implements [log.Store] in one statement. Each read is the
// first record of its space in a key range: [key, key||0x00) for a key,
// [prefix, prefixEnd(prefix)) for a prefix, so that both bounds are index
// conditions and no read scans past its range; a prefix without an end
// (empty, or all 0xff) is bounded below only, which is the same range.
func (s *Store) IndexGetMany(reads []log.IndexRead) ([][]byte, error) {
	out := make([][]byte, len(reads))
	if len(reads) == 0 {
		return out, nil
	}
	var bSpace, uSpace []string
	var bLo, bHi, uLo [][]byte
	var bPos, uPos []int64
	for i, r := range reads {
		hi := append(bytes.Clone(r.Key), 0)
		if r.Prefix {
			hi = prefixEnd(r.Key)
		}
		if hi == nil {
			uSpace, uLo, uPos = append(uSpace, r.Space), append(uLo, nonNil(r.Key)), append(uPos, int64(i))
			continue
		}
		bSpace, bLo, bHi, bPos = append(bSpace, r.Space), append(bLo, nonNil(r.Key)), append(bHi, hi), append(bPos, int64(i))
	}
	ctx, cancel := s.ctx()
	defer cancel()
	rows, err := s.writer.Query(ctx, `SELECT q.i, r.value
		FROM unnest($1::text[], $2::bytea[], $3::bytea[], $4::bigint[]) AS q(space, lo, hi, i)
		CROSS JOIN LATERAL (SELECT t.value FROM attestlog_index t
			WHERE t.space = q.space AND t.key >= q.lo AND t.key < q.hi ORDER BY t.key LIMIT 1) r
		UNION ALL
		SELECT q.i, r.value
		FROM unnest($5::text[], $6::bytea[], $7::bigint[]) AS q(space, lo, i)
		CROSS JOIN LATERAL (SELECT t.value FROM attestlog_index t
			WHERE t.space = q.space AND t.key >= q.lo ORDER BY t.key LIMIT 1) r`,
		bSpace, bLo, bHi, bPos, uSpace, uLo, uPos)
	if err != nil {
		return nil, fmt.Errorf("pgstore: reading index records: %w", err)
	}
	var i int64
	var v []byte
	_, err = pgx.ForEachRow(rows, []any{&i, &v}, func() error {
		if i < 0 || i >= int64(len(out)) {
			return fmt.Errorf("read %d of %d in the answer", i, len(out))
		}
		out[i] = nonNil(v)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("pgstore: reading index records: %w", err)
	}
	return out, nil
}

// prefixEnd returns the least key greater than every key with the prefix
// p, or nil if there is none (p is empty or all 0xff).
func prefixEnd(p []byte) []byte {
	end := bytes.Clone(p)
	for i := len(end) - 1; i >= 0; i-- {
		if end[i] < 0xff {
			end[i]++
			return end[:i+1]
		}
	}
	return nil
}

// Commit implements [log.Store]. Its first statement swaps the stored
// (tree size, root) for the batch's new one, and only if it was (Start,
// PrevRoot), which also locks the row against a concurrent Commit until
// this one ends. As with any database, an error reported by the final
// COMMIT (a connection lost at that moment) leaves it unknown whether the
// batch was stored; [log.Log] reloads its tree from the store after any
// failed commit, which covers both outcomes.
func (s *Store) Commit(b *log.Batch) error {
	writes, err := lastWrites(b.Index)
	if err != nil {
		return err
	}
	if len(b.Hashes) != len(b.Entries) {
		return fmt.Errorf("pgstore: batch of %d entries with %d hashes", len(b.Entries), len(b.Hashes))
	}
	ctx, cancel := s.ctx()
	defer cancel()
	err = pgx.BeginFunc(ctx, s.writer, func(tx pgx.Tx) error {
		if s.forceSync {
			if _, err := tx.Exec(ctx, `SET LOCAL synchronous_commit = on`); err != nil {
				return err
			}
		}
		size := b.Start + int64(len(b.Entries))
		tag, err := tx.Exec(ctx, `UPDATE attestlog_meta SET tree_size = $1, root = $2, checkpoint = $3 WHERE tree_size = $4 AND root = $5`,
			size, b.Root[:], nonNil(b.Checkpoint), b.Start, b.PrevRoot[:])
		if err != nil {
			return fmt.Errorf("storing the checkpoint: %w", err)
		}
		if tag.RowsAffected() != 1 {
			return staleError(ctx, tx, b)
		}
		batch := &pgx.Batch{}
		queueEntries(batch, b)
		queueTiles(batch, b.Tiles)
		queueIndex(batch, writes)
		return tx.SendBatch(ctx, batch).Close()
	})
	if err != nil {
		return fmt.Errorf("pgstore: committing entries [%d, %d): %w", b.Start, b.Start+int64(len(b.Entries)), err)
	}
	return nil
}

// staleError describes why the compare-and-swap of b failed.
func staleError(ctx context.Context, tx pgx.Tx, b *log.Batch) error {
	var size int64
	var root []byte
	if err := tx.QueryRow(ctx, `SELECT tree_size, root FROM attestlog_meta`).Scan(&size, &root); err != nil {
		return fmt.Errorf("%w: and reading the stored tree size: %w", log.ErrStaleBatch, err)
	}
	if size != b.Start {
		return fmt.Errorf("%w: batch starts at %d, the database has %d entries (another writer, or a database restored under this one)", log.ErrStaleBatch, b.Start, size)
	}
	return fmt.Errorf("%w: batch extends a tree of size %d with root %v, the database's has root %x", log.ErrStaleBatch, size, b.PrevRoot, root)
}

func queueEntries(batch *pgx.Batch, b *log.Batch) {
	if len(b.Entries) == 0 {
		return
	}
	idxs := make([]int64, len(b.Entries))
	data := make([][]byte, len(b.Entries))
	// A hash twice in one batch keeps its last index, as bbolt's Put does;
	// one INSERT may not update a row twice.
	last := make(map[tlog.Hash]int64, len(b.Hashes))
	for i, e := range b.Entries {
		idxs[i], data[i] = b.Start+int64(i), nonNil(e)
		last[b.Hashes[i]] = idxs[i]
	}
	hashes := make([][]byte, 0, len(last))
	hidx := make([]int64, 0, len(last))
	for i := range b.Hashes {
		if h := b.Hashes[i]; last[h] == b.Start+int64(i) {
			hashes, hidx = append(hashes, h[:]), append(hidx, last[h])
		}
	}
	batch.Queue(`INSERT INTO attestlog_entries (idx, data) SELECT * FROM unnest($1::bigint[], $2::bytea[])`, idxs, data)
	batch.Queue(`INSERT INTO attestlog_dedup (hash, idx) SELECT * FROM unnest($1::bytea[], $2::bigint[])
		ON CONFLICT (hash) DO UPDATE SET idx = excluded.idx`, hashes, hidx)
}

func queueTiles(batch *pgx.Batch, tiles map[log.TileID][]byte) {
	if len(tiles) == 0 {
		return
	}
	levels, ns, data := make([]int16, 0, len(tiles)), make([]int64, 0, len(tiles)), make([][]byte, 0, len(tiles))
	for id, d := range tiles {
		levels, ns, data = append(levels, int16(id.Level)), append(ns, id.N), append(data, nonNil(d))
	}
	batch.Queue(`INSERT INTO attestlog_tiles (level, n, data) SELECT * FROM unnest($1::smallint[], $2::bigint[], $3::bytea[])
		ON CONFLICT (level, n) DO UPDATE SET data = excluded.data`, levels, ns, data)
}

func queueIndex(batch *pgx.Batch, writes []log.IndexWrite) {
	if len(writes) == 0 {
		return
	}
	// lastWrites left one write per key, so the deletes and the puts are
	// of distinct keys and their order does not matter.
	var spaces, delSpaces []string
	var keys, values, delKeys [][]byte
	for _, w := range writes {
		if w.Delete {
			delSpaces, delKeys = append(delSpaces, w.Space), append(delKeys, w.Key)
			continue
		}
		spaces, keys, values = append(spaces, w.Space), append(keys, w.Key), append(values, nonNil(w.Value))
	}
	if len(delKeys) > 0 {
		batch.Queue(`DELETE FROM attestlog_index t USING unnest($1::text[], $2::bytea[]) AS d(space, key)
			WHERE t.space = d.space AND t.key = d.key`, delSpaces, delKeys)
	}
	if len(keys) > 0 {
		batch.Queue(`INSERT INTO attestlog_index (space, key, value) SELECT * FROM unnest($1::text[], $2::bytea[], $3::bytea[])
			ON CONFLICT (space, key) DO UPDATE SET value = excluded.value`, spaces, keys, values)
	}
}

// lastWrites returns the index writes with only the last write of each
// (space, key), in order, as bbolt would leave them, and refuses an empty
// key, which bbolt cannot store.
func lastWrites(ws []log.IndexWrite) ([]log.IndexWrite, error) {
	type sk struct{ space, key string }
	last := make(map[sk]int, len(ws))
	for i, w := range ws {
		if len(w.Key) == 0 {
			return nil, fmt.Errorf("pgstore: index %s: empty key", w.Space)
		}
		last[sk{w.Space, string(w.Key)}] = i
	}
	if len(last) == len(ws) {
		return ws, nil
	}
	out := make([]log.IndexWrite, 0, len(last))
	for i, w := range ws {
		if last[sk{w.Space, string(w.Key)}] == i {
			out = append(out, w)
		}
	}
	return out, nil
}

// nonNil returns b, or an empty slice for nil, which pgx would send as NULL.
func nonNil(b []byte) []byte {
	if b == nil {
		return []byte{}
	}
	return b
}
