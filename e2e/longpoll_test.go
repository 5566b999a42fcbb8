package e2e

import (
	"bytes"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/samsa-broker/samsa/internal/brokertest"
	"github.com/samsa-broker/samsa/internal/record"
)

// A waiting fetch is answered by the goroutine whose append completed it.
// These tests pin down what that must not change: a consumer that does not
// read cannot stall the producer that completed its fetch, MinBytes is
// honoured across appends, and a connection closed mid-wait leaves nothing
// behind.

// longPollFetch is a v11 fetch of partition 0 of topic from offset 0.
func longPollFetch(topic string, maxWait time.Duration, minBytes, maxBytes int32) *kmsg.FetchRequest {
	fetch := kmsg.NewPtrFetchRequest()
	fetch.SetVersion(11)
	fetch.ReplicaID = -1
	fetch.MaxWaitMillis = int32(maxWait / time.Millisecond)
	fetch.MinBytes = minBytes
	fetch.MaxBytes = maxBytes
	fetch.SessionEpoch = -1
	ft := kmsg.NewFetchRequestTopic()
	ft.Topic = topic
	fp := kmsg.NewFetchRequestTopicPartition()
	fp.PartitionMaxBytes = maxBytes
	fp.CurrentLeaderEpoch = -1
	ft.Partitions = append(ft.Partitions, fp)
	fetch.Topics = append(fetch.Topics, ft)
	return fetch
}

// plainBatch is a non-idempotent batch of one record holding value.
func plainBatch(value []byte) []byte {
	return record.Build(record.BatchSpec{ProducerID: -1, ProducerEpoch: -1, BaseSequence: -1,
		Timestamp: time.Now().UnixMilli(), Records: []record.RecordSpec{{Value: value}}})
}

// fetchRecords decodes a fetch response body and returns partition 0's
// record batches.
func fetchRecords(t *testing.T, body []byte) []byte {
	t.Helper()
	resp := kmsg.NewPtrFetchResponse()
	resp.SetVersion(11)
	if err := resp.ReadFrom(body); err != nil {
		t.Fatalf("decode fetch response: %v", err)
	}
	p := resp.Topics[0].Partitions[0]
	if p.ErrorCode != 0 {
		t.Fatalf("fetch error code %d", p.ErrorCode)
	}
	return p.RecordBatches
}

func TestLongPollHonoursMinBytes(t *testing.T) {
	b := brokertest.Start(t, nil)
	createTopic(t, b.Admin(), "minbytes", 1, nil)
	consumer := dial(t, b.Addr)
	producer := dial(t, b.Addr)
	value := bytes.Repeat([]byte("v"), 1200)
	batchSize := int32(len(plainBatch(value)))
	consumer.send(consumer.frame(longPollFetch("minbytes", 10*time.Second, 3*batchSize, 1<<20)))
	time.Sleep(100 * time.Millisecond)
	for i := range 3 {
		if i > 0 {
			// Too little so far: no answer yet.
			_ = consumer.c.SetReadDeadline(time.Now().Add(200 * time.Millisecond))
			var one [1]byte
			if n, _ := consumer.c.Read(one[:]); n > 0 {
				t.Fatalf("fetch answered after %d of 3 batches, below its MinBytes", i)
			}
		}
		if p := produceResult(t, producer.roundTrip(produceRequest("minbytes", plainBatch(value)))); p.ErrorCode != 0 {
			t.Fatalf("produce %d: error code %d", i, p.ErrorCode)
		}
	}
	start := time.Now()
	body, _, err := consumer.readFrame()
	if err != nil {
		t.Fatalf("read the fetch response: %v", err)
	}
	if el := time.Since(start); el > 5*time.Second {
		t.Fatalf("answered %v after MinBytes arrived: not woken by the appends", el)
	}
	batches, err := record.Split(fetchRecords(t, body))
	if err != nil || len(batches) != 3 {
		t.Fatalf("fetched %d batches, err %v; want 3", len(batches), err)
	}
}

func TestConnectionClosedWhileFetchWaits(t *testing.T) {
	b := brokertest.Start(t, nil)
	createTopic(t, b.Admin(), "gone", 1, nil)
	for range 20 {
		rc := dial(t, b.Addr)
		rc.send(rc.frame(longPollFetch("gone", 30*time.Second, 1, 1<<20)))
		rc.c.Close()
	}
	// Each closed connection's fetch stops waiting at once, not when its
	// 30 s MaxWait ends: its registration with the partition goes.
	part, ok := b.B.Catalog().Partition("gone", 0)
	if !ok {
		t.Fatal("partition gone-0 not found")
	}
	for deadline := time.Now().Add(5 * time.Second); part.Watchers() > 0; {
		if time.Now().After(deadline) {
			t.Fatalf("%d fetches still wait 5 s after their connections closed", part.Watchers())
		}
		time.Sleep(10 * time.Millisecond)
	}
	producer := dial(t, b.Addr)
	if p := produceResult(t, producer.roundTrip(produceRequest("gone", plainBatch([]byte("after"))))); p.ErrorCode != 0 {
		t.Fatalf("produce: error code %d", p.ErrorCode)
	}
	// A fresh consumer still gets the data at once.
	rc := dial(t, b.Addr)
	resp := rc.roundTrip(longPollFetch("gone", 5*time.Second, 1, 1<<20)).(*kmsg.FetchResponse)
	batches, err := record.Split(resp.Topics[0].Partitions[0].RecordBatches)
	if err != nil || len(batches) != 1 {
		t.Fatalf("fetched %d batches, err %v; want 1", len(batches), err)
	}
}

// A produce request's partitions are all appended before the fetches they
// complete read: a waiting consumer gets every partition at once.
func TestWaitingFetchSeesWholeProduceRequest(t *testing.T) {
	b := brokertest.Start(t, nil)
	createTopic(t, b.Admin(), "whole", 2, nil)
	consumer := dial(t, b.Addr)
	fetch := longPollFetch("whole", 10*time.Second, 1, 1<<20)
	second := fetch.Topics[0].Partitions[0]
	second.Partition = 1
	fetch.Topics[0].Partitions = append(fetch.Topics[0].Partitions, second)
	consumer.send(consumer.frame(fetch))
	time.Sleep(100 * time.Millisecond) // let the fetch start waiting

	produce := produceRequest("whole", plainBatch([]byte("p0")))
	p1 := produce.Topics[0].Partitions[0]
	p1.Partition, p1.Records = 1, plainBatch([]byte("p1"))
	produce.Topics[0].Partitions = append(produce.Topics[0].Partitions, p1)
	producer := dial(t, b.Addr)
	producer.roundTrip(produce)

	body, _, err := consumer.readFrame()
	if err != nil {
		t.Fatalf("read the fetch response: %v", err)
	}
	resp := kmsg.NewPtrFetchResponse()
	resp.SetVersion(11)
	if err := resp.ReadFrom(body); err != nil {
		t.Fatal(err)
	}
	for _, p := range resp.Topics[0].Partitions {
		if len(p.RecordBatches) == 0 {
			t.Fatalf("partition %d came back empty: the fetch was answered mid-request", p.Partition)
		}
	}
}

// A consumer that only long-polls has every response written by the
// goroutine that ends the wait, never by its connection's reader. Those
// writes must keep the connection's write deadline fresh, or the broker
// drops the consumer once connections.max.idle.ms has passed since the
// reader last wrote.
func TestLongPollsOutliveIdleTimeout(t *testing.T) {
	b := brokertest.Start(t, map[string]string{"connections.max.idle.ms": "500"})
	createTopic(t, b.Admin(), "idle", 1, nil)
	rc := dial(t, b.Addr)
	// Written by the reader: this sets a write deadline.
	rc.roundTrip(kmsg.NewPtrApiVersionsRequest())
	// The timeout plus the deadline's slack is 1.5 s; poll well past it.
	for end := time.Now().Add(3 * time.Second); time.Now().Before(end); {
		rc.send(rc.frame(longPollFetch("idle", 100*time.Millisecond, 1, 1<<20)))
		if _, _, err := rc.readFrame(); err != nil {
			t.Fatalf("long poll after %v: %v", time.Since(end.Add(-3*time.Second)), err)
		}
	}
}
