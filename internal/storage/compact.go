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
// cleanup.policy=compact. Offsets never move: a segment keeps its base
// offset and its end, because its first and last batches always stay
// (filtered, or reduced to one record when nothing of them would remain), and
// a batch keeps its header (offsets, producer, sequence range, timestamps).
// Control batches, records without a key and the batches o.Keep names stay.
//
// It reads without blocking appends; each rewritten segment is written to a
// .log.cleaned file, synced, and swapped in under the log's locks (its old
// index files removed first, so a crash leaves either file whole and
// recovery rebuilds the indexes).
func (l *Log) Compact(o CompactOptions) (CompactStats, error) {
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

// compactSegment writes s's cleaned copy and swaps it in. It returns the
// records removed and the sizes before and after, all zero when nothing
// was to be removed.
// keyState is what the cleaner knows of a key: the offset of its latest
// record, and whether that is a tombstone old enough to be removed (the key
// is then gone from the log).
type keyState struct {
	offset int64
	gone   bool
}

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
	// A segment's first and last batches always stay, so its base and end
	// offsets do (see keepOne).
	// pending is the batch read last, written once the next one shows it
	// was not the segment's last; pendingWhole is that batch as read when
	// nothing of it is kept.
	var pending, pendingWhole []byte
	var pendingDropped int
	first := true
	flush := func(batch []byte) error {
		if batch == nil {
			return nil
		}
		after += int64(len(batch))
		_, err := tmp.Write(batch)
		return err
	}
	err = l.eachBatch([]*segment{s}, func(_ *segment, batch []byte, h record.Header) error {
		before += int64(len(batch))
		if err := flush(pending); err != nil {
			return err
		}
		removed += pendingDropped
		kept, dropped := batch, 0
		if !h.IsControl() && (o.Keep == nil || !o.Keep(h)) {
			var err error
			kept, err = record.Filter(batch, func(r record.RecordView) bool {
				st := latest[string(r.Key)]
				keep := r.Key == nil || st.offset <= r.Offset && !st.gone
				if !keep {
					dropped++
				}
				return keep
			})
			if err != nil {
				return err
			}
		}
		if kept == nil && first {
			var n int
			if kept, n, err = keepOne(batch, latest); err != nil {
				return err
			}
			dropped -= n
		}
		first = false
		// Each Read returns fresh bytes, so batch and kept stay valid.
		pending, pendingWhole, pendingDropped = kept, nil, dropped
		if kept == nil {
			pendingWhole = batch
		}
		return nil
	})
	if err != nil {
		return discard(err)
	}
	if pending == nil && pendingWhole != nil {
		var n int
		if pending, n, err = keepOne(pendingWhole, latest); err != nil {
			return discard(err)
		}
		pendingDropped -= n
	}
	removed += pendingDropped
	if err := flush(pending); err != nil {
		return discard(err)
	}
	if removed <= 0 {
		return discard(nil)
	}
	if err := tmp.Sync(); err != nil {
		return discard(err)
	}
	if err := tmp.Close(); err != nil {
		return 0, 0, 0, errors.Join(err, l.fs.Remove(tmpName))
	}
	if err := l.swapCleaned(s, tmpName); err != nil {
		return 0, 0, 0, err
	}
	return removed, before, after, nil
}

// keepOne is what stays of a batch that must stay although none of its
// records would: its last record whose key is still in the log (superseded,
// so harmless: the key's latest record follows it), or, when every key of
// the batch is gone, no record at all (record.Emptied, as Kafka's cleaner
// leaves batches; not every client copes with those, so they are the last
// resort). It returns the records kept, 1 or 0: an emptied batch still
// removes records, so its segment must be rewritten (else a record whose
// tombstone is removed in the same pass would come back).
func keepOne(batch []byte, latest map[string]keyState) ([]byte, int, error) {
	pick := int64(-1)
	err := record.EachRecord(batch, func(r record.RecordView) {
		if !latest[string(r.Key)].gone {
			pick = r.Offset
		}
	})
	if err != nil {
		return nil, 0, err
	}
	if pick < 0 {
		return record.Emptied(batch), 0, nil
	}
	kept, err := record.Filter(batch, func(r record.RecordView) bool { return r.Offset == pick })
	return kept, 1, err
}

// swapCleaned replaces s's data with the cleaned file at tmpName and
// reloads the segment (its indexes rebuilt from the new data).
func (l *Log) swapCleaned(s *segment, tmpName string) error {
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
	if trimErr := fresh.trimZeros(); trimErr != nil {
		l.logger.Warn("trim cleaned segment", "base_offset", s.base, "err", trimErr)
	}
	l.mu.Lock()
	l.segments[i] = fresh
	l.mu.Unlock()
	l.rolled = slices.DeleteFunc(l.rolled, func(r *segment) bool { return r == s })
	return nil
}
