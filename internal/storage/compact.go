package storage

import (
	"errors"
	"fmt"
	"io"
	"math"
	"path/filepath"
	"slices"

	"github.com/samsa-broker/samsa/internal/record"
)

// cleanedExt names a segment's cleaned copy while the cleaner writes it;
// recovery removes leftovers.
const cleanedExt = logExt + ".cleaned"

// swapExt names the cleaned copy of several segments merged into one, once
// it is whole and synced: from then on it replaces them, and recovery
// completes a merge a crash interrupted (see completeMerge).
const swapExt = logExt + ".swap"

// CompactOptions bound one cleaning pass (see Compact).
type CompactOptions struct {
	// UpTo: only segments that end at or below it are cleaned, and only
	// their records supersede others (the caller passes the last stable
	// offset, so every transaction in range is decided, bounded by
	// min.compaction.lag.ms).
	UpTo int64
	// TombstonesBefore: a tombstone that is its key's latest record is
	// removed when its batch's max timestamp is below it (milliseconds;
	// now - delete.retention.ms).
	TombstonesBefore int64
	// Keep, when set, names batches the cleaner must leave whole and not
	// count as superseding anything: the data of aborted transactions,
	// which read_committed consumers skip.
	Keep func(h record.Header) bool
}

// CompactStats describes one cleaning pass.
type CompactStats struct {
	Segments       int // segments rewritten
	Merged         int // of those, segments folded into the one before them
	RecordsRemoved int
	BytesBefore    int64 // size of the rewritten segments before
	BytesAfter     int64 // and after
}

// CleanableBytes returns the bytes of the closed segments that end at or
// below upTo, and how many of them the last Compact did not cover (written
// since): the cleaner's dirty ratio is dirty/total.
func (l *Log) CleanableBytes(upTo int64) (dirty, total int64) {
	l.mu.RLock()
	defer l.mu.RUnlock()
	cleaned := l.cleanedTo.Load()
	for _, s := range l.segments[:max(len(l.segments)-1, 0)] {
		if s.next > upTo {
			break
		}
		n := s.size.Load()
		total += n
		if s.base >= cleaned {
			dirty += n
		}
	}
	return dirty, total
}

// Compact removes the records a later record of the same key supersedes
// from the closed segments below o.UpTo, as Kafka's log cleaner does for
// cleanup.policy=compact. Offsets never move: a batch keeps its header
// (offsets, producer, sequence range, timestamps), a batch left with no
// records goes, and a segment keeps its base offset and its end whatever
// batches it loses, so the offsets of what went become gaps that reads step
// over. A segment left with nothing is deleted (the first stays, empty).
// Control batches, records without a key and the batches o.Keep names stay.
//
// Consecutive segments of one leader epoch that fit in SegmentBytes
// together are merged into one (at the first one's base), as Kafka's
// cleaner groups them, so a compacted log does not keep one small file per
// segment it ever rolled.
//
// It reads without blocking appends; each rewritten segment is written to a
// .log.cleaned file, synced, and swapped in under the log's locks (its old
// index files removed first, so a crash leaves either file whole and
// recovery rebuilds the indexes). A merge renames the synced file to
// .log.swap before it removes anything: see completeMerge.
func (l *Log) Compact(o CompactOptions) (CompactStats, error) {
	l.compactMu.Lock()
	defer l.compactMu.Unlock()
	var stats CompactStats
	l.mu.RLock()
	var segs []*segment
	for _, s := range l.segments[:max(len(l.segments)-1, 0)] {
		if s.next > o.UpTo {
			break
		}
		segs = append(segs, s)
	}
	groups := mergeGroups(segs, l.opts.SegmentBytes)
	l.mu.RUnlock()
	if len(segs) == 0 {
		return stats, nil
	}

	// Recovery must know which segments the cleaner may have rewritten (see
	// load), so that is durable before the first one is.
	if end := segs[len(segs)-1].next; end > l.cleanerCheckpoint {
		if err := l.writeCheckpoint(cleanerCheckpointName, end); err != nil {
			if l.closed.Load() {
				return stats, ErrClosed
			}
			return stats, fmt.Errorf("compact: %w", err)
		}
		l.cleanerCheckpoint = end
	}

	latest := map[string]keyState{}
	if err := l.eachBatch(segs, func(_ *segment, batch []byte, h record.Header) error {
		if h.IsControl() || o.Keep != nil && o.Keep(h) {
			return nil
		}
		return record.EachRecord(batch, func(r record.RecordView) {
			if r.Key != nil {
				latest[string(r.Key)] = keyState{offset: r.Offset, gone: r.Tombstone && h.MaxTimestamp < o.TombstonesBefore}
			}
		})
	}); err != nil {
		return stats, fmt.Errorf("compact: map keys: %w", err)
	}

	for _, group := range groups {
		n, before, after, err := l.compactGroup(group, latest, o)
		if err != nil {
			return stats, fmt.Errorf("compact segment %d: %w", group[0].base, err)
		}
		if before > 0 {
			stats.Segments += len(group)
			stats.Merged += len(group) - 1
			stats.RecordsRemoved += n
			stats.BytesBefore += before
			stats.BytesAfter += after
		}
	}
	l.cleanedTo.Store(segs[len(segs)-1].next)
	return stats, nil
}

// mergeGroups splits segs, consecutive closed segments, into the runs the
// cleaner writes as one segment each: a run's segments share a leader
// epoch (the epoch history is the list of segments), hold at most maxBytes
// together, and span fewer than 2^31 offsets (index entries are relative
// to the base). Log.mu must be held.
func mergeGroups(segs []*segment, maxBytes int64) [][]*segment {
	var groups [][]*segment
	var size int64
	for _, s := range segs {
		if n := len(groups); n > 0 {
			first := groups[n-1][0]
			if s.epoch == first.epoch && size+s.size.Load() <= maxBytes && s.next-first.base <= math.MaxInt32 {
				groups[n-1] = append(groups[n-1], s)
				size += s.size.Load()
				continue
			}
		}
		groups = append(groups, []*segment{s})
		size = s.size.Load()
	}
	return groups
}

// eachBatch calls fn with every batch of segs, in order, reading through
// the log (so retention may remove a segment meanwhile: reads then fail
// with ErrOffsetOutOfRange, and the pass ends).
func (l *Log) eachBatch(segs []*segment, fn func(s *segment, batch []byte, h record.Header) error) error {
	for _, s := range segs {
		for off := s.base; off < s.next; {
			data, err := l.Read(off, 1<<20, s.next)
			if err != nil {
				return err
			}
			if len(data) == 0 {
				break
			}
			batches, err := record.Split(data)
			if err != nil {
				return err
			}
			for _, b := range batches {
				h, err := record.ParseHeader(b)
				if err != nil {
					return err
				}
				if err := fn(s, b, h); err != nil {
					return err
				}
				off = h.NextOffset()
			}
		}
	}
	return nil
}

// keyState is what the cleaner knows of a key: the offset of its latest
// record, and whether that is a tombstone old enough to be removed (the key
// is then gone from the log).
type keyState struct {
	offset int64
	gone   bool
}

// compactGroup writes the cleaned copy of group (see mergeGroups) and swaps
// it in. It returns the records removed and the sizes before and after, all
// zero when one segment had nothing to remove. A batch that loses every
// record goes whole, wherever it is in the segment, as Kafka's cleaner
// drops it (an empty batch would break some clients: kafka-go's Reader
// panics on one).
func (l *Log) compactGroup(group []*segment, latest map[string]keyState, o CompactOptions) (removed int, before, after int64, err error) {
	tmpName := group[0].path + cleanedExt
	tmp, err := l.fs.Create(tmpName)
	if err != nil {
		return 0, 0, 0, err
	}
	discard := func(err error) (int, int64, int64, error) {
		_ = tmp.Close()
		return 0, 0, 0, errors.Join(err, l.fs.Remove(tmpName))
	}
	err = l.eachBatch(group, func(_ *segment, batch []byte, h record.Header) error {
		before += int64(len(batch))
		kept := batch
		if !h.IsControl() && (o.Keep == nil || !o.Keep(h)) {
			var err error
			kept, err = record.Filter(batch, func(r record.RecordView) bool {
				st := latest[string(r.Key)]
				keep := r.Key == nil || st.offset <= r.Offset && !st.gone
				if !keep {
					removed++
				}
				return keep
			})
			if err != nil {
				return err
			}
		}
		if kept == nil {
			return nil
		}
		after += int64(len(kept))
		_, err := tmp.Write(kept)
		return err
	})
	if err != nil {
		return discard(err)
	}
	if removed == 0 && len(group) == 1 {
		return discard(nil)
	}
	if err := tmp.Sync(); err != nil {
		return discard(err)
	}
	if err := tmp.Close(); err != nil {
		return 0, 0, 0, errors.Join(err, l.fs.Remove(tmpName))
	}
	if err := l.installCleaned(group, tmpName, after == 0); err != nil {
		return 0, 0, 0, err
	}
	return removed, before, after, nil
}

// installCleaned puts the cleaned file at tmpName in place of group under
// the log's locks, unless retention or truncation removed some of the
// group meanwhile (the file is then dropped).
func (l *Log) installCleaned(group []*segment, tmpName string, empty bool) error {
	l.syncMu.Lock()
	defer l.syncMu.Unlock()
	l.writeMu.Lock()
	defer l.writeMu.Unlock()
	if err := l.usableLocked(); err != nil {
		return errors.Join(err, l.fs.Remove(tmpName))
	}
	i := slices.Index(l.segments, group[0])
	if i < 0 || i+len(group) >= len(l.segments) || !slices.Equal(l.segments[i:i+len(group)], group) {
		return l.fs.Remove(tmpName)
	}
	l.ioMu.Lock()
	defer l.ioMu.Unlock()
	if len(group) == 1 {
		return l.swapCleanedLocked(i, tmpName, empty)
	}
	return l.swapMergedLocked(i, len(group), tmpName)
}

// swapMergedLocked replaces segments i..i+n-1 with one segment at the first
// one's base holding their cleaned data from the file at tmpName. The
// rename of that file to .log.swap is the commit point: completeMerge then
// removes the old segments' files and renames it into place, and recovery
// does the same when a crash came in between. All the log's locks but mu
// must be held.
func (l *Log) swapMergedLocked(i, n int, tmpName string) error {
	group := slices.Clone(l.segments[i : i+n])
	first, last := group[0], group[n-1]
	swapName := first.path + swapExt
	if err := l.fs.Rename(tmpName, swapName); err != nil {
		return errors.Join(fmt.Errorf("merge segments from %d: %w", first.base, err), l.fs.Remove(tmpName))
	}
	var err error
	for _, s := range group {
		err = errors.Join(err, s.close())
	}
	if err == nil {
		err = l.fs.SyncDir(l.dir)
	}
	if err == nil {
		err = l.completeMerge(first.base, swapName)
	}
	// On failure recovery completes the merge.
	fresh, err := l.reloadLocked(i, n, err)
	if err != nil {
		return err
	}
	// Segments of the group after the merged data's end (the cleaner
	// emptied them) are not covered by the swap: remove them now.
	if err := l.removeSegmentFiles(func(base int64) bool { return base > first.base && base <= last.base }); err != nil {
		l.failed = fmt.Errorf("merge segments from %d: %w", first.base, err)
		return l.failed
	}
	if fresh.size.Load() == 0 && i > 0 {
		return l.dropCleanedLocked(i, "")
	}
	return nil
}

// completeMerge finishes a merge whose data is in the synced file swapName
// (base's .log.swap): it removes the files of every segment the swap's data
// covers (bases in [base, end of its data)) and the old index files of base,
// renames the swap to base's .log and syncs the directory. Each step can be
// repeated, so recovery calls it for a swap a crash left, whatever step the
// crash interrupted. A segment of the merge that the cleaner emptied lies
// past the swap's data and may stay: it holds only records a later segment
// supersedes, and the next pass removes them again.
func (l *Log) completeMerge(base int64, swapName string) error {
	f, err := l.fs.Open(swapName)
	if err != nil {
		return err
	}
	size, err := f.Size()
	end := base
	if err == nil {
		sc := newScanner(f, 0, size, false)
		for {
			h, _, scanErr := sc.next()
			if scanErr != nil {
				if !errors.Is(scanErr, io.EOF) {
					// Synced before it was committed, so only corruption
					// gets here: what follows is lost, as recovery drops a
					// corrupt segment tail.
					l.logger.Warn("corrupt merged segment", "base_offset", base, "err", scanErr)
				}
				break
			}
			end = max(end, h.NextOffset()) // (max: a corrupt swap may go back)
		}
	}
	err = errors.Join(err, f.Close())
	if err != nil {
		return fmt.Errorf("read %s: %w", swapName, err)
	}
	if err := l.removeSegmentFiles(func(b int64) bool { return b > base && b < end }); err != nil {
		return err
	}
	path := filepath.Join(l.dir, segmentName(base, ""))
	for _, ext := range []string{indexExt, timeIndexExt} {
		if err := l.fs.Remove(path + ext); err != nil && !isNotExist(err) {
			return err
		}
	}
	if err := l.fs.Rename(swapName, path+logExt); err != nil {
		return err
	}
	return l.fs.SyncDir(l.dir)
}

// removeSegmentFiles deletes the .log, .index and .timeindex files of every
// segment in the directory whose base offset matches, log first, and syncs
// the directory when it removed any. It works on names, not on open
// segments: the caller has closed those.
func (l *Log) removeSegmentFiles(match func(base int64) bool) error {
	names, err := l.fs.ReadDir(l.dir)
	if err != nil {
		return err
	}
	removed := false
	for _, ext := range []string{logExt, indexExt, timeIndexExt} {
		for _, name := range names {
			if b, e, ok := parseSegmentName(name); ok && e == ext && match(b) {
				if err := l.fs.Remove(filepath.Join(l.dir, name)); err != nil && !isNotExist(err) {
					return err
				}
				removed = true
			}
		}
	}
	if removed {
		return l.fs.SyncDir(l.dir)
	}
	return nil
}

// swapCleanedLocked replaces segment i's data with the cleaned file at
// tmpName and reloads the segment (its indexes rebuilt from the new data).
// The segment still covers the offsets it did, though its data may now
// start above its base and end below its end. A segment left with no data
// is deleted, unless it is the first, whose base is the log start offset.
// All the log's locks but mu must be held.
func (l *Log) swapCleanedLocked(i int, tmpName string, empty bool) error {
	s := l.segments[i]
	if empty && i > 0 {
		return l.dropCleanedLocked(i, tmpName)
	}
	err := s.close()
	for _, ext := range []string{indexExt, timeIndexExt} {
		if rmErr := l.fs.Remove(s.path + ext); rmErr != nil && !isNotExist(rmErr) {
			err = errors.Join(err, rmErr)
		}
	}
	if err == nil {
		err = l.fs.SyncDir(l.dir)
	}
	if err == nil {
		err = l.fs.Rename(tmpName, s.path+logExt)
	}
	if err == nil {
		err = l.fs.SyncDir(l.dir)
	}
	_, err = l.reloadLocked(i, 1, err)
	return err
}

// reloadLocked ends a swap: given the error of replacing the files of
// segments i..i+n-1 (closed by the caller) with one file at segment i's
// base, it loads that file as a segment covering their offsets and puts it
// in their place. After any error the files are in an unknown state: the
// log stops, as after a failed write, and recovery at the next start sorts
// them out. All the log's locks but mu must be held.
func (l *Log) reloadLocked(i, n int, swapErr error) (*segment, error) {
	old := l.segments[i : i+n]
	first, last := old[0], old[n-1]
	err := swapErr
	var fresh *segment
	if err == nil {
		fresh, err = l.loadSegment(first.base)
	}
	if err == nil {
		if err = fresh.finalize(&l.scratch); err != nil {
			_ = fresh.close()
		}
	}
	if err != nil {
		l.failed = fmt.Errorf("swap cleaned segments from %d: %w", first.base, err)
		return nil, l.failed
	}
	fresh.next = max(fresh.next, last.next)
	if trimErr := fresh.trimZeros(); trimErr != nil {
		l.logger.Warn("trim cleaned segment", "base_offset", first.base, "err", trimErr)
	}
	l.rolled = slices.DeleteFunc(l.rolled, func(r *segment) bool { return slices.Contains(old, r) })
	l.mu.Lock()
	l.segments = slices.Replace(slices.Clone(l.segments), i, i+n, fresh)
	l.mu.Unlock()
	return fresh, nil
}

// dropCleanedLocked deletes segment i, which cleaning left with no data, and
// the cleaned file (if tmpName is not ""). Its offsets become a gap that reads step over. The
// directory is synced before the next segment is cleaned: a tombstone
// removed from a later segment must not outlive, on disk, the records it
// deleted. All the log's locks but mu must be held.
func (l *Log) dropCleanedLocked(i int, tmpName string) error {
	s := l.segments[i]
	l.mu.Lock()
	l.segments = slices.Delete(slices.Clone(l.segments), i, i+1)
	l.mu.Unlock()
	l.rolled = slices.DeleteFunc(l.rolled, func(r *segment) bool { return r == s })
	err := s.remove(l.fs)
	if tmpName != "" {
		err = errors.Join(err, l.fs.Remove(tmpName))
	}
	if err == nil {
		err = l.fs.SyncDir(l.dir)
	}
	if err != nil {
		l.failed = fmt.Errorf("drop cleaned segment %d: %w", s.base, err)
		return l.failed
	}
	return nil
}
