package storage

import (
	"errors"
	"fmt"
	"slices"

	"github.com/samsa-broker/samsa/internal/record"
)

// cleanedExt names a segment's cleaned copy while the cleaner writes it;
// recovery removes leftovers.
const cleanedExt = logExt + ".cleaned"

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
// It reads without blocking appends; each rewritten segment is written to a
// .log.cleaned file, synced, and swapped in under the log's locks (its old
// index files removed first, so a crash leaves either file whole and
// recovery rebuilds the indexes).
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

	for _, s := range segs {
		n, before, after, err := l.compactSegment(s, latest, o)
		if err != nil {
			return stats, fmt.Errorf("compact segment %d: %w", s.base, err)
		}
		if before > 0 {
			stats.Segments++
			stats.RecordsRemoved += n
			stats.BytesBefore += before
			stats.BytesAfter += after
		}
	}
	l.cleanedTo.Store(segs[len(segs)-1].next)
	return stats, nil
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

// compactSegment writes s's cleaned copy and swaps it in. It returns the
// records removed and the sizes before and after, all zero when nothing
// was to be removed. A batch that loses every record goes whole, wherever
// it is in the segment, as Kafka's cleaner drops it (an empty batch would
// break some clients: kafka-go's Reader panics on one).
func (l *Log) compactSegment(s *segment, latest map[string]keyState, o CompactOptions) (removed int, before, after int64, err error) {
	tmpName := s.path + cleanedExt
	tmp, err := l.fs.Create(tmpName)
	if err != nil {
		return 0, 0, 0, err
	}
	discard := func(err error) (int, int64, int64, error) {
		_ = tmp.Close()
		return 0, 0, 0, errors.Join(err, l.fs.Remove(tmpName))
	}
	err = l.eachBatch([]*segment{s}, func(_ *segment, batch []byte, h record.Header) error {
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
	if removed == 0 {
		return discard(nil)
	}
	if err := tmp.Sync(); err != nil {
		return discard(err)
	}
	if err := tmp.Close(); err != nil {
		return 0, 0, 0, errors.Join(err, l.fs.Remove(tmpName))
	}
	if err := l.swapCleaned(s, tmpName, after == 0); err != nil {
		return 0, 0, 0, err
	}
	return removed, before, after, nil
}

// swapCleaned replaces s's data with the cleaned file at tmpName and
// reloads the segment (its indexes rebuilt from the new data). The segment
// still covers the offsets it did, though its data may now start above its
// base and end below its end. A segment left with no data is deleted,
// unless it is the first, whose base is the log start offset.
func (l *Log) swapCleaned(s *segment, tmpName string, empty bool) error {
	l.syncMu.Lock()
	defer l.syncMu.Unlock()
	l.writeMu.Lock()
	defer l.writeMu.Unlock()
	if err := l.usableLocked(); err != nil {
		return errors.Join(err, l.fs.Remove(tmpName))
	}
	i := slices.Index(l.segments, s)
	if i < 0 || i == len(l.segments)-1 {
		// Retention or truncation removed it meanwhile.
		return l.fs.Remove(tmpName)
	}
	l.ioMu.Lock()
	defer l.ioMu.Unlock()
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
	var fresh *segment
	if err == nil {
		fresh, err = l.loadSegment(s.base)
	}
	if err == nil {
		if err = fresh.finalize(&l.scratch); err != nil {
			_ = fresh.close()
		}
	}
	if err != nil {
		// The segment's files are in an unknown state: stop, as after a
		// failed write; recovery at the next start sorts them out.
		l.failed = fmt.Errorf("swap cleaned segment %d: %w", s.base, err)
		return l.failed
	}
	fresh.next = max(fresh.next, s.next)
	if trimErr := fresh.trimZeros(); trimErr != nil {
		l.logger.Warn("trim cleaned segment", "base_offset", s.base, "err", trimErr)
	}
	l.mu.Lock()
	l.segments[i] = fresh
	l.mu.Unlock()
	l.rolled = slices.DeleteFunc(l.rolled, func(r *segment) bool { return r == s })
	return nil
}

// dropCleanedLocked deletes segment i, which cleaning left with no data, and
// the cleaned file. Its offsets become a gap that reads step over. The
// directory is synced before the next segment is cleaned: a tombstone
// removed from a later segment must not outlive, on disk, the records it
// deleted. All the log's locks but mu must be held.
func (l *Log) dropCleanedLocked(i int, tmpName string) error {
	s := l.segments[i]
	l.mu.Lock()
	l.segments = slices.Delete(slices.Clone(l.segments), i, i+1)
	l.mu.Unlock()
	l.rolled = slices.DeleteFunc(l.rolled, func(r *segment) bool { return r == s })
	err := errors.Join(s.remove(l.fs), l.fs.Remove(tmpName))
	if err == nil {
		err = l.fs.SyncDir(l.dir)
	}
	if err != nil {
		l.failed = fmt.Errorf("drop cleaned segment %d: %w", s.base, err)
		return l.failed
	}
	return nil
}
