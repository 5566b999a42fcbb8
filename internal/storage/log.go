package storage

import (
	"errors"
	"fmt"
	"log/slog"
	"math"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/samsa-broker/samsa/internal/record"
	"github.com/samsa-broker/samsa/internal/storage/vfs"
)

// ErrOffsetOutOfRange is returned (wrapped) when an offset lies outside
// [StartOffset, EndOffset].
var ErrOffsetOutOfRange = errors.New("offset out of range")

// ErrClosed is returned by operations on a closed log.
var ErrClosed = errors.New("log closed")

// Log is one partition's ordered segments in a directory. Appends come from
// one writer at a time; reads may run concurrently with them. See doc.go for
// the lock order.
type Log struct {
	dir    string
	fs     vfs.FS
	logger *slog.Logger
	now    func() time.Time

	syncMu  sync.Mutex
	writeMu sync.Mutex
	ioMu    sync.RWMutex
	mu      sync.RWMutex

	// Guarded by mu for readers; the writer (writeMu) reads them freely.
	opts     Options
	segments []*segment // by base offset; the last one is active

	startOffset  atomic.Int64 // changed with writeMu and mu held
	endOffset    atomic.Int64 // published with mu held, after the bytes are written
	syncedOffset atomic.Int64
	closed       atomic.Bool // set with every lock held
	// cleanedTo is where the last Compact pass ended: segments below it
	// hold no superseded records the pass could see.
	cleanedTo atomic.Int64
	// cleanerCheckpoint is the offset in the cleaner checkpoint file, read
	// and written by Compact only (one pass at a time).
	cleanerCheckpoint int64
	compactMu         sync.Mutex // one Compact pass at a time; taken before syncMu

	// Writer state, guarded by writeMu.
	rolled   []*segment // rolled segments whose data is not yet synced
	dirDirty bool       // segment files were created or removed since the last SyncDir
	failed   error      // sticky: a write or fsync failed and the log state is unknown
	scratch  []byte     // index entry encoding buffer
}

// Open opens the log in dir, creating the directory if needed, and recovers
// it: see "Durability and recovery" in doc.go.
func Open(dir string, opts Options) (*Log, error) {
	opts = opts.withDefaults()
	l := &Log{dir: dir, fs: opts.FS, logger: opts.Logger.With("dir", dir), now: opts.Now, opts: opts}
	if err := mkdirDurable(l.fs, dir); err != nil {
		return nil, fmt.Errorf("open log %s: %w", dir, err)
	}
	if err := l.load(); err != nil {
		for _, s := range l.segments {
			_ = s.close()
		}
		return nil, fmt.Errorf("open log %s: %w", dir, err)
	}
	return l, nil
}

// mkdirDurable creates dir and its missing parents and syncs each parent, so
// the directory survives a crash.
func mkdirDurable(fs vfs.FS, dir string) error {
	var missing []string
	for d := filepath.Clean(dir); ; d = filepath.Dir(d) {
		if _, err := fs.Stat(d); err == nil {
			break
		} else if !isNotExist(err) {
			return err
		}
		missing = append(missing, d)
		if filepath.Dir(d) == d {
			break
		}
	}
	if len(missing) == 0 {
		return nil
	}
	if err := fs.MkdirAll(dir); err != nil {
		return err
	}
	for i := len(missing) - 1; i >= 0; i-- {
		if err := fs.SyncDir(filepath.Dir(missing[i])); err != nil {
			return err
		}
	}
	return nil
}

func isNotExist(err error) bool { return errors.Is(err, os.ErrNotExist) }

// load lists, recovers and opens the segments.
func (l *Log) load() error {
	names, err := l.fs.ReadDir(l.dir)
	if err != nil {
		return err
	}
	// A merge the cleaner committed (its .log.swap is whole) is completed
	// before anything else looks at the segments it replaces.
	swapped := false
	for _, name := range names {
		if base, ext, ok := parseSegmentName(name); ok && ext == swapExt {
			l.logger.Info("completing an interrupted segment merge", "base_offset", base)
			if err := l.completeMerge(base, filepath.Join(l.dir, name)); err != nil {
				return fmt.Errorf("complete merge of segment %d: %w", base, err)
			}
			swapped = true
		}
	}
	if swapped {
		if names, err = l.fs.ReadDir(l.dir); err != nil {
			return err
		}
	}
	logs := map[int64]bool{}
	var bases []int64
	for _, name := range names {
		if base, ext, ok := parseSegmentName(name); ok && ext == logExt {
			logs[base] = true
			bases = append(bases, base) // sorted: names are zero-padded
		}
	}
	for _, name := range names {
		base, ext, ok := parseSegmentName(name)
		stray := name == checkpointName+".tmp" || name == cleanerCheckpointName+".tmp" || ok && ext == cleanedExt ||
			(ok && (ext == indexExt || ext == timeIndexExt) && !logs[base])
		if stray {
			l.logger.Info("removing stray file", "file", name)
			if err := l.fs.Remove(filepath.Join(l.dir, name)); err != nil {
				return err
			}
			l.dirDirty = true
		}
	}
	start, err := l.readCheckpoint(checkpointName)
	if err != nil {
		return err
	}
	cleaned, err := l.readCheckpoint(cleanerCheckpointName)
	if err != nil {
		return err
	}
	for i, base := range bases {
		s, err := l.loadSegment(base)
		if err != nil {
			return err
		}
		last := i == len(bases)-1
		switch {
		case s.empty() && !last && len(l.segments) > 0:
			// (The first segment stays, empty or not: its base is the log
			// start offset; the cleaner leaves it empty when none of its
			// records are the latest of their keys.)
			l.logger.Warn("removing empty segment", "base_offset", base)
			if err := s.remove(l.fs); err != nil {
				return err
			}
			l.dirDirty = true
			continue
		case len(l.segments) > 0 && base < l.segments[len(l.segments)-1].next:
			_ = s.close()
			return fmt.Errorf("segment %d overlaps the previous one, which ends at %d", base, l.segments[len(l.segments)-1].next)
		}
		if !last {
			if err := s.finalize(&l.scratch); err != nil {
				_ = s.close()
				return err
			}
		}
		l.segments = append(l.segments, s)
	}
	// An empty last segment past the end of a previous one whose tail was
	// lost would leave a hole in the offsets: append to the previous one.
	// Not when the cleaner may have removed that tail: those offsets were
	// handed out, and giving them to new records could hide the records
	// from consumers already past them.
	for n := len(l.segments); n > 1 && l.segments[n-1].empty() && l.segments[n-2].next < l.segments[n-1].base &&
		l.segments[n-1].base > cleaned; n-- {
		empty, prev := l.segments[n-1], l.segments[n-2]
		l.logger.Warn("removing empty last segment beyond the end of the log", "base_offset", empty.base, "end_offset", prev.next)
		if err := empty.remove(l.fs); err != nil {
			return err
		}
		l.dirDirty = true
		if err := prev.openIndexFiles(l.fs, false); err != nil {
			return err
		}
		l.segments = l.segments[:n-1]
	}
	if len(l.segments) == 0 {
		s, err := l.createSegment(max(start, 0))
		if err != nil {
			return err
		}
		l.segments = append(l.segments, s)
	}
	// A segment covers the offsets up to the next one's base, whether or not
	// its data reaches it (the cleaner removes batches at its edges too).
	for i, s := range l.segments[:len(l.segments)-1] {
		s.next = max(s.next, l.segments[i+1].base)
	}
	active := l.segments[len(l.segments)-1]
	if err := active.flushIndexes(math.MaxInt64, &l.scratch); err != nil {
		return err
	}
	l.startOffset.Store(max(start, l.segments[0].base))
	l.endOffset.Store(active.next)
	if l.startOffset.Load() > active.next {
		// The records up to the checkpointed start were deleted, and the
		// crash lost the tail: nothing below the start may come back.
		l.logger.Warn("log start offset beyond the recovered end; starting empty", "log_start_offset", start, "end_offset", active.next)
		if err := l.resetLocked(start); err != nil {
			return err
		}
	}
	// Drop whole segments below the start that a crash brought back.
	if err := l.deleteSegmentsBelowLocked(l.startOffset.Load()); err != nil {
		return err
	}
	if l.dirDirty {
		if err := l.fs.SyncDir(l.dir); err != nil {
			return err
		}
		l.dirDirty = false
	}
	l.syncedOffset.Store(l.endOffset.Load())
	l.cleanedTo.Store(min(cleaned, l.endOffset.Load()))
	l.cleanerCheckpoint = cleaned
	return nil
}

// createSegment creates the files of an empty segment.
func (l *Log) createSegment(base int64) (*segment, error) {
	s := newSegment(l.dir, base, l.opts.PageCache)
	s.createdMs = l.now().UnixMilli()
	f, err := l.fs.Create(s.path + logExt)
	if err != nil {
		return nil, fmt.Errorf("create segment %d: %w", base, err)
	}
	s.log = f
	l.preallocate(f)
	if err := s.openIndexFiles(l.fs, true); err != nil {
		_ = s.remove(l.fs)
		return nil, err
	}
	l.dirDirty = true
	return s, nil
}

// loadSegment opens and recovers one segment: it loads and checks its
// indexes, CRC-checks the batches after the last index entry (all of them
// when the index is unusable), truncates the file at the first bad batch,
// fsyncs it and brings the index files up to date.
func (l *Log) loadSegment(base int64) (*segment, error) {
	s := newSegment(l.dir, base, l.opts.PageCache)
	s.createdMs = l.now().UnixMilli()
	f, err := l.fs.OpenAppend(s.path + logExt)
	if err != nil {
		return nil, fmt.Errorf("open segment %d: %w", base, err)
	}
	s.log = f
	size, err := f.Size()
	if err != nil {
		_ = s.close()
		return nil, fmt.Errorf("size of segment %d: %w", base, err)
	}
	fail := func(err error) (*segment, error) {
		_ = s.close()
		return nil, fmt.Errorf("recover segment %d: %w", base, err)
	}
	offsetBytes, err := readIndexFile(l.fs, s.path+indexExt)
	if err != nil {
		return fail(err)
	}
	timeBytes, err := readIndexFile(l.fs, s.path+timeIndexExt)
	if err != nil {
		return fail(err)
	}
	offsets, offsetsOK := decodeOffsetIndex(offsetBytes, size)
	times, timesOK := decodeTimeIndex(timeBytes)
	rebuild := !offsetsOK || !timesOK || offsetBytes == nil || timeBytes == nil
	// A torn trailing entry is dropped and the file rewritten.
	rewrite := rebuild || len(offsetBytes)%offsetEntrySize != 0 || len(timeBytes)%timeEntrySize != 0
	interval := l.opts.IndexIntervalBytes
	for {
		if rebuild {
			offsets, times = nil, nil
		}
		s.offsets, s.times = offsets, times
		goodEnd, badErr, err := s.rescanFrom(size, interval, true)
		if err != nil {
			return fail(err)
		}
		lastEntryPos := int64(0)
		if n := len(offsets); n > 0 {
			lastEntryPos = int64(offsets[n-1].pos)
		}
		timesBeyond := len(times) > 0 && base+int64(times[len(times)-1].rel) >= s.next
		if !rebuild && (badErr != nil && goodEnd <= lastEntryPos || timesBeyond) {
			l.logger.Warn("segment index inconsistent with its data; rebuilding", "base_offset", base, "err", badErr)
			rebuild, rewrite = true, true
			continue
		}
		if badErr != nil {
			if zeros, err := preallocatedTail(f, goodEnd, size); err != nil {
				return fail(err)
			} else if zeros {
				l.logger.Info("dropping zeros past the segment's last batch",
					"base_offset", base, "position", goodEnd, "dropped_bytes", size-goodEnd)
			} else {
				l.logger.Warn("truncating torn or corrupt segment tail", "base_offset", base,
					"position", goodEnd, "dropped_bytes", size-goodEnd, "err", badErr)
			}
			if err := f.Truncate(goodEnd); err != nil {
				return fail(err)
			}
			size = goodEnd
		}
		break
	}
	s.size.Store(size)
	s.writebackPos = size // recovered data is synced below: nothing to write back
	l.preallocate(f)
	if size > 0 {
		if err := f.Sync(); err != nil {
			return fail(err)
		}
	}
	if rebuild && len(offsetBytes)+len(timeBytes) > 0 {
		l.logger.Warn("rebuilt segment indexes", "base_offset", base, "entries", len(s.offsets))
	}
	if err := s.openIndexFiles(l.fs, rewrite); err != nil {
		return fail(err)
	}
	if !rewrite {
		s.flushedOffsets, s.flushedTimes = len(offsets), len(times)
	}
	if err := s.flushIndexes(math.MaxInt64, &l.scratch); err != nil {
		return fail(err)
	}
	return s, nil
}

// Append writes one batch that the caller validated with record.Validate.
// It stamps the batch's base offset (EndOffset) and leader epoch into batch
// in place, rolls a new segment first when the size or time limit requires
// it or the epoch differs from the active segment's, and returns the base
// offset. Callers must not append concurrently, and epochs must not
// decrease (EndOffsetForEpoch relies on it).
func (l *Log) Append(batch []byte, epoch int32) (baseOffset int64, err error) {
	l.writeMu.Lock()
	defer l.writeMu.Unlock()
	if l.closed.Load() {
		return 0, ErrClosed
	}
	if l.failed != nil {
		return 0, l.failed
	}
	h, err := record.ParseHeader(batch)
	if err != nil {
		return 0, fmt.Errorf("append: %w", err)
	}
	if h.Size() != len(batch) || h.Size() < record.HeaderSize || h.LastOffsetDelta < 0 {
		return 0, fmt.Errorf("append: %w: batch of %d bytes says %d, last offset delta %d",
			record.ErrCorrupt, len(batch), h.Size(), h.LastOffsetDelta)
	}
	active := l.segments[len(l.segments)-1]
	base := active.next
	if l.needsRoll(active, h, epoch) {
		if active, err = l.roll(base); err != nil {
			return 0, err
		}
	}
	record.SetBaseOffset(batch, base)
	record.SetLeaderEpoch(batch, epoch)
	h.BaseOffset, h.PartitionLeaderEpoch = base, epoch
	pos := active.size.Load()
	if _, err := active.log.Write(batch); err != nil {
		// Drop a partial write so the file still ends at a batch boundary.
		if truncErr := active.log.Truncate(pos); truncErr != nil {
			l.failed = fmt.Errorf("storage failed: cannot undo a partial append: %w", errors.Join(err, truncErr))
		}
		return 0, fmt.Errorf("append at offset %d: %w", base, err)
	}
	l.mu.Lock()
	active.track(h, pos, l.opts.IndexIntervalBytes)
	active.size.Store(pos + int64(len(batch)))
	l.endOffset.Store(h.NextOffset())
	l.mu.Unlock()
	l.opts.PageCache.appended(active, pos+int64(len(batch)), false)
	return base, nil
}

// preallocChunk is the zero-filled space a segment file keeps ahead of
// small appends (see vfs.Preallocator), and the alignment of the page
// cache's writeback chunks.
const preallocChunk = 64 << 10

// preallocate turns on zero-filling ahead for segment file f, unless the
// options say no or its filesystem cannot.
func (l *Log) preallocate(f vfs.File) {
	if p, ok := f.(vfs.Preallocator); ok && !l.opts.NoPreallocate {
		p.Preallocate(preallocChunk)
	}
}

// preallocatedTail reports whether [from, to), the end of a segment file
// past its last good batch, looks like preallocated space: shorter than a
// chunk, ending on a chunk boundary (where zero-filling stops) and all
// zeros. Anything else, such as unsynced batches a power loss turned into
// zeros, stays a warned-about torn tail.
func preallocatedTail(f vfs.File, from, to int64) (bool, error) {
	if to <= from || to-from >= preallocChunk || to%preallocChunk != 0 {
		return false, nil
	}
	b := make([]byte, to-from)
	if err := readFull(f, b, from); err != nil {
		return false, fmt.Errorf("read segment tail: %w", err)
	}
	for _, c := range b {
		if c != 0 {
			return false, nil
		}
	}
	return true, nil
}

// needsRoll reports whether batch h must go to a new segment. Empty
// segments are never rolled: they take the batch's epoch instead.
func (l *Log) needsRoll(active *segment, h record.Header, epoch int32) bool {
	size := active.size.Load()
	if size == 0 {
		return false
	}
	var elapsed int64
	if active.firstTimestamp >= 0 {
		elapsed = h.MaxTimestamp - active.firstTimestamp
	} else {
		elapsed = l.now().UnixMilli() - active.createdMs
	}
	return epoch != active.epoch ||
		size+int64(h.Size()) > l.opts.SegmentBytes ||
		elapsed > l.opts.SegmentMs ||
		active.next+int64(h.LastOffsetDelta)-active.base > math.MaxInt32
}

// roll makes a new empty active segment at base. writeMu must be held.
func (l *Log) roll(base int64) (*segment, error) {
	old := l.segments[len(l.segments)-1]
	s, err := l.createSegment(base)
	if err != nil {
		return nil, err
	}
	l.mu.Lock()
	old.addTimeEntry() // the final entry: the segment's largest timestamp
	l.segments = append(l.segments, s)
	l.mu.Unlock()
	l.rolled = append(l.rolled, old)
	if err := old.trimZeros(); err != nil {
		// Harmless: recovery and Close drop the zeros too.
		l.logger.Warn("trim rolled segment", "base_offset", old.base, "err", err)
	}
	l.opts.PageCache.appended(old, old.size.Load(), true)
	l.logger.Debug("rolled segment", "base_offset", base, "previous_size", old.size.Load())
	return s, nil
}

// Sync makes every batch appended before the call durable. Concurrent
// callers share fsyncs (group commit): a caller whose batches an earlier
// fsync covered returns at once. After an fsync failure the log refuses
// further appends and syncs, since what reached the disk is unknown.
func (l *Log) Sync() error {
	target := l.endOffset.Load()
	if l.syncedOffset.Load() >= target {
		return nil
	}
	l.syncMu.Lock()
	defer l.syncMu.Unlock()
	if l.syncedOffset.Load() >= target {
		return nil
	}
	return l.syncLocked()
}

// syncLocked fsyncs everything appended so far. syncMu must be held and
// writeMu not: appends continue while the fsyncs run.
func (l *Log) syncLocked() error {
	l.writeMu.Lock()
	if l.closed.Load() {
		l.writeMu.Unlock()
		return ErrClosed
	}
	if l.failed != nil {
		l.writeMu.Unlock()
		return l.failed
	}
	target := l.endOffset.Load()
	active := l.segments[len(l.segments)-1]
	rolled := l.rolled
	l.rolled = nil
	dirDirty := l.dirDirty
	l.dirDirty = false
	l.writeMu.Unlock()

	err := l.fsyncData(rolled, dirDirty, active)

	l.writeMu.Lock()
	defer l.writeMu.Unlock()
	if err != nil {
		l.failed = fmt.Errorf("storage failed: %w", err)
		return l.failed
	}
	l.syncedOffset.Store(target)
	for _, s := range rolled {
		if err := s.finalize(&l.scratch); err != nil {
			l.logger.Warn("cannot write segment indexes; they will be rebuilt on open", "err", err)
		}
	}
	if err := active.flushIndexes(target, &l.scratch); err != nil {
		l.logger.Warn("cannot write segment indexes; they will be rebuilt on open", "err", err)
	}
	return nil
}

// fsyncData syncs rolled segments, then the directory, then the active
// segment, so a crash never keeps a later segment without the earlier data.
func (l *Log) fsyncData(rolled []*segment, dirDirty bool, active *segment) error {
	for _, s := range rolled {
		if err := s.log.Sync(); err != nil {
			return fmt.Errorf("fsync segment %d: %w", s.base, err)
		}
	}
	if dirDirty {
		if err := l.fs.SyncDir(l.dir); err != nil {
			return fmt.Errorf("fsync dir: %w", err)
		}
	}
	if err := active.log.Sync(); err != nil {
		return fmt.Errorf("fsync segment %d: %w", active.base, err)
	}
	return nil
}

// Close syncs and closes the log. It is idempotent.
func (l *Log) Close() error {
	l.syncMu.Lock()
	defer l.syncMu.Unlock()
	l.writeMu.Lock()
	defer l.writeMu.Unlock()
	l.ioMu.Lock()
	defer l.ioMu.Unlock()
	if l.closed.Load() {
		return nil
	}
	var err error
	if l.failed == nil {
		active := l.segments[len(l.segments)-1]
		err = l.fsyncData(l.rolled, l.dirDirty, active)
		if err == nil {
			for _, s := range append(l.rolled, active) {
				err = errors.Join(err, s.finalize(&l.scratch))
			}
		}
	}
	l.mu.Lock()
	l.closed.Store(true)
	l.mu.Unlock()
	for _, s := range l.segments {
		err = errors.Join(err, s.close())
	}
	l.rolled = nil
	if err != nil {
		return fmt.Errorf("close log %s: %w", l.dir, err)
	}
	return nil
}

// Delete closes the log and removes its directory.
func (l *Log) Delete() error {
	if err := l.Close(); err != nil {
		l.logger.Warn("close before delete", "err", err)
	}
	if err := l.fs.RemoveAll(l.dir); err != nil {
		return fmt.Errorf("delete log %s: %w", l.dir, err)
	}
	if err := l.fs.SyncDir(filepath.Dir(l.dir)); err != nil {
		return fmt.Errorf("delete log %s: %w", l.dir, err)
	}
	return nil
}

// SetOptions changes the segment, index and retention settings (for
// AlterConfigs). FS, Logger, Now and PageCache stay as they were at Open.
func (l *Log) SetOptions(o Options) {
	l.writeMu.Lock()
	defer l.writeMu.Unlock()
	l.mu.Lock()
	defer l.mu.Unlock()
	o.FS, o.Logger, o.Now, o.PageCache = l.opts.FS, l.opts.Logger, l.opts.Now, l.opts.PageCache
	l.opts = o.withDefaults()
}

// ActiveSegmentBase returns the base offset of the segment appends go to:
// after an Append, equal to the batch's offset when the batch started a
// segment.
func (l *Log) ActiveSegmentBase() int64 {
	l.mu.RLock()
	defer l.mu.RUnlock()
	return l.segments[len(l.segments)-1].base
}

// StartOffset is the first offset the log still holds (the log start offset).
func (l *Log) StartOffset() int64 { return l.startOffset.Load() }

// EndOffset is the offset the next appended batch gets (the log end offset).
func (l *Log) EndOffset() int64 { return l.endOffset.Load() }

// SyncedOffset is the offset below which everything is durable.
func (l *Log) SyncedOffset() int64 { return l.syncedOffset.Load() }

// Dir is the log's directory.
func (l *Log) Dir() string { return l.dir }

// Size is the number of bytes in all segment files.
func (l *Log) Size() int64 {
	l.mu.RLock()
	defer l.mu.RUnlock()
	var total int64
	for _, s := range l.segments {
		total += s.size.Load()
	}
	return total
}
