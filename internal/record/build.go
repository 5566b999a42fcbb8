package record

import (
	"encoding/binary"
	"fmt"

	"github.com/twmb/franz-go/pkg/kmsg"
)

// RecordHeader is one key/value header of a record. It is kmsg.Header, so
// callers that do not speak kmsg can still build records with headers.
type RecordHeader = kmsg.Header

// RecordSpec describes one record for Build.
type RecordSpec struct {
	Key, Value     []byte // nil encodes as null
	Headers        []RecordHeader
	TimestampDelta int64 // milliseconds after BatchSpec.Timestamp
	OffsetDelta    int32 // offset after the batch base; see BatchSpec.Records
}

// BatchSpec describes an uncompressed batch for Build. Fields are written as
// given: a non-idempotent batch needs ProducerID -1, ProducerEpoch -1 and
// BaseSequence -1 (NoSequence).
type BatchSpec struct {
	BaseOffset           int64
	PartitionLeaderEpoch int32
	ProducerID           int64
	ProducerEpoch        int16
	BaseSequence         int32
	Transactional        bool
	Control              bool
	LogAppendTime        bool
	Timestamp            int64 // base timestamp, milliseconds since the epoch
	// Records are written in order. When every OffsetDelta is zero the
	// records get deltas 0, 1, 2, … (the usual producer batch); otherwise the
	// deltas are used as given and lastOffsetDelta is the largest.
	Records []RecordSpec
}

// Build encodes spec as one uncompressed RecordBatch v2 with a valid CRC.
func Build(spec BatchSpec) []byte {
	autoDeltas := true
	for _, r := range spec.Records {
		if r.OffsetDelta != 0 {
			autoDeltas = false
			break
		}
	}
	var lastOffsetDelta int32
	maxTimestamp := spec.Timestamp
	b := make([]byte, HeaderSize, HeaderSize+64*len(spec.Records))
	var scratch []byte
	for i, r := range spec.Records {
		delta := r.OffsetDelta
		if autoDeltas {
			delta = int32(i)
		}
		lastOffsetDelta = max(lastOffsetDelta, delta)
		maxTimestamp = max(maxTimestamp, spec.Timestamp+r.TimestampDelta)
		rec := kmsg.Record{
			TimestampDelta64: r.TimestampDelta,
			TimestampDelta:   int32(r.TimestampDelta),
			OffsetDelta:      delta,
			Key:              r.Key,
			Value:            r.Value,
			Headers:          r.Headers,
		}
		// The record's length prefix counts the bytes after it, so encode the
		// record with a zero length (one varint byte) and then swap the prefix.
		scratch = rec.AppendTo(scratch[:0])
		body := scratch[1:]
		b = binary.AppendVarint(b, int64(len(body)))
		b = append(b, body...)
	}
	var attrs uint16
	if spec.LogAppendTime {
		attrs |= attrLogAppendTime
	}
	if spec.Transactional {
		attrs |= attrTransactional
	}
	if spec.Control {
		attrs |= attrControl
	}
	binary.BigEndian.PutUint64(b[offBaseOffset:], uint64(spec.BaseOffset))
	binary.BigEndian.PutUint32(b[offBatchLength:], uint32(len(b)-lengthFieldsSize))
	binary.BigEndian.PutUint32(b[offLeaderEpoch:], uint32(spec.PartitionLeaderEpoch))
	b[offMagic] = Magic
	binary.BigEndian.PutUint16(b[offAttributes:], attrs)
	binary.BigEndian.PutUint32(b[offLastOffsetDelta:], uint32(lastOffsetDelta))
	binary.BigEndian.PutUint64(b[offBaseTimestamp:], uint64(spec.Timestamp))
	binary.BigEndian.PutUint64(b[offMaxTimestamp:], uint64(maxTimestamp))
	binary.BigEndian.PutUint64(b[offProducerID:], uint64(spec.ProducerID))
	binary.BigEndian.PutUint16(b[offProducerEpoch:], uint16(spec.ProducerEpoch))
	binary.BigEndian.PutUint32(b[offBaseSequence:], uint32(spec.BaseSequence))
	binary.BigEndian.PutUint32(b[offRecordCount:], uint32(len(spec.Records)))
	binary.BigEndian.PutUint32(b[offCRC:], Checksum(b))
	return b
}

// Records decodes the records of one uncompressed batch. Keys, values and
// header values alias batch, so callers that keep them past batch's lifetime
// must copy. Compressed batches are an error: this is for internal topics the
// broker writes itself, never for the produce path.
func Records(batch []byte) ([]kmsg.Record, error) {
	h, err := ParseHeader(batch)
	if err != nil {
		return nil, err
	}
	if h.Magic != Magic {
		return nil, fmt.Errorf("%w: magic %d", ErrUnsupportedMagic, h.Magic)
	}
	if c := h.Compression(); c != None {
		return nil, fmt.Errorf("decode records of a %s-compressed batch: only uncompressed batches are supported", c)
	}
	if h.NumRecords < 0 || h.Size() > len(batch) || h.Size() < HeaderSize {
		return nil, fmt.Errorf("%w: record count %d, batch size %d of %d bytes", ErrCorrupt, h.NumRecords, h.Size(), len(batch))
	}
	body := batch[HeaderSize:h.Size()]
	// Each record takes at least 7 bytes, which bounds the allocation for a
	// lying record count.
	records := make([]kmsg.Record, 0, min(int(h.NumRecords), len(body)/7))
	for i := int32(0); i < h.NumRecords; i++ {
		length, n := binary.Varint(body)
		if n <= 0 || length < 0 || int64(len(body)-n) < length {
			return nil, fmt.Errorf("%w: record %d: bad length prefix", ErrCorrupt, i)
		}
		size := n + int(length)
		var rec kmsg.Record
		if err := rec.ReadFrom(body[:size]); err != nil {
			return nil, fmt.Errorf("%w: record %d: %v", ErrCorrupt, i, err)
		}
		records = append(records, rec)
		body = body[size:]
	}
	if len(body) != 0 {
		return nil, fmt.Errorf("%w: %d bytes after the last record", ErrCorrupt, len(body))
	}
	return records, nil
}
