package e2e

import (
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/samsa-broker/samsa/internal/brokertest"
	"github.com/samsa-broker/samsa/internal/record"
)

// readCompacted consumes topic from the start to its end and returns every
// record it got, by offset.
func readCompacted(t *testing.T, b *brokertest.Broker, topic string, end int64) map[int64]*kgo.Record {
	t.Helper()
	ctx := brokertest.Context(t, 20*time.Second)
	cl := b.Client(kgo.ConsumeTopics(topic), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	got := map[int64]*kgo.Record{}
	for {
		f := cl.PollFetches(ctx)
		if err := f.Err0(); err != nil {
			t.Fatalf("consume %s: %v", topic, err)
		}
		done := false
		f.EachRecord(func(r *kgo.Record) {
			got[r.Offset] = r
			done = done || r.Offset == end-1
		})
		if done {
			return got
		}
	}
}

// createEagerCompactedTopic creates a one-partition compacted topic the
// cleaner works on as soon as it can: 4 KiB segments, any dirty ratio,
// tombstones dropped at once.
func createEagerCompactedTopic(t *testing.T, adm *kadm.Client, topic string) {
	t.Helper()
	createTopic(t, adm, topic, 1, map[string]*string{
		"cleanup.policy":            strp("compact"),
		"segment.bytes":             strp("4096"),
		"min.cleanable.dirty.ratio": strp("0.01"),
		"delete.retention.ms":       strp("0"),
	})
}

// TestLogCompaction: a cleanup.policy=compact topic keeps each key's latest
// value at its original offset, whatever the producer's compression, drops
// superseded values and expired tombstones, refuses keyless records, and
// reads the same after a restart.
func TestLogCompaction(t *testing.T) {
	b := brokertest.Start(t, map[string]string{"log.cleaner.backoff.ms": "50"})
	adm := b.Admin()
	ctx := brokertest.Context(t, 60*time.Second)
	createEagerCompactedTopic(t, adm, "compacted")

	type write struct {
		key, value string
		offset     int64
	}
	var writes []write
	codecs := []kgo.CompressionCodec{kgo.NoCompression(), kgo.GzipCompression(), kgo.SnappyCompression(), kgo.Lz4Compression(), kgo.ZstdCompression()}
	for round := 0; round < 20; round++ {
		cl := b.Client(kgo.DefaultProduceTopic("compacted"), kgo.ProducerBatchCompression(codecs[round%len(codecs)]))
		var recs []*kgo.Record
		for k := 0; k < 10; k++ {
			value := []byte(fmt.Sprintf("round-%02d-key-%d-%s", round, k, "padding-to-fill-segments-quickly"))
			if round == 19 && k < 2 {
				value = nil // the last word on keys 0 and 1: delete them
			}
			recs = append(recs, &kgo.Record{Key: []byte(fmt.Sprintf("key-%d", k)), Value: value})
		}
		res := cl.ProduceSync(ctx, recs...)
		if err := res.FirstErr(); err != nil {
			t.Fatal(err)
		}
		for _, r := range res {
			writes = append(writes, write{string(r.Record.Key), string(r.Record.Value), r.Record.Offset})
		}
	}
	// Keyless records are refused, as Kafka refuses them.
	keyless := b.Client(kgo.DefaultProduceTopic("compacted"), kgo.RecordRetries(0))
	if err := keyless.ProduceSync(ctx, kgo.StringRecord("no key")).FirstErr(); !errors.Is(err, kerr.InvalidRecord) {
		t.Fatalf("keyless record on a compacted topic: %v, want INVALID_RECORD", err)
	}
	end := writes[len(writes)-1].offset + 1

	// Wait for the cleaner: fewer records than written, none lost.
	var got map[int64]*kgo.Record
	deadline := time.Now().Add(15 * time.Second)
	for {
		got = readCompacted(t, b, "compacted", end)
		if len(got) < len(writes)/2 || time.Now().After(deadline) {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	check := func(got map[int64]*kgo.Record) {
		t.Helper()
		if len(got) >= len(writes)/2 {
			t.Fatalf("%d of %d records left: the cleaner did not run", len(got), len(writes))
		}
		latest := map[string]write{}
		for _, w := range writes {
			latest[w.key] = w
			if r, ok := got[w.offset]; ok && (string(r.Key) != w.key || string(r.Value) != w.value) {
				t.Fatalf("offset %d holds %s=%s, was written %s=%s", w.offset, r.Key, r.Value, w.key, w.value)
			}
		}
		final := map[string]string{}
		for off := int64(0); off < end; off++ {
			if r, ok := got[off]; ok {
				final[string(r.Key)] = string(r.Value)
			}
		}
		for key, w := range latest {
			if v, ok := final[key]; w.value != "" && v != w.value {
				t.Fatalf("%s reads %q (present %v), latest written %q", key, v, ok, w.value)
			}
			if w.value == "" && final[key] != "" {
				t.Fatalf("%s was deleted but reads %q", key, final[key])
			}
		}
	}
	check(got)
	t.Logf("%d of %d records left after compaction", len(got), len(writes))

	b.Restart()
	check(readCompacted(t, b, "compacted", end))
}

// TestConsumerOffsetsCompaction: __consumer_offsets is compacted like any
// compacted topic, and the group coordinator rebuilds the same state from
// what is left: the latest commit of each partition (not an aborted
// transactional commit after it) and no deleted group.
func TestConsumerOffsetsCompaction(t *testing.T) {
	b := brokertest.Start(t, map[string]string{
		"log.cleaner.backoff.ms": "50", "offsets.topic.num.partitions": "1", "offsets.topic.segment.bytes": "4096",
		"log.cleaner.min.cleanable.ratio": "0.01", "log.cleaner.delete.retention.ms": "0",
	})
	adm := b.Admin()
	ctx := brokertest.Context(t, 60*time.Second)
	createTopic(t, adm, "events", 3, nil)
	commit := func(group string, p int32, offset int64) {
		t.Helper()
		os := kadm.Offsets{}
		os.AddOffset("events", p, offset, -1)
		res, err := adm.CommitOffsets(ctx, group, os)
		if err == nil {
			err = res.Error()
		}
		if err != nil {
			t.Fatalf("commit %s events-%d@%d: %v", group, p, offset, err)
		}
	}
	for i := int64(1); i <= 100; i++ {
		commit("billing", int32(i%3), i)
		commit("doomed", 0, i)
	}
	// An aborted transactional commit of billing's partition 0 after its
	// last plain one (99).
	cl := b.Client()
	init := kmsg.NewPtrInitProducerIDRequest()
	init.TransactionalID, init.TransactionTimeoutMillis = strp("offsets-txn"), 60000
	pid, err := init.RequestWith(ctx, cl)
	if err != nil || pid.ErrorCode != 0 {
		t.Fatalf("InitProducerId: %v %v", err, pid)
	}
	add := kmsg.NewPtrAddOffsetsToTxnRequest()
	add.TransactionalID, add.ProducerID, add.ProducerEpoch, add.Group = "offsets-txn", pid.ProducerID, pid.ProducerEpoch, "billing"
	if resp, err := add.RequestWith(ctx, cl); err != nil || resp.ErrorCode != 0 {
		t.Fatalf("AddOffsetsToTxn: %v %v", err, resp)
	}
	txnCommit := kmsg.NewPtrTxnOffsetCommitRequest()
	txnCommit.TransactionalID, txnCommit.Group, txnCommit.ProducerID, txnCommit.ProducerEpoch = "offsets-txn", "billing", pid.ProducerID, pid.ProducerEpoch
	listed, err := b.Admin().ListTopics(ctx, "events")
	if err != nil {
		t.Fatal(err)
	}
	tt := kmsg.NewTxnOffsetCommitRequestTopic()
	tt.Topic, tt.TopicID = "events", listed["events"].ID // v6+ names it by id
	tp := kmsg.NewTxnOffsetCommitRequestTopicPartition()
	tp.Partition, tp.Offset = 0, 99999
	tt.Partitions = append(tt.Partitions, tp)
	txnCommit.Topics = append(txnCommit.Topics, tt)
	if resp, err := txnCommit.RequestWith(ctx, cl); err != nil || resp.Topics[0].Partitions[0].ErrorCode != 0 {
		t.Fatalf("TxnOffsetCommit: %v %v", err, resp)
	}
	end := kmsg.NewPtrEndTxnRequest()
	end.TransactionalID, end.ProducerID, end.ProducerEpoch, end.Commit = "offsets-txn", pid.ProducerID, pid.ProducerEpoch, false
	if resp, err := end.RequestWith(ctx, cl); err != nil || resp.ErrorCode != 0 {
		t.Fatalf("EndTxn abort: %v %v", err, resp)
	}
	if res, err := adm.DeleteGroups(ctx, "doomed"); err != nil || res.Error() != nil {
		t.Fatalf("delete group: %v %v", err, res)
	}
	// More commits of the other partitions close the segments holding the
	// aborted commit and the tombstones.
	for i := int64(101); i <= 200; i++ {
		commit("billing", 1+int32(i%2), i)
	}

	countOffsetsRecords := func() int {
		t.Helper()
		n := 0
		for _, batch := range readInternal(t, b, "__consumer_offsets") {
			n += batch
		}
		return n
	}
	// The cleaner may already have run while the commits went in (it wakes
	// every 50 ms), so the baseline is what was written, not what is left
	// now: 400 plain commits, besides the transactional and group records.
	const written = 400
	deadline := time.Now().Add(15 * time.Second)
	left := written
	for left >= written/2 && time.Now().Before(deadline) {
		time.Sleep(100 * time.Millisecond)
		left = countOffsetsRecords()
	}
	if left >= written/2 {
		t.Fatalf("__consumer_offsets still holds %d records", left)
	}
	t.Logf("__consumer_offsets: %d records left after compaction", left)

	b.Restart()
	adm = b.Admin()
	fetched, err := adm.FetchOffsets(ctx, "billing")
	if err != nil {
		t.Fatal(err)
	}
	for p, want := range map[int32]int64{0: 99, 1: 200, 2: 199} {
		if o, ok := fetched.Lookup("events", p); !ok || o.At != want {
			t.Fatalf("billing events-%d after compaction and restart: %+v, want %d", p, o, want)
		}
	}
	groups, err := adm.ListGroups(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if slices.Contains(groups.Groups(), "doomed") {
		t.Fatalf("a deleted group came back: %v", groups.Groups())
	}
}

// readInternal reads an internal topic's partition 0 from its start to its
// end and returns the record count of each batch read.
func readInternal(t *testing.T, b *brokertest.Broker, topic string) []int {
	t.Helper()
	ctx := brokertest.Context(t, 10*time.Second)
	cl := b.Client()
	// Fetch v13+ names the topic by id.
	listed, err := kadm.NewClient(cl).ListTopicsWithInternal(ctx, topic)
	if err != nil || listed[topic].Err != nil {
		t.Fatalf("look up %s: %v %v", topic, err, listed[topic].Err)
	}
	var counts []int
	for off := int64(0); ; {
		req := kmsg.NewPtrFetchRequest()
		req.MaxWaitMillis, req.MaxBytes = 0, 1<<20
		rt := kmsg.NewFetchRequestTopic()
		rt.Topic, rt.TopicID = topic, listed[topic].ID
		rp := kmsg.NewFetchRequestTopicPartition()
		rp.FetchOffset, rp.PartitionMaxBytes = off, 1<<20
		rt.Partitions = append(rt.Partitions, rp)
		req.Topics = append(req.Topics, rt)
		resp, err := req.RequestWith(ctx, cl)
		if err != nil {
			t.Fatal(err)
		}
		p := resp.Topics[0].Partitions[0]
		if p.ErrorCode != 0 {
			t.Fatalf("fetch %s@%d: %v", topic, off, kerr.ErrorForCode(p.ErrorCode))
		}
		if off >= p.HighWatermark {
			return counts
		}
		if off < p.LogStartOffset {
			off = p.LogStartOffset
			continue
		}
		batches, err := kbinSplit(p.RecordBatches)
		if err != nil {
			t.Fatal(err)
		}
		for _, h := range batches {
			counts = append(counts, int(h.NumRecords))
			off = h.FirstOffset + int64(h.LastOffsetDelta) + 1
		}
	}
}

// kbinSplit decodes the headers of the batches in a fetch response.
func kbinSplit(b []byte) ([]kmsg.RecordBatch, error) {
	var out []kmsg.RecordBatch
	for len(b) > 0 {
		var rb kmsg.RecordBatch
		if err := rb.ReadFrom(b); err != nil {
			return nil, err
		}
		out = append(out, rb)
		b = b[12+int(rb.Length):]
	}
	return out, nil
}

// TestKeylessRecordsAreNamed: a batch with keyless records for a compacted
// topic is refused with INVALID_RECORD naming each keyless record by its
// position (KIP-467 record errors), so clients such as librdkafka fail those
// records and retry the others; nothing of the batch is stored.
func TestKeylessRecordsAreNamed(t *testing.T) {
	b := brokertest.Start(t, nil)
	createTopic(t, b.Admin(), "keyed", 1, map[string]*string{"cleanup.policy": kmsg.StringPtr("compact")})
	rc := dial(t, b.Addr)
	var specs []record.RecordSpec
	var want []int32
	for i := range 10 {
		spec := record.RecordSpec{Key: []byte(fmt.Sprint(i)), Value: []byte("v")}
		if i%4 == 1 {
			spec.Key = nil
			want = append(want, int32(i))
		}
		specs = append(specs, spec)
	}
	batch := record.Build(record.BatchSpec{ProducerID: -1, ProducerEpoch: -1, BaseSequence: -1, Timestamp: time.Now().UnixMilli(), Records: specs})
	res := produceResult(t, rc.roundTrip(produceRequest("keyed", batch)))
	var got []int32
	for _, e := range res.ErrorRecords {
		got = append(got, e.RelativeOffset)
		if e.ErrorMessage == nil || *e.ErrorMessage == "" {
			t.Errorf("record error %d has no message", e.RelativeOffset)
		}
	}
	if res.ErrorCode != kerr.InvalidRecord.Code || !slices.Equal(got, want) {
		t.Fatalf("code %d, record errors at %v; want INVALID_RECORD at %v", res.ErrorCode, got, want)
	}
	if end := endOffset(t, rc, "keyed"); end != 0 {
		t.Fatalf("end offset %d: part of a refused batch was stored", end)
	}
}

// TestCleanerBackoffIsDynamic: log.cleaner.backoff.ms set at runtime
// applies at once, as in Kafka: a broker started with an hour between
// cleaner passes compacts within seconds once the cluster default is 50 ms.
func TestCleanerBackoffIsDynamic(t *testing.T) {
	b := brokertest.Start(t, map[string]string{"log.cleaner.backoff.ms": "3600000"})
	adm := b.Admin()
	ctx := brokertest.Context(t, 60*time.Second)
	createEagerCompactedTopic(t, adm, "compacted")
	// Uncompressed, so the records fill several segments.
	cl := b.Client(kgo.DefaultProduceTopic("compacted"), kgo.ProducerBatchCompression(kgo.NoCompression()))
	var recs []*kgo.Record
	for round := 0; round < 20; round++ {
		for k := 0; k < 10; k++ {
			recs = append(recs, &kgo.Record{Key: []byte(fmt.Sprintf("key-%d", k)),
				Value: []byte(fmt.Sprintf("round-%02d-%s", round, "padding-to-fill-segments-quickly"))})
		}
		if err := cl.ProduceSync(ctx, recs[len(recs)-10:]...).FirstErr(); err != nil {
			t.Fatal(err)
		}
	}
	end := recs[len(recs)-1].Offset + 1
	if got := readCompacted(t, b, "compacted", end); len(got) != len(recs) {
		t.Fatalf("%d of %d records before the change: the cleaner ran already", len(got), len(recs))
	}
	resp, err := adm.AlterBrokerConfigs(ctx, []kadm.AlterConfig{{Op: kadm.SetConfig, Name: "log.cleaner.backoff.ms", Value: strp("50")}})
	if err == nil {
		err = resp[0].Err
	}
	if err != nil {
		t.Fatalf("set log.cleaner.backoff.ms: %v", err)
	}
	deadline := time.Now().Add(15 * time.Second)
	for {
		got := readCompacted(t, b, "compacted", end)
		if len(got) < len(recs)/2 {
			t.Logf("%d of %d records left after the change", len(got), len(recs))
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d records left 15 s after log.cleaner.backoff.ms=50", len(got), len(recs))
		}
		time.Sleep(100 * time.Millisecond)
	}
}
