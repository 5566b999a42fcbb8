// Package e2e drives a real Samsa broker through real Kafka clients over
// loopback: franz-go here, other clients under compat/.
package e2e

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/samsa-broker/samsa/internal/brokertest"
	"github.com/samsa-broker/samsa/internal/record"
)

func createTopic(t *testing.T, adm *kadm.Client, name string, partitions int32, configs map[string]*string) {
	t.Helper()
	ctx := brokertest.Context(t, 10*time.Second)
	resp, err := adm.CreateTopics(ctx, partitions, 1, configs, name)
	if err != nil {
		t.Fatalf("create topic %s: %v", name, err)
	}
	if err := resp[name].Err; err != nil {
		t.Fatalf("create topic %s: %v", name, err)
	}
}

// produceN produces n keyed records with the client's defaults (idempotent,
// acks=all) and returns, per partition, the values in offset order.
func produceN(t *testing.T, cl *kgo.Client, topic string, n int) map[int32][]string {
	t.Helper()
	ctx := brokertest.Context(t, 2*time.Minute)
	type result struct {
		partition int32
		offset    int64
		value     string
	}
	results := make(chan result, n)
	for i := 0; i < n; i++ {
		v := strconv.Itoa(i)
		cl.Produce(ctx, &kgo.Record{Topic: topic, Key: []byte("k" + strconv.Itoa(i%97)), Value: []byte(v)}, func(r *kgo.Record, err error) {
			if err != nil {
				t.Errorf("produce %s: %v", v, err)
				results <- result{partition: -1}
				return
			}
			results <- result{r.Partition, r.Offset, v}
		})
	}
	if err := cl.Flush(ctx); err != nil {
		t.Fatalf("flush: %v", err)
	}
	byOffset := map[int32]map[int64]string{}
	for i := 0; i < n; i++ {
		r := <-results
		if r.partition < 0 {
			continue
		}
		if byOffset[r.partition] == nil {
			byOffset[r.partition] = map[int64]string{}
		}
		if prev, dup := byOffset[r.partition][r.offset]; dup {
			t.Fatalf("partition %d offset %d acknowledged twice (%s and %s)", r.partition, r.offset, prev, r.value)
		}
		byOffset[r.partition][r.offset] = r.value
	}
	out := map[int32][]string{}
	for p, m := range byOffset {
		for off := int64(0); off < int64(len(m)); off++ {
			v, ok := m[off]
			if !ok {
				t.Fatalf("partition %d: offsets are not dense, %d missing", p, off)
			}
			out[p] = append(out[p], v)
		}
	}
	return out
}

// consumeAll reads every partition of topic from the start until want
// records per partition have arrived.
func consumeAll(t *testing.T, addr, topic string, want map[int32][]string) map[int32][]string {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(addr), kgo.ConsumeTopics(topic),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()), kgo.FetchMaxWait(500*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	total := 0
	for _, v := range want {
		total += len(v)
	}
	got := map[int32][]string{}
	n := 0
	ctx := brokertest.Context(t, 2*time.Minute)
	for n < total {
		fs := cl.PollFetches(ctx)
		if ctx.Err() != nil {
			t.Fatalf("consumed %d of %d records before timeout", n, total)
		}
		fs.EachError(func(topic string, p int32, err error) { t.Fatalf("fetch %s-%d: %v", topic, p, err) })
		fs.EachRecord(func(r *kgo.Record) {
			if int64(len(got[r.Partition])) != r.Offset {
				t.Fatalf("partition %d: got offset %d, expected %d", r.Partition, r.Offset, len(got[r.Partition]))
			}
			got[r.Partition] = append(got[r.Partition], string(r.Value))
			n++
		})
	}
	return got
}

func equalPartitions(t *testing.T, want, got map[int32][]string) {
	t.Helper()
	if len(want) != len(got) {
		t.Fatalf("got %d partitions, want %d", len(got), len(want))
	}
	for p, w := range want {
		g := got[p]
		if len(g) != len(w) {
			t.Fatalf("partition %d: got %d records, want %d", p, len(g), len(w))
		}
		for i := range w {
			if g[i] != w[i] {
				t.Fatalf("partition %d offset %d: got %q, want %q", p, i, g[i], w[i])
			}
		}
	}
}

func TestProduceConsumeRestart(t *testing.T) {
	n := 200_000
	if testing.Short() {
		n = 20_000
	}
	if env := os.Getenv("SAMSA_E2E_RECORDS"); env != "" {
		n, _ = strconv.Atoi(env) // the acceptance run uses 1,000,000
	}
	b := brokertest.Start(t, nil)
	createTopic(t, b.Admin(), "clicks", 6, nil)
	want := produceN(t, b.Client(kgo.ProducerLinger(5*time.Millisecond)), "clicks", n)
	if len(want) != 6 {
		t.Fatalf("keyed records landed in %d partitions, want 6", len(want))
	}
	equalPartitions(t, want, consumeAll(t, b.Addr, "clicks", want))
	b.Restart()
	equalPartitions(t, want, consumeAll(t, b.Addr, "clicks", want))
}

func TestAutoCreateAndAcks(t *testing.T) {
	b := brokertest.Start(t, map[string]string{"num.partitions": "3"})
	for i, acks := range []kgo.Acks{kgo.NoAck(), kgo.LeaderAck(), kgo.AllISRAcks()} {
		topic := fmt.Sprintf("auto-%d", i)
		cl := b.Client(kgo.RequiredAcks(acks), kgo.DisableIdempotentWrite(), kgo.AllowAutoTopicCreation())
		ctx := brokertest.Context(t, 20*time.Second)
		for i := 0; i < 100; i++ {
			if err := cl.ProduceSync(ctx, &kgo.Record{Topic: topic, Value: []byte(strconv.Itoa(i))}).FirstErr(); err != nil {
				t.Fatalf("acks %v: %v", acks, err)
			}
		}
		// acks=0 returns before the broker has appended: poll for the end.
		var sum int64
		var offs kadm.ListedOffsets
		for deadline := time.Now().Add(10 * time.Second); ; {
			var err error
			offs, err = b.Admin().ListEndOffsets(ctx, topic)
			if err != nil {
				t.Fatal(err)
			}
			sum = 0
			offs.Each(func(o kadm.ListedOffset) { sum += o.Offset })
			if sum == 100 || time.Now().After(deadline) {
				break
			}
			time.Sleep(20 * time.Millisecond)
		}
		if sum != 100 {
			t.Fatalf("acks %v: end offsets sum to %d, want 100", acks, sum)
		}
		if len(offs[topic]) != 3 {
			t.Fatalf("auto-created topic has %d partitions, want 3", len(offs[topic]))
		}
	}
}

func TestLongPollWakesOnAppend(t *testing.T) {
	b := brokertest.Start(t, nil)
	createTopic(t, b.Admin(), "lp", 1, nil)
	consumer := b.Client(kgo.ConsumeTopics("lp"), kgo.FetchMaxWait(10*time.Second))
	producer := b.Client()
	ctx := brokertest.Context(t, 20*time.Second)
	// Let the consumer reach its long poll first.
	pollCtx, cancel := context.WithTimeout(ctx, 300*time.Millisecond)
	consumer.PollFetches(pollCtx)
	cancel()
	start := time.Now()
	if err := producer.ProduceSync(ctx, &kgo.Record{Topic: "lp", Value: []byte("x")}).FirstErr(); err != nil {
		t.Fatal(err)
	}
	fs := consumer.PollFetches(ctx)
	if fs.NumRecords() != 1 {
		t.Fatalf("got %d records, errors %v", fs.NumRecords(), fs.Errors())
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Fatalf("long poll returned after %v: it was not woken by the append", d)
	}
}

// TestAutoCreateAnswer: the Metadata request that creates a topic is
// answered LEADER_NOT_AVAILABLE with no partitions, as Kafka answers it;
// the next one describes the topic, already whole.
func TestAutoCreateAnswer(t *testing.T) {
	b := brokertest.Start(t, map[string]string{"num.partitions": "2"})
	ctx := brokertest.Context(t, 10*time.Second)
	cl := b.Client()
	metadataOf := func(topic string) kmsg.MetadataResponseTopic {
		t.Helper()
		req := kmsg.NewPtrMetadataRequest()
		req.AllowAutoTopicCreation = true
		rt := kmsg.NewMetadataRequestTopic()
		rt.Topic = kmsg.StringPtr(topic)
		req.Topics = append(req.Topics, rt)
		resp, err := req.RequestWith(ctx, cl)
		if err != nil || len(resp.Topics) != 1 {
			t.Fatalf("metadata %s: %v %+v", topic, err, resp)
		}
		return resp.Topics[0]
	}
	if mt := metadataOf("fresh"); mt.ErrorCode != kerr.LeaderNotAvailable.Code || len(mt.Partitions) != 0 {
		t.Fatalf("the creating request: error %d, %d partitions; want LEADER_NOT_AVAILABLE and none", mt.ErrorCode, len(mt.Partitions))
	}
	if mt := metadataOf("fresh"); mt.ErrorCode != 0 || len(mt.Partitions) != 2 {
		t.Fatalf("the next request: error %d, %d partitions; want the topic's 2", mt.ErrorCode, len(mt.Partitions))
	}
}

// TestAdminRequestsNamingATopicTwice: CreateTopics, CreatePartitions and
// DeleteTopics refuse a topic named twice in one request with
// INVALID_REQUEST, once, and carry out the rest, as Kafka does.
func TestAdminRequestsNamingATopicTwice(t *testing.T) {
	b := brokertest.Start(t, nil)
	ctx := brokertest.Context(t, 10*time.Second)
	cl := b.Client()
	create := kmsg.NewPtrCreateTopicsRequest()
	create.TimeoutMillis = 5000
	for _, name := range []string{"twice", "once", "twice"} {
		rt := kmsg.NewCreateTopicsRequestTopic()
		rt.Topic, rt.NumPartitions, rt.ReplicationFactor = name, 1, 1
		create.Topics = append(create.Topics, rt)
	}
	created, err := create.RequestWith(ctx, cl)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]int16{}
	for _, rt := range created.Topics {
		got[rt.Topic] = rt.ErrorCode
	}
	if len(created.Topics) != 2 || got["twice"] != kerr.InvalidRequest.Code || got["once"] != 0 {
		t.Fatalf("CreateTopics answered %+v", created.Topics)
	}
	partitionsOf := func(topic string) int {
		t.Helper()
		td, err := b.Admin().ListTopics(ctx, topic)
		if err != nil {
			t.Fatal(err)
		}
		if d, ok := td[topic]; ok && d.Err == nil {
			return len(d.Partitions)
		}
		return 0
	}
	if n := partitionsOf("twice"); n != 0 {
		t.Fatal("a topic named twice was created")
	}

	grow := kmsg.NewPtrCreatePartitionsRequest()
	grow.TimeoutMillis = 5000
	for _, count := range []int32{2, 3} {
		rt := kmsg.NewCreatePartitionsRequestTopic()
		rt.Topic, rt.Count = "once", count
		grow.Topics = append(grow.Topics, rt)
	}
	grown, err := grow.RequestWith(ctx, cl)
	if err != nil || len(grown.Topics) != 1 || grown.Topics[0].ErrorCode != kerr.InvalidRequest.Code {
		t.Fatalf("CreatePartitions naming a topic twice: %v %+v", err, grown)
	}

	del := kmsg.NewPtrDeleteTopicsRequest()
	del.TimeoutMillis = 5000
	for range 2 {
		dt := kmsg.NewDeleteTopicsRequestTopic()
		dt.Topic = kmsg.StringPtr("once")
		del.Topics = append(del.Topics, dt)
		del.TopicNames = append(del.TopicNames, "once")
	}
	deleted, err := del.RequestWith(ctx, cl)
	if err != nil || len(deleted.Topics) != 1 || deleted.Topics[0].ErrorCode != kerr.InvalidRequest.Code {
		t.Fatalf("DeleteTopics naming a topic twice: %v %+v", err, deleted)
	}
	if n := partitionsOf("once"); n != 1 {
		t.Fatalf("the topic after refused requests has %d partitions, want 1", n)
	}
}

// TestProduceByTopicID: Produce v13 names topics by id (KIP-516): a known id
// is written and answered under its id, an unknown one in the same request
// gets UNKNOWN_TOPIC_ID and nothing else is affected.
func TestProduceByTopicID(t *testing.T) {
	b := brokertest.Start(t, nil)
	adm := b.Admin()
	createTopic(t, adm, "by-id", 2, nil)
	ctx := brokertest.Context(t, 30*time.Second)
	listed, err := adm.ListTopics(ctx, "by-id")
	if err != nil {
		t.Fatal(err)
	}
	known, unknown := [16]byte(listed["by-id"].ID), [16]byte{0xde, 0xad}
	req := kmsg.NewPtrProduceRequest()
	req.Version, req.Acks, req.TimeoutMillis = 13, -1, 5000
	for _, id := range [][16]byte{unknown, known} {
		rt := kmsg.NewProduceRequestTopic()
		rt.TopicID = id
		rp := kmsg.NewProduceRequestTopicPartition()
		rp.Partition = 1
		rp.Records = record.Build(record.BatchSpec{ProducerID: -1, ProducerEpoch: -1, BaseSequence: -1,
			Timestamp: time.Now().UnixMilli(), Records: []record.RecordSpec{{Value: []byte("by id")}}})
		rt.Partitions = append(rt.Partitions, rp)
		req.Topics = append(req.Topics, rt)
	}
	resp := dial(t, b.Addr).roundTrip(req).(*kmsg.ProduceResponse)
	want := map[[16]byte]int16{known: 0, unknown: kerr.UnknownTopicID.Code}
	if len(resp.Topics) != 2 {
		t.Fatalf("response topics: %+v", resp.Topics)
	}
	for _, rt := range resp.Topics {
		code, ok := want[rt.TopicID]
		if !ok || len(rt.Partitions) != 1 || rt.Partitions[0].Partition != 1 || rt.Partitions[0].ErrorCode != code {
			t.Errorf("topic %x: %+v, want error %v", rt.TopicID, rt.Partitions, kerr.ErrorForCode(code))
		}
	}
	got := consumeAll(t, b.Addr, "by-id", map[int32][]string{1: {"by id"}})
	equalPartitions(t, map[int32][]string{1: {"by id"}}, got)
}
