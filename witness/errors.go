package witness

import (
	"fmt"
	"net/http"
	"time"
)

// An Error is [Witness.AddCheckpoint]'s refusal of a request. Status is the
// HTTP status code c2sp.org/tlog-witness prescribes for it.
type Error struct {
	Status int    // 400, 403, 404, 409, 422 or 429
	Msg    string // what was wrong, lowercase, e.g. "old size 7 larger than checkpoint size 5"
	// Size is, for 409 Conflict, the tree size of the latest checkpoint the
	// witness cosigned for the origin, which the client should retry from.
	Size int64
	// RetryAfter is, for 429 Too Many Requests, how long until the log's
	// budget allows another request.
	RetryAfter time.Duration
	// Err is the underlying error, if any, such as a
	// *note.InvalidSignatureError.
	Err error
}

// Error returns "witness: " followed by Msg.
func (e *Error) Error() string { return "witness: " + e.Msg }

// Unwrap returns Err.
func (e *Error) Unwrap() error { return e.Err }

func refuse(status int, format string, args ...any) *Error {
	return &Error{Status: status, Msg: fmt.Sprintf(format, args...)}
}

// conflict is the 409 for a request whose old size is not size.
func conflict(old, size int64) *Error {
	e := refuse(http.StatusConflict, "old size %d differs from the size %d of the latest cosigned checkpoint", old, size)
	e.Size = size
	return e
}
