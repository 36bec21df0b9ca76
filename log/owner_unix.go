//go:build unix

package log

import (
	"io/fs"
	"syscall"
)

// fileOwner returns the owner and group of a file, for error messages.
func fileOwner(fi fs.FileInfo) (uid, gid int, ok bool) {
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return -1, -1, false
	}
	return int(st.Uid), int(st.Gid), true
}
