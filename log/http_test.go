package log_test

import (
	"compress/gzip"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/attestlog/attestlog/log"
	"github.com/attestlog/attestlog/log/logtest"
)

func TestHTTP(t *testing.T) {
	l := logtest.New(t, "", log.Config{})
	var es [][]byte
	for i := range 300 {
		es = append(es, entry(i))
	}
	l.Append(t, es[:100]...) // a checkpoint at 100
	l.Append(t, es[100:]...)
	srv := httptest.NewServer(l.Handler())
	defer srv.Close()

	tests := []struct {
		path, wantType, wantCache string
		wantCode, wantLen         int
	}{
		{"/checkpoint", "text/plain; charset=utf-8", "no-cache", 200, -1},
		{"/tile/0/000", "application/octet-stream", "public, max-age=31536000, immutable", 200, 256 * 32},
		{"/tile/0/001.p/44", "application/octet-stream", "public, max-age=60", 200, 44 * 32},
		{"/tile/0/000.p/100", "application/octet-stream", "public, max-age=60", 200, 100 * 32},
		{"/tile/1/000.p/1", "application/octet-stream", "public, max-age=60", 200, 32},
		{"/tile/entries/000", "application/octet-stream", "public, max-age=31536000, immutable", 200, -1},
		{"/tile/entries/001.p/44", "application/octet-stream", "public, max-age=60", 200, 44 * (2 + len("entry 299"))},
		{"/healthz", "text/plain; charset=utf-8", "", 200, -1},
		// Not (yet) in the tree.
		{"/tile/0/001.p/45", "", "", 404, -1},
		{"/tile/0/001", "", "", 404, -1},
		{"/tile/0/002.p/1", "", "", 404, -1},
		{"/tile/1/000", "", "", 404, -1},
		{"/tile/1/000.p/2", "", "", 404, -1},
		{"/tile/2/000.p/1", "", "", 404, -1},
		{"/tile/entries/001", "", "", 404, -1},
		{"/tile/entries/x001/000", "", "", 404, -1},
		// Malformed.
		{"/tile/0/1", "", "", 400, -1},
		{"/tile/00/000", "", "", 400, -1},
		{"/tile/0/000.p/0", "", "", 400, -1},
		{"/tile/0/000.p/256", "", "", 400, -1},
		{"/tile/0/x000/001", "", "", 400, -1},
		{"/tile/64/000", "", "", 400, -1},
		{"/tile/data/000", "", "", 400, -1},
		{"/tile/", "", "", 400, -1},
		{"/tile/0/000/", "", "", 400, -1},
		{"/nothing", "", "", 404, -1},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			resp, err := http.Get(srv.URL + tt.path)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != tt.wantCode {
				t.Fatalf("status %d (%q), want %d", resp.StatusCode, body, tt.wantCode)
			}
			if tt.wantCode != 200 {
				return
			}
			if got := resp.Header.Get("Content-Type"); got != tt.wantType {
				t.Errorf("Content-Type %q, want %q", got, tt.wantType)
			}
			if got := resp.Header.Get("Cache-Control"); got != tt.wantCache {
				t.Errorf("Cache-Control %q, want %q", got, tt.wantCache)
			}
			if tt.wantLen >= 0 && len(body) != tt.wantLen {
				t.Errorf("body of %d bytes, want %d", len(body), tt.wantLen)
			}
		})
	}
	t.Run("checkpoint body", func(t *testing.T) {
		resp, err := http.Get(srv.URL + "/checkpoint")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		if string(body) != string(l.Checkpoint().Note) {
			t.Fatalf("served %q, want %q", body, l.Checkpoint().Note)
		}
	})
	t.Run("gzip", func(t *testing.T) {
		req, _ := http.NewRequest("GET", srv.URL+"/tile/entries/000", nil)
		req.Header.Set("Accept-Encoding", "gzip")
		resp, err := http.DefaultTransport.RoundTrip(req) // no transparent decompression
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		if resp.Header.Get("Content-Encoding") != "gzip" {
			t.Fatalf("Content-Encoding %q, want gzip", resp.Header.Get("Content-Encoding"))
		}
		zr, err := gzip.NewReader(resp.Body)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(zr)
		want, _ := l.Fetch(t.Context(), "tile/entries/000")
		if string(body) != string(want) {
			t.Fatalf("gzip body differs from the entry bundle")
		}
	})
	t.Run("method", func(t *testing.T) {
		resp, err := http.Post(srv.URL+"/checkpoint", "text/plain", strings.NewReader("x"))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusMethodNotAllowed {
			t.Fatalf("POST /checkpoint: status %d, want 405", resp.StatusCode)
		}
	})
}
