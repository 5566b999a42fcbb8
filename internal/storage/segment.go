package storage

import (
	"errors"
	"fmt"
	"io"
	"math"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/samsa-broker/samsa/internal/record"
	"github.com/samsa-broker/samsa/internal/storage/vfs"
)

const (
	logExt       = ".log"
	indexExt     = ".index"
	timeIndexExt = ".timeindex"
	baseDigits   = 20
	noTimestamp  = -1
	noEpoch      = -1
)

// segmentName is the file name of a segment file: the base offset padded to
// 20 digits, then ext.
func segmentName(base int64, ext string) string {
	s := strconv.FormatInt(base, 10)
	return strings.Repeat("0", max(0, baseDigits-len(s))) + s + ext
}

// parseSegmentName returns the base offset of a "<20 digits><ext>" name.
func parseSegmentName(name string) (base int64, ext string, ok bool) {
	if len(name) <= baseDigits {
		return 0, "", false
	}
	base, err := strconv.ParseInt(name[:baseDigits], 10, 64)
	if err != nil || base < 0 {
		return 0, "", false
	}
	return base, name[baseDigits:], true
}

// segment is one .log file and its two indexes.
type segment struct {
	base int64
	path string // path of .log without the extension
	log  vfs.File

	// size is the number of bytes of whole batches in log; readers may
	// read up to it without holding any lock but ioMu.
	size atomic.Int64

	// Guarded by Log.mu: written by the writer with mu held, read by
	// readers with mu held shared. The writer reads them without mu.
	offsets      []offsetEntry
	times        []timeEntry
	next         int64 // offset after the last batch; base when empty
	epoch        int32 // leader epoch of the batches; noEpoch when empty
	maxTimestamp int64 // largest batch maxTimestamp; noTimestamp when empty
	maxTsOffset  int64 // last offset of the first batch that reached maxTimestamp

	// Writer state, guarded by Log.writeMu.
	firstTimestamp  int64 // first batch's maxTimestamp, for SegmentMs
	createdMs       int64 // wall clock at creation, when the first batch has no timestamp
	bytesSinceIndex int   // bytes appended since the last offset index entry
	indexFile       vfs.File
	timeIndexFile   vfs.File
	flushedOffsets  int        // entries of offsets already in indexFile
	flushedTimes    int        // entries of times already in timeIndexFile
	writebackPos    int64      // data before it was handed to cache (see PageCache)
	cache           *PageCache // nil: the page cache is left to the kernel

	// cacheMu serializes evictions of this segment's chunks (by any log's
	// appender) with its close; cacheClosed is set by close.
	cacheMu     sync.Mutex
	cacheClosed bool
}

func newSegment(dir string, base int64, cache *PageCache) *segment {
	s := &segment{
		base:  base,
		path:  filepath.Join(dir, segmentName(base, "")),
		cache: cache,
	}
	s.reset()
	return s
}

// reset forgets every batch: the state of an empty segment.
func (s *segment) reset() {
	s.offsets, s.times = s.offsets[:0], s.times[:0]
	s.next = s.base
	s.epoch = noEpoch
	s.maxTimestamp, s.maxTsOffset = noTimestamp, -1
	s.firstTimestamp = noTimestamp
	s.bytesSinceIndex = 0
}

func (s *segment) empty() bool { return s.next == s.base }

// track updates the segment's state for a batch just written at pos:
// first-batch facts, timestamps and the index entries. The caller holds
// Log.mu when the segment is visible to readers.
func (s *segment) track(h record.Header, pos int64, indexInterval int) {
	if pos == 0 {
		s.epoch = h.PartitionLeaderEpoch
		s.firstTimestamp = h.MaxTimestamp
	}
	if h.MaxTimestamp > s.maxTimestamp {
		s.maxTimestamp, s.maxTsOffset = h.MaxTimestamp, h.LastOffset()
	}
	if s.bytesSinceIndex > indexInterval {
		s.offsets = append(s.offsets, offsetEntry{rel: uint32(h.BaseOffset - s.base), pos: uint32(pos)})
		s.addTimeEntry()
		s.bytesSinceIndex = 0
	}
	s.bytesSinceIndex += h.Size()
	s.next = h.NextOffset()
}

// addTimeEntry records the largest timestamp so far in the time index when
// it grew since the last entry.
func (s *segment) addTimeEntry() {
	if s.maxTimestamp == noTimestamp {
		return
	}
	if n := len(s.times); n > 0 && s.times[n-1].ts >= s.maxTimestamp {
		return
	}
	s.times = append(s.times, timeEntry{ts: s.maxTimestamp, rel: uint32(s.maxTsOffset - s.base)})
}

// positionFor returns a file position at or before the batch holding offset.
func (s *segment) positionFor(offset int64) int64 {
	if offset <= s.base {
		return 0
	}
	return int64(floorOffsetEntry(s.offsets, uint32(min(offset-s.base, math.MaxUint32))))
}

// openIndexFiles opens the index files for appending, creating them when
// missing; truncate starts them empty.
func (s *segment) openIndexFiles(fs vfs.FS, truncate bool) error {
	open := func(ext string) (vfs.File, error) {
		name := s.path + ext
		if !truncate {
			f, err := fs.OpenAppend(name)
			if err == nil {
				return f, nil
			}
		}
		return fs.Create(name)
	}
	var err error
	if s.indexFile == nil {
		if s.indexFile, err = open(indexExt); err != nil {
			return fmt.Errorf("open offset index: %w", err)
		}
	}
	if s.timeIndexFile == nil {
		if s.timeIndexFile, err = open(timeIndexExt); err != nil {
			return fmt.Errorf("open time index: %w", err)
		}
	}
	return nil
}

// flushIndexes appends the pending index entries for batches below upTo to
// the index files. Entries must only reach the files once their batches are
// durable (see doc.go). scratch is reused between calls.
func (s *segment) flushIndexes(upTo int64, scratch *[]byte) error {
	if s.indexFile == nil {
		return nil
	}
	buf := (*scratch)[:0]
	n := s.flushedOffsets
	for ; n < len(s.offsets) && s.base+int64(s.offsets[n].rel) < upTo; n++ {
		buf = appendOffsetEntry(buf, s.offsets[n])
	}
	if len(buf) > 0 {
		if _, err := s.indexFile.Write(buf); err != nil {
			return fmt.Errorf("write offset index: %w", err)
		}
	}
	s.flushedOffsets = n
	buf = buf[:0]
	n = s.flushedTimes
	for ; n < len(s.times) && s.base+int64(s.times[n].rel) < upTo; n++ {
		buf = appendTimeEntry(buf, s.times[n])
	}
	if len(buf) > 0 {
		if _, err := s.timeIndexFile.Write(buf); err != nil {
			return fmt.Errorf("write time index: %w", err)
		}
	}
	s.flushedTimes = n
	*scratch = buf
	return nil
}

// finalize writes all index entries of a segment whose data is durable and
// will not grow, syncs the index files and closes them.
func (s *segment) finalize(scratch *[]byte) error {
	if s.indexFile == nil {
		return nil
	}
	if err := s.flushIndexes(math.MaxInt64, scratch); err != nil {
		return err
	}
	err := errors.Join(s.indexFile.Sync(), s.timeIndexFile.Sync())
	err = errors.Join(err, s.closeIndexFiles())
	if err != nil {
		return fmt.Errorf("finalize segment %d indexes: %w", s.base, err)
	}
	return nil
}

func (s *segment) closeIndexFiles() error {
	var err error
	if s.indexFile != nil {
		err = s.indexFile.Close()
		s.indexFile = nil
	}
	if s.timeIndexFile != nil {
		err = errors.Join(err, s.timeIndexFile.Close())
		s.timeIndexFile = nil
	}
	return err
}

func (s *segment) close() error {
	err := s.closeIndexFiles()
	if s.log != nil {
		s.cache.forget(s)
		err = errors.Join(err, s.log.Close())
		s.log = nil
	}
	return err
}

// trimZeros cuts the zeros preallocated past the data off the segment's
// file (it will take no more appends).
func (s *segment) trimZeros() error {
	if p, ok := s.log.(vfs.Preallocator); ok {
		return p.Trim()
	}
	return nil
}

// remove closes the segment and deletes its files.
func (s *segment) remove(fs vfs.FS) error {
	if p, ok := s.log.(vfs.Preallocator); ok {
		p.Preallocate(0) // no point trimming a file about to be deleted
	}
	err := s.close()
	for _, ext := range []string{logExt, indexExt, timeIndexExt} {
		if rmErr := fs.Remove(s.path + ext); rmErr != nil && !isNotExist(rmErr) {
			err = errors.Join(err, rmErr)
		}
	}
	if err != nil {
		return fmt.Errorf("remove segment %d: %w", s.base, err)
	}
	return nil
}

// rescanFrom rebuilds the segment's in-memory state from the batches at and
// after the last offset index entry, given offsets and times already trimmed
// to entries that point below end. With verify, batches are CRC-checked. It
// returns the position of the first bad batch, or end when all are good.
func (s *segment) rescanFrom(end int64, indexInterval int, verify bool) (goodEnd int64, badErr error, err error) {
	start := int64(0)
	if n := len(s.offsets); n > 0 {
		start = int64(s.offsets[n-1].pos)
	}
	keptOffsets, keptTimes := s.offsets, s.times
	s.reset()
	s.offsets, s.times = keptOffsets, keptTimes
	if n := len(s.times); n > 0 {
		s.maxTimestamp, s.maxTsOffset = s.times[n-1].ts, s.base+int64(s.times[n-1].rel)
	}
	if start > 0 {
		// The first batch gives the epoch and the roll timestamp.
		b := make([]byte, record.HeaderSize)
		if err := readFull(s.log, b, 0); err != nil {
			return 0, nil, err
		}
		first, _ := record.ParseHeader(b)
		s.epoch, s.firstTimestamp = first.PartitionLeaderEpoch, first.MaxTimestamp
	}
	sc := newScanner(s.log, start, end, verify)
	expect := s.base
	if n := len(s.offsets); n > 0 {
		expect = s.base + int64(s.offsets[n-1].rel)
	}
	for {
		h, pos, scanErr := sc.next()
		if errors.Is(scanErr, io.EOF) {
			return end, nil, nil
		}
		if scanErr != nil {
			if errors.Is(scanErr, errTorn) {
				return pos, scanErr, nil
			}
			return 0, nil, scanErr
		}
		switch {
		case pos == start && start > 0 && h.BaseOffset != expect:
			return pos, fmt.Errorf("%w: index entry says offset %d at %d, batch has %d", errTorn, expect, pos, h.BaseOffset), nil
		case pos == 0 && h.BaseOffset < s.base:
			// (Above the base is fine: the cleaner removes first batches.)
			return pos, fmt.Errorf("%w: first batch has offset %d, segment name says %d", errTorn, h.BaseOffset, s.base), nil
		case h.BaseOffset < expect:
			return pos, fmt.Errorf("%w: batch at %d has offset %d, expected at least %d", errTorn, pos, h.BaseOffset, expect), nil
		case h.LastOffset()-s.base > math.MaxInt32 || pos > math.MaxUint32:
			return pos, fmt.Errorf("%w: batch at %d overflows the segment index", errTorn, pos), nil
		}
		if pos == start && start > 0 {
			// The batch of the last index entry: its entry already exists.
			if h.MaxTimestamp > s.maxTimestamp {
				s.maxTimestamp, s.maxTsOffset = h.MaxTimestamp, h.LastOffset()
			}
			s.bytesSinceIndex = h.Size()
			s.next = h.NextOffset()
		} else {
			s.track(h, pos, indexInterval)
		}
		expect = h.NextOffset()
	}
}
