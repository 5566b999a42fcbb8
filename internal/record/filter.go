package record

import (
	"bytes"
	"encoding/binary"
	"fmt"

	"github.com/twmb/franz-go/pkg/kmsg"
)

// RecordView is what compaction needs of one record. Key and the slices
// behind it alias the decompressed batch and are valid only during the
// callback.
type RecordView struct {
	Offset    int64
	Key       []byte // nil for a null key
	Tombstone bool   // the value is null
	Timestamp int64
}

// EachRecord calls fn for every record of one batch, decompressing it when
// needed. It returns ErrCorrupt (wrapped) for malformed records.
func EachRecord(batch []byte, fn func(RecordView)) error {
	_, err := walk(batch, func(v RecordView, _ []byte) { fn(v) })
	return err
}

// walk decodes the batch's records and calls fn with each and its bytes
// (length prefix included). It returns the header.
func walk(batch []byte, fn func(v RecordView, raw []byte)) (Header, error) {
	h, err := ParseHeader(batch)
	if err != nil {
		return h, err
	}
	if h.Magic != Magic {
		return h, fmt.Errorf("%w: magic %d", ErrUnsupportedMagic, h.Magic)
	}
	if h.Size() > len(batch) || h.Size() < HeaderSize || h.NumRecords < 0 {
		return h, fmt.Errorf("%w: record count %d, batch size %d of %d bytes", ErrCorrupt, h.NumRecords, h.Size(), len(batch))
	}
	body, err := decompress(h.Compression(), batch[HeaderSize:h.Size()])
	if err != nil {
		return h, fmt.Errorf("%w: decompress %s records: %v", ErrCorrupt, h.Compression(), err)
	}
	for i := int32(0); i < h.NumRecords; i++ {
		length, n := binary.Varint(body)
		if n <= 0 || length < 0 || int64(len(body)-n) < length {
			return h, fmt.Errorf("%w: record %d: bad length prefix", ErrCorrupt, i)
		}
		size := n + int(length)
		var rec kmsg.Record
		if err := rec.ReadFrom(body[:size]); err != nil {
			return h, fmt.Errorf("%w: record %d: %v", ErrCorrupt, i, err)
		}
		fn(RecordView{
			Offset:    h.BaseOffset + int64(rec.OffsetDelta),
			Key:       rec.Key,
			Tombstone: rec.Value == nil,
			Timestamp: h.BaseTimestamp + rec.TimestampDelta64,
		}, body[:size])
		body = body[size:]
	}
	if len(body) != 0 {
		return h, fmt.Errorf("%w: %d bytes after the last record", ErrCorrupt, len(body))
	}
	return h, nil
}

// Filter returns the batch with only the records keep accepts: the batch
// itself when it keeps them all, nil when it keeps none, otherwise a new
// batch with the same header (base offset, last offset delta, timestamps,
// producer fields, attributes: offsets do not move and a producer's
// sequence range stays whole), the kept records and the same compression.
func Filter(batch []byte, keep func(RecordView) bool) ([]byte, error) {
	var kept bytes.Buffer
	dropped := 0
	h, err := walk(batch, func(v RecordView, raw []byte) {
		if keep(v) {
			kept.Write(raw)
		} else {
			dropped++
		}
	})
	if err != nil {
		return nil, err
	}
	switch {
	case dropped == 0:
		return batch[:h.Size()], nil
	case int(h.NumRecords) == dropped:
		return nil, nil
	}
	body, err := compress(h.Compression(), kept.Bytes(), bytes.HasPrefix(batch[HeaderSize:], xerialMagic))
	if err != nil {
		return nil, fmt.Errorf("recompress %s records: %w", h.Compression(), err)
	}
	out := make([]byte, HeaderSize, HeaderSize+len(body))
	copy(out, batch[:HeaderSize])
	out = append(out, body...)
	binary.BigEndian.PutUint32(out[offBatchLength:], uint32(len(out)-lengthFieldsSize))
	binary.BigEndian.PutUint32(out[offRecordCount:], uint32(int(h.NumRecords)-dropped))
	binary.BigEndian.PutUint32(out[offCRC:], Checksum(out))
	return out, nil
}

// Emptied returns a copy of batch's header as a batch of no records, the
// form Kafka's cleaner leaves when it removes every record of a batch it
// must keep: same offsets (base and last offset delta), producer fields and
// timestamps, uncompressed, a valid CRC. Consumers skip it by its offsets.
func Emptied(batch []byte) []byte {
	out := make([]byte, HeaderSize)
	copy(out, batch[:HeaderSize])
	attrs := binary.BigEndian.Uint16(out[offAttributes:])
	binary.BigEndian.PutUint16(out[offAttributes:], attrs&^attrCompressionMask)
	binary.BigEndian.PutUint32(out[offBatchLength:], uint32(HeaderSize-lengthFieldsSize))
	binary.BigEndian.PutUint32(out[offRecordCount:], 0)
	binary.BigEndian.PutUint32(out[offCRC:], Checksum(out))
	return out
}
