// Package partition gives Kafka semantics to one partition log: validating
// and appending producer batches (offset assignment, idempotent producer
// checks), the high watermark, reads bounded by it, and waking long-polling
// readers on append.
//
// Handlers reach partitions only through this package's methods, so a
// Raft-replicated partition can later implement the same surface.
package partition

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/samsa-broker/samsa/internal/producerstate"
	"github.com/samsa-broker/samsa/internal/record"
	"github.com/samsa-broker/samsa/internal/storage"
	"github.com/samsa-broker/samsa/internal/storage/vfs"
)

// Errors returned by Append and Read. Handlers map them to Kafka codes.
var (
	ErrCorruptBatch       = errors.New("corrupt record batch")
	ErrUnsupportedFormat  = errors.New("unsupported message format")
	ErrBatchTooLarge      = errors.New("record batch larger than max.message.bytes")
	ErrInvalidRecord      = errors.New("invalid record")
	ErrOutOfOrderSequence = producerstate.ErrOutOfOrderSequence
	ErrInvalidEpoch       = producerstate.ErrInvalidEpoch
	ErrOffsetOutOfRange   = storage.ErrOffsetOutOfRange
	ErrClosed             = errors.New("partition is closed")
	ErrStorage            = errors.New("storage error")
)

// AbortedTxn is one aborted transaction's offset range, as read_committed
// fetches report it.
type AbortedTxn = producerstate.AbortedTxn

// FsyncPolicy says when appended data is made durable.
type FsyncPolicy int

const (
	// FsyncNever leaves flushing to the operating system (and segment rolls).
	FsyncNever FsyncPolicy = iota
	// FsyncInterval flushes on a timer run by the owner of the partitions.
	FsyncInterval
	// FsyncAlways makes every append durable before it becomes visible and is
	// acknowledged; concurrent appends share one fsync (group commit).
	FsyncAlways
)

// ParseFsyncPolicy parses never|interval|always.
func ParseFsyncPolicy(s string) (FsyncPolicy, error) {
	switch s {
	case "never":
		return FsyncNever, nil
	case "interval", "":
		return FsyncInterval, nil
	case "always":
		return FsyncAlways, nil
	}
	return 0, fmt.Errorf("fsync policy %q: want never, interval or always", s)
}

// Config is the per-partition configuration derived from topic configs.
type Config struct {
	Storage         storage.Options
	MaxMessageBytes int  // max.message.bytes: largest batch accepted
	LogAppendTime   bool // message.timestamp.type=LogAppendTime
	Fsync           FsyncPolicy
	Compaction      Compaction
}

// Compaction is the log cleaner's settings for a cleanup.policy=compact
// topic.
type Compaction struct {
	Enabled           bool          // cleanup.policy includes compact: keyless records are refused
	Clean             bool          // ... and log.cleaner.enable: the cleaner runs
	MinCleanableRatio float64       // min.cleanable.dirty.ratio
	DeleteRetention   time.Duration // delete.retention.ms: how long tombstones stay
	MinLag            time.Duration // min.compaction.lag.ms: younger records are not cleaned
}

// Partition is one partition of a topic hosted by this broker.
type Partition struct {
	Topic string
	Index int32
	// Internal marks the broker's own topics (__consumer_offsets): clients
	// may read them but only the broker appends.
	Internal bool

	logger *slog.Logger
	fs     vfs.FS
	log    *storage.Log

	// appendMu serializes appends: producer-state checks, offset assignment
	// and the write happen atomically with respect to other appends.
	appendMu  sync.Mutex
	producers *producerstate.State // guarded by appendMu
	// appendedTotal counts the bytes appended since the partition opened;
	// guarded by appendMu. With the end offset it is read with, it lets
	// whoever advances the high watermark tell waiters how many bytes
	// became readable, including other appenders' (see visibleTotal).
	appendedTotal int64
	cfg           atomic.Pointer[Config]

	epoch         atomic.Int32
	highWatermark atomic.Int64
	// firstUnstable is the first offset of the oldest open transaction, or
	// -1; written under appendMu, read without it.
	firstUnstable atomic.Int64
	// aborted is a copy of the producer state's aborted transactions,
	// replaced (never changed) under appendMu, so fetches read it without
	// the lock.
	aborted atomic.Pointer[[]AbortedTxn]
	// hwmMu orders high watermark advances with waiter registration.
	hwmMu   sync.Mutex
	waiters map[*Waiter]struct{} // guarded by hwmMu
	// visibleTotal is appendedTotal at the high watermark; guarded by hwmMu.
	visibleTotal int64

	closed atomic.Bool
}

// Open opens (and recovers) the partition's log in dir.
func Open(fs vfs.FS, dir, topic string, index int32, cfg Config, logger *slog.Logger) (*Partition, error) {
	logger = logger.With("topic", topic, "partition", index)
	opts := cfg.Storage
	opts.FS = fs
	opts.Logger = logger
	l, err := storage.Open(dir, opts)
	if err != nil {
		return nil, fmt.Errorf("open log %s: %w", dir, err)
	}
	p := &Partition{
		Topic: topic, Index: index, logger: logger, fs: fs, log: l,
		waiters: make(map[*Waiter]struct{}),
	}
	p.cfg.Store(&cfg)
	if e := l.LatestEpoch(); e > 0 {
		p.epoch.Store(e)
	}
	if err := p.recoverProducers(); err != nil {
		l.Close()
		return nil, err
	}
	p.highWatermark.Store(l.EndOffset())
	return p, nil
}

// SetConfig replaces the partition's configuration (AlterConfigs).
func (p *Partition) SetConfig(cfg Config) {
	p.cfg.Store(&cfg)
	opts := cfg.Storage
	opts.FS = p.fs
	opts.Logger = p.logger
	p.log.SetOptions(opts)
}

// LeaderEpoch returns the partition's current leader epoch.
func (p *Partition) LeaderEpoch() int32 { return p.epoch.Load() }

// HighWatermark returns the offset after the last record visible to consumers.
func (p *Partition) HighWatermark() int64 { return p.highWatermark.Load() }

// LastStableOffset returns the offset below which no transaction is open.
func (p *Partition) LastStableOffset() int64 { return p.lastStable(p.HighWatermark()) }

// Offsets returns the high watermark, last stable offset and log start
// offset as one consistent view (the last stable offset never exceeds the
// high watermark returned with it).
func (p *Partition) Offsets() (highWatermark, lastStable, logStart int64) {
	hwm := p.HighWatermark()
	return hwm, p.lastStable(hwm), p.log.StartOffset()
}

// lastStable is LastStableOffset for a high watermark already read, so one
// response never carries a last stable offset above its high watermark.
func (p *Partition) lastStable(hwm int64) int64 {
	if first := p.firstUnstable.Load(); first >= 0 && first < hwm {
		return first
	}
	return hwm
}

// LogStartOffset returns the first retained offset.
func (p *Partition) LogStartOffset() int64 { return p.log.StartOffset() }

// LogEndOffset returns the next offset to be assigned.
func (p *Partition) LogEndOffset() int64 { return p.log.EndOffset() }

// Size returns the bytes stored for the partition.
func (p *Partition) Size() int64 { return p.log.Size() }

// AppendResult describes a successful append.
type AppendResult struct {
	BaseOffset     int64
	LastOffset     int64
	LogAppendTime  int64 // -1 unless the topic uses LogAppendTime
	LogStartOffset int64
	Duplicate      bool // the batch was a retry of one already stored
}

// Append validates and appends the batches of one produce request (usually
// exactly one batch). On success the data is in the log but may not yet be
// visible: call WaitVisible before acknowledging with acks=all.
func (p *Partition) Append(records []byte) (AppendResult, error) {
	return p.AppendCollecting(records, nil)
}

// AppendCollecting is Append, except that the waiters it concerns are added
// to notes instead of being notified before it returns (when notes is not
// nil); the caller flushes notes once all its appends are done, so that a
// waiting fetch sees every partition of a produce request at once.
func (p *Partition) AppendCollecting(records []byte, notes *Notifications) (AppendResult, error) {
	if p.closed.Load() {
		return AppendResult{}, ErrClosed
	}
	cfg := p.cfg.Load()
	batches, err := record.Split(records)
	if err != nil {
		return AppendResult{}, fmt.Errorf("%w: %v", ErrCorruptBatch, err)
	}
	if len(batches) == 0 {
		return AppendResult{}, fmt.Errorf("%w: no record batch", ErrCorruptBatch)
	}
	if len(batches) > 1 {
		// As Kafka: one v2 batch per partition per request, so an append
		// is all or nothing.
		return AppendResult{}, fmt.Errorf("%w: %d record batches for one partition; one is allowed", ErrInvalidRecord, len(batches))
	}
	headers := make([]record.Header, len(batches))
	for i, b := range batches {
		if len(b) > cfg.MaxMessageBytes {
			return AppendResult{}, fmt.Errorf("%w: %d > %d bytes", ErrBatchTooLarge, len(b), cfg.MaxMessageBytes)
		}
		h, err := record.Validate(b)
		switch {
		case errors.Is(err, record.ErrUnsupportedMagic):
			return AppendResult{}, fmt.Errorf("%w: %v", ErrUnsupportedFormat, err)
		case errors.Is(err, record.ErrBadExtent):
			return AppendResult{}, fmt.Errorf("%w: %v", ErrInvalidRecord, err)
		case err != nil:
			return AppendResult{}, fmt.Errorf("%w: %v", ErrCorruptBatch, err)
		}
		if err := checkClientBatch(h); err != nil {
			return AppendResult{}, err
		}
		if cfg.Compaction.Enabled {
			if err := checkKeys(b); err != nil {
				return AppendResult{}, err
			}
		}
		headers[i] = h
	}
	res, appended, end, total, err := p.appendLocked(batches, headers, cfg)
	if err != nil {
		return AppendResult{}, err
	}
	if appended > 0 && cfg.Fsync != FsyncAlways {
		// Outside appendMu: waiters may complete fetches right here.
		p.advanceHighWatermark(end, total, notes)
	}
	return res, nil
}

// checkClientBatch applies the checks Kafka's LogValidator makes of a batch
// a client produced (INVALID_RECORD), beyond those every stored batch
// passes: at least one record and exactly one offset per record (only the
// cleaner leaves gaps), no control batch, a sequence for a producer id and
// a producer id for a transaction.
func checkClientBatch(h record.Header) error {
	switch {
	case h.NumRecords <= 0:
		return fmt.Errorf("%w: record count %d", ErrInvalidRecord, h.NumRecords)
	case h.LastOffsetDelta != h.NumRecords-1:
		return fmt.Errorf("%w: last offset delta %d does not match %d records", ErrInvalidRecord, h.LastOffsetDelta, h.NumRecords)
	case h.IsControl():
		return fmt.Errorf("%w: producers may not write control batches", ErrInvalidRecord)
	case h.ProducerID >= 0 && h.BaseSequence < 0:
		return fmt.Errorf("%w: producer %d with sequence %d", ErrInvalidRecord, h.ProducerID, h.BaseSequence)
	case h.IsTransactional() && h.ProducerID < 0:
		return fmt.Errorf("%w: transactional batch without a producer id", ErrInvalidRecord)
	}
	return nil
}

// RecordErrors is an ErrInvalidRecord naming the records of a batch that
// were refused, by their position in it (Kafka's record errors, KIP-467:
// the client fails those records with INVALID_RECORD and the rest of the
// batch with a retriable error of its own).
type RecordErrors struct {
	Records []int32 // positions in the batch, from 0
	Reason  string  // why each was refused
}

func (e *RecordErrors) Error() string {
	return fmt.Sprintf("%v: %d record(s) refused, the first at position %d: %s", ErrInvalidRecord, len(e.Records), e.Records[0], e.Reason)
}

func (e *RecordErrors) Unwrap() error { return ErrInvalidRecord }

// checkKeys refuses a batch with records without a key, which a compacted
// topic cannot hold (Kafka's INVALID_RECORD, naming each such record). It
// is the one place the produce path decodes records, and only for
// compacted topics.
func checkKeys(batch []byte) error {
	var keyless []int32
	position := int32(0)
	err := record.EachRecord(batch, func(r record.RecordView) {
		if r.Key == nil {
			keyless = append(keyless, position)
		}
		position++
	})
	if err != nil {
		return fmt.Errorf("%w: %v", ErrCorruptBatch, err)
	}
	if len(keyless) > 0 {
		return &RecordErrors{Records: keyless, Reason: "compacted topic cannot accept message without key"}
	}
	return nil
}

// Compact runs the log cleaner over the partition when it is compacted and
// enough of it is dirty (min.cleanable.dirty.ratio): records superseded by a
// later record of their key, and tombstones older than delete.retention.ms,
// are removed from the closed segments below the last stable offset and
// min.compaction.lag.ms. The data of aborted transactions stays (read_committed
// consumers and the coordinators' replay skip it) and supersedes nothing.
// The internal topics are cleaned too: their coordinators replay them key by
// key, the latest record winning, as Kafka's do.
func (p *Partition) Compact(now time.Time) (storage.CompactStats, error) {
	c := p.cfg.Load().Compaction
	if !c.Enabled || !c.Clean || p.closed.Load() {
		return storage.CompactStats{}, nil
	}
	upTo := p.LastStableOffset()
	if c.MinLag > 0 {
		off, _, found, err := p.log.OffsetForTimestamp(now.Add(-c.MinLag).UnixMilli())
		if err != nil {
			return storage.CompactStats{}, err
		}
		if found {
			upTo = min(upTo, off)
		}
	}
	dirty, total := p.log.CleanableBytes(upTo)
	if dirty == 0 || float64(dirty) < c.MinCleanableRatio*float64(total) {
		return storage.CompactStats{}, nil
	}
	p.appendMu.Lock()
	aborted := p.producers.Aborted()
	p.appendMu.Unlock()
	stats, err := p.log.Compact(storage.CompactOptions{
		UpTo:             upTo,
		TombstonesBefore: now.Add(-c.DeleteRetention).UnixMilli(),
		Keep:             func(h record.Header) bool { return h.IsTransactional() && inAborted(aborted, h) },
	})
	if errors.Is(err, storage.ErrClosed) || errors.Is(err, storage.ErrOffsetOutOfRange) {
		// Closed, deleted or trimmed by retention meanwhile: nothing to do.
		return stats, nil
	}
	return stats, err
}

// inAborted reports whether h is data of one of the aborted transactions.
func inAborted(aborted []producerstate.AbortedTxn, h record.Header) bool {
	for _, a := range aborted {
		if a.ProducerID == h.ProducerID && a.FirstOffset <= h.BaseOffset && h.BaseOffset <= a.LastOffset {
			return true
		}
	}
	return false
}

// appendLocked appends validated batches under appendMu. It returns the
// bytes it wrote, and the log end offset and appendedTotal after them.
func (p *Partition) appendLocked(batches [][]byte, headers []record.Header, cfg *Config) (res AppendResult, appended int, end, total int64, err error) {
	res = AppendResult{BaseOffset: -1, LogAppendTime: -1}
	p.appendMu.Lock()
	defer p.appendMu.Unlock()
	now := time.Now().UnixMilli()
	for i, b := range batches {
		h := headers[i]
		orig, dup, err := p.producers.Check(h)
		if err != nil {
			return AppendResult{}, 0, 0, 0, err
		}
		if dup {
			if res.BaseOffset < 0 {
				res.BaseOffset = orig.FirstOffset
			}
			res.LastOffset = orig.LastOffset
			res.Duplicate = true
			if cfg.LogAppendTime {
				res.LogAppendTime = orig.MaxTimestamp
			}
			continue
		}
		if cfg.LogAppendTime {
			record.SetLogAppendTime(b, now)
			h.MaxTimestamp = now
			res.LogAppendTime = now
		}
		base, err := p.log.Append(b, p.epoch.Load())
		if err != nil {
			return AppendResult{}, 0, 0, 0, fmt.Errorf("%w: append %s-%d: %v", ErrStorage, p.Topic, p.Index, err)
		}
		p.snapshotIfRolledLocked(base)
		// Only a transactional batch that opens its producer's
		// transaction here moves the first unstable offset (recomputing
		// it scans every producer of the partition). It moves before the
		// high watermark passes the batch, so read_committed never sees
		// the batch as stable.
		opens := h.IsTransactional() && !p.producers.InTransaction(h.ProducerID)
		p.producers.Update(h, base)
		if opens {
			p.firstUnstable.Store(p.producers.FirstUnstableOffset())
		}
		if res.BaseOffset < 0 {
			res.BaseOffset = base
		}
		res.LastOffset = base + int64(h.LastOffsetDelta)
		appended += len(b)
		p.appendedTotal += int64(len(b))
	}
	res.LogStartOffset = p.log.StartOffset()
	return res, appended, p.log.EndOffset(), p.appendedTotal, nil
}

// AppendInternal appends a batch built by the broker itself (internal topics,
// transaction markers): no size limit or producer-sequence checks.
func (p *Partition) AppendInternal(batch []byte) (int64, error) {
	if p.closed.Load() {
		return 0, ErrClosed
	}
	h, err := record.Validate(batch)
	if err != nil {
		return 0, fmt.Errorf("%w: %v", ErrCorruptBatch, err)
	}
	commit := false
	if h.IsControl() {
		if commit, err = record.MarkerType(batch); err != nil {
			return 0, fmt.Errorf("%w: %v", ErrInvalidRecord, err)
		}
	}
	p.appendMu.Lock()
	base, err := p.log.Append(batch, p.epoch.Load())
	if err != nil {
		p.appendMu.Unlock()
		return 0, fmt.Errorf("%w: append %s-%d: %v", ErrStorage, p.Topic, p.Index, err)
	}
	p.snapshotIfRolledLocked(base)
	if h.IsControl() {
		p.producers.UpdateMarker(h, base, commit)
		if !commit {
			p.publishAbortedLocked()
		}
	} else {
		p.producers.Update(h, base)
	}
	p.firstUnstable.Store(p.producers.FirstUnstableOffset())
	p.appendedTotal += int64(len(batch))
	end, total := p.log.EndOffset(), p.appendedTotal
	p.appendMu.Unlock()
	if p.cfg.Load().Fsync != FsyncAlways {
		p.advanceHighWatermark(end, total, nil)
	}
	return base, nil
}

// WriteTxnMarker ends producerID's transaction on this partition with a
// COMMIT or ABORT marker at epoch (the transaction coordinator's current
// epoch for the producer, which fences older instances) and returns the
// marker's offset. Call WaitVisible before reporting it written.
func (p *Partition) WriteTxnMarker(producerID int64, epoch int16, commit bool, coordinatorEpoch int32) (int64, error) {
	return p.AppendInternal(record.BuildControl(producerID, epoch, commit, coordinatorEpoch, time.Now().UnixMilli()))
}

// publishAbortedLocked republishes the aborted transactions for lock-free
// readers. p.appendMu must be held.
func (p *Partition) publishAbortedLocked() {
	list := p.producers.Aborted()
	p.aborted.Store(&list)
}

// AbortedIn returns the aborted transactions overlapping offsets
// [from, to), for a read_committed fetch of that range.
func (p *Partition) AbortedIn(from, to int64) []AbortedTxn {
	list := p.aborted.Load()
	if list == nil {
		return nil
	}
	return producerstate.AbortedIn(*list, from, to)
}

// WaitVisible returns once offsets before end are visible (and, with
// FsyncAlways, durable). It performs the group-committed fsync itself.
func (p *Partition) WaitVisible(ctx context.Context, end int64) error {
	if p.HighWatermark() >= end {
		return nil
	}
	if p.cfg.Load().Fsync == FsyncAlways {
		if err := p.Sync(); err != nil {
			return err
		}
	}
	if p.HighWatermark() < end {
		return fmt.Errorf("%w: offset %d not visible after sync", ErrStorage, end)
	}
	return nil
}

// Sync flushes the log and, under FsyncAlways, advances the high watermark to
// what is now durable.
func (p *Partition) Sync() error {
	if err := p.log.Sync(); err != nil {
		return fmt.Errorf("%w: sync %s-%d: %v", ErrStorage, p.Topic, p.Index, err)
	}
	p.advanceHighWatermark(p.log.SyncedOffset(), unknownBytes, nil)
	return nil
}

// advanceHighWatermark makes offsets before to visible and tells the
// waiters, outside hwmMu, how many more bytes are readable: at once, or
// through notes when it is not nil. total is appendedTotal as of offset to,
// or unknownBytes when the caller cannot tell (a sync). Concurrent
// appenders may advance in any order; the one that gets there first
// reports the bytes of both, so no waiter under-counts.
func (p *Partition) advanceHighWatermark(to, total int64, notes *Notifications) {
	p.hwmMu.Lock()
	if to <= p.highWatermark.Load() {
		p.hwmMu.Unlock()
		return
	}
	p.highWatermark.Store(to)
	readable := unknownBytes
	if total >= 0 {
		readable = int(total - p.visibleTotal)
		p.visibleTotal = total
	}
	if notes != nil {
		for w := range p.waiters {
			notes.add(w, readable)
		}
		p.hwmMu.Unlock()
		return
	}
	waiters := p.waiterList()
	p.hwmMu.Unlock()
	for _, w := range waiters {
		w.notify(readable)
	}
}

// Isolation selects what a read may return.
type Isolation int8

const (
	ReadUncommitted Isolation = 0
	ReadCommitted   Isolation = 1
)

// ReadResult is the outcome of Read.
type ReadResult struct {
	Records          []byte
	HighWatermark    int64
	LastStableOffset int64
	LogStartOffset   int64
	// Aborted lists, for read_committed reads, the aborted transactions
	// overlapping the records returned.
	Aborted []AbortedTxn
}

// Read returns whole batches from offset, at most maxBytes unless the first
// batch alone is larger, never past the high watermark (or the last stable
// offset for read_committed).
func (p *Partition) Read(offset int64, maxBytes int, iso Isolation) (ReadResult, error) {
	return p.ReadInto(nil, offset, maxBytes, iso)
}

// ReadInto is Read using scratch for the data when it is large enough; the
// records may alias scratch.
func (p *Partition) ReadInto(scratch []byte, offset int64, maxBytes int, iso Isolation) (ReadResult, error) {
	if p.closed.Load() {
		return ReadResult{}, ErrClosed
	}
	var res ReadResult
	res.HighWatermark, res.LastStableOffset, res.LogStartOffset = p.Offsets()
	limit := res.HighWatermark
	if iso == ReadCommitted {
		limit = res.LastStableOffset
	}
	if offset > res.HighWatermark {
		// Past the visible end but possibly within the log (unsynced tail):
		// out of range only when beyond the log itself.
		if offset > p.log.EndOffset() {
			return res, ErrOffsetOutOfRange
		}
		return res, nil
	}
	data, err := p.log.ReadInto(scratch, offset, maxBytes, limit)
	if err != nil {
		return res, err
	}
	res.Records = data
	if iso == ReadCommitted && len(data) > 0 {
		// Bounded by the read limit rather than the last batch returned:
		// a superset is harmless, as consumers match aborted ranges to the
		// batches they got.
		res.Aborted = p.AbortedIn(offset, limit)
	}
	return res, nil
}

// OffsetForTimestamp implements ListOffsets by timestamp: the offset and
// timestamp of the first record at or after ts below the high watermark.
func (p *Partition) OffsetForTimestamp(ts int64) (offset, recordTs int64, found bool, err error) {
	offset, recordTs, found, err = p.log.OffsetForTimestamp(ts)
	if err != nil {
		return 0, 0, false, fmt.Errorf("%w: %v", ErrStorage, err)
	}
	if found && offset >= p.HighWatermark() {
		return 0, 0, false, nil
	}
	return offset, recordTs, found, nil
}

// MaxTimestamp returns the largest timestamp and the offset of the first
// record with it (ListOffsets MAX_TIMESTAMP).
func (p *Partition) MaxTimestamp() (ts, offset int64, found bool, err error) {
	ts, offset, found, err = p.log.MaxTimestamp()
	if err != nil {
		return 0, 0, false, fmt.Errorf("%w: %v", ErrStorage, err)
	}
	return ts, offset, found, nil
}

// EndOffsetForEpoch answers OffsetForLeaderEpoch.
func (p *Partition) EndOffsetForEpoch(epoch int32) (int32, int64) {
	e, end := p.log.EndOffsetForEpoch(epoch)
	if hwm := p.HighWatermark(); end > hwm && e == p.LeaderEpoch() {
		end = hwm
	}
	return e, end
}

// DeleteRecordsBefore raises the log start offset (DeleteRecords). offset -1
// means the high watermark.
func (p *Partition) DeleteRecordsBefore(offset int64) (int64, error) {
	hwm := p.HighWatermark()
	switch {
	case offset == -1:
		offset = hwm
	case offset < 0:
		return 0, ErrOffsetOutOfRange
	}
	if offset > hwm {
		return 0, ErrOffsetOutOfRange
	}
	p.appendMu.Lock()
	defer p.appendMu.Unlock()
	if offset <= p.log.StartOffset() {
		return p.log.StartOffset(), nil
	}
	if err := p.log.DeleteRecordsBefore(offset); err != nil {
		return 0, fmt.Errorf("%w: %v", ErrStorage, err)
	}
	p.pruneAbortedLocked()
	return p.log.StartOffset(), nil
}

// ApplyRetention deletes segments beyond the retention limits.
func (p *Partition) ApplyRetention() (int, error) {
	n, err := p.log.ApplyRetention()
	if n > 0 {
		p.appendMu.Lock()
		p.pruneAbortedLocked()
		p.appendMu.Unlock()
	}
	return n, err
}

// pruneAbortedLocked forgets aborted transactions below the log start.
// p.appendMu must be held.
func (p *Partition) pruneAbortedLocked() {
	if p.producers.PruneAborted(p.log.StartOffset()) {
		p.publishAbortedLocked()
	}
}

// Producer returns the idempotent state of a producer id (for tests and
// DescribeProducers).
func (p *Partition) Producer(id int64) (producerstate.Producer, bool) {
	p.appendMu.Lock()
	defer p.appendMu.Unlock()
	return p.producers.Producer(id)
}

// Producers returns the idempotent state of every producer the partition
// remembers (DescribeProducers).
func (p *Partition) Producers() []producerstate.Producer {
	p.appendMu.Lock()
	defer p.appendMu.Unlock()
	return p.producers.All()
}

// ExpireProducers forgets the idempotent state of producers idle for
// maxIdle or longer (producer.id.expiration.ms), returning how many.
func (p *Partition) ExpireProducers(now time.Time, maxIdle time.Duration) int {
	p.appendMu.Lock()
	defer p.appendMu.Unlock()
	return p.producers.ExpireIdle(now.UnixMilli(), maxIdle.Milliseconds())
}

// Close snapshots producer state and closes the log. It is idempotent.
func (p *Partition) Close() error {
	if p.closed.Swap(true) {
		return nil
	}
	p.appendMu.Lock()
	snapErr := p.writeSnapshotLocked(p.log.EndOffset())
	err := p.log.Close()
	p.appendMu.Unlock()
	if err != nil {
		return err
	}
	p.hwmMu.Lock()
	waiters := p.waiterList()
	p.hwmMu.Unlock()
	for _, w := range waiters {
		w.notify(unknownBytes)
	}
	return snapErr
}

// Delete closes the partition and removes its data.
func (p *Partition) Delete() error {
	p.closed.Store(true)
	p.appendMu.Lock()
	defer p.appendMu.Unlock()
	return p.log.Delete()
}

// Dir returns the partition's directory.
func (p *Partition) Dir() string { return p.log.Dir() }

func (p *Partition) snapshotPath(offset int64) string {
	return filepath.Join(p.log.Dir(), fmt.Sprintf("%020d.snapshot", offset))
}
