package log

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"os"
)

// bbolt's on-disk meta page, as of format version 2: a 16-byte page header,
// then magic, version, page size, flags (4 bytes each), the root bucket
// (root page and sequence, 8 bytes each), the freelist page, the high-water
// page id, the transaction id and an FNV-64a checksum of the 56 bytes before
// it (8 bytes each), little-endian on the platforms we build for.
const (
	boltMagic       = 0xED0CDAED
	boltVersion     = 2
	boltPageHeader  = 16
	boltMetaSumSize = 56
)

// checkBoltFile checks, before bbolt maps a store file, that at least one of
// its two meta pages is intact and that the file holds every page that meta
// says the database has. bbolt itself would fault (SIGBUS) reading a page
// past the end of a truncated file, which no recover can catch.
func checkBoltFile(path string) error {
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil // a new store
	}
	if err != nil {
		return err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return err
	}
	if st.Size() == 0 {
		return nil // bbolt initialises an empty file
	}
	head := make([]byte, boltPageHeader+boltMetaSumSize+8)
	var best *boltMeta
	for page := int64(0); page < 2; page++ {
		off := int64(0)
		if page == 1 {
			if best == nil {
				// Without a valid first meta page the page size is unknown;
				// try the usual ones for the second.
				for _, ps := range []int64{4096, 8192, 16384, 65536} {
					if m := readBoltMeta(f, ps, head); m != nil && int64(m.pageSize) == ps {
						best = m
						break
					}
				}
				continue
			}
			off = int64(best.pageSize)
		}
		if m := readBoltMeta(f, off, head); m != nil && (best == nil || m.txid > best.txid) {
			best = m
		}
	}
	if best == nil {
		return fmt.Errorf("%w: %s: no intact bbolt meta page (not a store, or damaged)", ErrCorrupt, path)
	}
	if need := int64(best.pgid) * int64(best.pageSize); st.Size() < need {
		return fmt.Errorf("%w: %s: truncated: %d bytes, the store's pages need %d", ErrCorrupt, path, st.Size(), need)
	}
	return nil
}

type boltMeta struct {
	pageSize   uint32
	pgid, txid uint64
}

// readBoltMeta reads and validates the meta page at off, or returns nil.
func readBoltMeta(f io.ReaderAt, off int64, buf []byte) *boltMeta {
	if _, err := f.ReadAt(buf, off); err != nil {
		return nil
	}
	m := buf[boltPageHeader:]
	h := fnv.New64a()
	h.Write(m[:boltMetaSumSize])
	le := binary.LittleEndian
	if le.Uint32(m[0:]) != boltMagic || le.Uint32(m[4:]) != boltVersion || le.Uint64(m[boltMetaSumSize:]) != h.Sum64() {
		return nil
	}
	ps := le.Uint32(m[8:])
	if ps < 512 || ps&(ps-1) != 0 {
		return nil
	}
	return &boltMeta{pageSize: ps, pgid: le.Uint64(m[40:]), txid: le.Uint64(m[48:])}
}
