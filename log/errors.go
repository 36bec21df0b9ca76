package log

import (
	"errors"
	"fmt"
	"io/fs"
	"strings"

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
	// ErrUnconfirmed means a log with a witness policy has just started and
	// its first round of cosignature requests has not yet heard from the
	// witnesses: it publishes nothing and acknowledges no append until then,
	// so that a restored store is caught first. Retry in a few seconds.
	ErrUnconfirmed = errors.New("log: starting: waiting for the witnesses to confirm the stored checkpoint, retry in a few seconds")
	// ErrRolledBack means a witness has shown that the log's store is older
	// than, or forked from, a tree this log signed and the witness cosigned.
	// Errors wrapping it are [*RolledBackError]s, which say which witness and
	// which sizes. The log then refuses appends and publishes no checkpoint
	// until an operator restores the right data directory.
	ErrRolledBack = errors.New("log: store rolled back")
)

// notFound wraps ErrNotFound and fs.ErrNotExist, so that tile fetchers can
// fall back from a partial tile to the full one.
func notFound(format string, args ...any) error {
	return fmt.Errorf(format+": %w", append(args, errNotExist)...)
}

var errNotExist = fmt.Errorf("%w (%w)", ErrNotFound, fs.ErrNotExist)

// A RolledBackError says that a witness has shown the log's store to be
// rolled back or forked: the witness has cosigned a checkpoint of this log
// that the store does not hold. It wraps [ErrRolledBack]. Its message is
// one line naming the witness, both tree sizes and what the operator must do.
type RolledBackError struct {
	Witness string // the witness's name in the policy
	// WitnessSize is the tree size of the witness's latest cosigned
	// checkpoint, as it served it, or as its 409 stated it if it served
	// none; 0 if unknown.
	WitnessSize int64
	// TreeSize is the size of this log's tree when the witness refused.
	TreeSize int64
	// Inconsistent is set when the witness's checkpoint is not a prefix of
	// this log's tree (a fork), rather than a larger tree.
	Inconsistent bool
	// Checkpoint is the witness's latest cosigned checkpoint as it served it,
	// with this log's valid signature: the proof. It is nil when the witness
	// served none; the log then stops anyway, to be safe.
	Checkpoint []byte
}

func (e *RolledBackError) Error() string {
	var b strings.Builder
	switch {
	case e.Inconsistent && e.WitnessSize == 0:
		fmt.Fprintf(&b, "%v or forked: witness %s refused this log's checkpoint of tree size %d as inconsistent with the tree it cosigned",
			ErrRolledBack, e.Witness, e.TreeSize)
	case e.Inconsistent:
		fmt.Fprintf(&b, "%v or forked: witness %s has cosigned a checkpoint of tree size %d that this log's tree of size %d contradicts",
			ErrRolledBack, e.Witness, e.WitnessSize, e.TreeSize)
	default:
		fmt.Fprintf(&b, "%v: witness %s has cosigned tree size %d, this log holds tree size %d", ErrRolledBack, e.Witness, e.WitnessSize, e.TreeSize)
	}
	if e.Checkpoint == nil {
		b.WriteString(" (the witness serves no checkpoint to check this against, so the log stops to be safe)")
	}
	b.WriteString("; appends are refused: restore the newest backup of the data directory, the one the witnesses saw, and restart; never delete witness state")
	return b.String()
}

// Is reports whether target is [ErrRolledBack].
func (e *RolledBackError) Is(target error) bool { return target == ErrRolledBack }
