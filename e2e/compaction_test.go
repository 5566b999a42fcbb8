package e2e

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/samsa-broker/samsa/internal/brokertest"
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

// TestLogCompaction: a cleanup.policy=compact topic keeps each key's latest
// value at its original offset, whatever the producer's compression, drops
// superseded values and expired tombstones, refuses keyless records, and
// reads the same after a restart.
func TestLogCompaction(t *testing.T) {
	b := brokertest.Start(t, map[string]string{"log.cleaner.backoff.ms": "50"})
	adm := b.Admin()
	ctx := brokertest.Context(t, 60*time.Second)
	createTopic(t, adm, "compacted", 1, map[string]*string{
		"cleanup.policy":            strp("compact"),
		"segment.bytes":             strp("4096"),
		"min.cleanable.dirty.ratio": strp("0.01"),
		"delete.retention.ms":       strp("0"),
	})

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
