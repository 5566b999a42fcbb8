package storage

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"sort"

	"github.com/samsa-broker/samsa/internal/storage/vfs"
)

const (
	offsetEntrySize = 8
	timeEntrySize   = 12
)

// offsetEntry maps a batch's base offset (relative to the segment base) to
// its byte position in the segment's .log.
type offsetEntry struct {
	rel uint32
	pos uint32
}

// timeEntry says that every batch up to relative offset rel (the last offset
// of the batch that first reached ts) has maxTimestamp <= ts.
type timeEntry struct {
	ts  int64
	rel uint32
}

func appendOffsetEntry(b []byte, e offsetEntry) []byte {
	b = binary.BigEndian.AppendUint32(b, e.rel)
	return binary.BigEndian.AppendUint32(b, e.pos)
}

func appendTimeEntry(b []byte, e timeEntry) []byte {
	b = binary.BigEndian.AppendUint64(b, uint64(e.ts))
	return binary.BigEndian.AppendUint32(b, e.rel)
}

// readIndexFile returns the contents of an index file, nil when it is missing.
func readIndexFile(fs vfs.FS, name string) ([]byte, error) {
	f, err := fs.Open(name)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("open index: %w", err)
	}
	defer f.Close()
	size, err := f.Size()
	if err != nil {
		return nil, fmt.Errorf("stat index %s: %w", name, err)
	}
	b := make([]byte, size)
	if n, err := f.ReadAt(b, 0); n != len(b) {
		return nil, fmt.Errorf("read index %s: %w", name, err)
	}
	return b, nil
}

// decodeOffsetIndex parses and checks offset index bytes against a .log of
// logSize bytes. A partial trailing entry (a torn write) is dropped. It
// reports ok=false when the entries are not strictly increasing or point
// outside the log; the index must then be rebuilt.
func decodeOffsetIndex(b []byte, logSize int64) (entries []offsetEntry, ok bool) {
	n := len(b) / offsetEntrySize
	entries = make([]offsetEntry, 0, n)
	for i := range n {
		e := offsetEntry{
			rel: binary.BigEndian.Uint32(b[i*offsetEntrySize:]),
			pos: binary.BigEndian.Uint32(b[i*offsetEntrySize+4:]),
		}
		if int64(e.pos) >= logSize || e.pos == 0 {
			return nil, false
		}
		if i > 0 && (e.rel <= entries[i-1].rel || e.pos <= entries[i-1].pos) {
			return nil, false
		}
		entries = append(entries, e)
	}
	return entries, true
}

// decodeTimeIndex parses time index bytes, dropping a partial trailing entry;
// ok=false when timestamps or offsets go backwards.
func decodeTimeIndex(b []byte) (entries []timeEntry, ok bool) {
	n := len(b) / timeEntrySize
	entries = make([]timeEntry, 0, n)
	for i := range n {
		e := timeEntry{
			ts:  int64(binary.BigEndian.Uint64(b[i*timeEntrySize:])),
			rel: binary.BigEndian.Uint32(b[i*timeEntrySize+8:]),
		}
		if i > 0 && (e.ts <= entries[i-1].ts || e.rel < entries[i-1].rel) {
			return nil, false
		}
		entries = append(entries, e)
	}
	return entries, true
}

// floorOffsetEntry returns the position of the last entry whose relative
// offset is <= rel, or 0 when there is none.
func floorOffsetEntry(entries []offsetEntry, rel uint32) uint32 {
	i := sort.Search(len(entries), func(i int) bool { return entries[i].rel > rel })
	if i == 0 {
		return 0
	}
	return entries[i-1].pos
}

// lastTimeEntryBelow returns the last entry with a timestamp < ts.
func lastTimeEntryBelow(entries []timeEntry, ts int64) (timeEntry, bool) {
	i := sort.Search(len(entries), func(i int) bool { return entries[i].ts >= ts })
	if i == 0 {
		return timeEntry{}, false
	}
	return entries[i-1], true
}

// readFull reads len(b) bytes at off, treating a short read as an error.
func readFull(f vfs.File, b []byte, off int64) error {
	n, err := f.ReadAt(b, off)
	if n == len(b) {
		return nil
	}
	if err == nil || errors.Is(err, io.EOF) {
		err = io.ErrUnexpectedEOF
	}
	return fmt.Errorf("read %d bytes at %d of %s: %w", len(b), off, f.Name(), err)
}
