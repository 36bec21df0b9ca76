package usage

import "fmt"

// An Error is a bad command line: a flag value or argument that is wrong,
// as opposed to a failure of what the command did.
type Error struct{ Err error }

func (e Error) Error() string { return e.Err.Error() }
func (e Error) Unwrap() error { return e.Err }

// Errorf returns an [Error] with a message formatted as fmt.Errorf does.
func Errorf(format string, args ...any) error {
	return Error{fmt.Errorf(format, args...)}
}
