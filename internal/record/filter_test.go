package record

import (
	"encoding/binary"
	"errors"
	"fmt"
	"testing"
)

// compressed rebuilds an uncompressed batch with its records compressed by c.
func compressed(t *testing.T, batch []byte, c Codec, xerial bool) []byte {
	t.Helper()
	body, err := compress(c, batch[HeaderSize:], xerial)
	if err != nil {
		t.Fatal(err)
	}
	out := append(append([]byte(nil), batch[:HeaderSize]...), body...)
	attrs := binary.BigEndian.Uint16(out[offAttributes:])
	binary.BigEndian.PutUint16(out[offAttributes:], attrs&^attrCompressionMask|uint16(c))
	binary.BigEndian.PutUint32(out[offBatchLength:], uint32(len(out)-lengthFieldsSize))
	binary.BigEndian.PutUint32(out[offCRC:], Checksum(out))
	return out
}

func TestFilterEveryCodec(t *testing.T) {
	var recs []RecordSpec
	for i := 0; i < 10; i++ {
		r := RecordSpec{Key: []byte(fmt.Sprintf("k%d", i%3)), Value: []byte(fmt.Sprintf("value-%d", i)), TimestampDelta: int64(i)}
		if i == 7 {
			r.Value = nil // a tombstone
		}
		recs = append(recs, r)
	}
	plain := Build(BatchSpec{BaseOffset: 100, ProducerID: 7, ProducerEpoch: 1, BaseSequence: 40, Timestamp: 5000, Records: recs})
	for _, tc := range []struct {
		codec  Codec
		xerial bool
	}{{None, false}, {Gzip, false}, {Snappy, false}, {Snappy, true}, {LZ4, false}, {Zstd, false}} {
		t.Run(fmt.Sprintf("%s xerial=%v", tc.codec, tc.xerial), func(t *testing.T) {
			batch := plain
			if tc.codec != None {
				batch = compressed(t, plain, tc.codec, tc.xerial)
			}
			var seen []RecordView
			if err := EachRecord(batch, func(v RecordView) { seen = append(seen, v) }); err != nil {
				t.Fatal(err)
			}
			if len(seen) != 10 || seen[3].Offset != 103 || string(seen[3].Key) != "k0" || !seen[7].Tombstone || seen[9].Timestamp != 5009 {
				t.Fatalf("records: %+v", seen)
			}
			// Keep the last record of each key: offsets 107 (k1, the
			// tombstone), 108 (k2), 109 (k0).
			out, err := Filter(batch, func(v RecordView) bool { return v.Offset >= 107 })
			if err != nil {
				t.Fatal(err)
			}
			h, err := Validate(out)
			if err != nil {
				t.Fatalf("filtered batch: %v", err)
			}
			in, _ := ParseHeader(batch)
			if h.Compression() != tc.codec || h.NumRecords != 3 || h.BaseOffset != 100 || h.LastOffsetDelta != 9 ||
				h.ProducerID != 7 || h.BaseSequence != 40 || h.MaxTimestamp != in.MaxTimestamp {
				t.Fatalf("filtered header: %+v", h)
			}
			if tc.codec == Snappy && tc.xerial != (len(out) > HeaderSize+8 && string(out[HeaderSize:HeaderSize+8]) == string(xerialMagic)) {
				t.Fatal("the snappy framing changed")
			}
			var offsets []int64
			if err := EachRecord(out, func(v RecordView) { offsets = append(offsets, v.Offset) }); err != nil {
				t.Fatal(err)
			}
			if fmt.Sprint(offsets) != "[107 108 109]" {
				t.Fatalf("kept offsets %v", offsets)
			}
			if out, err := Filter(batch, func(RecordView) bool { return true }); err != nil || &out[0] != &batch[0] {
				t.Fatalf("keeping everything should return the batch itself: %v", err)
			}
			if out, err := Filter(batch, func(RecordView) bool { return false }); err != nil || out != nil {
				t.Fatalf("keeping nothing: %d bytes, %v", len(out), err)
			}
		})
	}
}

func TestFilterRejectsGarbage(t *testing.T) {
	plain := Build(BatchSpec{ProducerID: -1, ProducerEpoch: -1, BaseSequence: -1, Records: []RecordSpec{{Key: []byte("k"), Value: []byte("v")}}})
	bad := compressed(t, plain, Gzip, false)
	bad[HeaderSize+12] ^= 0xff // inside the gzip stream
	if err := EachRecord(bad, func(RecordView) {}); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("corrupt gzip: %v", err)
	}
	short := append([]byte(nil), plain...)
	binary.BigEndian.PutUint32(short[offRecordCount:], 5)
	if err := EachRecord(short, func(RecordView) {}); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("record count beyond the records: %v", err)
	}
}
