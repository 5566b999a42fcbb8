package goclients

import (
	"net"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"
)

const (
	kafkaGoTopic      = "kafka-go-events"
	kafkaGoGroup      = "kafka-go-group"
	kafkaGoPartitions = 3
	kafkaGoMessages   = 1000
)

// TestKafkaGo runs kafka-go's Conn, Writer, Reader (with and without a
// group) and Client against one broker.
func TestKafkaGo(t *testing.T) {
	b := startBroker(t)
	logs := newTestLog(t, "kafka-go")

	var controller kafka.Broker
	if !t.Run("create-topics", func(t *testing.T) { controller = kafkaGoCreateTopic(t, b) }) {
		return
	}
	t.Run("read-partitions", func(t *testing.T) { kafkaGoCheckPartitions(t, b, controller) })

	var want map[int32][]record
	if !t.Run("writer", func(t *testing.T) {
		acked := kafkaGoWrite(t, b, logs)
		want = checkAcked(t, acked, kafkaGoMessages, kafkaGoPartitions)
		t.Logf("acknowledged per partition: %s", counts(want))
	}) {
		return
	}
	t.Run("reader-partition", func(t *testing.T) {
		got := kafkaGoReadPartition(t, b, logs, 0, len(want[0]))
		checkConsumed(t, map[int32][]record{0: want[0]}, got)
	})
	t.Run("reader-group", func(t *testing.T) {
		got := kafkaGoReadGroup(t, b, logs, kafkaGoMessages)
		checkConsumed(t, want, got)
	})
	t.Run("offsets", func(t *testing.T) { kafkaGoCheckOffsets(t, b, want) })
}

// kafkaGoCreateTopic creates the topic through a Conn to the controller and
// returns the controller.
func kafkaGoCreateTopic(t *testing.T, b *broker) kafka.Broker {
	ctx := testContext(t, 10*time.Second)
	conn, err := kafka.DialContext(ctx, "tcp", b.addr)
	if err != nil {
		t.Fatalf("Dial %s: %v", b.addr, err)
	}
	defer conn.Close()
	controller, err := conn.Controller()
	if err != nil {
		t.Fatalf("Controller: %v", err)
	}
	controllerAddr := net.JoinHostPort(controller.Host, strconv.Itoa(controller.Port))
	if controllerAddr != b.addr {
		t.Errorf("Controller at %s, want the only broker %s", controllerAddr, b.addr)
	}
	controllerConn, err := kafka.DialContext(ctx, "tcp", controllerAddr)
	if err != nil {
		t.Fatalf("Dial controller %s: %v", controllerAddr, err)
	}
	defer controllerConn.Close()
	err = controllerConn.CreateTopics(kafka.TopicConfig{
		Topic:             kafkaGoTopic,
		NumPartitions:     kafkaGoPartitions,
		ReplicationFactor: 1,
	})
	if err != nil {
		t.Fatalf("CreateTopics: %v", err)
	}
	// kafka-go's CreateTopics ignores TOPIC_ALREADY_EXISTS on purpose; the
	// topic must keep its 3 partitions (read-partitions checks them).
	err = controllerConn.CreateTopics(kafka.TopicConfig{Topic: kafkaGoTopic, NumPartitions: 1, ReplicationFactor: 1})
	if err != nil {
		t.Errorf("CreateTopics of an existing topic: %v, want nil (kafka-go ignores TOPIC_ALREADY_EXISTS)", err)
	}
	return controller
}

// kafkaGoCheckPartitions reads the topic's partitions through Conn: all led
// by the one broker, which is also the only replica.
func kafkaGoCheckPartitions(t *testing.T, b *broker, controller kafka.Broker) {
	ctx := testContext(t, 10*time.Second)
	conn, err := kafka.DialContext(ctx, "tcp", b.addr)
	if err != nil {
		t.Fatalf("Dial %s: %v", b.addr, err)
	}
	defer conn.Close()
	partitions, err := conn.ReadPartitions(kafkaGoTopic)
	if err != nil {
		t.Fatalf("ReadPartitions: %v", err)
	}
	slices.SortFunc(partitions, func(a, b kafka.Partition) int { return a.ID - b.ID })
	if len(partitions) != kafkaGoPartitions {
		t.Fatalf("ReadPartitions: %d partitions, want %d", len(partitions), kafkaGoPartitions)
	}
	for i, p := range partitions {
		if p.Topic != kafkaGoTopic || p.ID != i || p.Error != nil || p.Leader != controller ||
			!slices.Equal(p.Replicas, []kafka.Broker{controller}) || !slices.Equal(p.Isr, []kafka.Broker{controller}) {
			t.Errorf("ReadPartitions %d: %+v; want leader, replicas and isr %+v", i, p, controller)
		}
	}
}

// kafkaGoWrite writes the keyed messages with one WriteMessages call and
// returns them as acknowledged (the Writer's Completion reports partition
// and offset), in write order.
func kafkaGoWrite(t *testing.T, b *broker, logs *testLog) []record {
	ctx := testContext(t, 15*time.Second)
	var completedMu sync.Mutex
	completed := map[string]kafka.Message{} // by seq header
	var completionErrs []error
	writer := &kafka.Writer{
		Addr:         kafka.TCP(b.addr),
		Topic:        kafkaGoTopic,
		Balancer:     &kafka.Hash{},
		RequiredAcks: kafka.RequireAll,
		BatchSize:    100,
		BatchTimeout: 10 * time.Millisecond,
		Logger:       logs,
		ErrorLogger:  logs,
		Completion: func(messages []kafka.Message, err error) {
			completedMu.Lock()
			defer completedMu.Unlock()
			if err != nil {
				completionErrs = append(completionErrs, err)
				return
			}
			for _, m := range messages {
				completed[headerValue(m, "seq")] = m
			}
		},
	}
	base := time.Now().Truncate(time.Millisecond)
	messages := make([]kafka.Message, kafkaGoMessages)
	for i := range messages {
		messages[i] = kafka.Message{
			Key:     []byte(keyFor(i)),
			Value:   []byte(valueFor(kafkaGoTopic, i)),
			Headers: []kafka.Header{{Key: "seq", Value: []byte(strconv.Itoa(i))}},
			Time:    base.Add(time.Duration(i) * time.Millisecond),
		}
	}
	writeErr := writer.WriteMessages(ctx, messages...)
	if err := writer.Close(); err != nil {
		t.Errorf("close writer: %v", err)
	}
	if writeErr != nil {
		t.Fatalf("WriteMessages: %v", writeErr)
	}
	completedMu.Lock()
	defer completedMu.Unlock()
	for _, err := range completionErrs {
		t.Errorf("Completion: %v", err)
	}
	acked := make([]record, 0, len(messages))
	for i := range messages {
		seq := strconv.Itoa(i)
		m, ok := completed[seq]
		if !ok {
			t.Fatalf("message %d was not reported by Completion", i)
		}
		acked = append(acked, record{
			partition: int32(m.Partition),
			offset:    m.Offset,
			key:       keyFor(i),
			value:     valueFor(kafkaGoTopic, i),
			seq:       seq,
			timeMs:    messages[i].Time.UnixMilli(),
		})
	}
	return acked
}

func headerValue(m kafka.Message, key string) string {
	for _, h := range m.Headers {
		if h.Key == key {
			return string(h.Value)
		}
	}
	return ""
}

func kafkaGoRecord(m kafka.Message) record {
	return record{
		partition: int32(m.Partition),
		offset:    m.Offset,
		key:       string(m.Key),
		value:     string(m.Value),
		seq:       headerValue(m, "seq"),
		timeMs:    m.Time.UnixMilli(),
	}
}

// kafkaGoReadPartition reads n messages of one partition from FirstOffset
// with a Reader outside any group, then checks its lag is 0.
func kafkaGoReadPartition(t *testing.T, b *broker, logs *testLog, partition, n int) []record {
	ctx := testContext(t, 15*time.Second)
	reader := kafka.NewReader(kafka.ReaderConfig{
		Brokers:     []string{b.addr},
		Topic:       kafkaGoTopic,
		Partition:   partition,
		MaxWait:     200 * time.Millisecond,
		Logger:      logs,
		ErrorLogger: logs,
	})
	defer reader.Close()
	if err := reader.SetOffset(kafka.FirstOffset); err != nil {
		t.Fatalf("SetOffset(FirstOffset): %v", err)
	}
	var got []record
	for len(got) < n {
		m, err := reader.ReadMessage(ctx)
		if err != nil {
			t.Fatalf("ReadMessage after %d of %d: %v", len(got), n, err)
		}
		got = append(got, kafkaGoRecord(m))
	}
	lag, err := reader.ReadLag(ctx)
	if err != nil {
		t.Fatalf("ReadLag: %v", err)
	}
	if lag != 0 {
		t.Errorf("ReadLag after reading all %d messages: %d, want 0", n, lag)
	}
	return got
}

// kafkaGoReadGroup consumes the topic as the only member of a group from
// FirstOffset, committing every message synchronously, and closes the
// reader (which leaves the group).
func kafkaGoReadGroup(t *testing.T, b *broker, logs *testLog, n int) []record {
	ctx := testContext(t, 15*time.Second)
	reader := kafka.NewReader(kafka.ReaderConfig{
		Brokers:           []string{b.addr},
		GroupID:           kafkaGoGroup,
		Topic:             kafkaGoTopic,
		StartOffset:       kafka.FirstOffset,
		CommitInterval:    0, // CommitMessages commits before it returns
		MaxWait:           200 * time.Millisecond,
		HeartbeatInterval: time.Second,
		SessionTimeout:    10 * time.Second,
		RebalanceTimeout:  5 * time.Second,
		JoinGroupBackoff:  200 * time.Millisecond,
		Logger:            logs,
		ErrorLogger:       logs,
	})
	var got []record
	for len(got) < n {
		m, err := reader.FetchMessage(ctx)
		if err != nil {
			reader.Close()
			t.Fatalf("FetchMessage after %d of %d: %v", len(got), n, err)
		}
		got = append(got, kafkaGoRecord(m))
		if err := reader.CommitMessages(ctx, m); err != nil {
			reader.Close()
			t.Fatalf("CommitMessages %s/%d@%d: %v", m.Topic, m.Partition, m.Offset, err)
		}
	}
	if err := reader.Close(); err != nil {
		t.Errorf("close group reader: %v", err)
	}
	return got
}

// kafkaGoCheckOffsets lists each partition's first and last offsets and the
// group's committed offsets through kafka.Client: lag 0 everywhere.
func kafkaGoCheckOffsets(t *testing.T, b *broker, want map[int32][]record) {
	ctx := testContext(t, 10*time.Second)
	client := &kafka.Client{Addr: kafka.TCP(b.addr), Timeout: 10 * time.Second}

	var requests []kafka.OffsetRequest
	partitionIDs := make([]int, 0, kafkaGoPartitions)
	for p := range kafkaGoPartitions {
		requests = append(requests, kafka.FirstOffsetOf(p), kafka.LastOffsetOf(p))
		partitionIDs = append(partitionIDs, p)
	}
	listed, err := client.ListOffsets(ctx, &kafka.ListOffsetsRequest{
		Topics: map[string][]kafka.OffsetRequest{kafkaGoTopic: requests},
	})
	if err != nil {
		t.Fatalf("ListOffsets: %v", err)
	}
	ends := map[int]int64{}
	for _, po := range listed.Topics[kafkaGoTopic] {
		if po.Error != nil {
			t.Errorf("ListOffsets partition %d: %v", po.Partition, po.Error)
			continue
		}
		if po.FirstOffset != 0 || po.LastOffset != int64(len(want[int32(po.Partition)])) {
			t.Errorf("ListOffsets partition %d: first %d last %d, want 0 and %d",
				po.Partition, po.FirstOffset, po.LastOffset, len(want[int32(po.Partition)]))
		}
		ends[po.Partition] = po.LastOffset
	}
	if len(ends) != kafkaGoPartitions {
		t.Errorf("ListOffsets: offsets for %d partitions, want %d: %+v", len(ends), kafkaGoPartitions, listed.Topics)
	}

	fetched, err := client.OffsetFetch(ctx, &kafka.OffsetFetchRequest{
		GroupID: kafkaGoGroup,
		Topics:  map[string][]int{kafkaGoTopic: partitionIDs},
	})
	if err != nil {
		t.Fatalf("OffsetFetch: %v", err)
	}
	if fetched.Error != nil {
		t.Fatalf("OffsetFetch: %v", fetched.Error)
	}
	committed := fetched.Topics[kafkaGoTopic]
	if len(committed) != kafkaGoPartitions {
		t.Errorf("OffsetFetch: %d partitions, want %d: %+v", len(committed), kafkaGoPartitions, committed)
	}
	for _, c := range committed {
		end, ok := ends[c.Partition]
		switch {
		case c.Error != nil:
			t.Errorf("OffsetFetch partition %d: %v", c.Partition, c.Error)
		case !ok || c.CommittedOffset != end:
			t.Errorf("partition %d: committed %d, end offset %d (listed %v); want lag 0", c.Partition, c.CommittedOffset, end, ok)
		}
	}
}
