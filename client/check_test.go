package client_test

import (
	"bytes"
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/attestlog/attestlog/client"
	"golang.org/x/mod/sumdb/note"
)

// memLog is a Fetcher over a map of resources.
type memLog map[string][]byte

func (m memLog) Fetch(_ context.Context, path string) ([]byte, error) {
	if b, ok := m[path]; ok {
		return bytes.Clone(b), nil
	}
	return nil, fs.ErrNotExist
}

// fixedLog loads the 600-entry log that testdata/gen.go wrote.
func fixedLog(t *testing.T) (memLog, note.Verifier) {
	t.Helper()
	root := filepath.Join("..", "testdata", "log")
	m := memLog{}
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(path)
		rel, _ := filepath.Rel(root, path)
		m[filepath.ToSlash(rel)] = b
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	v, err := note.NewVerifier(strings.TrimSpace(string(m["vkey"])))
	if err != nil {
		t.Fatal(err)
	}
	return m, v
}

func TestCheckLog(t *testing.T) {
	m, v := fixedLog(t)
	r, err := client.CheckLog(context.Background(), m, v)
	if err != nil {
		t.Fatalf("CheckLog(fixed log): %v", err)
	}
	if r.Checkpoint.Size != 600 || r.Tiles != 4 || r.Bundles != 3 {
		t.Fatalf("report %+v, want size 600, 4 tiles, 3 bundles", r)
	}
}

func TestCheckLogFindsTampering(t *testing.T) {
	flip := func(path string, at int) func(memLog) {
		return func(m memLog) { m[path][at] ^= 1 }
	}
	_, otherVkey, _ := note.GenerateKey(bytes.NewReader(bytes.Repeat([]byte{7}, 32)), "example.test/attestlog")
	tests := []struct {
		desc     string
		tamper   func(memLog)
		verifier string // vkey to check with; empty means the log's own
		wantErr  error  // nil: any error
	}{
		{desc: "leaf hash in a full tile", tamper: flip("tile/0/000", 100), wantErr: client.ErrCheck},
		{desc: "leaf hash in the partial tile", tamper: flip("tile/0/002.p/88", 87*32), wantErr: client.ErrCheck},
		{desc: "level-1 tile", tamper: flip("tile/1/000.p/2", 3), wantErr: client.ErrCheck},
		{desc: "entry in a full bundle", tamper: flip("tile/entries/001", 40), wantErr: client.ErrCheck},
		{desc: "entry in the partial bundle", tamper: flip("tile/entries/002.p/88", 9), wantErr: client.ErrCheck},
		{desc: "bundle truncated", tamper: func(m memLog) {
			b := m["tile/entries/000"]
			m["tile/entries/000"] = b[:len(b)-3]
		}, wantErr: client.ErrCheck},
		{desc: "bundle with an extra entry", tamper: func(m memLog) {
			m["tile/entries/002.p/88"] = append(m["tile/entries/002.p/88"], 0, 1, 'x')
		}, wantErr: client.ErrCheck},
		{desc: "checkpoint body", tamper: func(m memLog) {
			m["checkpoint"] = bytes.Replace(m["checkpoint"], []byte("\n600\n"), []byte("\n601\n"), 1)
		}, wantErr: client.ErrCheck},
		{desc: "checkpoint signed by another key", verifier: otherVkey, wantErr: client.ErrCheck},
		{desc: "tile missing", tamper: func(m memLog) { delete(m, "tile/0/001") }, wantErr: fs.ErrNotExist},
		{desc: "bundle missing", tamper: func(m memLog) { delete(m, "tile/entries/002.p/88") }, wantErr: fs.ErrNotExist},
		{desc: "tile too short", tamper: func(m memLog) { m["tile/0/001"] = m["tile/0/001"][:100] }},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			m, v := fixedLog(t)
			if tt.tamper != nil {
				tt.tamper(m)
			}
			if tt.verifier != "" {
				var err error
				if v, err = note.NewVerifier(tt.verifier); err != nil {
					t.Fatal(err)
				}
			}
			_, err := client.CheckLog(context.Background(), m, v)
			if err == nil {
				t.Fatal("CheckLog found nothing wrong")
			}
			if tt.wantErr != nil && !errors.Is(err, tt.wantErr) {
				t.Fatalf("CheckLog: %v, want an error wrapping %v", err, tt.wantErr)
			}
		})
	}
}
