package storage

import (
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
)

// checkpointName is the file holding the log start offset set by
// DeleteRecordsBefore (format in doc.go).
const checkpointName = "log-start-offset"

const checkpointVersion = "1"

// cleanerCheckpointName is the file holding the offset below which the
// cleaner may have rewritten segments (format in doc.go).
const cleanerCheckpointName = "cleaner-offset"

// readCheckpoint returns the offset in the checkpoint file name, 0 when
// there is none. An unreadable checkpoint is logged and ignored.
func (l *Log) readCheckpoint(name string) (int64, error) {
	b, err := readIndexFile(l.fs, filepath.Join(l.dir, name))
	if err != nil {
		return 0, fmt.Errorf("read %s: %w", name, err)
	}
	if b == nil {
		return 0, nil
	}
	lines := strings.Split(string(b), "\n")
	if len(lines) == 3 && lines[0] == checkpointVersion && lines[2] == "" {
		if offset, err := strconv.ParseInt(lines[1], 10, 64); err == nil && offset >= 0 {
			return offset, nil
		}
	}
	l.logger.Warn("ignoring malformed checkpoint", "file", name, "contents", string(b))
	return 0, nil
}

// writeCheckpoint durably replaces the checkpoint file name: write a
// temporary file, sync it, rename it over the old one, sync the directory.
func (l *Log) writeCheckpoint(name string, offset int64) error {
	name = filepath.Join(l.dir, name)
	tmp := name + ".tmp"
	f, err := l.fs.Create(tmp)
	if err != nil {
		return fmt.Errorf("write checkpoint: %w", err)
	}
	_, err = io.WriteString(f, checkpointVersion+"\n"+strconv.FormatInt(offset, 10)+"\n")
	if err == nil {
		err = f.Sync()
	}
	err = errors.Join(err, f.Close())
	if err == nil {
		err = l.fs.Rename(tmp, name)
	}
	if err == nil {
		err = l.fs.SyncDir(l.dir)
	}
	if err != nil {
		return fmt.Errorf("write checkpoint: %w", err)
	}
	return nil
}

// DeleteRecordsBefore raises the log start offset to offset (persisted
// before it takes effect) and deletes the segments wholly below it. An
// offset above EndOffset is ErrOffsetOutOfRange; one at or below the start
// offset changes nothing.
func (l *Log) DeleteRecordsBefore(offset int64) error {
	l.syncMu.Lock()
	defer l.syncMu.Unlock()
	l.writeMu.Lock()
	defer l.writeMu.Unlock()
	if err := l.usableLocked(); err != nil {
		return err
	}
	if end := l.endOffset.Load(); offset > end {
		return fmt.Errorf("delete records before %d: %w: log ends at %d", offset, ErrOffsetOutOfRange, end)
	}
	if offset <= l.startOffset.Load() {
		return nil
	}
	if err := l.writeCheckpoint(checkpointName, offset); err != nil {
		return err
	}
	l.mu.Lock()
	l.startOffset.Store(offset)
	l.mu.Unlock()
	l.ioMu.Lock()
	err := l.deleteSegmentsBelowLocked(offset)
	l.ioMu.Unlock()
	return errors.Join(err, l.syncDirIfDirtyLocked())
}

// usableLocked reports ErrClosed or the sticky failure. writeMu must be held.
func (l *Log) usableLocked() error {
	if l.closed.Load() {
		return ErrClosed
	}
	return l.failed
}

func (l *Log) syncDirIfDirtyLocked() error {
	if !l.dirDirty {
		return nil
	}
	if err := l.fs.SyncDir(l.dir); err != nil {
		return fmt.Errorf("sync dir: %w", err)
	}
	l.dirDirty = false
	return nil
}

// deleteSegmentsBelowLocked deletes the leading non-active segments that end
// at or before offset. syncMu, writeMu and ioMu must be held (or the log not
// yet shared).
func (l *Log) deleteSegmentsBelowLocked(offset int64) error {
	k := 0
	for k < len(l.segments)-1 && l.segments[k].next <= offset {
		k++
	}
	return l.removeLeadingLocked(k)
}

// removeLeadingLocked deletes the first k segments (never the active one)
// and raises the start offset to the new first segment. Same locks as
// deleteSegmentsBelowLocked.
func (l *Log) removeLeadingLocked(k int) error {
	k = min(k, len(l.segments)-1)
	if k <= 0 {
		return nil
	}
	removed := l.segments[:k]
	l.mu.Lock()
	l.segments = l.segments[k:]
	l.startOffset.Store(max(l.startOffset.Load(), l.segments[0].base))
	l.mu.Unlock()
	var err error
	for _, s := range removed {
		l.rolled = slices.DeleteFunc(l.rolled, func(r *segment) bool { return r == s })
		err = errors.Join(err, s.remove(l.fs))
		l.logger.Info("deleted segment", "base_offset", s.base, "end_offset", s.next)
	}
	l.dirDirty = true
	return err
}

// ApplyRetention deletes the oldest non-active segments while the log is
// larger than RetentionBytes or their largest timestamp is older than
// RetentionMs, and returns how many it deleted. The active segment stays.
func (l *Log) ApplyRetention() (int, error) {
	l.syncMu.Lock()
	defer l.syncMu.Unlock()
	l.writeMu.Lock()
	defer l.writeMu.Unlock()
	if err := l.usableLocked(); err != nil {
		return 0, err
	}
	now := l.now().UnixMilli()
	var total int64
	for _, s := range l.segments {
		total += s.size.Load()
	}
	k := 0
	for ; k < len(l.segments)-1; k++ {
		s := l.segments[k]
		size := s.size.Load()
		byTime := l.opts.RetentionMs >= 0 && now-s.maxTimestamp > l.opts.RetentionMs
		bySize := l.opts.RetentionBytes >= 0 && total-size >= l.opts.RetentionBytes
		if !byTime && !bySize {
			break
		}
		total -= size
	}
	if k == 0 {
		return 0, nil
	}
	l.ioMu.Lock()
	err := l.removeLeadingLocked(k)
	l.ioMu.Unlock()
	return k, errors.Join(err, l.syncDirIfDirtyLocked())
}

// TruncateTo removes every batch at or after offset. Batches cannot be split,
// so a batch containing offset is removed whole and EndOffset becomes its
// base offset. Truncating below the start offset or the first segment
// empties the log and restarts it at offset. The truncation is durable when
// TruncateTo returns.
func (l *Log) TruncateTo(offset int64) error {
	l.syncMu.Lock()
	defer l.syncMu.Unlock()
	l.writeMu.Lock()
	defer l.writeMu.Unlock()
	if err := l.usableLocked(); err != nil {
		return err
	}
	if offset >= l.endOffset.Load() {
		return nil
	}
	l.ioMu.Lock()
	defer l.ioMu.Unlock()
	if offset < l.startOffset.Load() || offset <= l.segments[0].base {
		return l.resetLocked(offset)
	}
	i := segmentFor(l.segments, offset)
	s := l.segments[i]
	later := l.segments[i+1:]
	l.mu.Lock()
	l.segments = slices.Clip(l.segments[:i+1])
	l.mu.Unlock()
	for _, x := range later {
		l.rolled = slices.DeleteFunc(l.rolled, func(r *segment) bool { return r == x })
		if err := x.remove(l.fs); err != nil {
			l.failed = fmt.Errorf("storage failed: truncate: %w", err)
			return l.failed
		}
		l.dirDirty = true
	}
	l.rolled = slices.DeleteFunc(l.rolled, func(r *segment) bool { return r == s })
	if err := l.truncateSegmentLocked(s, offset); err != nil {
		l.failed = fmt.Errorf("storage failed: truncate: %w", err)
		return l.failed
	}
	return l.syncDirIfDirtyLocked()
}

// truncateSegmentLocked cuts s before the batch containing offset, durably,
// and makes it the active segment again. All locks but mu must be held.
func (l *Log) truncateSegmentLocked(s *segment, offset int64) error {
	size := s.size.Load()
	cut, cutBase, end := size, s.next, s.next
	if offset < s.next {
		end = offset
		sc := newScanner(s.log, s.positionFor(offset), size, false)
		for {
			h, pos, err := sc.next()
			if errors.Is(err, io.EOF) {
				break // offset is in a gap the cleaner left after the data
			}
			if err != nil {
				return fmt.Errorf("find truncation point in segment %d: %w", s.base, err)
			}
			if h.NextOffset() > offset {
				cut, cutBase = pos, h.BaseOffset
				break
			}
		}
	}
	if err := s.log.Truncate(cut); err != nil {
		return err
	}
	if err := s.log.Sync(); err != nil {
		return err
	}
	if err := s.openIndexFiles(l.fs, false); err != nil {
		return err
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	s.offsets = slices.DeleteFunc(s.offsets, func(e offsetEntry) bool { return int64(e.pos) >= cut })
	s.times = slices.DeleteFunc(s.times, func(e timeEntry) bool { return s.base+int64(e.rel) >= cutBase })
	s.flushedOffsets = min(s.flushedOffsets, len(s.offsets))
	s.flushedTimes = min(s.flushedTimes, len(s.times))
	if err := s.indexFile.Truncate(int64(s.flushedOffsets * offsetEntrySize)); err != nil {
		return err
	}
	if err := s.timeIndexFile.Truncate(int64(s.flushedTimes * timeEntrySize)); err != nil {
		return err
	}
	if _, badErr, err := s.rescanFrom(cut, l.opts.IndexIntervalBytes, false); err != nil || badErr != nil {
		return errors.Join(err, badErr)
	}
	// The offsets of batches the cleaner removed below the cut stay taken.
	s.next = max(s.next, min(end, cutBase))
	if cut == 0 {
		s.createdMs = l.now().UnixMilli()
	}
	s.size.Store(cut)
	s.writebackPos = min(s.writebackPos, cut)
	l.opts.PageCache.forgetFrom(s, cut)
	l.endOffset.Store(s.next)
	l.syncedOffset.Store(min(l.syncedOffset.Load(), s.next))
	l.cleanedTo.Store(min(l.cleanedTo.Load(), s.next))
	return nil
}

// resetLocked deletes every segment and restarts the log, empty, at offset.
// All locks but mu must be held (or the log not yet shared).
func (l *Log) resetLocked(offset int64) error {
	for _, s := range l.segments {
		if err := s.remove(l.fs); err != nil {
			l.failed = fmt.Errorf("storage failed: reset: %w", err)
			return l.failed
		}
	}
	s, err := l.createSegment(offset)
	if err == nil {
		err = l.syncDirIfDirtyLocked()
	}
	if err == nil {
		err = l.writeCheckpoint(checkpointName, offset)
	}
	l.mu.Lock()
	l.segments = nil
	if s != nil {
		l.segments = []*segment{s}
	}
	l.startOffset.Store(offset)
	l.endOffset.Store(offset)
	l.syncedOffset.Store(offset)
	l.cleanedTo.Store(min(l.cleanedTo.Load(), offset))
	l.mu.Unlock()
	l.rolled = nil
	if err != nil {
		l.failed = fmt.Errorf("storage failed: reset: %w", err)
		return l.failed
	}
	l.logger.Warn("log emptied and restarted", "offset", offset)
	return nil
}
