package goclients

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/IBM/sarama"
	"github.com/segmentio/kafka-go"
	"github.com/twmb/franz-go/pkg/kgo"
)

// compactedView is one client's reading of a compacted partition: offset →
// key=value ("<nil>" for a tombstone).
type compactedView map[int64]string

func view(offset int64, key, value []byte) (int64, string) {
	if value == nil {
		return offset, string(key) + "=<nil>"
	}
	return offset, string(key) + "=" + string(value)
}

// TestCompactedTopicSaramaKafkaGo: sarama writes a compacted topic, the
// cleaner removes superseded records (leaving offset gaps and emptied
// batches), and sarama's partition consumer and kafka-go's Reader read the
// same records as franz-go, to the end; sarama's keyless send is refused.
func TestCompactedTopicSaramaKafkaGo(t *testing.T) {
	addr := freeAddr(t)
	b := startBrokerWith(t, addr, "--listen", addr, "--set", "log.cleaner.backoff.ms=50")
	const topic = "go-compacted"
	cfg := sarama.NewConfig()
	cfg.Version = sarama.V3_6_0_0
	cfg.Producer.Return.Successes = true
	cfg.Producer.RequiredAcks = sarama.WaitForAll
	cfg.Producer.Compression = sarama.CompressionGZIP
	cfg.Producer.Retry.Max = 0
	admin, err := sarama.NewClusterAdmin([]string{b.addr}, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close()
	str := func(s string) *string { return &s }
	if err := admin.CreateTopic(topic, &sarama.TopicDetail{NumPartitions: 1, ReplicationFactor: 1, ConfigEntries: map[string]*string{
		"cleanup.policy": str("compact"), "segment.bytes": str("2048"),
		"min.cleanable.dirty.ratio": str("0.01"), "delete.retention.ms": str("0"),
	}}, false); err != nil {
		t.Fatal(err)
	}
	producer, err := sarama.NewSyncProducer([]string{b.addr}, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer producer.Close()
	written := 0
	for round := 0; round < 30; round++ {
		var msgs []*sarama.ProducerMessage
		for k := 0; k < 8; k++ {
			m := &sarama.ProducerMessage{Topic: topic, Key: sarama.StringEncoder(fmt.Sprintf("acct-%d", k)),
				Value: sarama.StringEncoder(fmt.Sprintf("balance-%02d-of-%d", round, k))}
			if round == 29 && k == 3 {
				m.Value = nil
			}
			msgs = append(msgs, m)
		}
		if err := producer.SendMessages(msgs); err != nil {
			t.Fatal(err)
		}
		written += len(msgs)
	}
	if _, _, err := producer.SendMessage(&sarama.ProducerMessage{Topic: topic, Value: sarama.StringEncoder("no key")}); err == nil {
		t.Error("sarama's keyless record on a compacted topic was accepted")
	} else {
		t.Logf("sarama keyless send: %v", err)
	}

	// franz-go's reading, once the cleaner has run.
	readFranz := func() (compactedView, int64) {
		cl, err := kgo.NewClient(kgo.SeedBrokers(b.addr), kgo.ConsumePartitions(map[string]map[int32]kgo.Offset{topic: {0: kgo.NewOffset().AtStart()}}))
		if err != nil {
			t.Fatal(err)
		}
		defer cl.Close()
		ctx := testContext(t, 15*time.Second)
		got, last := compactedView{}, int64(-1)
		for last < int64(written)-1 {
			f := cl.PollFetches(ctx)
			if err := f.Err0(); err != nil {
				t.Fatal(err)
			}
			f.EachRecord(func(r *kgo.Record) {
				off, v := view(r.Offset, r.Key, r.Value)
				got[off], last = v, off
			})
		}
		return got, last
	}
	// The cleaner may still be on a pass over segments that closed while
	// sarama wrote: compare the clients only once two reads 300 ms apart
	// (six cleaner backoffs) agree.
	var want compactedView
	var last int64
	deadline := time.Now().Add(20 * time.Second)
	for previous := ""; ; {
		want, last = readFranz()
		stable := fmt.Sprint(want) == previous
		if len(want) < written/2 && stable || time.Now().After(deadline) {
			break
		}
		previous = fmt.Sprint(want)
		time.Sleep(300 * time.Millisecond)
	}
	if len(want) >= written/2 {
		t.Fatalf("the cleaner left %d of %d records", len(want), written)
	}
	t.Logf("franz-go reads %d of %d records", len(want), written)
	same := func(client string, got compactedView) {
		t.Helper()
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Fatalf("%s read %d records %v\nfranz-go read %d: %v", client, len(got), got, len(want), want)
		}
	}

	consumer, err := sarama.NewConsumer([]string{b.addr}, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer consumer.Close()
	pc, err := consumer.ConsumePartition(topic, 0, sarama.OffsetOldest)
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close()
	got := compactedView{}
	timeout := time.After(20 * time.Second)
	for done := false; !done; {
		select {
		case m := <-pc.Messages():
			off, v := view(m.Offset, m.Key, m.Value)
			got[off] = v
			done = off == last
		case err := <-pc.Errors():
			t.Fatal(err)
		case <-timeout:
			t.Fatalf("sarama read %d records, not up to offset %d", len(got), last)
		}
	}
	same("sarama", got)

	reader := kafka.NewReader(kafka.ReaderConfig{Brokers: []string{b.addr}, Topic: topic, Partition: 0, MaxWait: 200 * time.Millisecond})
	defer reader.Close()
	if err := reader.SetOffset(kafka.FirstOffset); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	got = compactedView{}
	for {
		m, err := reader.ReadMessage(ctx)
		if err != nil {
			t.Fatalf("kafka-go after %d records: %v", len(got), err)
		}
		off, v := view(m.Offset, m.Key, m.Value)
		got[off] = v
		if off == last {
			break
		}
	}
	same("kafka-go", got)
}
