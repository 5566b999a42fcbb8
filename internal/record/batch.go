package record

import (
	"encoding/binary"
	"fmt"
	"hash/crc32"
)

// castagnoli is the CRC-32C table; it is never written after creation.
var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// Checksum computes the CRC-32C of a batch as stored in its crc field: over
// the bytes from the attributes to the end. b must hold at least HeaderSize bytes.
func Checksum(b []byte) uint32 { return crc32.Checksum(b[offAttributes:], castagnoli) }

// Validate checks one complete batch as a broker receives it: b is exactly
// one batch, magic 2, a known codec, a matching CRC, non-negative counts and
// a lastOffsetDelta that can hold the records. It returns the parsed header.
// Errors wrap ErrCorrupt or ErrUnsupportedMagic; impossible counts in a
// batch whose CRC matches also wrap ErrBadExtent.
//
// recordCount == lastOffsetDelta+1 is not required, because compaction can
// leave gaps inside a batch; only lastOffsetDelta >= recordCount-1 is.
func Validate(b []byte) (Header, error) {
	if len(b) > offMagic && int8(b[offMagic]) != Magic {
		return Header{}, fmt.Errorf("%w: magic %d", ErrUnsupportedMagic, int8(b[offMagic]))
	}
	h, err := ParseHeader(b)
	if err != nil {
		return Header{}, err
	}
	switch {
	case h.BatchLength < HeaderSize-lengthFieldsSize:
		return h, fmt.Errorf("%w: batch length %d below the header size", ErrCorrupt, h.BatchLength)
	case len(b) != h.Size():
		return h, fmt.Errorf("%w: batch length says %d bytes, have %d", ErrCorrupt, h.Size(), len(b))
	case h.Compression() > Zstd:
		return h, fmt.Errorf("%w: unknown compression codec %d", ErrCorrupt, h.Compression())
	}
	if sum := Checksum(b); sum != h.CRC {
		return h, fmt.Errorf("%w: crc %08x, computed %08x", ErrCorrupt, h.CRC, sum)
	}
	switch {
	case h.NumRecords < 0:
		return h, fmt.Errorf("%w: %w: negative record count %d", ErrCorrupt, ErrBadExtent, h.NumRecords)
	case h.LastOffsetDelta < 0:
		return h, fmt.Errorf("%w: %w: negative last offset delta %d", ErrCorrupt, ErrBadExtent, h.LastOffsetDelta)
	case h.NumRecords > 0 && h.LastOffsetDelta < h.NumRecords-1:
		return h, fmt.Errorf("%w: %w: last offset delta %d cannot hold %d records", ErrCorrupt, ErrBadExtent, h.LastOffsetDelta, h.NumRecords)
	}
	return h, nil
}

// Split cuts concatenated batches (such as a produce request's records field)
// into one slice per batch, without copying. It reads only the length field
// of each batch, so it also splits magic 0/1 message sets (Validate then
// rejects them). On error it returns the complete batches before the bad one;
// on success the slices tile b exactly. A truncated trailing batch is an error.
func Split(b []byte) ([][]byte, error) {
	var batches [][]byte
	for pos := 0; pos < len(b); {
		rest := b[pos:]
		if len(rest) < lengthFieldsSize {
			return batches, fmt.Errorf("%w: %d trailing bytes at position %d, too short for a batch", ErrCorrupt, len(rest), pos)
		}
		length := int32(binary.BigEndian.Uint32(rest[offBatchLength:]))
		if length < 0 {
			return batches, fmt.Errorf("%w: negative batch length %d at position %d", ErrCorrupt, length, pos)
		}
		size := lengthFieldsSize + int(length)
		if size > len(rest) {
			return batches, fmt.Errorf("%w: truncated batch at position %d: needs %d bytes, have %d", ErrCorrupt, pos, size, len(rest))
		}
		batches = append(batches, rest[:size:size])
		pos += size
	}
	return batches, nil
}

// SetBaseOffset rewrites the base offset of the batch at the start of b in
// place. The field is outside the CRC, so the CRC stays valid.
func SetBaseOffset(b []byte, off int64) {
	binary.BigEndian.PutUint64(b[offBaseOffset:], uint64(off))
}

// SetLeaderEpoch rewrites the partition leader epoch of the batch at the
// start of b in place. The field is outside the CRC.
func SetLeaderEpoch(b []byte, epoch int32) {
	binary.BigEndian.PutUint32(b[offLeaderEpoch:], uint32(epoch))
}

// SetLogAppendTime marks the batch as using LogAppendTime with ts as its
// max timestamp, and recomputes the CRC. b must be one whole batch.
func SetLogAppendTime(b []byte, ts int64) {
	attrs := binary.BigEndian.Uint16(b[offAttributes:])
	binary.BigEndian.PutUint16(b[offAttributes:], attrs|attrLogAppendTime)
	binary.BigEndian.PutUint64(b[offMaxTimestamp:], uint64(ts))
	binary.BigEndian.PutUint32(b[offCRC:], Checksum(b))
}
