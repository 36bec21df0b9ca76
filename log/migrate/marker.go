package migrate

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"golang.org/x/mod/sumdb/tlog"
)

// markerHeader starts the progress marker that a half-done copy stores in
// place of a checkpoint. It is not a signed note (it has no blank line),
// so a serve started on a half copy refuses to load it.
const markerHeader = "attestlog migrate: copy in progress, not a checkpoint; run attestlog migrate again to finish it"

// A marker says how far a copy got:
//
//	attestlog migrate: copy in progress, not a checkpoint; run attestlog migrate again to finish it
//	origin <origin>
//	source <tree size> <root hash, standard base64>
//	entries <entries copied>
//	[index <space, hex> <last key copied, hex>]
//
// Entries [0, Entries) are copied, with every tile they complete. With an
// index line, every index space before Space (in byte order) is copied,
// and Space up to and including Key.
type marker struct {
	Origin  string
	Size    int64
	Root    tlog.Hash
	Entries int64
	Space   string // "" before the index phase
	Key     []byte
}

func (m marker) format() []byte {
	var b bytes.Buffer
	fmt.Fprintf(&b, "%s\norigin %s\nsource %d %s\nentries %d\n", markerHeader, m.Origin, m.Size,
		base64.StdEncoding.EncodeToString(m.Root[:]), m.Entries)
	if m.Space != "" {
		fmt.Fprintf(&b, "index %s %s\n", hex.EncodeToString([]byte(m.Space)), hex.EncodeToString(m.Key))
	}
	return b.Bytes()
}

var errNotMarker = errors.New("migrate: not a progress marker")

// parseMarker parses what format wrote, and only that spelling.
func parseMarker(b []byte) (marker, error) {
	var m marker
	lines := strings.Split(string(b), "\n")
	if len(lines) < 5 || lines[0] != markerHeader || lines[len(lines)-1] != "" {
		return m, errNotMarker
	}
	origin, ok := strings.CutPrefix(lines[1], "origin ")
	src := strings.Fields(strings.TrimPrefix(lines[2], "source "))
	entries, ok2 := strings.CutPrefix(lines[3], "entries ")
	if !ok || !ok2 || origin == "" || len(src) != 2 {
		return m, errNotMarker
	}
	m.Origin = origin
	var err error
	if m.Size, err = strconv.ParseInt(src[0], 10, 64); err != nil {
		return m, errNotMarker
	}
	root, err := base64.StdEncoding.DecodeString(src[1])
	if err != nil || len(root) != tlog.HashSize {
		return m, errNotMarker
	}
	m.Root = tlog.Hash(root)
	if m.Entries, err = strconv.ParseInt(entries, 10, 64); err != nil || m.Entries < 0 || m.Entries > m.Size || m.Size < 0 {
		return m, errNotMarker
	}
	switch len(lines) {
	case 5:
	case 6:
		idx := strings.Split(lines[4], " ")
		if len(idx) != 3 || idx[0] != "index" {
			return m, errNotMarker
		}
		space, err1 := hex.DecodeString(idx[1])
		key, err2 := hex.DecodeString(idx[2])
		if err1 != nil || err2 != nil || len(space) == 0 || len(key) == 0 {
			return m, errNotMarker
		}
		m.Space, m.Key = string(space), key
	default:
		return m, errNotMarker
	}
	if !bytes.Equal(m.format(), b) {
		return m, errNotMarker
	}
	return m, nil
}
