// Package storage is Samsa's durable log: a partition's record batches in
// ordered segment files, with sparse indexes, recovery after a crash, group
// commit, retention and truncation. It speaks offsets and bytes only; Kafka
// semantics (high watermark, producer state, transactions) live above it.
//
// # Directory layout
//
// A log directory holds segments named by their base offset, zero-padded to
// 20 digits, and two checkpoint files. A segment covers the offsets from its
// base to the next segment's base: its first batch starts at the base and
// its last ends at the next base, but where the cleaner removed batches,
// which it may do anywhere, their offsets are gaps that reads step over:
//
//	00000000000000000000.log        batches [0, 1234)
//	00000000000000000000.index
//	00000000000000000000.timeindex
//	00000000000000001234.log        batches [1234, …) — the active segment
//	00000000000000001234.index
//	00000000000000001234.timeindex
//	log-start-offset                written only by DeleteRecordsBefore
//	cleaner-offset                  written only by Compact
//
// While the cleaner (Compact) rewrites a segment, its copy is
// <base>.log.cleaned; it is renamed over <base>.log once synced, after the
// segment's index files were removed. Recovery deletes a leftover copy. A
// segment the cleaner leaves with nothing is deleted, except the first, which
// stays as an empty file: its base is the log start offset. Segments the
// cleaner merges are written to the first one's <base>.log.cleaned, renamed
// to <base>.log.swap once synced (from then on the merge happens: recovery
// completes it), then the old segments' files are removed and the swap is
// renamed over <base>.log.
//
// # .log
//
// The RecordBatch v2 bytes exactly as received (see package record), with
// baseOffset and partitionLeaderEpoch stamped by the log, back to back. All
// batches of a segment carry the same leader epoch: a new epoch rolls a new
// segment, so the epoch history is the list of segments.
//
// # .index (offset index, format version 1, no header)
//
//	+---------------------------+---------------------------+
//	| relative offset uint32 BE | file position uint32 BE   |  × n
//	+---------------------------+---------------------------+
//
// One 8-byte entry per IndexIntervalBytes of appended data: after more than
// IndexIntervalBytes were written since the previous entry, the next batch
// gets an entry (Kafka's rule). relative offset = batch base offset - segment
// base offset; position = the batch's byte position in .log. The first batch
// of a segment never has an entry: position 0 is implied. Entries strictly
// increase in both fields, so the batches between an entry and the next
// indexed batch span at most IndexIntervalBytes.
//
// # .timeindex (time index, format version 1, no header)
//
//	+---------------------------+---------------------------+
//	| timestamp int64 BE                                    |
//	+---------------------------+---------------------------+
//	| relative offset uint32 BE |                             × n
//	+---------------------------+
//
// 12-byte entries (timestamp, relative offset of the LAST offset of the
// batch that first reached that timestamp). At each offset-index point, an
// entry is added when the segment's largest batch maxTimestamp so far grew
// since the previous entry; a final entry is added when the segment is rolled.
// So every batch up to an entry's offset has maxTimestamp <= its timestamp,
// and timestamps strictly increase.
//
// # log-start-offset
//
// Text: the format version "1", a newline, the log start offset in decimal,
// a newline. Written to log-start-offset.tmp, synced, renamed over the old
// file and the directory synced, so it is either the old or the new value.
//
// # cleaner-offset
//
// The same format, holding the end of the segments the cleaner may have
// rewritten; written before the first of them is swapped in. Recovery needs
// it for one case: an empty last segment above the end of the previous
// segment's data. Above the checkpoint, that is a tail a crash lost, and the
// empty segment is dropped so appends continue without a gap; at or below
// it, the cleaner may have removed the tail, whose offsets were handed out
// and must not be reused, so the empty segment stays and appends go on at
// its base. The checkpoint also keeps the cleaner from recleaning, after a
// restart, segments it has already cleaned.
//
// # Durability and recovery
//
// Index files are not checksummed. Entries are written to them only after
// the batches they point at were fsynced (at Sync, roll finalization and
// Close), so after a crash every on-disk entry points into intact data and
// only the bytes after the last entry can be torn. Open therefore validates
// each index (monotonic, in range, last entry pointing at a batch with the
// right offset), rebuilds it from .log when it is missing or inconsistent,
// and CRC-checks every batch after the last index entry. The file is
// truncated at the first torn or corrupt batch (a warning is logged), and
// every segment's .log is fsynced before Open returns, so everything Open
// recovered is durable.
//
// # Concurrency
//
// Locks, always taken in this order:
//
//	syncMu  serializes Sync with the operations that delete or truncate files
//	writeMu serializes the writers: Append, roll, truncation, retention,
//	        the cleaner's segment swap, Close
//	ioMu    readers hold it shared while they read files; it is held
//	        exclusively while files are truncated, closed or removed
//	mu      guards the segment list and what readers look at (index slices,
//	        segment end offsets); held only for short critical sections
//
// A PageCache shared by several logs has its own mutex, a leaf lock taken
// after any of the above (see PageCache).
//
// Append writes the file without mu and publishes the new size and end
// offset under mu afterwards, so reads never see a partial batch and reads
// and appends do not wait for each other's I/O.
package storage
