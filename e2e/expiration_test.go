package e2e

import (
	"encoding/binary"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"

	"github.com/samsa-broker/samsa/internal/brokertest"
	"github.com/samsa-broker/samsa/internal/record"
)

// describeProducerIDs returns the producer ids DescribeProducers reports
// for partition 0 of topic.
func describeProducerIDs(t *testing.T, adm *kadm.Client, topic string) []int64 {
	t.Helper()
	ctx := brokertest.Context(t, 10*time.Second)
	res, err := adm.DescribeProducers(ctx, kadm.TopicsSet{topic: {0: {}}})
	if err != nil {
		t.Fatalf("DescribeProducers: %v", err)
	}
	var ids []int64
	for _, p := range res[topic].Partitions[0].ActiveProducers {
		ids = append(ids, p.ProducerID)
	}
	return ids
}

// TestIdleProducerStateExpires: producer.id.expiration.ms forgets an idle
// idempotent producer, and the producer keeps working afterwards: a
// producer without state is accepted at any sequence (Kafka since
// KIP-360), so expiry is never an outage for a long-lived producer.
func TestIdleProducerStateExpires(t *testing.T) {
	b := brokertest.Start(t, map[string]string{
		"producer.id.expiration.ms":                "1000",
		"producer.id.expiration.check.interval.ms": "100",
	})
	createTopic(t, b.Admin(), "expiring", 1, nil)
	rc := dial(t, b.Addr)
	pid := initProducerID(t, rc)
	for seq := int32(0); seq < 2; seq++ {
		if r := produceResult(t, rc.roundTrip(produceRequest("expiring", idempotentBatch(pid, seq, "v")))); r.ErrorCode != 0 {
			t.Fatalf("produce seq %d: %v", seq, kerr.ErrorForCode(r.ErrorCode))
		}
	}
	adm := b.Admin()
	if ids := describeProducerIDs(t, adm, "expiring"); len(ids) != 1 || ids[0] != pid {
		t.Fatalf("active producers %v, want [%d]", ids, pid)
	}
	waitFor(t, 10*time.Second, "the idle producer to expire", func() bool {
		return len(describeProducerIDs(t, adm, "expiring")) == 0
	})
	resumed := produceResult(t, rc.roundTrip(produceRequest("expiring", idempotentBatch(pid, 2, "resumed"))))
	if resumed.ErrorCode != 0 || resumed.BaseOffset != 2 {
		t.Fatalf("expired producer resuming at sequence 2: code %d offset %d", resumed.ErrorCode, resumed.BaseOffset)
	}
	// A producer id this broker never saw, mid-stream, is accepted too,
	// and from then on its sequence is checked.
	stranger := produceResult(t, rc.roundTrip(produceRequest("expiring", idempotentBatch(pid+1000, 999, "late"))))
	if stranger.ErrorCode != 0 {
		t.Fatalf("unknown producer at sequence 999: %v", kerr.ErrorForCode(stranger.ErrorCode))
	}
	gap := produceResult(t, rc.roundTrip(produceRequest("expiring", idempotentBatch(pid+1000, 1005, "gap"))))
	if gap.ErrorCode != kerr.OutOfOrderSequenceNumber.Code {
		t.Fatalf("gap after the unknown producer's batch: %v", kerr.ErrorForCode(gap.ErrorCode))
	}
	if end := endOffset(t, rc, "expiring"); end != 4 {
		t.Fatalf("end offset %d, want 4", end)
	}
}

// TestTransactionalIDExpires: transactional.id.expiration.ms forgets an id
// whose producer went away, durably (a tombstone in __transaction_state),
// and the id can be used again afterwards.
func TestTransactionalIDExpires(t *testing.T) {
	b := brokertest.Start(t, map[string]string{
		"transactional.id.expiration.ms":                             "1000",
		"transaction.remove.expired.transaction.cleanup.interval.ms": "100",
	})
	createTopic(t, b.Admin(), "txn-expiring", 1, nil)
	cl := txnProducer(b, "tx-expiring")
	produceTxn(t, cl, "txn-expiring", true, "one")
	cl.Close()
	ctx := brokertest.Context(t, 30*time.Second)
	adm := b.Admin()
	listed := func() bool {
		txns, err := adm.ListTransactions(ctx, nil, nil)
		if err != nil {
			t.Fatalf("ListTransactions: %v", err)
		}
		_, ok := txns["tx-expiring"]
		return ok
	}
	waitFor(t, 10*time.Second, "the transactional id to expire", func() bool { return !listed() })
	b.Restart()
	adm = b.Admin()
	if listed() {
		t.Fatal("the expired transactional id is back after a restart")
	}
	again := txnProducer(b, "tx-expiring")
	defer again.Close()
	produceTxn(t, again, "txn-expiring", true, "two")
	if got := readAll(t, b, "txn-expiring", true); len(got) != 2 {
		t.Fatalf("read_committed got %v, want [one two]", got)
	}
}

// TestImpossibleBatchesAreInvalidRecords: a batch whose CRC matches but
// whose counts no client may send gets INVALID_RECORD, as from Kafka's
// LogValidator, and the partition's next offset does not move.
func TestImpossibleBatchesAreInvalidRecords(t *testing.T) {
	b := brokertest.Start(t, nil)
	createTopic(t, b.Admin(), "extent", 1, nil)
	rc := dial(t, b.Addr)
	good := func() []byte {
		return record.Build(record.BatchSpec{ProducerID: -1, ProducerEpoch: -1, BaseSequence: -1,
			Timestamp: time.Now().UnixMilli(), Records: []record.RecordSpec{{Value: []byte("a")}}})
	}
	if r := produceResult(t, rc.roundTrip(produceRequest("extent", good()))); r.ErrorCode != 0 || r.BaseOffset != 0 {
		t.Fatalf("first produce: code %d offset %d", r.ErrorCode, r.BaseOffset)
	}
	// The lastOffsetDelta field (byte 23) is inside the CRC, which is
	// recomputed, so only the counts are wrong.
	for _, delta := range []int32{-5, 4} {
		bad := good()
		binary.BigEndian.PutUint32(bad[23:], uint32(delta))
		binary.BigEndian.PutUint32(bad[17:], record.Checksum(bad))
		if r := produceResult(t, rc.roundTrip(produceRequest("extent", bad))); r.ErrorCode != kerr.InvalidRecord.Code {
			t.Fatalf("lastOffsetDelta %d: %v, want INVALID_RECORD", delta, kerr.ErrorForCode(r.ErrorCode))
		}
	}
	if r := produceResult(t, rc.roundTrip(produceRequest("extent", good()))); r.ErrorCode != 0 || r.BaseOffset != 1 {
		t.Fatalf("produce after the refused batches: code %d offset %d, want offset 1", r.ErrorCode, r.BaseOffset)
	}
}
