// Package record holds views over Kafka RecordBatch v2 bytes (magic 2): header
// parsing, whole-batch validation, in-place rewrites of the fields a broker
// stamps, and a small builder for uncompressed batches.
//
// The package never decodes records on the hot path: Validate checks the
// header and the CRC-32C of a batch, and the Set* functions rewrite fields in
// place. Only Records decodes records, for internal topics the broker reads
// itself.
//
// Batch layout (big-endian, offsets in bytes):
//
//	 0                   8           12          16 17          21
//	+-------------------+-----------+-----------+--+-----------+
//	| baseOffset int64  | batchLen  | leader    |m | crc uint32 |
//	|                   | int32     | epoch     |  | (CRC-32C)  |
//	+-------------------+-----------+-----------+--+-----------+
//	21      23                27                  35
//	+-------+-----------------+-------------------+-------------------+
//	| attrs | lastOffsetDelta | baseTimestamp     | maxTimestamp      |
//	| int16 | int32           | int64             | int64             |
//	+-------+-----------------+-------------------+-------------------+
//	43                  51        53            57           61
//	+-------------------+---------+-------------+------------+---------
//	| producerId int64  | p.epoch | baseSequence| recordCount| records…
//	|                   | int16   | int32       | int32      |
//	+-------------------+---------+-------------+------------+---------
//
// batchLen counts the bytes after the batchLen field, so a batch occupies
// 12+batchLen bytes. m is the magic byte (2). The CRC covers bytes [21:end],
// which is why baseOffset and the partition leader epoch can be rewritten
// without recomputing it.
//
// Attributes: bits 0-2 compression codec (0 none, 1 gzip, 2 snappy, 3 lz4,
// 4 zstd), bit 3 timestamp type (1 = LogAppendTime), bit 4 transactional,
// bit 5 control batch.
//
// Each record (inside the possibly compressed records section) is
//
//	length varint | attributes int8 | timestampDelta varlong | offsetDelta varint |
//	keyLen varint | key | valueLen varint | value | headerCount varint | headers…
//
// with zig-zag varints; a length of -1 means null.
package record
