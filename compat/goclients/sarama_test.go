package goclients

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/IBM/sarama"
	"github.com/rcrowley/go-metrics"
)

// saramaCase is one sarama configuration the tests run: the protocol
// version it speaks decides which API versions it sends.
type saramaCase struct {
	name       string
	version    *sarama.KafkaVersion // nil keeps the library's default
	idempotent bool
	strategy   func() sarama.BalanceStrategy
}

// saramaCases are the library default (2.8 in sarama 1.61), an explicitly
// old 2.1 (old Produce, Fetch, JoinGroup and OffsetCommit versions, no
// flexible headers), 3.6, and the newest version sarama knows.
var saramaCases = []saramaCase{
	{name: "default", strategy: sarama.NewBalanceStrategyRange},
	{name: "v2.1", version: &sarama.V2_1_0_0, idempotent: true, strategy: sarama.NewBalanceStrategySticky},
	{name: "v3.6", version: &sarama.V3_6_0_0, idempotent: true, strategy: sarama.NewBalanceStrategySticky},
	{name: "newest", version: &sarama.MaxVersion, idempotent: true, strategy: sarama.NewBalanceStrategyRange},
}

// saramaConfig is the configuration every sarama client of a case uses.
func (c saramaCase) config() *sarama.Config {
	cfg := sarama.NewConfig()
	cfg.ClientID = "samsa-compat-sarama"
	if c.version != nil {
		cfg.Version = *c.version
	}
	cfg.Metadata.Retry.Backoff = 50 * time.Millisecond
	cfg.Producer.RequiredAcks = sarama.WaitForAll
	cfg.Producer.Return.Successes = true
	cfg.Producer.Retry.Backoff = 50 * time.Millisecond
	if c.idempotent {
		cfg.Producer.Idempotent = true
		cfg.Net.MaxOpenRequests = 1
	}
	cfg.Consumer.Return.Errors = true
	cfg.Consumer.Offsets.Initial = sarama.OffsetOldest
	cfg.Consumer.Group.Rebalance.GroupStrategies = []sarama.BalanceStrategy{c.strategy()}
	return cfg
}

func (c saramaCase) versionName() string {
	if c.version == nil {
		return sarama.DefaultVersion.String()
	}
	return c.version.String()
}

// TestSarama runs the admin, producer, partition consumer and consumer group
// of sarama against one broker per protocol version.
func TestSarama(t *testing.T) {
	for _, tc := range saramaCases {
		t.Run(tc.name, func(t *testing.T) {
			t.Logf("sarama protocol version %s, idempotent=%v, strategy %s", tc.versionName(), tc.idempotent, tc.strategy().Name())
			captureSaramaLog(t)
			b := startBroker(t)
			testSaramaRoundTrip(t, b, tc)
		})
	}
}

const (
	saramaTopic      = "sarama-events"
	saramaPartitions = 3
	saramaMessages   = 1000
)

func testSaramaRoundTrip(t *testing.T, b *broker, tc saramaCase) {
	cfg := tc.config()
	admin, err := sarama.NewClusterAdmin([]string{b.addr}, cfg)
	if err != nil {
		t.Fatalf("NewClusterAdmin: %v", err)
	}
	defer admin.Close()

	if !t.Run("admin", func(t *testing.T) { checkSaramaAdmin(t, admin) }) {
		return
	}
	var want map[int32][]record
	if !t.Run("produce", func(t *testing.T) {
		acked := saramaProduce(t, b, cfg, saramaTopic, saramaMessages, 100)
		want = checkAcked(t, acked, saramaMessages, saramaPartitions)
		t.Logf("acknowledged per partition: %s", counts(want))
	}) {
		return
	}
	t.Run("consumer", func(t *testing.T) {
		got := saramaConsumePartition(t, b, cfg, saramaTopic, 0, len(want[0]))
		checkConsumed(t, map[int32][]record{0: want[0]}, got)
	})
	t.Run("group", func(t *testing.T) {
		group := "sarama-group-" + tc.name
		got := saramaConsumeGroup(t, b, cfg, group, saramaTopic, saramaMessages)
		checkConsumed(t, want, got)
		checkSaramaGroupDone(t, admin, group, saramaTopic, want)
	})
	t.Run("compression", func(t *testing.T) {
		testSaramaCompression(t, b, tc)
	})
}

// checkSaramaAdmin creates the topic with one non-default setting and reads
// it back through DescribeTopics, ListTopics and DescribeConfig.
func checkSaramaAdmin(t *testing.T, admin sarama.ClusterAdmin) {
	retention := "3600000"
	err := admin.CreateTopic(saramaTopic, &sarama.TopicDetail{
		NumPartitions:     saramaPartitions,
		ReplicationFactor: 1,
		ConfigEntries:     map[string]*string{"retention.ms": &retention},
	}, false)
	if err != nil {
		t.Fatalf("CreateTopic: %v", err)
	}
	if err := admin.CreateTopic(saramaTopic, &sarama.TopicDetail{NumPartitions: 1, ReplicationFactor: 1}, false); !errors.Is(err, sarama.ErrTopicAlreadyExists) {
		t.Errorf("CreateTopic of an existing topic: %v, want %v", err, sarama.ErrTopicAlreadyExists)
	}

	metadata, err := admin.DescribeTopics([]string{saramaTopic})
	if err != nil {
		t.Fatalf("DescribeTopics: %v", err)
	}
	if len(metadata) != 1 || metadata[0].Name != saramaTopic || metadata[0].Err != sarama.ErrNoError {
		t.Fatalf("DescribeTopics: %+v, want one topic %s without error", metadata, saramaTopic)
	}
	brokers, controller, err := admin.DescribeCluster()
	if err != nil {
		t.Fatalf("DescribeCluster: %v", err)
	}
	if len(brokers) != 1 || brokers[0].ID() != controller {
		t.Errorf("DescribeCluster: %d brokers, controller %d; want one broker that is the controller", len(brokers), controller)
	}
	partitions := metadata[0].Partitions
	slices.SortFunc(partitions, func(a, b *sarama.PartitionMetadata) int { return int(a.ID - b.ID) })
	if len(partitions) != saramaPartitions {
		t.Fatalf("DescribeTopics: %d partitions, want %d", len(partitions), saramaPartitions)
	}
	for i, p := range partitions {
		if p.ID != int32(i) || p.Err != sarama.ErrNoError || p.Leader != controller ||
			!slices.Equal(p.Replicas, []int32{controller}) || !slices.Equal(p.Isr, []int32{controller}) {
			t.Errorf("DescribeTopics partition %d: id %d err %v leader %d replicas %v isr %v; want leader, replicas and isr [%d]",
				i, p.ID, p.Err, p.Leader, p.Replicas, p.Isr, controller)
		}
	}

	topics, err := admin.ListTopics()
	if err != nil {
		t.Fatalf("ListTopics: %v", err)
	}
	detail, ok := topics[saramaTopic]
	if !ok {
		t.Fatalf("ListTopics: %s missing from %v", saramaTopic, slices.Sorted(maps.Keys(topics)))
	}
	if detail.NumPartitions != saramaPartitions || detail.ReplicationFactor != 1 {
		t.Errorf("ListTopics: %d partitions, replication factor %d; want %d and 1", detail.NumPartitions, detail.ReplicationFactor, saramaPartitions)
	}
	// sarama keeps only the entries the broker reports as not default.
	overrides := map[string]string{}
	for name, value := range detail.ConfigEntries {
		overrides[name] = *value
	}
	if !maps.Equal(overrides, map[string]string{"retention.ms": retention}) {
		t.Errorf("ListTopics: non-default configs %v, want only retention.ms=%s", overrides, retention)
	}

	entries, err := admin.DescribeConfig(sarama.ConfigResource{Type: sarama.TopicResource, Name: saramaTopic})
	if err != nil {
		t.Fatalf("DescribeConfig: %v", err)
	}
	byName := map[string]sarama.ConfigEntry{}
	for _, e := range entries {
		byName[e.Name] = e
	}
	if e, ok := byName["retention.ms"]; !ok || e.Value != retention || e.Default {
		t.Errorf("DescribeConfig retention.ms: %+v (present %v), want %s set on the topic", e, ok, retention)
	}
	if e, ok := byName["cleanup.policy"]; !ok || e.Value != "delete" || !e.Default {
		t.Errorf("DescribeConfig cleanup.policy: %+v (present %v), want the default delete", e, ok)
	}
}

// saramaProduce sends n keyed messages with a header and a timestamp
// through a SyncProducer in batches of batchSize and returns them as
// acknowledged, in send order.
func saramaProduce(t *testing.T, b *broker, cfg *sarama.Config, topic string, n, batchSize int) []record {
	t.Helper()
	producer, err := sarama.NewSyncProducer([]string{b.addr}, cfg)
	if err != nil {
		t.Fatalf("NewSyncProducer: %v", err)
	}
	// Closed when the test ends, not here: closing unregisters the
	// producer's metrics, which the compression test reads.
	t.Cleanup(func() {
		if err := producer.Close(); err != nil {
			t.Errorf("close producer: %v", err)
		}
	})
	base := time.Now().Truncate(time.Millisecond)
	var acked []record
	for start := 0; start < n; start += batchSize {
		batch := make([]*sarama.ProducerMessage, 0, batchSize)
		for i := start; i < min(n, start+batchSize); i++ {
			batch = append(batch, &sarama.ProducerMessage{
				Topic:     topic,
				Key:       sarama.StringEncoder(keyFor(i)),
				Value:     sarama.StringEncoder(valueFor(topic, i)),
				Headers:   []sarama.RecordHeader{{Key: []byte("seq"), Value: []byte(strconv.Itoa(i))}},
				Timestamp: base.Add(time.Duration(i) * time.Millisecond),
			})
		}
		if err := producer.SendMessages(batch); err != nil {
			var perMessage sarama.ProducerErrors
			if errors.As(err, &perMessage) && len(perMessage) > 0 {
				t.Fatalf("SendMessages %d..%d: %d failed, first: %v", start, start+len(batch)-1, len(perMessage), perMessage[0].Err)
			}
			t.Fatalf("SendMessages %d..%d: %v", start, start+len(batch)-1, err)
		}
		for i, m := range batch {
			acked = append(acked, record{
				partition: m.Partition,
				offset:    m.Offset,
				key:       keyFor(start + i),
				value:     valueFor(topic, start+i),
				seq:       strconv.Itoa(start + i),
				timeMs:    m.Timestamp.UnixMilli(),
			})
		}
	}
	return acked
}

// saramaRecord converts a consumed message.
func saramaRecord(m *sarama.ConsumerMessage) record {
	r := record{
		partition: m.Partition,
		offset:    m.Offset,
		key:       string(m.Key),
		value:     string(m.Value),
		timeMs:    m.Timestamp.UnixMilli(),
	}
	for _, h := range m.Headers {
		if string(h.Key) == "seq" {
			r.seq = string(h.Value)
		}
	}
	return r
}

// saramaConsumePartition reads n messages of one partition from the oldest
// offset with a plain Consumer, then checks the high watermark it saw.
func saramaConsumePartition(t *testing.T, b *broker, cfg *sarama.Config, topic string, partition int32, n int) []record {
	t.Helper()
	consumer, err := sarama.NewConsumer([]string{b.addr}, cfg)
	if err != nil {
		t.Fatalf("NewConsumer: %v", err)
	}
	defer consumer.Close()
	pc, err := consumer.ConsumePartition(topic, partition, sarama.OffsetOldest)
	if err != nil {
		t.Fatalf("ConsumePartition %s/%d: %v", topic, partition, err)
	}
	defer pc.Close()
	timeout := time.NewTimer(15 * time.Second)
	defer timeout.Stop()
	var got []record
	for len(got) < n {
		select {
		case m := <-pc.Messages():
			got = append(got, saramaRecord(m))
		case err := <-pc.Errors():
			t.Fatalf("ConsumePartition %s/%d after %d messages: %v", topic, partition, len(got), err)
		case <-timeout.C:
			t.Fatalf("ConsumePartition %s/%d: %d of %d messages within 15s", topic, partition, len(got), n)
		}
	}
	if hwm := pc.HighWaterMarkOffset(); hwm != int64(n) {
		t.Errorf("HighWaterMarkOffset %d, want %d", hwm, n)
	}
	return got
}

// groupHandler is a sarama ConsumerGroupHandler that records every message,
// marks it, and commits once the expected number has arrived.
type groupHandler struct {
	want     int
	received recordLog
	done     chan struct{}
	doneOnce sync.Once
}

func (h *groupHandler) Setup(sarama.ConsumerGroupSession) error   { return nil }
func (h *groupHandler) Cleanup(sarama.ConsumerGroupSession) error { return nil }

func (h *groupHandler) ConsumeClaim(session sarama.ConsumerGroupSession, claim sarama.ConsumerGroupClaim) error {
	for {
		select {
		case m, ok := <-claim.Messages():
			if !ok {
				return nil
			}
			// Marked before it is counted: when the count is complete every
			// message has been marked, so the commit below covers all.
			session.MarkMessage(m, "")
			if h.received.add(saramaRecord(m)) == h.want {
				session.Commit()
				h.doneOnce.Do(func() { close(h.done) })
			}
		case <-session.Context().Done():
			return nil
		}
	}
}

// saramaConsumeGroup consumes the topic with a consumer group from the
// oldest offsets until n messages arrived, commits, and closes the group
// (which leaves it).
func saramaConsumeGroup(t *testing.T, b *broker, cfg *sarama.Config, groupID, topic string, n int) []record {
	t.Helper()
	group, err := sarama.NewConsumerGroup([]string{b.addr}, groupID, cfg)
	if err != nil {
		t.Fatalf("NewConsumerGroup: %v", err)
	}
	handler := &groupHandler{want: n, done: make(chan struct{})}
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()

	var consumeErrs recordErrors
	consuming := make(chan struct{})
	go func() {
		defer close(consuming)
		for ctx.Err() == nil {
			if err := group.Consume(ctx, []string{topic}, handler); err != nil {
				consumeErrs.add(fmt.Errorf("Consume: %w", err))
				return
			}
		}
	}()
	draining := make(chan struct{})
	go func() {
		defer close(draining)
		for err := range group.Errors() {
			consumeErrs.add(err)
		}
	}()

	select {
	case <-handler.done:
	case <-ctx.Done():
		t.Errorf("consumer group: %d of %d messages within 15s", len(handler.received.snapshot()), n)
	}
	cancel()
	<-consuming
	if err := group.Close(); err != nil {
		t.Errorf("close consumer group: %v", err)
	}
	<-draining
	for _, err := range consumeErrs.all() {
		t.Errorf("consumer group error: %v", err)
	}
	return handler.received.snapshot()
}

// recordErrors collects errors from client goroutines.
type recordErrors struct {
	mu   sync.Mutex
	errs []error
}

func (e *recordErrors) add(err error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.errs = append(e.errs, err)
}

func (e *recordErrors) all() []error {
	e.mu.Lock()
	defer e.mu.Unlock()
	return slices.Clone(e.errs)
}

// checkSaramaGroupDone checks, after the group's only member left, that the
// committed offsets are the end offsets and that the group is empty.
func checkSaramaGroupDone(t *testing.T, admin sarama.ClusterAdmin, group, topic string, want map[int32][]record) {
	t.Helper()
	partitions := slices.Sorted(maps.Keys(want))
	fetched, err := admin.ListConsumerGroupOffsets(group, map[string][]int32{topic: partitions})
	if err != nil {
		t.Fatalf("ListConsumerGroupOffsets: %v", err)
	}
	if fetched.Err != sarama.ErrNoError {
		t.Fatalf("ListConsumerGroupOffsets: %v", fetched.Err)
	}
	request := map[string]map[int32]int64{topic: {}}
	for _, p := range partitions {
		request[topic][p] = sarama.OffsetNewest
	}
	ends, err := admin.ListOffsets(request, nil)
	if err != nil {
		t.Fatalf("ListOffsets: %v", err)
	}
	for _, p := range partitions {
		block := fetched.GetBlock(topic, p)
		end := ends[topic][p]
		switch {
		case block == nil:
			t.Errorf("ListConsumerGroupOffsets: no offset for partition %d", p)
		case block.Err != sarama.ErrNoError:
			t.Errorf("ListConsumerGroupOffsets partition %d: %v", p, block.Err)
		case end == nil || end.Err != sarama.ErrNoError:
			t.Errorf("ListOffsets partition %d: %+v", p, end)
		case block.Offset != int64(len(want[p])) || end.Offset != int64(len(want[p])):
			t.Errorf("partition %d: committed %d, end offset %d; want both %d (lag 0)", p, block.Offset, end.Offset, len(want[p]))
		}
	}

	descriptions, err := admin.DescribeConsumerGroups([]string{group})
	if err != nil {
		t.Fatalf("DescribeConsumerGroups: %v", err)
	}
	if len(descriptions) != 1 {
		t.Fatalf("DescribeConsumerGroups: %d groups, want 1", len(descriptions))
	}
	if d := descriptions[0]; d.Err != sarama.ErrNoError || d.State != "Empty" || len(d.Members) != 0 {
		t.Errorf("DescribeConsumerGroups %s: err %v state %q, %d members; want Empty with no members after Close",
			d.GroupId, d.Err, d.State, len(d.Members))
	}
}

// testSaramaCompression produces one batch per codec into a topic of its
// own and reads it back.
func testSaramaCompression(t *testing.T, b *broker, tc saramaCase) {
	codecs := []sarama.CompressionCodec{
		sarama.CompressionGZIP,
		sarama.CompressionSnappy,
		sarama.CompressionLZ4,
		sarama.CompressionZSTD,
	}
	const batchSize = 200
	for _, codec := range codecs {
		t.Run(codec.String(), func(t *testing.T) {
			topic := "sarama-" + codec.String()
			cfg := tc.config()
			cfg.Producer.Compression = codec
			// One produce request for the whole batch: flush when all
			// messages are buffered, with a long timer as the fallback.
			cfg.Producer.Flush.Messages = batchSize
			cfg.Producer.Flush.Frequency = 5 * time.Second
			cfg.MetricRegistry = metrics.NewRegistry()
			admin, err := sarama.NewClusterAdmin([]string{b.addr}, cfg)
			if err != nil {
				t.Fatalf("NewClusterAdmin: %v", err)
			}
			defer admin.Close()
			if err := admin.CreateTopic(topic, &sarama.TopicDetail{NumPartitions: 1, ReplicationFactor: 1}, false); err != nil {
				t.Fatalf("CreateTopic %s: %v", topic, err)
			}
			acked := saramaProduce(t, b, cfg, topic, batchSize, batchSize)
			want := checkAcked(t, acked, batchSize, 1)
			checkSaramaOneCompressedBatch(t, cfg.MetricRegistry, topic, batchSize)
			got := saramaConsumePartition(t, b, cfg, topic, 0, batchSize)
			checkConsumed(t, want, got)
		})
	}
}

// checkSaramaOneCompressedBatch reads the producer's metrics to show that
// the messages went in one produce request and were compressed, so the
// broker really received a compressed batch.
func checkSaramaOneCompressedBatch(t *testing.T, registry metrics.Registry, topic string, n int) {
	t.Helper()
	histogram := func(name string) metrics.Histogram {
		h, ok := registry.Get(name + "-for-topic-" + topic).(metrics.Histogram)
		if !ok {
			t.Fatalf("sarama metric %s-for-topic-%s missing", name, topic)
		}
		return h
	}
	if records := histogram("records-per-request"); records.Count() != 1 || records.Max() != int64(n) {
		t.Errorf("producer sent %d requests with at most %d records, want one request with %d", records.Count(), records.Max(), n)
	}
	// sarama records uncompressed size / compressed size × 100.
	if ratio := histogram("compression-ratio"); ratio.Count() != 1 || ratio.Min() <= 100 {
		t.Errorf("compression ratio ×100: %d batches, min %d; want one compressed batch (over 100)", ratio.Count(), ratio.Min())
	}
}
