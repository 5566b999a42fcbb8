package storage

import (
	"log/slog"
	"math"
	"time"

	"github.com/samsa-broker/samsa/internal/storage/vfs"
)

// Defaults applied to zero-valued Options fields; they match Kafka's.
const (
	DefaultSegmentBytes       = 1 << 30
	DefaultSegmentMs          = 7 * 24 * 60 * 60 * 1000
	DefaultIndexIntervalBytes = 4096
	DefaultRetentionMs        = 7 * 24 * 60 * 60 * 1000
)

// Options configure a Log. Zero fields take the defaults above; use -1 for
// "unlimited" retention.
type Options struct {
	FS     vfs.FS           // default vfs.OS()
	Logger *slog.Logger     // default discards
	Now    func() time.Time // default time.Now

	// SegmentBytes rolls a new segment when the active one would exceed it
	// (log.segment.bytes). Capped at MaxInt32 so file positions fit the index.
	SegmentBytes int64
	// SegmentMs rolls a new segment when a batch's timestamp is more than
	// SegmentMs after the active segment's first batch (log.roll.ms; Now is
	// used instead when the first batch has no timestamp).
	SegmentMs int64
	// IndexIntervalBytes is the number of bytes between offset index entries
	// (log.index.interval.bytes).
	IndexIntervalBytes int
	// RetentionBytes is the size beyond which ApplyRetention deletes the
	// oldest segments (retention.bytes); -1 or 0 is unlimited.
	RetentionBytes int64
	// PageCache, when not nil, bounds the page cache of appended data; it
	// is usually shared by every log of a broker. See PageCache.
	PageCache *PageCache
	// NoPreallocate turns off the zeros segment files keep ahead of small
	// appends (see vfs.Preallocator). When every append is fsynced, the
	// zeros reach the disk before the data overwrites them: measured with
	// 64 producers of 10 KiB synced appends, 37 % more device writes.
	NoPreallocate bool
	// RetentionMs is the age (by a segment's largest batch timestamp) beyond
	// which ApplyRetention deletes segments (retention.ms); -1 is unlimited.
	RetentionMs int64
}

func (o Options) withDefaults() Options {
	if o.FS == nil {
		o.FS = vfs.OS()
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.SegmentBytes <= 0 {
		o.SegmentBytes = DefaultSegmentBytes
	}
	o.SegmentBytes = min(o.SegmentBytes, math.MaxInt32)
	if o.SegmentMs <= 0 {
		o.SegmentMs = DefaultSegmentMs
	}
	if o.IndexIntervalBytes <= 0 {
		o.IndexIntervalBytes = DefaultIndexIntervalBytes
	}
	if o.RetentionBytes == 0 {
		o.RetentionBytes = -1
	}
	if o.RetentionMs == 0 {
		o.RetentionMs = DefaultRetentionMs
	}
	return o
}
