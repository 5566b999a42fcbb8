package goclients

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/IBM/sarama"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
)

// The transaction test writes two topics of three partitions: the source,
// which a transactional producer fills in four transactions (one aborted),
// and the sink, which a consume-transform-produce loop fills from the
// source in four transactions (two aborted) that also carry the group's
// offsets.
const (
	txnSourceTopic = "sarama-txn-source"
	txnSinkTopic   = "sarama-txn-sink"
	txnPartitions  = 3
	txnGroup       = "sarama-txn-group"
	// txnGrace is how long a consumer that has read every expected record
	// keeps reading, to catch records it must not see.
	txnGrace = 300 * time.Millisecond
)

// txnEnding is how a round ends.
type txnEnding int

const (
	txnCommit txnEnding = iota
	txnAbort
	// txnFencedCommit is a CommitTxn that must fail with
	// ILLEGAL_GENERATION, followed by AbortTxn.
	txnFencedCommit
)

// txnRound is one transaction: the records it wrote, as acknowledged, in
// send order, and whether it was committed.
type txnRound struct {
	name    string
	commit  bool
	records []record
}

// TestSaramaTransactions runs sarama's transactional SyncProducer and a
// read_committed ConsumerGroup that consumes, transforms and produces in
// transactions with the group's offsets, and reads the result back with
// franz-go (both isolation levels) and a read_committed sarama Consumer.
func TestSaramaTransactions(t *testing.T) {
	for _, tc := range []struct {
		name    string
		version sarama.KafkaVersion
	}{
		{"v2.8", sarama.V2_8_0_0},
		{"v3.6", sarama.V3_6_0_0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			captureSaramaLog(t)
			b := startBroker(t)
			testSaramaTxn(t, b, tc.version)
		})
	}
}

// saramaTxnBase is the configuration producers and consumers share.
func saramaTxnBase(version sarama.KafkaVersion) *sarama.Config {
	cfg := sarama.NewConfig()
	cfg.ClientID = "samsa-compat-sarama-txn"
	cfg.Version = version
	cfg.Metadata.Retry.Backoff = 50 * time.Millisecond
	return cfg
}

// saramaTxnProducerConfig is a transactional producer: idempotent, acks
// all, one request in flight.
func saramaTxnProducerConfig(version sarama.KafkaVersion, txnID string) *sarama.Config {
	cfg := saramaTxnBase(version)
	cfg.Producer.Idempotent = true
	cfg.Producer.Transaction.ID = txnID
	cfg.Producer.Transaction.Retry.Backoff = 20 * time.Millisecond
	cfg.Producer.RequiredAcks = sarama.WaitForAll
	cfg.Producer.Return.Successes = true
	cfg.Producer.Retry.Backoff = 50 * time.Millisecond
	cfg.Net.MaxOpenRequests = 1
	return cfg
}

// saramaTxnConsumerConfig reads committed records only and never commits
// offsets by itself: the transactions commit them.
func saramaTxnConsumerConfig(version sarama.KafkaVersion) *sarama.Config {
	cfg := saramaTxnBase(version)
	cfg.Consumer.IsolationLevel = sarama.ReadCommitted
	cfg.Consumer.Return.Errors = true
	cfg.Consumer.Offsets.Initial = sarama.OffsetOldest
	cfg.Consumer.Offsets.AutoCommit.Enable = false
	cfg.Consumer.MaxWaitTime = 100 * time.Millisecond
	cfg.Consumer.Group.Rebalance.GroupStrategies = []sarama.BalanceStrategy{sarama.NewBalanceStrategyRange()}
	return cfg
}

func testSaramaTxn(t *testing.T, b *broker, version sarama.KafkaVersion) {
	admin, err := sarama.NewClusterAdmin([]string{b.addr}, saramaTxnBase(version))
	if err != nil {
		t.Fatalf("NewClusterAdmin: %v", err)
	}
	defer admin.Close()
	for _, topic := range []string{txnSourceTopic, txnSinkTopic} {
		if err := admin.CreateTopic(topic, &sarama.TopicDetail{NumPartitions: txnPartitions, ReplicationFactor: 1}, false); err != nil {
			t.Fatalf("CreateTopic %s: %v", topic, err)
		}
	}
	kcl, err := kgo.NewClient(kgo.SeedBrokers(b.addr))
	if err != nil {
		t.Fatalf("kgo.NewClient: %v", err)
	}
	defer kcl.Close()
	kadmin := kadm.NewClient(kcl)
	ctx := testContext(t, 25*time.Second)

	// The source topic: commit, abort, commit, each with SendMessages,
	// then (below, while the group consumes) one more commit.
	sourceID := "sarama-txn-source-" + version.String()
	source := newSaramaTxnProducer(t, b, version, sourceID)
	var sourceRounds []txnRound
	sourceRounds = append(sourceRounds, saramaTxnRound(t, source, "a1", 30, txnCommit, nil))
	sourceRounds = append(sourceRounds, saramaTxnRound(t, source, "a2", 20, txnAbort, nil))
	checkTxnState(t, ctx, kadmin, sourceID, "CompleteAbort")
	// While a3 is open its records hold back the last stable offset of
	// the partitions it wrote to, and read_committed sees only a1.
	sourceRounds = append(sourceRounds, saramaTxnRound(t, source, "a3", 25, txnCommit, func(open []record) {
		checkOpenTxn(t, ctx, kadmin, txnSourceTopic, sourceRounds, open)
		checkKgoRead(t, "a3 open", b, txnSourceTopic, kgo.ReadCommitted(), txnCommitted(sourceRounds))
	}))
	checkTxnState(t, ctx, kadmin, sourceID, "CompleteCommit")
	checkTxnLayout(t, ctx, kadmin, txnSourceTopic, sourceRounds)
	checkKgoRead(t, "a3 committed", b, txnSourceTopic, kgo.ReadCommitted(), txnCommitted(sourceRounds))
	checkKgoRead(t, "a3 committed", b, txnSourceTopic, kgo.ReadUncommitted(), txnAll(sourceRounds))

	// Consume-transform-produce: a read_committed group on the source
	// topic; each transaction sends the transformed records to the sink
	// and adds the consumed offsets to the transaction.
	sinkID := "sarama-txn-sink-" + version.String()
	sink := newSaramaTxnProducer(t, b, version, sinkID)
	group := startSaramaTxnGroup(t, b, version)
	var sinkRounds []txnRound
	var consumed [][]txnClaimed
	firstCommitted := txnCommitted(sourceRounds) // a1 and a3: 55 records

	// b1: the first 30 consumed, committed, offsets added one message at a
	// time with the group id only (no generation, no member).
	in := group.take(t, 30)
	consumed = append(consumed, in)
	sinkRounds = append(sinkRounds, saramaTransformRound(t, sink, "b1", in, txnCommit, func() {
		for _, c := range in {
			if err := sink.AddMessageToTxn(c.msg, txnGroup, nil); err != nil {
				t.Fatalf("AddMessageToTxn %s/%d@%d: %v", c.msg.Topic, c.msg.Partition, c.msg.Offset, err)
			}
		}
	}))
	checkTxnState(t, ctx, kadmin, sinkID, "CompleteCommit")
	checkGroupOffsets(t, ctx, kadmin, consumed[:1], []string{""})

	// b2: the other 25, aborted: its records are aborted, and the offsets
	// it added do not count (sarama drops them at AbortTxn without sending
	// them).
	in = group.take(t, len(firstCommitted)-30)
	consumed = append(consumed, in)
	sinkRounds = append(sinkRounds, saramaTransformRound(t, sink, "b2", in, txnAbort, func() {
		for _, c := range in {
			if err := sink.AddMessageToTxn(c.msg, txnGroup, nil); err != nil {
				t.Fatalf("AddMessageToTxn %s/%d@%d: %v", c.msg.Topic, c.msg.Partition, c.msg.Offset, err)
			}
		}
	}))
	checkTxnState(t, ctx, kadmin, sinkID, "CompleteAbort")
	checkConsumed(t, byPartition(firstCommitted), txnRecords(consumed[0], consumed[1]))
	checkGroupOffsets(t, ctx, kadmin, consumed[:1], []string{""})
	checkKgoRead(t, "b2 aborted", b, txnSinkTopic, kgo.ReadCommitted(), txnCommitted(sinkRounds))
	checkKgoRead(t, "b2 aborted", b, txnSinkTopic, kgo.ReadUncommitted(), txnAll(sinkRounds))

	// a4 arrives while the group waits at the source's end. b3 commits it
	// with AddOffsetsToTxnWithGroupMetadata (the live session's generation
	// and member, which the broker checks) and offset metadata, after a
	// first try that names a generation the group does not have: the
	// broker refuses that TxnOffsetCommit with ILLEGAL_GENERATION, so
	// CommitTxn fails, and the producer aborts the round and does it again.
	a4 := saramaTxnRound(t, source, "a4", 15, txnCommit, nil)
	sourceRounds = append(sourceRounds, a4)
	in = group.take(t, len(a4.records))
	consumed = append(consumed, in)
	sinkRounds = append(sinkRounds, saramaTransformRound(t, sink, "b3-stale", in, txnFencedCommit, func() {
		addSessionOffsets(t, sink, in, "b3-stale", 1)
	}))
	checkTxnState(t, ctx, kadmin, sinkID, "CompleteAbort")
	checkGroupOffsets(t, ctx, kadmin, consumed[:1], []string{""})
	sinkRounds = append(sinkRounds, saramaTransformRound(t, sink, "b3", in, txnCommit, func() {
		addSessionOffsets(t, sink, in, "b3", 0)
	}))
	checkTxnState(t, ctx, kadmin, sinkID, "CompleteCommit")
	checkConsumed(t, byPartition(a4.records), txnRecords(in))
	group.checkNoMore(t)
	group.close(t)

	checkTxnLayout(t, ctx, kadmin, txnSourceTopic, sourceRounds)
	checkTxnLayout(t, ctx, kadmin, txnSinkTopic, sinkRounds)
	checkGroupOffsets(t, ctx, kadmin, [][]txnClaimed{consumed[0], consumed[2]}, []string{"", "b3"})
	for _, topic := range []struct {
		name   string
		rounds []txnRound
	}{{txnSourceTopic, sourceRounds}, {txnSinkTopic, sinkRounds}} {
		checkKgoRead(t, "end", b, topic.name, kgo.ReadCommitted(), txnCommitted(topic.rounds))
		checkKgoRead(t, "end", b, topic.name, kgo.ReadUncommitted(), txnAll(topic.rounds))
		checkSaramaReadCommitted(t, "end", b, version, topic.name, txnCommitted(topic.rounds))
	}
}

// addSessionOffsets adds, with AddOffsetsToTxnWithGroupMetadata, one past
// the last consumed offset of each partition, with the member and
// generation of the session (plus generationDelta) and metadata meta.
func addSessionOffsets(t *testing.T, producer sarama.SyncProducer, in []txnClaimed, meta string, generationDelta int32) {
	t.Helper()
	offsets := map[string][]*sarama.PartitionOffsetMetadata{}
	last := txnLastOffsets(in)
	for _, p := range slices.Sorted(maps.Keys(last)) {
		offsets[txnSourceTopic] = append(offsets[txnSourceTopic], &sarama.PartitionOffsetMetadata{Partition: p, Offset: last[p] + 1, Metadata: &meta})
	}
	gm := sarama.NewConsumerGroupMetadataFromSession(in[len(in)-1].session, txnGroup, nil)
	if gm.GenerationID <= 0 || gm.MemberID == "" {
		t.Fatalf("session group metadata %+v: want a generation and a member id", gm)
	}
	gm.GenerationID += generationDelta
	if err := producer.AddOffsetsToTxnWithGroupMetadata(offsets, gm); err != nil {
		t.Fatalf("AddOffsetsToTxnWithGroupMetadata: %v", err)
	}
}

func newSaramaTxnProducer(t *testing.T, b *broker, version sarama.KafkaVersion, txnID string) sarama.SyncProducer {
	t.Helper()
	producer, err := sarama.NewSyncProducer([]string{b.addr}, saramaTxnProducerConfig(version, txnID))
	if err != nil {
		t.Fatalf("NewSyncProducer %s: %v", txnID, err)
	}
	t.Cleanup(func() {
		if err := producer.Close(); err != nil {
			t.Errorf("close producer %s: %v", txnID, err)
		}
	})
	if !producer.IsTransactional() || producer.TxnStatus() != sarama.ProducerTxnFlagReady {
		t.Fatalf("producer %s: transactional %v, status %v; want a ready transactional producer", txnID, producer.IsTransactional(), producer.TxnStatus())
	}
	return producer
}

// saramaTxnRound sends n keyed messages to the source topic in one
// transaction and commits or aborts it. beforeEnd, if set, runs with the
// acknowledged records while the transaction is still open.
func saramaTxnRound(t *testing.T, producer sarama.SyncProducer, name string, n int, ending txnEnding, beforeEnd func([]record)) txnRound {
	t.Helper()
	base := time.Now().Truncate(time.Millisecond)
	msgs := make([]*sarama.ProducerMessage, n)
	want := make([]record, n)
	for i := range msgs {
		seq := name + "-" + strconv.Itoa(i)
		want[i] = record{key: keyFor(i), value: valueFor(name, i), seq: seq, timeMs: base.Add(time.Duration(i) * time.Millisecond).UnixMilli()}
		msgs[i] = want[i].txnMessage(txnSourceTopic)
	}
	return saramaSendTxn(t, producer, name, msgs, want, ending, func(acked []record) {
		if beforeEnd != nil {
			beforeEnd(acked)
		}
	})
}

// saramaTransformRound sends the transformation of each consumed message
// to the sink in one transaction, runs addOffsets, then commits or aborts.
func saramaTransformRound(t *testing.T, producer sarama.SyncProducer, name string, in []txnClaimed, ending txnEnding, addOffsets func()) txnRound {
	t.Helper()
	msgs := make([]*sarama.ProducerMessage, len(in))
	want := make([]record, len(in))
	for i, c := range in {
		want[i] = txnTransform(saramaRecord(c.msg))
		msgs[i] = want[i].txnMessage(txnSinkTopic)
	}
	return saramaSendTxn(t, producer, name, msgs, want, ending, func([]record) { addOffsets() })
}

// txnTransform is what the consume-transform-produce loop makes of a record:
// same key, header and timestamp, a new value.
func txnTransform(r record) record {
	return record{key: r.key, value: "transformed " + r.value, seq: r.seq, timeMs: r.timeMs}
}

// txnMessage is the producer message for r (its key, value, seq header and
// timestamp).
func (r record) txnMessage(topic string) *sarama.ProducerMessage {
	return &sarama.ProducerMessage{
		Topic:     topic,
		Key:       sarama.StringEncoder(r.key),
		Value:     sarama.StringEncoder(r.value),
		Headers:   []sarama.RecordHeader{{Key: []byte("seq"), Value: []byte(r.seq)}},
		Timestamp: time.UnixMilli(r.timeMs),
	}
}

// saramaSendTxn is BeginTxn, SendMessages, beforeEnd, CommitTxn or AbortTxn,
// checking the producer's status at each step. It returns the records with
// the partitions and offsets the broker acknowledged.
func saramaSendTxn(t *testing.T, producer sarama.SyncProducer, name string, msgs []*sarama.ProducerMessage, want []record, ending txnEnding, beforeEnd func([]record)) txnRound {
	t.Helper()
	if err := producer.BeginTxn(); err != nil {
		t.Fatalf("%s: BeginTxn: %v", name, err)
	}
	if s := producer.TxnStatus(); s&sarama.ProducerTxnFlagInTransaction == 0 {
		t.Fatalf("%s: status %v after BeginTxn, want in transaction", name, s)
	}
	if err := producer.SendMessages(msgs); err != nil {
		var perMessage sarama.ProducerErrors
		if errors.As(err, &perMessage) && len(perMessage) > 0 {
			t.Fatalf("%s: SendMessages: %d failed, first: %v", name, len(perMessage), perMessage[0].Err)
		}
		t.Fatalf("%s: SendMessages: %v", name, err)
	}
	acked := make([]record, len(msgs))
	for i, m := range msgs {
		acked[i] = want[i]
		acked[i].partition, acked[i].offset = m.Partition, m.Offset
	}
	beforeEnd(acked)
	endName := "CommitTxn"
	switch ending {
	case txnCommit:
		if err := producer.CommitTxn(); err != nil {
			t.Fatalf("%s: CommitTxn: %v", name, err)
		}
	case txnFencedCommit:
		err := producer.CommitTxn()
		if !errors.Is(err, sarama.ErrIllegalGeneration) {
			t.Fatalf("%s: CommitTxn with a stale generation: %v, want %v", name, err, sarama.ErrIllegalGeneration)
		}
		if s := producer.TxnStatus(); s&sarama.ProducerTxnFlagAbortableError == 0 || s&sarama.ProducerTxnFlagFatalError != 0 {
			t.Fatalf("%s: status %v after the failed CommitTxn, want an abortable error", name, s)
		}
		fallthrough
	case txnAbort:
		endName = "AbortTxn"
		if err := producer.AbortTxn(); err != nil {
			t.Fatalf("%s: AbortTxn: %v", name, err)
		}
	}
	if s := producer.TxnStatus(); s != sarama.ProducerTxnFlagReady {
		t.Fatalf("%s: status %v after %s, want ready", name, s, endName)
	}
	return txnRound{name: name, commit: ending == txnCommit, records: acked}
}

func txnCommitted(rounds []txnRound) []record {
	var out []record
	for _, r := range rounds {
		if r.commit {
			out = append(out, r.records...)
		}
	}
	return out
}

func txnAll(rounds []txnRound) []record {
	var out []record
	for _, r := range rounds {
		out = append(out, r.records...)
	}
	return out
}

// txnLayout is where the rounds' records must be in a topic that only they
// wrote: in each partition a transaction's records are dense in send order
// and followed by one control marker if the transaction wrote there. It
// returns each partition's end offset.
func txnLayout(t *testing.T, topic string, rounds []txnRound) map[int32]int64 {
	t.Helper()
	next := map[int32]int64{}
	for p := range int32(txnPartitions) {
		next[p] = 0
	}
	for _, round := range rounds {
		touched := map[int32]bool{}
		for _, r := range round.records {
			if r.partition < 0 || r.partition >= txnPartitions {
				t.Fatalf("%s %s: record in partition %d of %d: %v", topic, round.name, r.partition, txnPartitions, r)
			}
			if r.offset != next[r.partition] {
				t.Fatalf("%s %s: record acknowledged at offset %d, want %d (dense per transaction, one marker after each): %v",
					topic, round.name, r.offset, next[r.partition], r)
			}
			next[r.partition]++
			touched[r.partition] = true
		}
		for p := range touched {
			next[p]++
		}
	}
	return next
}

// checkTxnLayout checks the acknowledged offsets against txnLayout and the
// end offsets and last stable offsets franz-go lists against its ends: no
// transaction is open, so both are the end.
func checkTxnLayout(t *testing.T, ctx context.Context, adm *kadm.Client, topic string, rounds []txnRound) {
	t.Helper()
	want := txnLayout(t, topic, rounds)
	ends, err := adm.ListEndOffsets(ctx, topic)
	if err != nil {
		t.Fatalf("ListEndOffsets %s: %v", topic, err)
	}
	stable, err := adm.ListCommittedOffsets(ctx, topic)
	if err != nil {
		t.Fatalf("ListCommittedOffsets %s: %v", topic, err)
	}
	for p := range int32(txnPartitions) {
		for _, listed := range []struct {
			name    string
			offsets kadm.ListedOffsets
		}{{"end offset", ends}, {"last stable offset", stable}} {
			o, ok := listed.offsets.Lookup(topic, p)
			if !ok || o.Err != nil || o.Offset != want[p] {
				t.Errorf("%s/%d %s: %d (listed %v, err %v), want %d", topic, p, listed.name, o.Offset, ok, o.Err, want[p])
			}
		}
	}
}

// checkOpenTxn checks, while the transaction that wrote open is still
// going, that each partition it wrote to has its last stable offset at the
// transaction's first record there, and the others at their end.
func checkOpenTxn(t *testing.T, ctx context.Context, adm *kadm.Client, topic string, done []txnRound, open []record) {
	t.Helper()
	want := txnLayout(t, topic, done)
	firstOpen := map[int32]int64{}
	for _, r := range open {
		if _, ok := firstOpen[r.partition]; !ok {
			firstOpen[r.partition] = r.offset
		}
	}
	stable, err := adm.ListCommittedOffsets(ctx, topic)
	if err != nil {
		t.Fatalf("ListCommittedOffsets %s: %v", topic, err)
	}
	for p := range int32(txnPartitions) {
		if first, ok := firstOpen[p]; ok && first != want[p] {
			t.Fatalf("%s/%d: open transaction's first record at %d, want %d", topic, p, first, want[p])
		}
		o, ok := stable.Lookup(topic, p)
		if !ok || o.Err != nil || o.Offset != want[p] {
			t.Errorf("%s/%d last stable offset during an open transaction: %d (listed %v, err %v), want %d",
				topic, p, o.Offset, ok, o.Err, want[p])
		}
	}
}

// checkTxnState checks the coordinator's state of a transactional id.
func checkTxnState(t *testing.T, ctx context.Context, adm *kadm.Client, txnID, want string) {
	t.Helper()
	described, err := adm.DescribeTransactions(ctx, txnID)
	if err != nil {
		t.Fatalf("DescribeTransactions %s: %v", txnID, err)
	}
	d, ok := described[txnID]
	if !ok || d.Err != nil || d.State != want || len(d.Topics) != 0 {
		t.Errorf("DescribeTransactions %s: %+v (present %v), want state %s and no partitions", txnID, d, ok, want)
	}
}

// checkGroupOffsets checks through kadm.FetchOffsets, plain and with
// RequireStable, that the group's committed offsets are those the committed
// rounds added: for each partition one past the last message a round
// consumed there, with that round's metadata.
func checkGroupOffsets(t *testing.T, ctx context.Context, adm *kadm.Client, committed [][]txnClaimed, metadata []string) {
	t.Helper()
	type committedOffset struct {
		at   int64
		meta string
	}
	want := map[int32]committedOffset{}
	for i, round := range committed {
		for p, last := range txnLastOffsets(round) {
			want[p] = committedOffset{last + 1, metadata[i]}
		}
	}
	for _, stable := range []bool{false, true} {
		fetchCtx := ctx
		if stable {
			fetchCtx = kadm.RequireStable(ctx)
		}
		fetched, err := adm.FetchOffsets(fetchCtx, txnGroup)
		if err != nil {
			t.Fatalf("FetchOffsets %s (require stable %v): %v", txnGroup, stable, err)
		}
		if err := fetched.Error(); err != nil {
			t.Errorf("FetchOffsets %s (require stable %v): %v", txnGroup, stable, err)
		}
		got := map[int32]committedOffset{}
		for topic, partitions := range fetched {
			for p, o := range partitions {
				if topic != txnSourceTopic {
					t.Errorf("FetchOffsets %s: offset for %s/%d, which the group never consumed", txnGroup, topic, p)
					continue
				}
				got[p] = committedOffset{o.At, o.Metadata}
			}
		}
		if !maps.Equal(got, want) {
			t.Errorf("FetchOffsets %s (require stable %v): %v, want %v", txnGroup, stable, got, want)
		}
	}
}

// txnLastOffsets is the offset of the last message of each partition.
func txnLastOffsets(msgs []txnClaimed) map[int32]int64 {
	last := map[int32]int64{}
	for _, c := range msgs {
		last[c.msg.Partition] = max(last[c.msg.Partition], c.msg.Offset)
	}
	return last
}

// txnClaimed is one message the group consumed, with its session.
type txnClaimed struct {
	msg     *sarama.ConsumerMessage
	session sarama.ConsumerGroupSession
}

func txnRecords(rounds ...[]txnClaimed) []record {
	var out []record
	for _, round := range rounds {
		for _, c := range round {
			out = append(out, saramaRecord(c.msg))
		}
	}
	return out
}

// txnGroupConsumer is a running sarama ConsumerGroup that hands each
// message to the test goroutine, which decides what to do with it.
type txnGroupConsumer struct {
	group     sarama.ConsumerGroup
	messages  chan txnClaimed
	cancel    context.CancelFunc
	consuming chan struct{}
	draining  chan struct{}
	errs      recordErrors
}

// Setup, Cleanup and ConsumeClaim make txnGroupConsumer a handler.
func (g *txnGroupConsumer) Setup(sarama.ConsumerGroupSession) error   { return nil }
func (g *txnGroupConsumer) Cleanup(sarama.ConsumerGroupSession) error { return nil }

func (g *txnGroupConsumer) ConsumeClaim(session sarama.ConsumerGroupSession, claim sarama.ConsumerGroupClaim) error {
	for {
		select {
		case m, ok := <-claim.Messages():
			if !ok {
				return nil
			}
			select {
			case g.messages <- txnClaimed{m, session}:
			case <-session.Context().Done():
				return nil
			}
		case <-session.Context().Done():
			return nil
		}
	}
}

func startSaramaTxnGroup(t *testing.T, b *broker, version sarama.KafkaVersion) *txnGroupConsumer {
	t.Helper()
	group, err := sarama.NewConsumerGroup([]string{b.addr}, txnGroup, saramaTxnConsumerConfig(version))
	if err != nil {
		t.Fatalf("NewConsumerGroup: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	g := &txnGroupConsumer{
		group:     group,
		messages:  make(chan txnClaimed),
		cancel:    cancel,
		consuming: make(chan struct{}),
		draining:  make(chan struct{}),
	}
	go func() {
		defer close(g.consuming)
		for ctx.Err() == nil {
			if err := group.Consume(ctx, []string{txnSourceTopic}, g); err != nil {
				g.errs.add(fmt.Errorf("Consume: %w", err))
				return
			}
		}
	}()
	go func() {
		defer close(g.draining)
		for err := range group.Errors() {
			g.errs.add(err)
		}
	}()
	t.Cleanup(func() { g.close(t) })
	return g
}

// take returns the next n messages the group consumed.
func (g *txnGroupConsumer) take(t *testing.T, n int) []txnClaimed {
	t.Helper()
	timeout := time.NewTimer(10 * time.Second)
	defer timeout.Stop()
	out := make([]txnClaimed, 0, n)
	for len(out) < n {
		select {
		case c := <-g.messages:
			out = append(out, c)
		case <-timeout.C:
			t.Fatalf("consumer group: %d of %d messages within 10s (errors: %v)", len(out), n, g.errs.all())
		}
	}
	return out
}

// checkNoMore fails if the group consumes anything within txnGrace.
func (g *txnGroupConsumer) checkNoMore(t *testing.T) {
	t.Helper()
	select {
	case c := <-g.messages:
		t.Errorf("consumer group: unexpected message %v", saramaRecord(c.msg))
	case <-time.After(txnGrace):
	}
}

// close stops consuming, closes the group and reports its errors; only the
// first call does anything.
func (g *txnGroupConsumer) close(t *testing.T) {
	t.Helper()
	if g.group == nil {
		return
	}
	g.cancel()
	// Unblock a ConsumeClaim waiting to hand over a message.
	go func() {
		for range g.messages {
		}
	}()
	<-g.consuming
	if err := g.group.Close(); err != nil {
		t.Errorf("close consumer group: %v", err)
	}
	<-g.draining
	close(g.messages)
	for _, err := range g.errs.all() {
		t.Errorf("consumer group error: %v", err)
	}
	g.group = nil
}

// checkKgoRead reads the topic from the start with franz-go at the given
// isolation level and checks it got exactly want.
func checkKgoRead(t *testing.T, stage string, b *broker, topic string, level kgo.IsolationLevel, want []record) {
	t.Helper()
	cl, err := kgo.NewClient(
		kgo.SeedBrokers(b.addr),
		kgo.ConsumeTopics(topic),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
		kgo.FetchIsolationLevel(level),
		kgo.FetchMaxWait(100*time.Millisecond),
	)
	if err != nil {
		t.Fatalf("kgo.NewClient: %v", err)
	}
	defer cl.Close()
	levelName := "read_uncommitted"
	if level == kgo.ReadCommitted() {
		levelName = "read_committed"
	}
	var got []record
	deadline := time.Now().Add(10 * time.Second)
	var graceEnd time.Time
	for {
		now := time.Now()
		if graceEnd.IsZero() && len(got) >= len(want) {
			graceEnd = now.Add(txnGrace)
		}
		if !graceEnd.IsZero() && now.After(graceEnd) {
			break
		}
		if now.After(deadline) {
			t.Errorf("kgo %s %s: %d of %d records within 10s", levelName, topic, len(got), len(want))
			break
		}
		pollCtx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
		fetches := cl.PollFetches(pollCtx)
		cancel()
		fetches.EachError(func(topic string, p int32, err error) {
			if !errors.Is(err, context.DeadlineExceeded) {
				t.Errorf("kgo %s fetch %s/%d: %v", levelName, topic, p, err)
			}
		})
		fetches.EachRecord(func(r *kgo.Record) { got = append(got, kgoTxnRecord(r)) })
	}
	checkTxnConsumed(t, stage+"/kgo "+levelName+" "+topic, want, got)
}

func kgoTxnRecord(r *kgo.Record) record {
	out := record{
		partition: r.Partition,
		offset:    r.Offset,
		key:       string(r.Key),
		value:     string(r.Value),
		timeMs:    r.Timestamp.UnixMilli(),
	}
	for _, h := range r.Headers {
		if h.Key == "seq" {
			out.seq = string(h.Value)
		}
	}
	return out
}

// checkSaramaReadCommitted reads every partition of the topic from the
// oldest offset with a read_committed sarama Consumer and checks it got
// exactly want.
func checkSaramaReadCommitted(t *testing.T, stage string, b *broker, version sarama.KafkaVersion, topic string, want []record) {
	t.Helper()
	consumer, err := sarama.NewConsumer([]string{b.addr}, saramaTxnConsumerConfig(version))
	if err != nil {
		t.Fatalf("NewConsumer: %v", err)
	}
	defer consumer.Close()
	messages := make(chan *sarama.ConsumerMessage)
	errs := make(chan error)
	done := make(chan struct{})
	defer close(done)
	for p := range int32(txnPartitions) {
		pc, err := consumer.ConsumePartition(topic, p, sarama.OffsetOldest)
		if err != nil {
			t.Fatalf("ConsumePartition %s/%d: %v", topic, p, err)
		}
		defer pc.Close()
		go func() {
			for {
				select {
				case m, ok := <-pc.Messages():
					if !ok {
						return
					}
					select {
					case messages <- m:
					case <-done:
						return
					}
				case err, ok := <-pc.Errors():
					if !ok {
						return
					}
					select {
					case errs <- err:
					case <-done:
						return
					}
				case <-done:
					return
				}
			}
		}()
	}
	var got []record
	timeout := time.NewTimer(10 * time.Second)
	defer timeout.Stop()
	var grace <-chan time.Time
reading:
	for {
		if grace == nil && len(got) >= len(want) {
			grace = time.After(txnGrace)
		}
		select {
		case m := <-messages:
			got = append(got, saramaRecord(m))
		case err := <-errs:
			t.Errorf("sarama read_committed %s: %v", topic, err)
		case <-grace:
			break reading
		case <-timeout.C:
			t.Errorf("sarama read_committed %s: %d of %d records within 10s", topic, len(got), len(want))
			break reading
		}
	}
	checkTxnConsumed(t, stage+"/sarama read_committed "+topic, want, got)
}

// checkTxnConsumed is checkConsumed with the reader named in its failures.
func checkTxnConsumed(t *testing.T, reader string, want, got []record) {
	t.Helper()
	if !t.Run(reader, func(t *testing.T) { checkConsumed(t, byPartition(want), got) }) {
		t.Errorf("%s: read %d records, want %d", reader, len(got), len(want))
	}
}
