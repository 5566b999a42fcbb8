package vfs

import (
	"errors"
	"io"
	"os"
	"path"
	"slices"
	"strings"
	"sync"
	"syscall"
)

// MemFS is an in-memory FS for tests. It tracks two namespaces: the current
// one, and the durable one that a crash would leave. A file's contents become
// durable when it is synced; a directory entry (create, rename, remove, mkdir)
// becomes durable when its parent directory is synced with SyncDir. The roots
// "/" and "." always exist. Safe for concurrent use.
type MemFS struct {
	mu      sync.Mutex
	full    bool
	entries map[string]*memNode // current namespace
	durable map[string]*memNode // namespace as of each parent's last SyncDir
}

// memNode is a file or a directory. Files share their data slice with synced
// while only appends happen; a shrinking Truncate copies, so synced never
// changes under the file.
type memNode struct {
	dir    bool
	data   []byte
	synced []byte
}

// NewMem returns an empty in-memory filesystem.
func NewMem() *MemFS {
	return &MemFS{entries: map[string]*memNode{}, durable: map[string]*memNode{}}
}

// SetFull makes every write fail with ENOSPC while full is true.
func (m *MemFS) SetFull(full bool) {
	m.mu.Lock()
	m.full = full
	m.mu.Unlock()
}

// Crash returns a new MemFS holding what would survive a power loss now:
// the durable namespace, with each file's contents as of its last Sync.
// Entries whose parent directory did not survive are dropped. m is unchanged.
func (m *MemFS) Crash() *MemFS {
	m.mu.Lock()
	defer m.mu.Unlock()
	crashed := NewMem()
	copies := map[*memNode]*memNode{} // keeps a file reachable by two names one node
	for name, node := range m.durable {
		if !m.durableParents(name) {
			continue
		}
		c, ok := copies[node]
		if !ok {
			c = &memNode{dir: node.dir}
			if !node.dir {
				c.data = slices.Clone(node.synced)
				c.synced = c.data[:len(c.data):len(c.data)]
			}
			copies[node] = c
		}
		crashed.entries[name] = c
		crashed.durable[name] = c
	}
	return crashed
}

// durableParents reports whether every ancestor directory of name is durable.
func (m *MemFS) durableParents(name string) bool {
	for dir := path.Dir(name); !isRoot(dir); dir = path.Dir(dir) {
		if n, ok := m.durable[dir]; !ok || !n.dir {
			return false
		}
	}
	return true
}

func isRoot(name string) bool { return name == "/" || name == "." }

func clean(name string) string { return path.Clean(name) }

func pathErr(op, name string, err error) error { return &os.PathError{Op: op, Path: name, Err: err} }

// parentDirLocked checks that the parent directory of name exists. m.mu must be held.
func (m *MemFS) parentDirLocked(op, name string) error {
	dir := path.Dir(name)
	if isRoot(dir) {
		return nil
	}
	n, ok := m.entries[dir]
	if !ok {
		return pathErr(op, name, os.ErrNotExist)
	}
	if !n.dir {
		return pathErr(op, name, syscall.ENOTDIR)
	}
	return nil
}

func (m *MemFS) Create(name string) (File, error) {
	name = clean(name)
	m.mu.Lock()
	defer m.mu.Unlock()
	if err := m.parentDirLocked("create", name); err != nil {
		return nil, err
	}
	if n, ok := m.entries[name]; ok {
		if n.dir {
			return nil, pathErr("create", name, syscall.EISDIR)
		}
		n.data = nil // a fresh array, so the synced contents stay intact
		return &memFile{fs: m, node: n, name: name, writable: true}, nil
	}
	n := &memNode{}
	m.entries[name] = n
	return &memFile{fs: m, node: n, name: name, writable: true}, nil
}

func (m *MemFS) openLocked(op, name string) (*memNode, error) {
	n, ok := m.entries[name]
	if !ok {
		return nil, pathErr(op, name, os.ErrNotExist)
	}
	if n.dir {
		return nil, pathErr(op, name, syscall.EISDIR)
	}
	return n, nil
}

func (m *MemFS) OpenAppend(name string) (File, error) {
	name = clean(name)
	m.mu.Lock()
	defer m.mu.Unlock()
	n, err := m.openLocked("open", name)
	if err != nil {
		return nil, err
	}
	return &memFile{fs: m, node: n, name: name, writable: true}, nil
}

func (m *MemFS) Open(name string) (File, error) {
	name = clean(name)
	m.mu.Lock()
	defer m.mu.Unlock()
	n, err := m.openLocked("open", name)
	if err != nil {
		return nil, err
	}
	return &memFile{fs: m, node: n, name: name}, nil
}

func (m *MemFS) hasChildrenLocked(dir string) bool {
	prefix := dir + "/"
	for name := range m.entries {
		if strings.HasPrefix(name, prefix) {
			return true
		}
	}
	return false
}

func (m *MemFS) Remove(name string) error {
	name = clean(name)
	m.mu.Lock()
	defer m.mu.Unlock()
	n, ok := m.entries[name]
	if !ok {
		return pathErr("remove", name, os.ErrNotExist)
	}
	if n.dir && m.hasChildrenLocked(name) {
		return pathErr("remove", name, syscall.ENOTEMPTY)
	}
	delete(m.entries, name)
	return nil
}

func (m *MemFS) RemoveAll(p string) error {
	p = clean(p)
	m.mu.Lock()
	defer m.mu.Unlock()
	prefix := p + "/"
	for name := range m.entries {
		if name == p || strings.HasPrefix(name, prefix) || isRoot(p) {
			delete(m.entries, name)
		}
	}
	return nil
}

func (m *MemFS) Rename(oldpath, newpath string) error {
	oldpath, newpath = clean(oldpath), clean(newpath)
	m.mu.Lock()
	defer m.mu.Unlock()
	n, ok := m.entries[oldpath]
	if !ok {
		return pathErr("rename", oldpath, os.ErrNotExist)
	}
	if err := m.parentDirLocked("rename", newpath); err != nil {
		return err
	}
	if oldpath == newpath {
		return nil
	}
	if target, ok := m.entries[newpath]; ok {
		if target.dir != n.dir {
			return pathErr("rename", newpath, syscall.EEXIST)
		}
		if target.dir && m.hasChildrenLocked(newpath) {
			return pathErr("rename", newpath, syscall.ENOTEMPTY)
		}
	}
	if n.dir {
		if strings.HasPrefix(newpath, oldpath+"/") {
			return pathErr("rename", newpath, syscall.EINVAL)
		}
		prefix := oldpath + "/"
		for name, child := range m.entries {
			if strings.HasPrefix(name, prefix) {
				delete(m.entries, name)
				m.entries[newpath+"/"+strings.TrimPrefix(name, prefix)] = child
			}
		}
	}
	delete(m.entries, oldpath)
	m.entries[newpath] = n
	return nil
}

func (m *MemFS) MkdirAll(p string) error {
	p = clean(p)
	m.mu.Lock()
	defer m.mu.Unlock()
	var missing []string
	for dir := p; !isRoot(dir); dir = path.Dir(dir) {
		n, ok := m.entries[dir]
		if ok {
			if !n.dir {
				return pathErr("mkdir", dir, syscall.ENOTDIR)
			}
			break
		}
		missing = append(missing, dir)
	}
	for _, dir := range missing {
		m.entries[dir] = &memNode{dir: true}
	}
	return nil
}

func (m *MemFS) ReadDir(dir string) ([]string, error) {
	dir = clean(dir)
	m.mu.Lock()
	defer m.mu.Unlock()
	if !isRoot(dir) {
		n, ok := m.entries[dir]
		if !ok {
			return nil, pathErr("readdir", dir, os.ErrNotExist)
		}
		if !n.dir {
			return nil, pathErr("readdir", dir, syscall.ENOTDIR)
		}
	}
	var names []string
	for name := range m.entries {
		if path.Dir(name) == dir {
			names = append(names, path.Base(name))
		}
	}
	slices.Sort(names)
	return names, nil
}

func (m *MemFS) Stat(name string) (int64, error) {
	name = clean(name)
	m.mu.Lock()
	defer m.mu.Unlock()
	if isRoot(name) {
		return 0, nil
	}
	n, ok := m.entries[name]
	if !ok {
		return 0, pathErr("stat", name, os.ErrNotExist)
	}
	return int64(len(n.data)), nil
}

// SyncDir makes the current entries of dir durable, including removals.
func (m *MemFS) SyncDir(dir string) error {
	dir = clean(dir)
	m.mu.Lock()
	defer m.mu.Unlock()
	if !isRoot(dir) {
		if n, ok := m.entries[dir]; !ok || !n.dir {
			return pathErr("syncdir", dir, os.ErrNotExist)
		}
	}
	for name := range m.durable {
		if path.Dir(name) == dir {
			delete(m.durable, name)
		}
	}
	for name, n := range m.entries {
		if path.Dir(name) == dir {
			m.durable[name] = n
		}
	}
	return nil
}

// memFile is an open handle. Like on Unix, a handle keeps working after its
// name is removed or renamed.
type memFile struct {
	fs       *MemFS
	node     *memNode
	name     string
	writable bool
	closed   bool
}

var errReadOnly = errors.New("file opened read-only")

func (f *memFile) checkLocked(op string, write bool) error {
	if f.closed {
		return pathErr(op, f.name, os.ErrClosed)
	}
	if write && !f.writable {
		return pathErr(op, f.name, errReadOnly)
	}
	return nil
}

func (f *memFile) ReadAt(p []byte, off int64) (int, error) {
	f.fs.mu.Lock()
	defer f.fs.mu.Unlock()
	if err := f.checkLocked("read", false); err != nil {
		return 0, err
	}
	if off < 0 {
		return 0, pathErr("read", f.name, syscall.EINVAL)
	}
	if off >= int64(len(f.node.data)) {
		return 0, io.EOF
	}
	n := copy(p, f.node.data[off:])
	if n < len(p) {
		return n, io.EOF
	}
	return n, nil
}

func (f *memFile) Write(p []byte) (int, error) {
	f.fs.mu.Lock()
	defer f.fs.mu.Unlock()
	if err := f.checkLocked("write", true); err != nil {
		return 0, err
	}
	if f.fs.full && len(p) > 0 {
		return 0, pathErr("write", f.name, syscall.ENOSPC)
	}
	f.node.data = append(f.node.data, p...)
	return len(p), nil
}

func (f *memFile) Sync() error {
	f.fs.mu.Lock()
	defer f.fs.mu.Unlock()
	if err := f.checkLocked("sync", false); err != nil {
		return err
	}
	f.node.synced = f.node.data[:len(f.node.data):len(f.node.data)]
	return nil
}

func (f *memFile) Truncate(size int64) error {
	f.fs.mu.Lock()
	defer f.fs.mu.Unlock()
	if err := f.checkLocked("truncate", true); err != nil {
		return err
	}
	if size < 0 {
		return pathErr("truncate", f.name, syscall.EINVAL)
	}
	data := f.node.data
	if size <= int64(len(data)) {
		// Copy, so later appends cannot overwrite bytes the synced view shares.
		f.node.data = slices.Clone(data[:size])
		return nil
	}
	f.node.data = append(slices.Clone(data), make([]byte, size-int64(len(data)))...)
	return nil
}

func (f *memFile) Size() (int64, error) {
	f.fs.mu.Lock()
	defer f.fs.mu.Unlock()
	if err := f.checkLocked("stat", false); err != nil {
		return 0, err
	}
	return int64(len(f.node.data)), nil
}

func (f *memFile) Close() error {
	f.fs.mu.Lock()
	defer f.fs.mu.Unlock()
	if f.closed {
		return pathErr("close", f.name, os.ErrClosed)
	}
	f.closed = true
	return nil
}

func (f *memFile) Name() string { return f.name }
