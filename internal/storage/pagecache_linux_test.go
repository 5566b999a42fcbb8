//go:build linux

package storage

import (
	"os"
	"path/filepath"
	"testing"
	"unsafe"

	"golang.org/x/sys/unix"
)

// residentPages reports how many of the pages of [off, off+n) of the file
// are in the page cache.
func residentPages(t *testing.T, path string, off, n int64) (resident, total int) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	m, err := unix.Mmap(int(f.Fd()), off, int(n), unix.PROT_READ, unix.MAP_SHARED)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Munmap(m)
	page := os.Getpagesize()
	vec := make([]byte, (len(m)+page-1)/page)
	if _, _, errno := unix.Syscall(unix.SYS_MINCORE, uintptr(unsafe.Pointer(&m[0])), uintptr(len(m)), uintptr(unsafe.Pointer(&vec[0]))); errno != 0 {
		t.Skipf("mincore: %v", errno)
	}
	for _, v := range vec {
		if v&1 != 0 {
			resident++
		}
	}
	return resident, len(vec)
}

// On the real filesystem, data beyond the budget leaves the page cache and
// the newest data stays in it.
func TestPageCacheEvictsFromTheKernelPageCache(t *testing.T) {
	const chunk, limit = 1 << 20, 4 << 20
	tmp := t.TempDir()
	var st unix.Statfs_t
	if err := unix.Statfs(tmp, &st); err == nil && st.Type == unix.TMPFS_MAGIC {
		t.Skip("tmpfs pages cannot be evicted with fadvise; set TMPDIR to a disk filesystem")
	}
	dir := filepath.Join(tmp, "t-0")
	l, err := Open(dir, Options{PageCache: NewPageCache(limit, chunk, nil)})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	for l.Size() < 16<<20 {
		if _, err := l.Append(testBatch(64, 1000, 1), 0); err != nil {
			t.Fatal(err)
		}
	}
	seg := filepath.Join(dir, segmentName(0, logExt))
	old, oldTotal := residentPages(t, seg, 0, 8<<20)
	recent, recentTotal := residentPages(t, seg, l.Size()&^(1<<20-1)-2<<20, 2<<20)
	if old > oldTotal/10 {
		t.Errorf("%d of %d pages of the oldest 8 MiB still cached, want them evicted", old, oldTotal)
	}
	if recent < recentTotal/2 {
		t.Errorf("only %d of %d pages of the newest data cached", recent, recentTotal)
	}
	if got := readAllBatches(t, l); len(got) == 0 {
		t.Fatal("no batches read back")
	}
}
