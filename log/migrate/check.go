package migrate

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"log/slog"

	"github.com/attestlog/attestlog/client"
	"github.com/attestlog/attestlog/log"
	"github.com/attestlog/attestlog/log/objstore"
	"github.com/attestlog/attestlog/tiles"
	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"
)

// check proves the copy (see the package documentation), publishing it to
// the tiles bucket on the way.
func (m *migration) check(ctx context.Context) error {
	l, err := log.New(log.Config{Origin: m.src.Origin, Signer: m.cfg.Signer, Store: m.cfg.Target})
	if err != nil {
		return fmt.Errorf("migrate: check: opening the copy as a log: %w", err)
	}
	r, err := client.CheckLog(ctx, l, m.cfg.Verifier)
	if err != nil {
		return fmt.Errorf("migrate: check: the copy: %w", err)
	}
	if !bytes.Equal(r.Note, m.srcNote) {
		return fmt.Errorf("migrate: check: the copy's checkpoint %q is not the source's %q", r.Note, m.srcNote)
	}
	m.report.Tiles, m.report.Bundles = r.Tiles, r.Bundles
	if err := m.checkWitnessed(); err != nil {
		return err
	}
	if err := m.checkIndexes(); err != nil {
		return err
	}
	if err := m.checkDedup(); err != nil {
		return err
	}
	m.log.Info("checked the copy", slog.Int64("tree_size", m.src.Size), slog.Int("tiles", r.Tiles), slog.Int("bundles", r.Bundles), slog.Int("index_spaces", m.report.Spaces))
	if err := m.publish(ctx, l); err != nil {
		return err
	}
	return m.checkArchive()
}

func (m *migration) checkWitnessed() error {
	want, err := m.cfg.Source.Witnessed()
	if err != nil {
		return fmt.Errorf("migrate: check: reading the source's witnessed checkpoint: %w", err)
	}
	got, err := m.cfg.Target.Witnessed()
	if err != nil {
		return fmt.Errorf("migrate: check: reading the copy's witnessed checkpoint: %w", err)
	}
	if !bytes.Equal(got, want) {
		return fmt.Errorf("migrate: check: the copy's witnessed checkpoint %q is not the source's %q", got, want)
	}
	return nil
}

// checkIndexes compares every index space of the source with the copy's:
// the number of records, and a SHA-256 over all of them in key order.
func (m *migration) checkIndexes() error {
	spaces, err := m.cfg.Source.IndexSpaces()
	if err != nil {
		return fmt.Errorf("migrate: check: listing the source's index spaces: %w", err)
	}
	m.report.Spaces = len(spaces)
	for _, space := range spaces {
		wantN, want, err := digestSpace(m.cfg.Source, space)
		if err != nil {
			return fmt.Errorf("migrate: check: reading index %s of the source: %w", space, err)
		}
		gotN, got, err := digestSpace(m.cfg.Target, space)
		if err != nil {
			return fmt.Errorf("migrate: check: reading index %s of the copy: %w", space, err)
		}
		if gotN != wantN || got != want {
			return fmt.Errorf("migrate: check: index %s of the copy has %d records (digest %x), the source's %d (digest %x)", space, gotN, got[:8], wantN, want[:8])
		}
	}
	return nil
}

func digestSpace(s log.Store, space string) (int64, [sha256.Size]byte, error) {
	h := sha256.New()
	var n int64
	err := s.IndexScan(space, nil, func(k, v []byte) bool {
		n++
		h.Write(binary.BigEndian.AppendUint32(nil, uint32(len(k))))
		h.Write(k)
		h.Write(binary.BigEndian.AppendUint32(nil, uint32(len(v))))
		h.Write(v)
		return true
	})
	return n, [sha256.Size]byte(h.Sum(nil)), err
}

// checkDedup checks that the copy's deduplication index answers for
// every entry as the source's does.
func (m *migration) checkDedup() error {
	const chunk = 1024
	for start := int64(0); start < m.src.Size; start += chunk {
		es, err := m.cfg.Target.Entries(start, int(min(chunk, m.src.Size-start)))
		if err != nil {
			return fmt.Errorf("migrate: check: reading the copy's entries: %w", err)
		}
		hs := make([]tlog.Hash, len(es))
		for i, e := range es {
			hs[i] = tlog.RecordHash(e)
		}
		want, err := m.cfg.Source.Lookup(hs)
		if err != nil {
			return fmt.Errorf("migrate: check: the source's dedup index: %w", err)
		}
		got, err := m.cfg.Target.Lookup(hs)
		if err != nil {
			return fmt.Errorf("migrate: check: the copy's dedup index: %w", err)
		}
		for i := range got {
			if got[i] != want[i] {
				return fmt.Errorf("migrate: check: the copy's dedup index gives entry %d the index %d, the source's %d", start+int64(i), got[i], want[i])
			}
		}
	}
	return nil
}

// published is the copy as the tiles bucket's publisher sees it: the
// checkpoint it publishes is the witnessed one if the log has one (what a
// serve with a witness policy publishes), else the latest.
type published struct {
	*log.Log
	pub *log.Signed
}

func (p published) Published() *log.Signed { return p.pub }

// publish uploads the copy's resources and checkpoint to the tiles bucket
// and checks them over its anonymous HTTP.
func (m *migration) publish(ctx context.Context, l *log.Log) error {
	if m.cfg.Bucket == nil {
		return nil
	}
	pub := l.Checkpoint()
	w, err := m.cfg.Source.Witnessed()
	if err != nil {
		return fmt.Errorf("migrate: reading the source's witnessed checkpoint: %w", err)
	}
	if w != nil {
		n, err := note.Open(w, note.VerifierList(m.cfg.Verifier))
		if err != nil {
			return fmt.Errorf("migrate: the source's witnessed checkpoint: %w", err)
		}
		cp, err := tiles.ParseCheckpoint([]byte(n.Text))
		if err != nil {
			return fmt.Errorf("migrate: the source's witnessed checkpoint: %w", err)
		}
		pub = &log.Signed{Note: w, Checkpoint: cp}
	}
	p, err := objstore.NewPublisher(objstore.PublisherConfig{Bucket: m.cfg.Bucket, Logger: m.log})
	if err != nil {
		return err
	}
	if err := p.Sync(ctx, published{Log: l, pub: pub}); err != nil {
		return fmt.Errorf("migrate: publishing to the tiles bucket %s: %w", m.cfg.Bucket.Name(), err)
	}
	m.log.Info("published the copy to the tiles bucket", slog.String("bucket", m.cfg.Bucket.Name()), slog.Int64("tree_size", pub.Size))
	if m.cfg.PublicURL == "" {
		return nil
	}
	r, err := client.CheckLog(ctx, client.HTTPFetcher{Base: m.cfg.PublicURL}, m.cfg.Verifier)
	if err != nil {
		return fmt.Errorf("migrate: check: the tiles bucket over anonymous HTTP at %s (does its policy grant anonymous s3:GetObject? see the README): %w", m.cfg.PublicURL, err)
	}
	if !bytes.Equal(r.Note, pub.Note) {
		return fmt.Errorf("migrate: check: the tiles bucket at %s serves the checkpoint %q, not %q (a CDN's stale copy?)", m.cfg.PublicURL, r.Note, pub.Note)
	}
	m.report.BucketCheck = true
	m.log.Info("checked the tiles bucket over anonymous HTTP", slog.String("url", m.cfg.PublicURL), slog.Int("tiles", r.Tiles), slog.Int("bundles", r.Bundles))
	return nil
}
