package client

import (
	"context"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"strings"
)

// A Fetcher reads tlog-tiles resources ("checkpoint", "tile/0/x001/234.p/7",
// "tile/entries/000") from a log or a mirror. Implementations MUST be safe
// for concurrent use.
type Fetcher interface {
	// Fetch returns the resource at path, or an error wrapping fs.ErrNotExist
	// if there is none, so that callers can fall back from a partial tile to
	// the full one. The caller owns the returned slice.
	Fetch(ctx context.Context, path string) ([]byte, error)
}

// MaxResourceSize bounds what [HTTPFetcher] reads: a full entry bundle of 256
// entries of 65,535 bytes each, with their length prefixes.
const MaxResourceSize = 256 * (2 + 65535)

// An HTTPFetcher fetches resources from a log's HTTP prefix, for example
// "https://log.example.org/attestlog/". A nil Client means http.DefaultClient.
type HTTPFetcher struct {
	Base   string
	Client *http.Client
}

// Fetch implements [Fetcher]. A 404 wraps fs.ErrNotExist; any status other
// than 200, and any body over [MaxResourceSize], is an error.
func (f HTTPFetcher) Fetch(ctx context.Context, path string) ([]byte, error) {
	url := strings.TrimSuffix(f.Base, "/") + "/" + path
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, fmt.Errorf("fetching %s: %w", url, err)
	}
	c := f.Client
	if c == nil {
		c = http.DefaultClient
	}
	resp, err := c.Do(req)
	if err != nil {
		return nil, fmt.Errorf("fetching %s: %w", url, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, MaxResourceSize+1))
	switch {
	case err != nil:
		return nil, fmt.Errorf("fetching %s: %w", url, err)
	case resp.StatusCode == http.StatusNotFound:
		return nil, fmt.Errorf("fetching %s: %s: %w", url, resp.Status, fs.ErrNotExist)
	case resp.StatusCode != http.StatusOK:
		return nil, fmt.Errorf("fetching %s: %s", url, resp.Status)
	case len(body) > MaxResourceSize:
		return nil, fmt.Errorf("fetching %s: body larger than %d bytes", url, MaxResourceSize)
	}
	return body, nil
}
