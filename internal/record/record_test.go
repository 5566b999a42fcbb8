package record

import (
	"bytes"
	"encoding/binary"
	"errors"
	"math"
	"testing"

	"github.com/twmb/franz-go/pkg/kmsg"
)

func sampleSpec() BatchSpec {
	return BatchSpec{
		BaseOffset:           42,
		PartitionLeaderEpoch: 3,
		ProducerID:           7,
		ProducerEpoch:        1,
		BaseSequence:         100,
		Timestamp:            1_700_000_000_000,
		Records: []RecordSpec{
			{Key: []byte("k0"), Value: []byte("v0")},
			{Key: nil, Value: []byte("v1"), TimestampDelta: 5, Headers: []RecordHeader{{Key: "h", Value: []byte("x")}}},
			{Key: []byte("k2"), Value: nil, TimestampDelta: 3},
		},
	}
}

func TestBuildMatchesKmsgDecoding(t *testing.T) {
	b := Build(sampleSpec())
	var kb kmsg.RecordBatch
	if err := kb.ReadFrom(b); err != nil {
		t.Fatalf("kmsg cannot decode our batch: %v", err)
	}
	h, err := Validate(b)
	if err != nil {
		t.Fatalf("Validate: %v", err)
	}
	checks := []struct {
		name      string
		got, want int64
	}{
		{"base offset", h.BaseOffset, kb.FirstOffset},
		{"length", int64(h.BatchLength), int64(kb.Length)},
		{"epoch", int64(h.PartitionLeaderEpoch), int64(kb.PartitionLeaderEpoch)},
		{"crc", int64(h.CRC), int64(uint32(kb.CRC))},
		{"last offset delta", int64(h.LastOffsetDelta), 2},
		{"max timestamp", h.MaxTimestamp, 1_700_000_000_005},
		{"kmsg max timestamp", h.MaxTimestamp, kb.MaxTimestamp},
		{"producer id", h.ProducerID, 7},
		{"records", int64(h.NumRecords), 3},
		{"last sequence", int64(h.LastSequence()), 102},
		{"size", int64(h.Size()), int64(len(b))},
		{"next offset", h.NextOffset(), 45},
	}
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("%s = %d, want %d", c.name, c.got, c.want)
		}
	}
}

func TestRecordsRoundTrip(t *testing.T) {
	spec := sampleSpec()
	recs, err := Records(Build(spec))
	if err != nil {
		t.Fatalf("Records: %v", err)
	}
	if len(recs) != len(spec.Records) {
		t.Fatalf("got %d records, want %d", len(recs), len(spec.Records))
	}
	for i, r := range recs {
		want := spec.Records[i]
		if !bytes.Equal(r.Key, want.Key) || (r.Key == nil) != (want.Key == nil) {
			t.Errorf("record %d key %q, want %q", i, r.Key, want.Key)
		}
		if !bytes.Equal(r.Value, want.Value) || (r.Value == nil) != (want.Value == nil) {
			t.Errorf("record %d value %q, want %q", i, r.Value, want.Value)
		}
		if r.OffsetDelta != int32(i) || r.TimestampDelta64 != want.TimestampDelta {
			t.Errorf("record %d deltas (%d, %d), want (%d, %d)", i, r.OffsetDelta, r.TimestampDelta64, i, want.TimestampDelta)
		}
		if len(r.Headers) != len(want.Headers) {
			t.Errorf("record %d has %d headers, want %d", i, len(r.Headers), len(want.Headers))
		}
	}
}

func TestRecordsRejects(t *testing.T) {
	compressed := Build(sampleSpec())
	binary.BigEndian.PutUint16(compressed[offAttributes:], uint16(Gzip))
	lyingCount := Build(sampleSpec())
	binary.BigEndian.PutUint32(lyingCount[offRecordCount:], 1)
	tooMany := Build(sampleSpec())
	binary.BigEndian.PutUint32(tooMany[offRecordCount:], math.MaxInt32)
	for _, tc := range []struct {
		name  string
		batch []byte
	}{
		{"compressed", compressed},
		{"trailing records", lyingCount},
		{"huge count", tooMany},
		{"short", compressed[:20]},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := Records(tc.batch); err == nil {
				t.Fatal("want an error")
			}
		})
	}
}

func TestExplicitOffsetDeltas(t *testing.T) {
	b := Build(BatchSpec{Records: []RecordSpec{{OffsetDelta: 0}, {OffsetDelta: 4}}})
	h, err := Validate(b)
	if err != nil {
		t.Fatal(err)
	}
	if h.LastOffsetDelta != 4 || h.NumRecords != 2 {
		t.Fatalf("lastOffsetDelta %d records %d, want 4 and 2", h.LastOffsetDelta, h.NumRecords)
	}
}

func TestValidate(t *testing.T) {
	good := Build(sampleSpec())
	mutate := func(f func(b []byte) []byte) []byte {
		return f(bytes.Clone(good))
	}
	for _, tc := range []struct {
		name  string
		batch []byte
		want  error
	}{
		{"good", good, nil},
		{"empty batch", Build(BatchSpec{}), nil},
		{"short", good[:HeaderSize-1], ErrCorrupt},
		{"magic 1", mutate(func(b []byte) []byte { b[offMagic] = 1; return b }), ErrUnsupportedMagic},
		{"magic 0 short message", append(make([]byte, 16), 0, 0, 0), ErrUnsupportedMagic},
		{"crc flipped payload", mutate(func(b []byte) []byte { b[len(b)-1] ^= 1; return b }), ErrCorrupt},
		{"extra byte", append(bytes.Clone(good), 0), ErrCorrupt},
		{"truncated", good[:len(good)-1], ErrCorrupt},
		{"length below header", mutate(func(b []byte) []byte {
			binary.BigEndian.PutUint32(b[offBatchLength:], 10)
			return b
		}), ErrCorrupt},
		{"negative records", withCRC(mutate(func(b []byte) []byte {
			binary.BigEndian.PutUint32(b[offRecordCount:], math.MaxUint32)
			return b
		})), ErrCorrupt},
		{"negative last offset delta", withCRC(mutate(func(b []byte) []byte {
			binary.BigEndian.PutUint32(b[offLastOffsetDelta:], math.MaxUint32)
			return b
		})), ErrCorrupt},
		{"delta too small for count", withCRC(mutate(func(b []byte) []byte {
			binary.BigEndian.PutUint32(b[offLastOffsetDelta:], 1)
			return b
		})), ErrCorrupt},
		{"larger delta is fine (compacted)", withCRC(mutate(func(b []byte) []byte {
			binary.BigEndian.PutUint32(b[offLastOffsetDelta:], 9)
			return b
		})), nil},
		{"unknown codec", withCRC(mutate(func(b []byte) []byte {
			binary.BigEndian.PutUint16(b[offAttributes:], 6)
			return b
		})), ErrCorrupt},
		{"offset and epoch are outside the crc", mutate(func(b []byte) []byte {
			SetBaseOffset(b, 1<<40)
			SetLeaderEpoch(b, 99)
			return b
		}), nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Validate(tc.batch)
			if tc.want == nil && err != nil {
				t.Fatalf("Validate: %v", err)
			}
			if tc.want != nil && !errors.Is(err, tc.want) {
				t.Fatalf("Validate error %v, want %v", err, tc.want)
			}
		})
	}
}

func withCRC(b []byte) []byte {
	binary.BigEndian.PutUint32(b[offCRC:], Checksum(b))
	return b
}

func TestSetters(t *testing.T) {
	b := Build(sampleSpec())
	SetBaseOffset(b, 1000)
	SetLeaderEpoch(b, 12)
	SetLogAppendTime(b, 1_800_000_000_000)
	h, err := Validate(b)
	if err != nil {
		t.Fatalf("Validate after setters: %v", err)
	}
	if h.BaseOffset != 1000 || h.PartitionLeaderEpoch != 12 || !h.LogAppendTime() || h.MaxTimestamp != 1_800_000_000_000 {
		t.Fatalf("setters not applied: %+v", h)
	}
	if h.BaseTimestamp != sampleSpec().Timestamp {
		t.Fatalf("base timestamp changed to %d", h.BaseTimestamp)
	}
}

func TestAttributes(t *testing.T) {
	h, err := ParseHeader(Build(BatchSpec{Transactional: true, Control: true, Records: []RecordSpec{{}}}))
	if err != nil {
		t.Fatal(err)
	}
	if !h.IsTransactional() || !h.IsControl() || h.LogAppendTime() || h.Compression() != None {
		t.Fatalf("attributes %b decoded wrongly", h.Attributes)
	}
}

func TestLastSequence(t *testing.T) {
	for _, tc := range []struct {
		base, delta, want int32
	}{
		{0, 0, 0},
		{5, 3, 8},
		{NoSequence, 3, NoSequence},
		{math.MaxInt32, 0, math.MaxInt32},
		{math.MaxInt32, 1, 0},
		{math.MaxInt32 - 1, 3, 1},
	} {
		h := Header{BaseSequence: tc.base, LastOffsetDelta: tc.delta}
		if got := h.LastSequence(); got != tc.want {
			t.Errorf("LastSequence(base %d, delta %d) = %d, want %d", tc.base, tc.delta, got, tc.want)
		}
	}
}

func TestCodecString(t *testing.T) {
	for c, want := range map[Codec]string{None: "none", Gzip: "gzip", Snappy: "snappy", LZ4: "lz4", Zstd: "zstd", 7: "codec(7)"} {
		if got := c.String(); got != want {
			t.Errorf("Codec(%d).String() = %q, want %q", c, got, want)
		}
	}
}

func TestSplit(t *testing.T) {
	a, b := Build(sampleSpec()), Build(BatchSpec{Records: []RecordSpec{{Value: []byte("x")}}})
	both := append(bytes.Clone(a), b...)
	for _, tc := range []struct {
		name    string
		in      []byte
		want    int
		wantErr bool
	}{
		{"empty", nil, 0, false},
		{"one", a, 1, false},
		{"two", both, 2, false},
		{"truncated second", both[:len(both)-1], 1, true},
		{"few trailing bytes", append(bytes.Clone(a), 1, 2, 3), 1, true},
		{"negative length", append(make([]byte, 8), 0xff, 0xff, 0xff, 0xff), 0, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Split(tc.in)
			if (err != nil) != tc.wantErr {
				t.Fatalf("Split error %v, want error %v", err, tc.wantErr)
			}
			if err != nil && !errors.Is(err, ErrCorrupt) {
				t.Fatalf("Split error %v does not wrap ErrCorrupt", err)
			}
			if len(got) != tc.want {
				t.Fatalf("Split returned %d batches, want %d", len(got), tc.want)
			}
			for _, batch := range got {
				if _, err := Validate(batch); err != nil {
					t.Fatalf("split batch invalid: %v", err)
				}
			}
		})
	}
}
