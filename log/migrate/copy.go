package migrate

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"

	"github.com/attestlog/attestlog/log"
	"github.com/attestlog/attestlog/tiles"
	"golang.org/x/mod/sumdb/tlog"
)

// copyEntries copies entries [at.Entries, size) in batches, each with the
// hash tiles whose last entry it holds, and advances at.
func (m *migration) copyEntries(ctx context.Context, at *marker) error {
	size := m.src.Size
	prev, err := m.treeHash(at.Entries)
	if err != nil {
		return err
	}
	for at.Entries < size {
		if err := ctx.Err(); err != nil {
			return err
		}
		start := at.Entries
		entries, n, err := m.readEntries(start, min(int64(m.cfg.BatchEntries), size-start))
		if err != nil {
			return err
		}
		end := start + int64(len(entries))
		root, err := m.treeHash(end)
		if err != nil {
			return err
		}
		b := &log.Batch{Start: start, PrevRoot: prev, Root: root, Entries: entries, Hashes: make([]tlog.Hash, len(entries))}
		for i, e := range entries {
			b.Hashes[i] = tlog.RecordHash(e)
		}
		if b.Tiles, err = m.readTiles(start, end); err != nil {
			return err
		}
		at.Entries = end
		if err := m.commit(b, at); err != nil {
			at.Entries = start
			return err
		}
		prev = root
		m.report.Entries += int64(len(entries))
		m.report.EntryBytes += n
		m.log.Info("copied entries", slog.Int64("entries_copied", end), slog.Int64("tree_size", size))
	}
	return nil
}

// readEntries reads up to max entries from start, fewer if their bytes
// reach BatchBytes, and returns them with their total size.
func (m *migration) readEntries(start, max int64) ([][]byte, int64, error) {
	var out [][]byte
	var n int64
	for int64(len(out)) < max && n < int64(m.cfg.BatchBytes) {
		chunk := min(max-int64(len(out)), tiles.Width)
		es, err := m.cfg.Source.Entries(start+int64(len(out)), int(chunk))
		if err != nil {
			return nil, 0, fmt.Errorf("migrate: reading entries from the source: %w", err)
		}
		for _, e := range es {
			out = append(out, e)
			n += int64(len(e))
		}
	}
	return out, n, nil
}

// readTiles returns the source's hash tiles whose last entry, in the
// source's tree, is in [start, end): each tile goes with one batch, as it
// stands in the source (full, or the partial tile of the source's size).
func (m *migration) readTiles(start, end int64) (map[log.TileID][]byte, error) {
	var ids []log.TileID
	size := m.src.Size
	for level := 0; size>>(tiles.Height*level) > 0; level++ {
		span := int64(tiles.Width) << (tiles.Height * level) // entries under one tile of this level
		for n := start / span; tiles.TileWidth(level, n, size) > 0; n++ {
			last := min((n+1)*span, size) // one past the tile's last entry
			if last > end {
				break
			}
			if last > start {
				ids = append(ids, log.TileID{Level: level, N: n})
			}
		}
	}
	data, err := m.cfg.Source.Tiles(ids)
	if err != nil {
		return nil, fmt.Errorf("migrate: reading tiles from the source: %w", err)
	}
	out := make(map[log.TileID][]byte, len(ids))
	for i, id := range ids {
		if data[i] == nil {
			return nil, fmt.Errorf("migrate: the source lacks tile %d/%d of its tree of size %d: run a check of it (it is damaged)", id.Level, id.N, size)
		}
		out[id] = data[i]
	}
	return out, nil
}

// copyIndexes copies every index space, in batches, from where at says.
func (m *migration) copyIndexes(ctx context.Context, at *marker) error {
	spaces, err := m.cfg.Source.IndexSpaces()
	if err != nil {
		return fmt.Errorf("migrate: listing the source's index spaces: %w", err)
	}
	m.report.Spaces = len(spaces)
	root := m.src.Hash
	for _, space := range spaces {
		if at.Space != "" && space < at.Space {
			continue
		}
		after := []byte(nil)
		if space == at.Space {
			after = at.Key
		}
		var pending []log.IndexWrite
		var bytesPending int
		flush := func() error {
			if len(pending) == 0 {
				return nil
			}
			last := pending[len(pending)-1]
			next := *at
			next.Space, next.Key = space, last.Key
			if err := m.commit(&log.Batch{Start: m.src.Size, PrevRoot: root, Root: root, Index: pending}, &next); err != nil {
				return err
			}
			*at = next
			m.report.IndexRecords += int64(len(pending))
			m.log.Info("copied index records", slog.String("space", space), slog.Int("records", len(pending)), slog.Int64("records_copied", m.report.IndexRecords))
			pending, bytesPending = nil, 0
			return nil
		}
		var ferr error
		err := m.cfg.Source.IndexScan(space, nil, func(k, v []byte) bool {
			if after != nil && bytes.Compare(k, after) <= 0 {
				return true
			}
			pending = append(pending, log.IndexWrite{Space: space, Key: bytes.Clone(k), Value: bytes.Clone(v)})
			bytesPending += len(k) + len(v)
			if len(pending) >= m.cfg.BatchEntries*4 || bytesPending >= m.cfg.BatchBytes {
				if ferr = ctx.Err(); ferr == nil {
					ferr = flush()
				}
			}
			return ferr == nil
		})
		if err != nil {
			return fmt.Errorf("migrate: reading index %s from the source: %w", space, err)
		}
		if ferr != nil {
			return ferr
		}
		if err := flush(); err != nil {
			return err
		}
	}
	return nil
}

// tileHashReader reads stored hashes from a store's hash tiles.
type tileHashReader struct{ s log.Store }

func (r tileHashReader) ReadHashes(indexes []int64) ([]tlog.Hash, error) {
	out := make([]tlog.Hash, len(indexes))
	for i, idx := range indexes {
		t := tlog.TileForIndex(tiles.Height, idx)
		data, err := r.s.Tiles([]log.TileID{{Level: t.L, N: t.N}})
		if err != nil {
			return nil, err
		}
		if len(data[0]) < t.W*tlog.HashSize {
			return nil, fmt.Errorf("%w: tile %d/%d has %d bytes, hash %d needs %d", log.ErrCorrupt, t.L, t.N, len(data[0]), idx, t.W*tlog.HashSize)
		}
		if out[i], err = tlog.HashFromTile(t, data[0][:t.W*tlog.HashSize], idx); err != nil {
			return nil, err
		}
	}
	return out, nil
}
