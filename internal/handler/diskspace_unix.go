//go:build unix

package handler

import "syscall"

// diskSpace returns the total and available bytes of the volume holding dir,
// or -1, -1 when unknown.
func diskSpace(dir string) (total, usable int64) {
	var st syscall.Statfs_t
	if err := syscall.Statfs(dir, &st); err != nil {
		return -1, -1
	}
	return int64(st.Blocks) * int64(st.Bsize), int64(st.Bavail) * int64(st.Bsize) // Bsize is uint32 on some platforms
}
