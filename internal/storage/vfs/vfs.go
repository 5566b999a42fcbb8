// Package vfs is the small filesystem interface storage writes through, with
// an OS implementation and an in-memory one that can simulate a crash (keep
// only what was synced) and a full disk.
package vfs

import (
	"fmt"
	"io"
	"os"
)

// File is an open file. Writes always append at the end of the file, so
// readers using ReadAt and a single appender need no shared position.
type File interface {
	io.ReaderAt
	io.Writer // appends at the end of the file
	// Sync makes the file's contents durable (fsync).
	Sync() error
	// Truncate changes the file's size; a later Write appends at the new end.
	Truncate(size int64) error
	Size() (int64, error)
	Close() error
	Name() string
}

// FS is the set of filesystem operations storage needs.
type FS interface {
	// Create creates or truncates name and opens it for appending and reading.
	Create(name string) (File, error)
	// OpenAppend opens an existing file for appending and reading.
	OpenAppend(name string) (File, error)
	// Open opens an existing file read-only.
	Open(name string) (File, error)
	Remove(name string) error
	// RemoveAll removes path and everything below it; a missing path is fine.
	RemoveAll(path string) error
	Rename(oldpath, newpath string) error
	MkdirAll(path string) error
	// ReadDir returns the names of the entries in dir, sorted.
	ReadDir(dir string) ([]string, error)
	// Stat returns the size of name; the error wraps os.ErrNotExist when it is missing.
	Stat(name string) (size int64, err error)
	// SyncDir makes the creations, renames and removals in dir durable.
	SyncDir(dir string) error
}

// OSFiler is implemented by files of OS(), giving access to the *os.File
// (for sendfile and similar zero-copy paths).
type OSFiler interface {
	OSFile() *os.File
}

// CacheManager is implemented by files whose page cache can be managed (OS
// files on Linux). storage uses it to write recently appended data back
// early and evict it once written, so its page cache stays within a budget.
type CacheManager interface {
	// StartWriteback starts writing [off, off+n) to disk without waiting.
	StartWriteback(off, n int64) error
	// DropCache waits for [off, off+n) to be on disk and evicts it from the
	// page cache.
	DropCache(off, n int64) error
}

// OS returns the FS of the real filesystem.
func OS() FS { return osFS{} }

type osFS struct{}

type osFile struct{ *os.File }

func (f osFile) OSFile() *os.File { return f.File }

func (f osFile) Size() (int64, error) {
	info, err := f.Stat()
	if err != nil {
		return 0, err
	}
	return info.Size(), nil
}

func openOS(name string, flag int) (File, error) {
	f, err := os.OpenFile(name, flag, 0o644)
	if err != nil {
		return nil, err
	}
	return osFile{f}, nil
}

func (osFS) Create(name string) (File, error) {
	return openOS(name, os.O_RDWR|os.O_CREATE|os.O_TRUNC|os.O_APPEND)
}

func (osFS) OpenAppend(name string) (File, error) {
	return openOS(name, os.O_RDWR|os.O_APPEND)
}

func (osFS) Open(name string) (File, error) { return openOS(name, os.O_RDONLY) }

func (osFS) Remove(name string) error             { return os.Remove(name) }
func (osFS) RemoveAll(path string) error          { return os.RemoveAll(path) }
func (osFS) Rename(oldpath, newpath string) error { return os.Rename(oldpath, newpath) }
func (osFS) MkdirAll(path string) error           { return os.MkdirAll(path, 0o755) }

func (osFS) ReadDir(dir string) ([]string, error) {
	entries, err := os.ReadDir(dir) // sorted by name
	if err != nil {
		return nil, err
	}
	names := make([]string, len(entries))
	for i, e := range entries {
		names[i] = e.Name()
	}
	return names, nil
}

func (osFS) Stat(name string) (int64, error) {
	info, err := os.Stat(name)
	if err != nil {
		return 0, err
	}
	return info.Size(), nil
}

func (osFS) SyncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	if err := d.Sync(); err != nil {
		d.Close()
		return fmt.Errorf("sync dir %s: %w", dir, err)
	}
	return d.Close()
}
