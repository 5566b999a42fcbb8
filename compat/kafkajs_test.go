package compat

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/samsa-broker/samsa/internal/brokertest"
)

// kafkajs is the pinned kafkajs installation in compat/kafkajs.
type kafkajs struct {
	node string // node executable
	dir  string // absolute path of compat/kafkajs
}

// findKafkajs returns the kafkajs setup, or skips/fails when node or the
// npm dependencies are missing.
func findKafkajs(t *testing.T) kafkajs {
	t.Helper()
	node := lookTool(t, "node")
	dir, err := filepath.Abs("kafkajs")
	if err != nil {
		t.Fatalf("locate compat/kafkajs: %v", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "node_modules", "kafkajs", "package.json")); err != nil {
		toolMissing(t, "kafkajs is not installed in compat/kafkajs/node_modules (run `npm ci` there)")
	}
	return kafkajs{node: node, dir: dir}
}

// script runs one of compat/kafkajs's scripts against broker and decodes
// its "SUMMARY <json>" line into summary.
func (k kafkajs) script(t *testing.T, broker string, timeout time.Duration, summary any, script string, args ...string) {
	t.Helper()
	k.scriptWith(t, []string{"BROKER=" + broker}, timeout, summary, script, args...)
}

// scriptWith is script with the environment env (BROKER and what else the
// script reads).
func (k kafkajs) scriptWith(t *testing.T, env []string, timeout time.Duration, summary any, script string, args ...string) {
	t.Helper()
	out := run(t, command{
		name:    k.node,
		args:    append([]string{filepath.Join(k.dir, script)}, args...),
		dir:     k.dir,
		env:     env,
		timeout: timeout,
	})
	decodeSummary(t, out, summary)
}

// decodeSummary finds the line "SUMMARY <json>" that the compat scripts
// print last and decodes it.
func decodeSummary(t *testing.T, out output, summary any) {
	t.Helper()
	for line := range strings.Lines(out.stdout) {
		if rest, ok := strings.CutPrefix(line, "SUMMARY "); ok {
			if err := json.Unmarshal([]byte(rest), summary); err != nil {
				t.Fatalf("decode summary %q: %v", tail(rest), err)
			}
			return
		}
	}
	t.Fatalf("no SUMMARY line in output\nstdout:\n%s\nstderr:\n%s", tail(out.stdout), tail(out.stderr))
}

// offsetsSummary is what offsets.js prints.
type offsetsSummary []struct {
	Partition int32
	Low       int64
	High      int64
}

// kafkajsProduceSummary is what `roundtrip.js produce` prints.
type kafkajsProduceSummary struct {
	Topic      string
	Created    bool
	Partitions []struct {
		Partition int32
		Leader    int32
		ErrorCode int16
	}
	Batches []struct {
		First   int
		Count   int
		Gzip    bool
		Results []struct {
			Partition  int32
			ErrorCode  int16
			BaseOffset int64
		}
	}
	Offsets offsetsSummary
}

// The shape of the data roundtrip.js produces.
const (
	kafkajsMessages   = 1000
	kafkajsBatchSize  = 100
	kafkajsKeys       = 37
	kafkajsPartitions = 3
	kafkajsGzipBatch  = 3 // the batch sent with gzip compression
)

// TestKafkajsProduce creates a topic and produces with kafkajs (idempotent,
// acks -1, one gzip batch), then checks every record with franz-go.
func TestKafkajsProduce(t *testing.T) {
	k := findKafkajs(t)
	b := brokertest.Start(t, nil)
	const topic = "kafkajs-produce"

	var sum kafkajsProduceSummary
	k.script(t, b.Addr, 90*time.Second, &sum, "roundtrip.js", "produce", topic)

	if !sum.Created {
		t.Errorf("admin.createTopics returned false for a new topic")
	}
	if len(sum.Partitions) != kafkajsPartitions {
		t.Fatalf("kafkajs metadata shows %d partitions, want %d: %+v", len(sum.Partitions), kafkajsPartitions, sum.Partitions)
	}
	for _, p := range sum.Partitions {
		if p.ErrorCode != 0 || p.Leader < 0 {
			t.Errorf("kafkajs metadata partition %d: leader %d, error code %d", p.Partition, p.Leader, p.ErrorCode)
		}
	}

	byPartition := readTopic(t, b, topic)
	requireDenseOffsets(t, byPartition)
	seen := make([]bool, kafkajsMessages)
	partitionOfKey := map[string]int32{}
	// firstOfBatch[batch][partition] is the offset of the batch's first record there.
	firstOfBatch := map[int]map[int32]int64{}
	total := 0
	for p, recs := range byPartition {
		last := -1
		for _, r := range recs {
			total++
			v, err := strconv.Atoi(string(r.Value))
			if err != nil || v < 0 || v >= kafkajsMessages {
				t.Fatalf("partition %d offset %d: unexpected value %q", p, r.Offset, r.Value)
			}
			if seen[v] {
				t.Fatalf("value %d stored twice (partition %d offset %d)", v, p, r.Offset)
			}
			seen[v] = true
			if v <= last {
				t.Errorf("partition %d: value %d at offset %d follows %d; send order not kept", p, v, r.Offset, last)
			}
			last = v
			if want := fmt.Sprintf("key-%d", v%kafkajsKeys); string(r.Key) != want {
				t.Errorf("value %d: key %q, want %q", v, r.Key, want)
			}
			if q, ok := partitionOfKey[string(r.Key)]; ok && q != p {
				t.Errorf("key %s is in partitions %d and %d", r.Key, q, p)
			}
			partitionOfKey[string(r.Key)] = p
			if len(r.Headers) != 1 || r.Headers[0].Key != "seq" || string(r.Headers[0].Value) != string(r.Value) {
				t.Errorf("value %d: headers %+v, want seq=%d", v, r.Headers, v)
			}
			batch := v / kafkajsBatchSize
			wantCodec := uint8(0)
			if batch == kafkajsGzipBatch {
				wantCodec = 1 // gzip
			}
			if got := r.Attrs.CompressionType(); got != wantCodec {
				t.Errorf("value %d (batch %d): stored with compression %d, want %d", v, batch, got, wantCodec)
			}
			if firstOfBatch[batch] == nil {
				firstOfBatch[batch] = map[int32]int64{}
			}
			if _, ok := firstOfBatch[batch][p]; !ok {
				firstOfBatch[batch][p] = r.Offset
			}
		}
	}
	if total != kafkajsMessages {
		t.Fatalf("kgo read %d records (%s), want %d", total, recordCounts(byPartition), kafkajsMessages)
	}

	for i, batch := range sum.Batches {
		if batch.Gzip != (i == kafkajsGzipBatch) {
			t.Errorf("batch %d: gzip=%v", i, batch.Gzip)
		}
		if len(batch.Results) != len(firstOfBatch[i]) {
			t.Errorf("batch %d: kafkajs got results for %d partitions, the records are in %d", i, len(batch.Results), len(firstOfBatch[i]))
		}
		for _, res := range batch.Results {
			if res.ErrorCode != 0 {
				t.Errorf("batch %d partition %d: error code %d", i, res.Partition, res.ErrorCode)
			}
			if want, ok := firstOfBatch[i][res.Partition]; !ok || res.BaseOffset != want {
				t.Errorf("batch %d partition %d: acknowledged base offset %d, its first record is at %d (present %v)",
					i, res.Partition, res.BaseOffset, want, ok)
			}
		}
	}

	ends := endOffsets(t, b.Admin(), topic)
	if len(sum.Offsets) != kafkajsPartitions {
		t.Fatalf("kafkajs fetchTopicOffsets returned %d partitions, want %d", len(sum.Offsets), kafkajsPartitions)
	}
	for _, o := range sum.Offsets {
		if o.Low != 0 || o.High != ends[o.Partition] {
			t.Errorf("partition %d: kafkajs offsets low %d high %d, want 0 and %d", o.Partition, o.Low, o.High, ends[o.Partition])
		}
	}
}

// kafkajsConsumeSummary is what `roundtrip.js consume` prints.
type kafkajsConsumeSummary struct {
	Messages []struct {
		Partition int32
		Offset    int64
		Key       string
		Value     string
	}
	Committed []struct {
		Partition int32
		Offset    int64
	}
	GroupState     string
	GroupErrorCode int16
}

// TestKafkajsConsumerGroup produces with franz-go and consumes with a kafkajs
// consumer group from the beginning; the group's commits are checked with
// both clients.
func TestKafkajsConsumerGroup(t *testing.T) {
	k := findKafkajs(t)
	b := brokertest.Start(t, nil)
	const topic, group = "kafkajs-group", "compat-kafkajs-group"
	createTopic(t, b, topic, kafkajsPartitions)
	// kafkajs reads only gzip without codec plugins; kgo defaults to snappy.
	produceKeyed(t, b.Client(kgo.DefaultProduceTopic(topic), kgo.ProducerBatchCompression(kgo.NoCompression())),
		kafkajsMessages, kafkajsKeys)
	want := readTopic(t, b, topic)
	if len(want) != kafkajsPartitions {
		t.Fatalf("franz-go spread the records over %d partitions, want %d", len(want), kafkajsPartitions)
	}

	var sum kafkajsConsumeSummary
	k.script(t, b.Addr, 90*time.Second, &sum, "roundtrip.js", "consume", topic, strconv.Itoa(kafkajsMessages), group)

	if len(sum.Messages) != kafkajsMessages {
		t.Errorf("kafkajs delivered %d messages, want %d", len(sum.Messages), kafkajsMessages)
	}
	next := map[int32]int{} // index into want[p] of the next expected record
	for _, m := range sum.Messages {
		i := next[m.Partition]
		recs := want[m.Partition]
		if i >= len(recs) {
			t.Fatalf("kafkajs delivered partition %d offset %d beyond the %d records there", m.Partition, m.Offset, len(recs))
		}
		r := recs[i]
		if m.Offset != r.Offset || m.Key != string(r.Key) || m.Value != string(r.Value) {
			t.Fatalf("partition %d: kafkajs delivered offset %d %s=%s, want offset %d %s=%s",
				m.Partition, m.Offset, m.Key, m.Value, r.Offset, r.Key, r.Value)
		}
		next[m.Partition] = i + 1
	}

	ends := endOffsets(t, b.Admin(), topic)
	if len(sum.Committed) != kafkajsPartitions {
		t.Errorf("kafkajs fetchOffsets returned %d partitions, want %d", len(sum.Committed), kafkajsPartitions)
	}
	for _, c := range sum.Committed {
		if c.Offset != ends[c.Partition] {
			t.Errorf("partition %d: kafkajs sees committed offset %d, want %d", c.Partition, c.Offset, ends[c.Partition])
		}
	}
	fetched, err := b.Admin().FetchOffsets(brokertest.Context(t, 15*time.Second), group)
	if err != nil {
		t.Fatalf("kadm fetch offsets of %s: %v", group, err)
	}
	for p, end := range ends {
		got, ok := fetched.Lookup(topic, p)
		if !ok || got.Err != nil || got.At != end {
			t.Errorf("partition %d: kadm sees committed offset %+v (present %v), want %d", p, got, ok, end)
		}
	}
	if sum.GroupErrorCode != 0 || sum.GroupState != "Empty" {
		t.Errorf("after the consumer left, describeGroups says state %q error %d, want Empty and 0", sum.GroupState, sum.GroupErrorCode)
	}
}

// produceKeyed produces n records with franz-go to the client's default
// topic: key "key-<i mod keys>", value "<i>", waiting for every ack.
func produceKeyed(t *testing.T, cl *kgo.Client, n, keys int) {
	t.Helper()
	ctx := brokertest.Context(t, 60*time.Second)
	recs := make([]*kgo.Record, n)
	for i := range recs {
		recs[i] = &kgo.Record{Key: []byte(fmt.Sprintf("key-%d", i%keys)), Value: []byte(strconv.Itoa(i))}
	}
	if err := cl.ProduceSync(ctx, recs...).FirstErr(); err != nil {
		t.Fatalf("produce with kgo: %v", err)
	}
}
