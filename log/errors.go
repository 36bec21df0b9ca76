package log

import (
	"errors"
	"fmt"
	"io/fs"

	"github.com/attestlog/attestlog/tiles"
)

var (
	// ErrPushback means the sequencing queue is full: the log is overloaded
	// and the caller should retry later.
	ErrPushback = errors.New("log: overloaded, retry later")
	// ErrEntryTooLarge means an entry exceeds the 65,535 bytes an entry bundle can hold.
	ErrEntryTooLarge = tiles.ErrEntryTooLarge
	// ErrClosed means the log's sequencer has stopped.
	ErrClosed = errors.New("log: sequencer stopped")
	// ErrOutOfRange means a proof or resource was asked for a tree size or
	// index beyond the latest checkpoint, or for an impossible range.
	ErrOutOfRange = errors.New("log: out of range")
	// ErrStorage means the store could not commit: nothing of the batch was
	// appended, and the caller may retry.
	ErrStorage = errors.New("log: storage failure, nothing appended")
	// ErrCorrupt means the stored state contradicts itself, for example tiles
	// that do not hash to the stored checkpoint.
	ErrCorrupt = errors.New("log: store is corrupt")
)

// notFound wraps ErrNotFound and fs.ErrNotExist, so that tile fetchers can
// fall back from a partial tile to the full one.
func notFound(format string, args ...any) error {
	return fmt.Errorf(format+": %w", append(args, errNotExist)...)
}

var errNotExist = fmt.Errorf("%w (%w)", ErrNotFound, fs.ErrNotExist)
