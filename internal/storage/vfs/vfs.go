// Package vfs is the small filesystem interface storage writes through, with
// an OS implementation and an in-memory one that can simulate a crash (keep
// only what was synced) and a full disk.
package vfs

import (
	"errors"
	"fmt"
	"io"
	"os"
)

// File is an open file. Writes always append at the end of the file's
// data, so readers using ReadAt and a single appender need no shared
// position. (A Preallocator's file may extend past its data with zeros.)
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

// Preallocator is implemented by files that can keep zero-filled space
// ahead of their appends (OS files).
//
// Why: the kernel sizes the page-cache folios of a write from the write's
// length and alignment, so a log growing by small appends (a few KiB each)
// gets single-page folios, and each page then pays the cache's per-folio
// work (allocation, buffer heads, delayed-allocation reservation, dirty
// accounting, writeback, eviction). Filling the space ahead with zeros in
// aligned chunks creates large folios once; the appends then copy into
// them. Measured here for 10 KiB appends: 0.70 ms of CPU per MiB without,
// 0.40 ms with 64 KiB chunks. The zeros past the data are what Kafka's
// file.preallocate leaves too: a reopened file may end in them, so readers
// must bound reads by the data's end, recovery drops them, and Close and
// Trim cut them off.
type Preallocator interface {
	// Preallocate makes appends shorter than chunk first zero-fill the
	// file up to the next multiple of chunk past their end. 0 turns it off,
	// and Close then leaves any zeros already written.
	Preallocate(chunk int64)
	// Trim cuts the file back to the end of the appended data.
	Trim() error
}

// OS returns the FS of the real filesystem.
func OS() FS { return osFS{} }

type osFS struct{}

// osFile appends with positional writes at end rather than O_APPEND, so
// the space past end can hold preallocated zeros. The write position is
// owned by the file's single appender (storage holds the log's write lock).
type osFile struct {
	*os.File
	writable bool
	end      int64 // where the next Write goes: the end of the data
	filled   int64 // the file's size: end plus any zero-filled space
	chunk    int64 // preallocation granularity; 0 is off
}

// zeroChunk is the source of preallocation writes; it is never written to.
var zeroChunk [maxPreallocChunk]byte

// maxPreallocChunk bounds Preallocate's chunk (and zeroChunk's size).
const maxPreallocChunk = 1 << 20

func (f *osFile) OSFile() *os.File { return f.File }

// Size returns the end of the data for a file opened for writing (at open,
// the file's size, which may include zeros from an earlier preallocation).
func (f *osFile) Size() (int64, error) {
	if f.writable {
		return f.end, nil
	}
	info, err := f.Stat()
	if err != nil {
		return 0, err
	}
	return info.Size(), nil
}

func (f *osFile) Preallocate(chunk int64) {
	f.chunk = min(max(chunk, 0), maxPreallocChunk)
}

// Write appends p at the end of the data, zero-filling ahead first when p
// is small and would run past the filled space. A failed zero-fill is left
// to the append itself: the zeros are only an optimisation.
func (f *osFile) Write(p []byte) (int, error) {
	if !f.writable {
		return 0, fmt.Errorf("write %s: %w", f.Name(), os.ErrPermission)
	}
	next := f.end + int64(len(p))
	if f.chunk > 0 && int64(len(p)) < f.chunk && next > f.filled {
		f.fillTo((next + f.chunk - 1) / f.chunk * f.chunk)
	}
	n, err := f.WriteAt(p, f.end)
	f.end += int64(n)
	f.filled = max(f.filled, f.end)
	return n, err
}

// fillTo writes zeros from the filled end up to target, in writes that
// stop at chunk boundaries so each lands in freshly created, aligned folios.
func (f *osFile) fillTo(target int64) {
	for f.filled < target {
		n := min(target-f.filled, f.chunk-f.filled%f.chunk)
		w, err := f.WriteAt(zeroChunk[:n], f.filled)
		f.filled += int64(w)
		if err != nil {
			return
		}
	}
}

func (f *osFile) Trim() error {
	if f.filled <= f.end {
		return nil
	}
	if err := f.File.Truncate(f.end); err != nil {
		return fmt.Errorf("trim %s: %w", f.Name(), err)
	}
	f.filled = f.end
	return nil
}

func (f *osFile) Truncate(size int64) error {
	if err := f.File.Truncate(size); err != nil {
		return err
	}
	f.end, f.filled = size, size
	return nil
}

// Close trims any preallocated zeros while preallocation is on, so a
// cleanly closed file ends with its data. (A file about to be deleted turns
// preallocation off first and skips the truncation.)
func (f *osFile) Close() error {
	var trimErr error
	if f.writable && f.chunk > 0 {
		trimErr = f.Trim()
	}
	return errors.Join(trimErr, f.File.Close())
}

func openOS(name string, flag int) (File, error) {
	f, err := os.OpenFile(name, flag, 0o644)
	if err != nil {
		return nil, err
	}
	of := &osFile{File: f, writable: flag&(os.O_WRONLY|os.O_RDWR) != 0}
	if of.writable {
		info, err := f.Stat()
		if err != nil {
			f.Close()
			return nil, err
		}
		of.end, of.filled = info.Size(), info.Size()
	}
	return of, nil
}

func (osFS) Create(name string) (File, error) {
	return openOS(name, os.O_RDWR|os.O_CREATE|os.O_TRUNC)
}

func (osFS) OpenAppend(name string) (File, error) {
	return openOS(name, os.O_RDWR)
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
