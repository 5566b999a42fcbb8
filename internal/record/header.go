package record

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"strconv"
)

// HeaderSize is the size in bytes of a RecordBatch v2 header, up to the first record.
const HeaderSize = 61

// Magic is the only batch format version this package understands.
const Magic = 2

// Field positions within the batch header.
const (
	offBaseOffset      = 0
	offBatchLength     = 8
	offLeaderEpoch     = 12
	offMagic           = 16
	offCRC             = 17
	offAttributes      = 21
	offLastOffsetDelta = 23
	offBaseTimestamp   = 27
	offMaxTimestamp    = 35
	offProducerID      = 43
	offProducerEpoch   = 51
	offBaseSequence    = 53
	offRecordCount     = 57

	// lengthFieldsSize is the number of bytes that batchLength does not count:
	// baseOffset and batchLength itself.
	lengthFieldsSize = 12
)

// Attribute bits.
const (
	attrCompressionMask = 0x07
	attrLogAppendTime   = 0x08
	attrTransactional   = 0x10
	attrControl         = 0x20
)

// ErrCorrupt is returned (wrapped with details) when bytes do not form a
// well-formed RecordBatch v2: too short, inconsistent lengths or counts, or
// a CRC mismatch.
var ErrCorrupt = errors.New("corrupt record batch")

// ErrUnsupportedMagic is returned (wrapped) for a batch whose magic byte is
// not 2, such as the message sets of magic 0 and 1.
var ErrUnsupportedMagic = errors.New("unsupported record batch magic")

// ErrBadExtent is returned (wrapped, with ErrCorrupt) for a batch whose CRC
// matches but whose record count or last offset delta is impossible: the
// client built it wrong (Kafka's INVALID_RECORD) rather than the bytes
// being damaged on the way.
var ErrBadExtent = errors.New("record batch with an impossible offset range")

// Codec is the compression codec in the low three attribute bits.
type Codec int8

// Compression codecs, numbered as on the wire.
const (
	None   Codec = 0
	Gzip   Codec = 1
	Snappy Codec = 2
	LZ4    Codec = 3
	Zstd   Codec = 4
)

// String returns the Kafka name of the codec ("none", "gzip", ...).
func (c Codec) String() string {
	switch c {
	case None:
		return "none"
	case Gzip:
		return "gzip"
	case Snappy:
		return "snappy"
	case LZ4:
		return "lz4"
	case Zstd:
		return "zstd"
	}
	return "codec(" + strconv.Itoa(int(c)) + ")"
}

// Header is the decoded fixed-size header of a RecordBatch v2.
type Header struct {
	BaseOffset           int64
	BatchLength          int32 // bytes after the BatchLength field
	PartitionLeaderEpoch int32
	Magic                int8
	CRC                  uint32
	Attributes           int16
	LastOffsetDelta      int32
	BaseTimestamp        int64
	MaxTimestamp         int64
	ProducerID           int64
	ProducerEpoch        int16
	BaseSequence         int32
	NumRecords           int32
}

// ParseHeader decodes the header at the start of b. It needs at least
// HeaderSize bytes and checks nothing else: not the magic, not the CRC.
func ParseHeader(b []byte) (Header, error) {
	if len(b) < HeaderSize {
		return Header{}, fmt.Errorf("%w: header needs %d bytes, have %d", ErrCorrupt, HeaderSize, len(b))
	}
	b = b[:HeaderSize]
	return Header{
		BaseOffset:           int64(binary.BigEndian.Uint64(b[offBaseOffset:])),
		BatchLength:          int32(binary.BigEndian.Uint32(b[offBatchLength:])),
		PartitionLeaderEpoch: int32(binary.BigEndian.Uint32(b[offLeaderEpoch:])),
		Magic:                int8(b[offMagic]),
		CRC:                  binary.BigEndian.Uint32(b[offCRC:]),
		Attributes:           int16(binary.BigEndian.Uint16(b[offAttributes:])),
		LastOffsetDelta:      int32(binary.BigEndian.Uint32(b[offLastOffsetDelta:])),
		BaseTimestamp:        int64(binary.BigEndian.Uint64(b[offBaseTimestamp:])),
		MaxTimestamp:         int64(binary.BigEndian.Uint64(b[offMaxTimestamp:])),
		ProducerID:           int64(binary.BigEndian.Uint64(b[offProducerID:])),
		ProducerEpoch:        int16(binary.BigEndian.Uint16(b[offProducerEpoch:])),
		BaseSequence:         int32(binary.BigEndian.Uint32(b[offBaseSequence:])),
		NumRecords:           int32(binary.BigEndian.Uint32(b[offRecordCount:])),
	}, nil
}

// Size is the number of bytes the whole batch occupies (12 + BatchLength).
func (h Header) Size() int { return lengthFieldsSize + int(h.BatchLength) }

// LastOffset is the offset of the last record slot of the batch.
func (h Header) LastOffset() int64 { return h.BaseOffset + int64(h.LastOffsetDelta) }

// NextOffset is the offset right after the batch.
func (h Header) NextOffset() int64 { return h.LastOffset() + 1 }

// Compression returns the codec from the attributes.
func (h Header) Compression() Codec { return Codec(h.Attributes & attrCompressionMask) }

// IsTransactional reports whether the batch belongs to a transaction.
func (h Header) IsTransactional() bool { return h.Attributes&attrTransactional != 0 }

// IsControl reports whether the batch holds control records (transaction markers).
func (h Header) IsControl() bool { return h.Attributes&attrControl != 0 }

// LogAppendTime reports whether MaxTimestamp is the broker's append time
// rather than the producer's create time.
func (h Header) LogAppendTime() bool { return h.Attributes&attrLogAppendTime != 0 }

// NoSequence is the base sequence of batches from non-idempotent producers.
const NoSequence = -1

// LastSequence is the sequence number of the batch's last record. Sequences
// wrap from MaxInt32 to 0 as in Kafka; NoSequence stays NoSequence.
func (h Header) LastSequence() int32 {
	if h.BaseSequence == NoSequence {
		return NoSequence
	}
	if h.BaseSequence > math.MaxInt32-h.LastOffsetDelta {
		return h.LastOffsetDelta - (math.MaxInt32 - h.BaseSequence) - 1
	}
	return h.BaseSequence + h.LastOffsetDelta
}
