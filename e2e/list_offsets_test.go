package e2e

import (
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/samsa-broker/samsa/internal/brokertest"
	"github.com/samsa-broker/samsa/internal/record"
)

// TestListOffsetsByTimestampIsPerRecord: offsetsForTimes answers with the
// first record at or after the timestamp, its own offset and timestamp,
// even inside a batch (a producer's linger puts many timestamps in one),
// compressed or not; MAX_TIMESTAMP names the record with the largest
// timestamp, not its batch (KIP-734, as Kafka 3.8+).
func TestListOffsetsByTimestampIsPerRecord(t *testing.T) {
	b := brokertest.Start(t, nil)
	adm := b.Admin()
	ctx := brokertest.Context(t, 30*time.Second)
	base := time.Now().Add(-time.Hour).UnixMilli()
	for _, topic := range []string{"times-plain", "times-zstd"} {
		createTopic(t, adm, topic, 1, nil)
	}
	// One batch of 50 records 10 ms apart, and a second batch whose
	// record 1 has the largest timestamp of the log.
	zstd := b.Client(kgo.ProducerBatchCompression(kgo.ZstdCompression()), kgo.ProducerLinger(time.Second))
	defer zstd.Close()
	rc := dial(t, b.Addr)
	var recs []record.RecordSpec
	for i := range 50 {
		recs = append(recs, record.RecordSpec{Value: []byte("v"), TimestampDelta: int64(i * 10)})
	}
	second := []record.RecordSpec{{Value: []byte("a"), TimestampDelta: 600}, {Value: []byte("b"), TimestampDelta: 900}, {Value: []byte("c"), TimestampDelta: 700}}
	for _, specs := range [][]record.RecordSpec{recs, second} {
		batch := record.Build(record.BatchSpec{ProducerID: -1, ProducerEpoch: -1, BaseSequence: -1, Timestamp: base, Records: specs})
		if r := produceResult(t, rc.roundTrip(produceRequest("times-plain", batch))); r.ErrorCode != 0 {
			t.Fatalf("produce: code %d", r.ErrorCode)
		}
	}
	// The same records through franz-go, compressed in one batch.
	var batch []*kgo.Record
	for _, specs := range [][]record.RecordSpec{recs, second} {
		for _, r := range specs {
			batch = append(batch, &kgo.Record{Topic: "times-zstd", Value: r.Value, Timestamp: time.UnixMilli(base + r.TimestampDelta)})
		}
	}
	if err := zstd.ProduceSync(ctx, batch...).FirstErr(); err != nil {
		t.Fatal(err)
	}
	for _, topic := range []string{"times-plain", "times-zstd"} {
		for _, tc := range []struct{ at, wantOffset, wantTs int64 }{
			{0, 0, 0}, {255, 26, 260}, {260, 26, 260}, {490, 49, 490},
			{491, 50, 600}, {800, 51, 900}, {901, -1, -1},
		} {
			listed, err := adm.ListOffsetsAfterMilli(ctx, base+tc.at, topic)
			if err != nil {
				t.Fatal(err)
			}
			o, _ := listed.Lookup(topic, 0)
			wantTs := base + tc.wantTs
			if tc.wantOffset < 0 {
				// Past the last timestamp: the end offset, as clients
				// report no match.
				if o.Err != nil || o.Offset != 53 {
					t.Errorf("%s: after %d ms: offset %d err %v, want the end (53)", topic, tc.at, o.Offset, o.Err)
				}
				continue
			}
			if o.Err != nil || o.Offset != tc.wantOffset || o.Timestamp != wantTs {
				t.Errorf("%s: after %d ms: offset %d ts %d err %v, want offset %d ts %d", topic, tc.at, o.Offset, o.Timestamp-base, o.Err, tc.wantOffset, tc.wantTs)
			}
		}
		p := listOffset(rc, 7, topic, -3)
		if p.ErrorCode != 0 || p.Offset != 51 || p.Timestamp != base+900 {
			t.Errorf("%s: MAX_TIMESTAMP: code %d offset %d ts %d, want offset 51 ts 900", topic, p.ErrorCode, p.Offset, p.Timestamp-base)
		}
	}
}

// ListOffsets v9-v10: -5 (latest tiered) is -1 without tiered storage, as
// Kafka answers; the other special timestamps answer as before.
func TestListOffsetsLatestTiered(t *testing.T) {
	b := brokertest.Start(t, nil)
	createTopic(t, b.Admin(), "tiered", 1, nil)
	produceN(t, b.Client(), "tiered", 4)
	rc := dial(t, b.Addr)
	for _, v := range []int16{9, 10} {
		if p := listOffset(rc, v, "tiered", -5); p.ErrorCode != 0 || p.Offset != -1 || p.Timestamp != -1 || p.LeaderEpoch != -1 {
			t.Errorf("v%d latest tiered: %+v, want offset, timestamp and epoch -1", v, p)
		}
		if p := listOffset(rc, v, "tiered", -1); p.ErrorCode != 0 || p.Offset != 4 {
			t.Errorf("v%d latest: %+v, want 4", v, p)
		}
		if p := listOffset(rc, v, "tiered", -4); p.ErrorCode != 0 || p.Offset != 0 {
			t.Errorf("v%d earliest local: %+v, want 0", v, p)
		}
	}
}
