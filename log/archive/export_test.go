package archive

// ErrInvalidSize exposes errInvalidSize to the external tests.
var ErrInvalidSize = errInvalidSize
