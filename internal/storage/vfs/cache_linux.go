//go:build linux

package vfs

import "golang.org/x/sys/unix"

// StartWriteback asks the kernel to start writing [off, off+n) to disk
// without waiting for it (sync_file_range SYNC_FILE_RANGE_WRITE). It is not
// a durability point: it only keeps dirty pages from piling up.
func (f *osFile) StartWriteback(off, n int64) error {
	return unix.SyncFileRange(int(f.Fd()), off, n, unix.SYNC_FILE_RANGE_WRITE)
}

// DropCache waits for [off, off+n) to be written back and evicts it from the
// page cache (posix_fadvise POSIX_FADV_DONTNEED), so the memory is reused for
// new writes instead of growing the cache.
func (f *osFile) DropCache(off, n int64) error {
	const wait = unix.SYNC_FILE_RANGE_WAIT_BEFORE | unix.SYNC_FILE_RANGE_WRITE | unix.SYNC_FILE_RANGE_WAIT_AFTER
	if err := unix.SyncFileRange(int(f.Fd()), off, n, wait); err != nil {
		return err
	}
	return unix.Fadvise(int(f.Fd()), off, n, unix.FADV_DONTNEED)
}
