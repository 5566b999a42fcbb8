package compat

import (
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/samsa-broker/samsa/internal/brokertest"
)

// isolatedValues appends a plain sentinel record to every partition of topic
// and reads the topic from the start with franz-go at the isolation level
// until each sentinel arrives; it returns the other values, sorted. The
// sentinels bound the read even when a partition ends in aborted records
// and markers, which read_committed fetches return nothing for.
func isolatedValues(t *testing.T, b *brokertest.Broker, topic string, partitions int32, committed bool) []string {
	t.Helper()
	ctx := brokertest.Context(t, 30*time.Second)
	sentinel := "sentinel-" + strconv.FormatBool(committed)
	prod := b.Client(kgo.RecordPartitioner(kgo.ManualPartitioner()))
	for p := range partitions {
		if err := prod.ProduceSync(ctx, &kgo.Record{Topic: topic, Partition: p, Value: []byte(sentinel)}).FirstErr(); err != nil {
			t.Fatalf("produce sentinel: %v", err)
		}
	}
	level := kgo.ReadUncommitted()
	if committed {
		level = kgo.ReadCommitted()
	}
	cl := b.Client(kgo.ConsumeTopics(topic), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
		kgo.FetchIsolationLevel(level), kgo.FetchMaxWait(200*time.Millisecond))
	seen := map[int32]bool{}
	var values []string
	for len(seen) < int(partitions) {
		fs := cl.PollFetches(ctx)
		if ctx.Err() != nil {
			t.Fatalf("read %s (committed=%v): sentinels of %d of %d partitions after 30 s; values %v", topic, committed, len(seen), partitions, values)
		}
		fs.EachError(func(_ string, p int32, err error) { t.Fatalf("fetch %s-%d: %v", topic, p, err) })
		fs.EachRecord(func(r *kgo.Record) {
			switch v := string(r.Value); {
			case v == sentinel:
				seen[r.Partition] = true
			case len(v) >= 9 && v[:9] == "sentinel-":
			default:
				values = append(values, v)
			}
		})
	}
	slices.Sort(values)
	return values
}

func valuesOf(prefix string, n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = prefix + strconv.Itoa(i)
	}
	return out
}

// TestKafkajsTransactions runs compat/kafkajs/transactions.js: committed
// and aborted transactions, sendOffsets inside both, fencing by a second
// producer with the same transactional id, and a read_committed consumer.
func TestKafkajsTransactions(t *testing.T) {
	k := findKafkajs(t)
	b := brokertest.Start(t, nil)
	const topic, group, partitions = "kjs-txn", "kjs-txn-group", 3
	createTopic(t, b, topic, partitions)

	var sum struct {
		Consumed     []string
		FencedError  string
		GroupOffsets map[string]int64
	}
	k.script(t, b.Addr, 90*time.Second, &sum, "transactions.js", topic, group)

	committed := slices.Concat(valuesOf("c", 20), valuesOf("d", 5), []string{"f"})
	slices.Sort(committed)
	all := slices.Concat(committed, valuesOf("a", 10), []string{"x", "z"})
	slices.Sort(all)

	got := slices.Sorted(slices.Values(sum.Consumed))
	if !slices.Equal(got, committed) {
		t.Errorf("kafkajs read_committed consumer got %v, want %v", got, committed)
	}
	if sum.FencedError != "INVALID_PRODUCER_EPOCH" && sum.FencedError != "PRODUCER_FENCED" {
		t.Errorf("fenced kafkajs producer's commit: got error %q, want INVALID_PRODUCER_EPOCH or PRODUCER_FENCED", sum.FencedError)
	}
	if sum.GroupOffsets["0"] != 7 {
		t.Errorf("kafkajs admin sees group offset %v for partition 0, want 7 (the committed sendOffsets)", sum.GroupOffsets)
	}
	if got := isolatedValues(t, b, topic, partitions, true); !slices.Equal(got, committed) {
		t.Errorf("franz-go read_committed got %v, want %v", got, committed)
	}
	if got := isolatedValues(t, b, topic, partitions, false); !slices.Equal(got, all) {
		t.Errorf("franz-go read_uncommitted got %v, want %v", got, all)
	}

	ctx := brokertest.Context(t, 15*time.Second)
	offsets, err := b.Admin().FetchOffsets(ctx, group)
	if err != nil {
		t.Fatal(err)
	}
	o, ok := offsets.Lookup(topic, 0)
	if !ok || o.At != 7 {
		t.Errorf("kadm sees %s-0 committed at %+v, want 7", topic, o)
	}
	var others []kadm.OffsetResponse
	offsets.Each(func(r kadm.OffsetResponse) {
		if r.Partition != 0 {
			others = append(others, r)
		}
	})
	if len(others) != 0 {
		t.Errorf("offsets committed for partitions nobody sent: %+v", others)
	}
}
