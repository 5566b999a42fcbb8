package compat

import (
	"fmt"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/samsa-broker/samsa/internal/brokertest"
)

// compactedRecord is one record as a client read it: offset, key, value
// (nil for a tombstone).
type compactedRecord struct {
	Offset int64
	Key    string
	Value  *string
}

func (r compactedRecord) String() string {
	if r.Value == nil {
		return fmt.Sprintf("%d:%s=<tombstone>", r.Offset, r.Key)
	}
	return fmt.Sprintf("%d:%s=%s", r.Offset, r.Key, *r.Value)
}

// decodeRecords turns the scripts' [offset, key, value] triples into records.
func decodeRecords(t *testing.T, raw [][]any) []compactedRecord {
	t.Helper()
	var out []compactedRecord
	for _, r := range raw {
		off, ok1 := r[0].(float64)
		key, ok2 := r[1].(string)
		if !ok1 || !ok2 || len(r) != 3 {
			t.Fatalf("malformed record %v", r)
		}
		rec := compactedRecord{Offset: int64(off), Key: key}
		if v, ok := r[2].(string); ok {
			rec.Value = &v
		}
		out = append(out, rec)
	}
	return out
}

// TestCompactedTopicClients: once the cleaner has removed superseded
// records (leaving gaps in the offsets, inside batches, between them and at
// the start of the log),
// kafkajs, kafka-python, librdkafka (confluent-kafka, kcat) read the same
// records as franz-go, to the end, and each client's keyless record is
// refused.
func TestCompactedTopicClients(t *testing.T) {
	b := brokertest.Start(t, map[string]string{"log.cleaner.backoff.ms": "50"})
	const topic = "compacted-clients"
	ctx := brokertest.Context(t, 30*time.Second)
	resp, err := b.Admin().CreateTopic(ctx, 1, 1, map[string]*string{
		"cleanup.policy": strPtr("compact"), "segment.bytes": strPtr("2048"),
		"min.cleanable.dirty.ratio": strPtr("0.01"), "delete.retention.ms": strPtr("0"),
	}, topic)
	if err != nil || resp.Err != nil {
		t.Fatalf("create %s: %v %v", topic, err, resp.Err)
	}
	producer := b.Client(kgo.DefaultProduceTopic(topic), kgo.ProducerBatchCompression(kgo.GzipCompression())) // the codec every client here decodes
	// The first batch holds only keys deleted at the end: with their
	// tombstones expired, the cleaner removes it whole, so the log starts
	// with a gap (offset 0 is the first segment's base, in no batch).
	gone := func(value func(k int) []byte) []*kgo.Record {
		var recs []*kgo.Record
		for k := 0; k < 8; k++ {
			recs = append(recs, &kgo.Record{Key: []byte(fmt.Sprintf("gone-%d", k)), Value: value(k)})
		}
		return recs
	}
	if err := producer.ProduceSync(ctx, gone(func(k int) []byte { return []byte(fmt.Sprintf("short-lived-%d", k)) })...).FirstErr(); err != nil {
		t.Fatal(err)
	}
	if err := producer.ProduceSync(ctx, gone(func(int) []byte { return nil })...).FirstErr(); err != nil {
		t.Fatal(err)
	}
	written := 16
	for round := 0; round < 30; round++ {
		var recs []*kgo.Record
		for k := 0; k < 8; k++ {
			r := &kgo.Record{Key: []byte(fmt.Sprintf("order-%d", k)), Value: []byte(fmt.Sprintf("status-%02d-of-order-%d", round, k))}
			if round == 29 && k == 0 {
				r.Value = nil
			}
			recs = append(recs, r)
		}
		if err := producer.ProduceSync(ctx, recs...).FirstErr(); err != nil {
			t.Fatal(err)
		}
		written += len(recs)
	}
	read := func() []compactedRecord {
		var out []compactedRecord
		for _, r := range readTopic(t, b, topic)[0] {
			rec := compactedRecord{Offset: r.Offset, Key: string(r.Key)}
			if r.Value != nil {
				v := string(r.Value)
				rec.Value = &v
			}
			out = append(out, rec)
		}
		return out
	}
	// The cleaner may still be on a pass over segments that closed while
	// the producer wrote: compare the clients only once two reads 300 ms
	// apart (six cleaner backoffs) agree.
	var want []compactedRecord
	if !pollUntil(20*time.Second, func() bool {
		if want = read(); len(want) >= written/2 {
			return false
		}
		time.Sleep(300 * time.Millisecond)
		again := read()
		stable := fmt.Sprint(again) == fmt.Sprint(want)
		want = again
		return stable
	}) {
		t.Fatalf("the cleaner left %d of %d records", len(want), written)
	}
	end := want[len(want)-1].Offset + 1
	empty := emptyBatches(t, b, topic, end)
	t.Logf("franz-go reads %d of %d records, offsets up to %d, the first at %d", len(want), written, end-1, want[0].Offset)
	if empty != 0 {
		// segmentio/kafka-go's Reader panics on those.
		t.Fatalf("%d batches of no records in the cleaned log", empty)
	}
	if want[0].Offset < 16 {
		t.Fatalf("the first record read is at %d: the deleted keys' batches stayed", want[0].Offset)
	}

	same := func(t *testing.T, client string, got []compactedRecord) {
		t.Helper()
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Fatalf("%s read %d records:\n%v\nfranz-go read %d:\n%v", client, len(got), got, len(want), want)
		}
	}
	var summary struct {
		Records [][]any
		Keyless string
	}
	t.Run("kafkajs", func(t *testing.T) {
		k := findKafkajs(t)
		out := run(t, command{name: k.node, args: []string{"compacted.js", topic, strconv.FormatInt(end, 10)}, dir: k.dir,
			timeout: 60 * time.Second, env: []string{"BROKER=" + b.Addr}})
		decodeSummary(t, out, &summary)
		same(t, "kafkajs", decodeRecords(t, summary.Records))
		if summary.Keyless != "INVALID_RECORD" {
			t.Errorf("kafkajs keyless send: %q, want INVALID_RECORD", summary.Keyless)
		}
	})
	script, err := filepath.Abs(filepath.Join("python", "compacted.py"))
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct{ client, module, pkg, keyless string }{
		// kafka-python 2.0.2 has no error class for INVALID_RECORD (87).
		{"kafka-python", "kafka", "python3-kafka", "UnknownError"},
		{"confluent", "confluent_kafka", "python3-confluent-kafka", "INVALID_RECORD"},
	} {
		t.Run(c.client, func(t *testing.T) {
			python := findPython(t, c.module, c.pkg)
			out := run(t, command{name: python, args: []string{script, c.client, b.Addr, topic, strconv.FormatInt(end, 10)}, timeout: 90 * time.Second})
			decodeSummary(t, out, &summary)
			same(t, c.client, decodeRecords(t, summary.Records))
			if !strings.Contains(summary.Keyless, c.keyless) {
				t.Errorf("%s keyless send: %q, want %s", c.client, summary.Keyless, c.keyless)
			}
		})
	}
	t.Run("kcat", func(t *testing.T) {
		kcat := lookTool(t, "kcat")
		out := run(t, command{name: kcat, args: []string{"-b", b.Addr, "-C", "-t", topic, "-o", "beginning", "-e", "-q",
			"-f", `%o|%k|%S|%s\n`}, timeout: 60 * time.Second})
		var got []compactedRecord
		for line := range strings.Lines(out.stdout) {
			parts := strings.SplitN(strings.TrimSuffix(line, "\n"), "|", 4)
			if len(parts) != 4 {
				t.Fatalf("kcat line %q", line)
			}
			off, _ := strconv.ParseInt(parts[0], 10, 64)
			rec := compactedRecord{Offset: off, Key: parts[1]}
			if parts[2] != "-1" {
				v := parts[3]
				rec.Value = &v
			}
			got = append(got, rec)
		}
		same(t, "kcat", got)
	})
}

func strPtr(s string) *string { return &s }

// emptyBatches counts the batches without records in partition 0 of topic
// below end, read with raw fetches.
func emptyBatches(t *testing.T, b *brokertest.Broker, topic string, end int64) int {
	t.Helper()
	ctx := brokertest.Context(t, 10*time.Second)
	cl := b.Client()
	// Fetch v13+ names the topic by id.
	listed, err := kadm.NewClient(cl).ListTopics(ctx, topic)
	if err != nil || listed[topic].Err != nil {
		t.Fatalf("look up %s: %v %v", topic, err, listed[topic].Err)
	}
	empty := 0
	for off := int64(0); off < end; {
		req := kmsg.NewPtrFetchRequest()
		req.MaxBytes = 1 << 20
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
		if err := kerr.ErrorForCode(resp.Topics[0].Partitions[0].ErrorCode); err != nil {
			t.Fatalf("raw fetch at %d: %v", off, err)
		}
		data := resp.Topics[0].Partitions[0].RecordBatches
		if len(data) == 0 {
			t.Fatalf("raw fetch at %d returned nothing", off)
		}
		for len(data) > 0 {
			var rb kmsg.RecordBatch
			if err := rb.ReadFrom(data); err != nil {
				t.Fatal(err)
			}
			if rb.NumRecords == 0 {
				empty++
			}
			off = rb.FirstOffset + int64(rb.LastOffsetDelta) + 1
			data = data[12+int(rb.Length):]
		}
	}
	return empty
}
