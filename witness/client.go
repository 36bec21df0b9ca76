package witness

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"

	"golang.org/x/mod/sumdb/tlog"
)

// A Client asks one witness for cosignatures over c2sp.org/tlog-witness. It
// is what a log uses. It is safe for concurrent use.
type Client struct {
	// URL is the witness's submission prefix, e.g. "https://w.example/";
	// requests go to URL + "add-checkpoint".
	URL string
	// HTTP is the client to use; nil means http.DefaultClient.
	HTTP *http.Client
}

// A ConflictError is a 409 answer: the witness's latest cosigned checkpoint
// for the log has another size than the request's old size.
type ConflictError struct{ Size int64 }

func (e *ConflictError) Error() string {
	return fmt.Sprintf("witness: conflict: the witness is at tree size %d", e.Size)
}

// A StatusError is any other answer than 200 or 409.
type StatusError struct {
	Code int
	Body string // the start of the response body
}

func (e *StatusError) Error() string {
	return fmt.Sprintf("witness: status %d: %s", e.Code, e.Body)
}

// AddCheckpoint submits a signed checkpoint note with a consistency proof
// from the tree size old, and returns the witness's cosignature lines as
// they came: one or more "— <name> <base64>\n" lines, to append to the note.
// A 409 is a [*ConflictError]; other failures a [*StatusError].
func (c *Client) AddCheckpoint(ctx context.Context, old int64, proof []tlog.Hash, checkpoint []byte) ([]byte, error) {
	body := request{old: old, proof: proof, note: checkpoint}.format()
	url := strings.TrimSuffix(c.URL, "/") + "/add-checkpoint"
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return nil, fmt.Errorf("witness: %w", err)
	}
	hc := c.HTTP
	if hc == nil {
		hc = http.DefaultClient
	}
	resp, err := hc.Do(req)
	if err != nil {
		return nil, fmt.Errorf("witness: %w", err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, MaxRequestSize))
	if err != nil {
		return nil, fmt.Errorf("witness: reading response: %w", err)
	}
	switch resp.StatusCode {
	case http.StatusOK:
		if err := checkCosignatureLines(b); err != nil {
			return nil, err
		}
		return b, nil
	case http.StatusConflict:
		size, ok := parseSize(strings.TrimSuffix(string(b), "\n"))
		if !ok || !strings.HasSuffix(string(b), "\n") || resp.Header.Get("Content-Type") != contentTypeSize {
			return nil, &StatusError{Code: resp.StatusCode, Body: truncate(b)}
		}
		return nil, &ConflictError{Size: size}
	}
	return nil, &StatusError{Code: resp.StatusCode, Body: truncate(b)}
}

// checkCosignatureLines checks the form of a 200 body: signature lines only.
func checkCosignatureLines(b []byte) error {
	if len(b) == 0 || b[len(b)-1] != '\n' {
		return errors.New("witness: response is not newline-terminated signature lines")
	}
	for _, l := range strings.Split(string(b[:len(b)-1]), "\n") {
		if !strings.HasPrefix(l, "— ") || strings.Count(l, " ") != 2 {
			return fmt.Errorf("witness: response line %q is not a signature line", truncate([]byte(l)))
		}
	}
	return nil
}

func truncate(b []byte) string {
	if len(b) > 200 {
		b = b[:200]
	}
	return strings.TrimSpace(string(b))
}
