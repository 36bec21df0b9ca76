//go:build !unix

package log

import "io/fs"

// fileOwner returns the owner and group of a file, for error messages;
// ok is false where files have no unix owner.
func fileOwner(fs.FileInfo) (uid, gid int, ok bool) { return -1, -1, false }
