package storage

import (
	"errors"
	"fmt"
	"io"
	"sort"

	"github.com/samsa-broker/samsa/internal/record"
)

// readView is what a reader snapshots under mu: the segments, the range of
// offsets and the index lookahead. While the reader holds ioMu shared, no
// segment in the view is closed or truncated; appends may add bytes past
// end, which readers ignore.
type readView struct {
	segments []*segment
	start    int64
	end      int64
	interval int
}

// view checks that the log is open and snapshots it. ioMu must be held
// shared; mu must be held shared.
func (l *Log) viewLocked() (readView, error) {
	if l.closed.Load() {
		return readView{}, ErrClosed
	}
	if len(l.segments) == 0 {
		return readView{}, errors.New("log has no segments: storage failed")
	}
	return readView{
		segments: l.segments,
		start:    l.startOffset.Load(),
		end:      l.endOffset.Load(),
		interval: l.opts.IndexIntervalBytes,
	}, nil
}

// segmentFor returns the index of the last segment whose base is <= offset
// (0 when offset precedes every segment).
func segmentFor(segs []*segment, offset int64) int {
	i := sort.Search(len(segs), func(i int) bool { return segs[i].base > offset })
	return max(i-1, 0)
}

// Read returns whole batches, starting with the batch that contains offset
// and stopping before any batch whose base offset is >= maxOffset. Batches
// are added while the total stays <= maxBytes, but the first batch is always
// returned whole even when it is larger. It reads each segment it touches
// with one ReadAt in the common case. offset == EndOffset() or offset >=
// maxOffset returns (nil, nil); an offset outside [StartOffset, EndOffset]
// returns ErrOffsetOutOfRange.
func (l *Log) Read(offset int64, maxBytes int, maxOffset int64) ([]byte, error) {
	return l.ReadInto(nil, offset, maxBytes, maxOffset)
}

// ReadInto is Read that reads into scratch when it is large enough, so a
// caller that pools buffers avoids allocating one per read. The result may
// alias scratch.
func (l *Log) ReadInto(scratch []byte, offset int64, maxBytes int, maxOffset int64) ([]byte, error) {
	l.ioMu.RLock()
	defer l.ioMu.RUnlock()
	l.mu.RLock()
	v, err := l.viewLocked()
	if err != nil {
		l.mu.RUnlock()
		return nil, err
	}
	if offset < v.start || offset > v.end {
		l.mu.RUnlock()
		return nil, fmt.Errorf("%w: offset %d, log holds [%d, %d)", ErrOffsetOutOfRange, offset, v.start, v.end)
	}
	limit := min(maxOffset, v.end)
	if offset >= limit {
		l.mu.RUnlock()
		return nil, nil
	}
	first := segmentFor(v.segments, offset)
	pos := v.segments[first].positionFor(offset)
	l.mu.RUnlock()

	r := batchReader{offset: offset, limit: limit, maxBytes: maxBytes, lookahead: v.interval, scratch: scratch}
	for i := first; i < len(v.segments) && !r.done; i++ {
		if err := r.readSegment(v.segments[i], pos); err != nil {
			return nil, err
		}
		pos = 0
	}
	return r.out, nil
}

// batchReader collects the batches of one Read across segments.
type batchReader struct {
	offset    int64 // the first batch returned contains it (or follows it)
	limit     int64 // no batch with a base offset >= limit
	maxBytes  int
	lookahead int // bytes that may precede the first batch after an index position

	out     []byte
	scratch []byte // used for the first chunk read when large enough
	found   bool   // the first batch is in out
	done    bool
}

// readSegment adds the batches of s from position pos on.
func (r *batchReader) readSegment(s *segment, pos int64) error {
	size := s.size.Load()
	if pos >= size {
		return nil
	}
	budget := max(r.maxBytes-len(r.out), 0)
	want := int64(budget)
	if !r.found {
		want += int64(r.lookahead + record.HeaderSize)
	} else if budget < record.HeaderSize {
		r.done = true
		return nil
	}
	n := min(want, size-pos)
	var buf []byte
	if r.out == nil && int64(cap(r.scratch)) >= n {
		buf = r.scratch[:n]
	}
	chunk, err := readChunk(s, pos, n, buf)
	if err != nil {
		return err
	}
	// extend reads more of the segment so chunk holds n bytes.
	extend := func(n int) error {
		more := make([]byte, int64(n)-int64(len(chunk)))
		if err := readFull(s.log, more, pos+int64(len(chunk))); err != nil {
			return err
		}
		chunk = append(chunk, more...)
		return nil
	}
	regionStart := -1 // where this segment's part of the result starts in chunk
	if r.found {
		regionStart = 0
	}
	p := 0
	for {
		if pos+int64(p) >= size {
			break
		}
		if p+record.HeaderSize > len(chunk) {
			if r.found {
				break // the batch cannot fit in the budget
			}
			// The index was sparser than the lookahead: read on.
			if err := extend(int(min(int64(p+r.lookahead+record.HeaderSize+budget), size-pos))); err != nil {
				return err
			}
		}
		h, _ := record.ParseHeader(chunk[p:])
		if h.BatchLength < record.HeaderSize-12 || pos+int64(p+h.Size()) > size {
			return fmt.Errorf("read segment %d: %w: bad batch header at position %d", s.base, record.ErrCorrupt, pos+int64(p))
		}
		if h.BaseOffset >= r.limit {
			r.done = true
			break
		}
		if !r.found {
			if h.NextOffset() <= r.offset {
				p += h.Size()
				continue
			}
			r.found, regionStart = true, p
			if p+h.Size() > len(chunk) {
				if err := extend(p + h.Size()); err != nil {
					return err
				}
			}
			p += h.Size()
			continue
		}
		if len(r.out)+p-regionStart+h.Size() > r.maxBytes || p+h.Size() > len(chunk) {
			r.done = true
			break
		}
		p += h.Size()
	}
	if regionStart >= 0 {
		if r.out == nil {
			r.out = chunk[regionStart:p]
		} else {
			r.out = append(r.out, chunk[regionStart:p]...)
		}
	}
	return nil
}

func readChunk(s *segment, pos, n int64, b []byte) ([]byte, error) {
	if b == nil {
		b = make([]byte, n)
	}
	if err := readFull(s.log, b, pos); err != nil {
		return nil, fmt.Errorf("read segment %d: %w", s.base, err)
	}
	return b, nil
}

// ScanHeaders calls fn with the header of every batch whose last offset is
// >= from, in offset order, until fn returns false. It reads headers only,
// except for control batches, whose whole bytes fn gets as control (valid
// only during the call; nil for other batches). fn runs while the scan holds the log's read lock, so it must not call
// methods that delete or truncate (TruncateTo, DeleteRecordsBefore,
// ApplyRetention, Close, Delete), which wait for the scan, nor other reads
// (Read, ScanHeaders, OffsetForTimestamp), which could wait behind them.
// Append and Sync are fine.
func (l *Log) ScanHeaders(from int64, fn func(h record.Header, control []byte) bool) error {
	l.ioMu.RLock()
	defer l.ioMu.RUnlock()
	l.mu.RLock()
	v, err := l.viewLocked()
	if err != nil {
		l.mu.RUnlock()
		return err
	}
	first := segmentFor(v.segments, from)
	pos := v.segments[first].positionFor(from)
	l.mu.RUnlock()
	for _, s := range v.segments[first:] {
		sc := newScanner(s.log, pos, s.size.Load(), false)
		pos = 0
		for {
			h, at, err := sc.next()
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				return fmt.Errorf("scan segment %d: %w", s.base, err)
			}
			if h.BaseOffset >= v.end {
				return nil
			}
			if h.LastOffset() < from {
				continue
			}
			var control []byte
			if h.IsControl() {
				// Markers are tiny, and what they mean (commit or abort)
				// is in their record, not the header.
				b, err := sc.bytes(at, h.Size())
				if err != nil {
					return fmt.Errorf("scan segment %d: %w", s.base, err)
				}
				control = b
			}
			if !fn(h, control) {
				return nil
			}
		}
	}
	return nil
}

// OffsetForTimestamp finds the first record at or above the log start
// whose timestamp is >= ts (Kafka ListOffsets by timestamp): the time
// index and batch headers find its batch, whose records are then read.
// It returns the record's offset and timestamp, or found=false when no
// record has such a timestamp.
func (l *Log) OffsetForTimestamp(ts int64) (offset int64, recordTs int64, found bool, err error) {
	l.ioMu.RLock()
	defer l.ioMu.RUnlock()
	l.mu.RLock()
	v, err := l.viewLocked()
	if err != nil {
		l.mu.RUnlock()
		return 0, 0, false, err
	}
	type target struct {
		s   *segment
		pos int64
	}
	var targets []target
	for _, s := range v.segments {
		if s.maxTimestamp < ts || s.next <= v.start {
			continue
		}
		// Batches up to an entry below ts all have smaller timestamps.
		from := max(s.base, v.start)
		if e, ok := lastTimeEntryBelow(s.times, ts); ok {
			from = max(from, s.base+int64(e.rel)+1)
		}
		targets = append(targets, target{s, s.positionFor(from)})
	}
	l.mu.RUnlock()
	for _, t := range targets {
		sc := newScanner(t.s.log, t.pos, t.s.size.Load(), false)
		for {
			h, pos, err := sc.next()
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				return 0, 0, false, fmt.Errorf("scan segment %d: %w", t.s.base, err)
			}
			if h.BaseOffset >= v.end {
				return 0, 0, false, nil
			}
			if h.MaxTimestamp < ts || h.LastOffset() < v.start {
				continue
			}
			b, err := sc.bytes(pos, h.Size())
			if err != nil {
				return 0, 0, false, fmt.Errorf("scan segment %d: %w", t.s.base, err)
			}
			off, rts, ok, err := firstRecord(b, h, v.start, func(rts int64) bool { return rts >= ts })
			if err != nil {
				return 0, 0, false, fmt.Errorf("segment %d: batch at %d: %w", t.s.base, h.BaseOffset, err)
			}
			if ok {
				return off, rts, true, nil
			}
		}
	}
	return 0, 0, false, nil
}

// firstRecord returns the offset and timestamp of the first record of
// batch b (header h) at or above offset from whose timestamp satisfies
// match. Records of a LogAppendTime batch all have its max timestamp, as
// Kafka reads them.
func firstRecord(b []byte, h record.Header, from int64, match func(ts int64) bool) (offset, ts int64, ok bool, err error) {
	if h.LogAppendTime() {
		if match(h.MaxTimestamp) {
			return max(h.BaseOffset, from), h.MaxTimestamp, true, nil
		}
		return 0, 0, false, nil
	}
	err = record.EachRecord(b, func(r record.RecordView) {
		if !ok && r.Offset >= from && match(r.Timestamp) {
			offset, ts, ok = r.Offset, r.Timestamp, true
		}
	})
	return offset, ts, ok, err
}

// MaxTimestamp returns the largest timestamp in the log and the offset of
// the first record with it (ListOffsets MAX_TIMESTAMP, KIP-734);
// found=false when the log is empty.
func (l *Log) MaxTimestamp() (ts int64, offset int64, found bool, err error) {
	l.ioMu.RLock()
	defer l.ioMu.RUnlock()
	l.mu.RLock()
	ts = noTimestamp
	var seg *segment
	for _, s := range l.segments {
		if s.size.Load() > 0 && (seg == nil || s.maxTimestamp > ts) {
			ts, offset, seg = s.maxTimestamp, s.maxTsOffset, s
		}
	}
	var pos int64
	if seg != nil {
		pos = seg.positionFor(offset)
	}
	l.mu.RUnlock()
	if seg == nil {
		return 0, 0, false, nil
	}
	// offset is the last offset of the batch that reached ts: find the
	// record inside it.
	sc := newScanner(seg.log, pos, seg.size.Load(), false)
	for {
		h, at, err := sc.next()
		if errors.Is(err, io.EOF) {
			return ts, offset, true, nil
		}
		if err != nil {
			return 0, 0, false, fmt.Errorf("scan segment %d: %w", seg.base, err)
		}
		if h.LastOffset() < offset {
			continue
		}
		b, err := sc.bytes(at, h.Size())
		if err != nil {
			return 0, 0, false, fmt.Errorf("scan segment %d: %w", seg.base, err)
		}
		exact, _, ok, err := firstRecord(b, h, h.BaseOffset, func(rts int64) bool { return rts == h.MaxTimestamp })
		if err != nil {
			return 0, 0, false, fmt.Errorf("segment %d: batch at %d: %w", seg.base, h.BaseOffset, err)
		}
		if ok && h.MaxTimestamp == ts {
			offset = exact
		}
		return ts, offset, true, nil
	}
}

// epochStart is one run of segments with the same leader epoch.
type epochStart struct {
	epoch int32
	start int64
}

// epochsLocked lists the leader epochs of the log in order with the first
// offset of each. Segments without an epoch (negative) are skipped. mu must
// be held.
func (l *Log) epochsLocked() []epochStart {
	var epochs []epochStart
	start := l.startOffset.Load()
	for _, s := range l.segments {
		if s.empty() || s.epoch < 0 || s.next <= start {
			continue
		}
		if n := len(epochs); n == 0 || epochs[n-1].epoch != s.epoch {
			epochs = append(epochs, epochStart{epoch: s.epoch, start: max(s.base, start)})
		}
	}
	return epochs
}

// LatestEpoch is the leader epoch of the last batch, -1 when there is none.
func (l *Log) LatestEpoch() int32 {
	l.mu.RLock()
	defer l.mu.RUnlock()
	epochs := l.epochsLocked()
	if len(epochs) == 0 {
		return noEpoch
	}
	return epochs[len(epochs)-1].epoch
}

// EndOffsetForEpoch answers Kafka's OffsetForLeaderEpoch: the largest epoch
// <= epoch that the log has, and the start offset of the next higher epoch,
// or EndOffset() when there is none. Like Kafka, an epoch below the first
// known one returns (epoch, start of the first epoch), and an empty log
// returns (-1, -1). Epochs are assumed not to decrease along the log.
func (l *Log) EndOffsetForEpoch(epoch int32) (foundEpoch int32, endOffset int64) {
	l.mu.RLock()
	defer l.mu.RUnlock()
	epochs := l.epochsLocked()
	if len(epochs) == 0 {
		return noEpoch, -1
	}
	// The first run with an epoch above the requested one.
	i := sort.Search(len(epochs), func(i int) bool { return epochs[i].epoch > epoch })
	switch {
	case i == len(epochs):
		return epochs[i-1].epoch, l.endOffset.Load()
	case i == 0:
		return epoch, epochs[0].start
	default:
		return epochs[i-1].epoch, epochs[i].start
	}
}
