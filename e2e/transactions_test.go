package e2e

import (
	"context"
	"errors"
	"fmt"
	"slices"
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

// txnProducer returns a transactional franz-go producer.
func txnProducer(b *brokertest.Broker, id string, opts ...kgo.Opt) *kgo.Client {
	return b.Client(append([]kgo.Opt{
		kgo.TransactionalID(id),
		kgo.TransactionTimeout(10 * time.Second),
		kgo.RecordPartitioner(kgo.RoundRobinPartitioner()),
	}, opts...)...)
}

// produceTxn produces values in one transaction, committing or aborting it.
func produceTxn(t *testing.T, cl *kgo.Client, topic string, commit bool, values ...string) {
	t.Helper()
	ctx := brokertest.Context(t, 30*time.Second)
	if err := cl.BeginTransaction(); err != nil {
		t.Fatalf("begin: %v", err)
	}
	for _, v := range values {
		if err := cl.ProduceSync(ctx, &kgo.Record{Topic: topic, Value: []byte(v)}).FirstErr(); err != nil {
			t.Fatalf("produce %s: %v", v, err)
		}
	}
	if err := cl.EndTransaction(ctx, kgo.TransactionEndTry(commit)); err != nil {
		t.Fatalf("end transaction (commit=%v): %v", commit, err)
	}
}

// readAll consumes topic from the start with the isolation level until the
// end offsets at call time (read_committed: the last stable offsets) are
// reached, and returns the values sorted.
func readAll(t *testing.T, b *brokertest.Broker, topic string, committed bool) []string {
	t.Helper()
	ctx := brokertest.Context(t, 30*time.Second)
	adm := b.Admin()
	var ends kadm.ListedOffsets
	var err error
	if committed {
		ends, err = adm.ListCommittedOffsets(ctx, topic)
	} else {
		ends, err = adm.ListEndOffsets(ctx, topic)
	}
	if err != nil {
		t.Fatalf("list end offsets: %v", err)
	}
	level := kgo.ReadUncommitted()
	if committed {
		level = kgo.ReadCommitted()
	}
	cl := b.Client(kgo.ConsumeTopics(topic), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
		kgo.FetchIsolationLevel(level), kgo.FetchMaxWait(100*time.Millisecond))
	defer cl.Close()
	reached := map[int32]int64{}
	var values []string
	done := func() bool {
		for p, o := range ends[topic] {
			if reached[p] < o.Offset {
				return false
			}
		}
		return true
	}
	for !done() {
		fs := cl.PollFetches(ctx)
		if ctx.Err() != nil {
			t.Fatalf("consuming %s: reached %v, want %v: %v", topic, reached, ends[topic], ctx.Err())
		}
		fs.EachError(func(topic string, p int32, err error) { t.Fatalf("fetch %s-%d: %v", topic, p, err) })
		fs.EachPartition(func(p kgo.FetchTopicPartition) {
			for _, r := range p.Records {
				values = append(values, string(r.Value))
			}
			// Control batches and aborted records advance the position
			// without records; the high watermark / LSO shows progress.
			if committed {
				reached[p.Partition] = max(reached[p.Partition], p.LastStableOffset)
			} else {
				reached[p.Partition] = max(reached[p.Partition], p.HighWatermark)
			}
		})
	}
	slices.Sort(values)
	return values
}

func seq(prefix string, n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = prefix + strconv.Itoa(i)
	}
	return out
}

func sorted(v []string) []string {
	v = slices.Clone(v)
	slices.Sort(v)
	return v
}

// transactionProtocols runs fn against a fresh broker once per transaction
// protocol franz-go speaks: with transaction.version finalized at 2 (the
// default: KIP-890 part 2) and at 0 (v1: AddPartitionsToTxn, AddOffsetsToTxn
// and one epoch per producer session).
func transactionProtocols(t *testing.T, fn func(t *testing.T, b *brokertest.Broker, v2 bool)) {
	for _, v2 := range []bool{true, false} {
		name := "v2"
		if !v2 {
			name = "v1"
		}
		t.Run(name, func(t *testing.T) {
			b := brokertest.Start(t, nil)
			if !v2 {
				req := kmsg.NewPtrUpdateFeaturesRequest()
				fu := kmsg.NewUpdateFeaturesRequestFeatureUpdate()
				fu.Feature, fu.MaxVersionLevel, fu.UpgradeType, fu.AllowDowngrade = "transaction.version", 0, 2, true
				req.FeatureUpdates = append(req.FeatureUpdates, fu)
				resp, err := req.RequestWith(brokertest.Context(t, 10*time.Second), b.Client())
				if err != nil || resp.ErrorCode != 0 {
					t.Fatalf("finalize transaction.version 0: %v %+v", err, resp)
				}
			}
			fn(t, b, v2)
		})
	}
}

// wantEpoch checks the producer epoch of a transactional id: under v2 every
// transaction's end bumps it, under v1 it stays at InitProducerId's.
func wantEpoch(ctx context.Context, t *testing.T, adm *kadm.Client, id string, v2 bool, transactions int) {
	t.Helper()
	described, err := adm.DescribeTransactions(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	got := described[id].ProducerEpoch
	if want := 0; v2 && int(got) < transactions || !v2 && int(got) != want {
		t.Fatalf("%s has epoch %d after %d transactions (protocol v2 %v)", id, got, transactions, v2)
	}
}

func TestTransactionsCommitAndAbort(t *testing.T) {
	transactionProtocols(t, testTransactionsCommitAndAbort)
}

func testTransactionsCommitAndAbort(t *testing.T, b *brokertest.Broker, v2 bool) {
	createTopic(t, b.Admin(), "txn", 3, nil)
	cl := txnProducer(b, "tx-commit-abort")

	committed := seq("c", 10)
	aborted := seq("a", 5)
	later := seq("d", 4)
	produceTxn(t, cl, "txn", true, committed...)
	produceTxn(t, cl, "txn", false, aborted...)
	produceTxn(t, cl, "txn", true, later...)

	want := sorted(append(slices.Clone(committed), later...))
	if got := readAll(t, b, "txn", true); !slices.Equal(got, want) {
		t.Fatalf("read_committed got %v, want %v", got, want)
	}
	wantAll := sorted(append(append(slices.Clone(committed), aborted...), later...))
	if got := readAll(t, b, "txn", false); !slices.Equal(got, wantAll) {
		t.Fatalf("read_uncommitted got %v, want %v", got, wantAll)
	}

	// While a transaction is open its records are past the last stable
	// offset: read_committed end offsets stay put, read_uncommitted move.
	ctx := brokertest.Context(t, 30*time.Second)
	adm := b.Admin()
	stableBefore, err := adm.ListCommittedOffsets(ctx, "txn")
	if err != nil {
		t.Fatal(err)
	}
	if err := cl.BeginTransaction(); err != nil {
		t.Fatal(err)
	}
	if err := cl.ProduceSync(ctx, &kgo.Record{Topic: "txn", Value: []byte("open")}).FirstErr(); err != nil {
		t.Fatal(err)
	}
	stableOpen, err := adm.ListCommittedOffsets(ctx, "txn")
	if err != nil {
		t.Fatal(err)
	}
	endOpen, err := adm.ListEndOffsets(ctx, "txn")
	if err != nil {
		t.Fatal(err)
	}
	var stableSum, stableOpenSum, endSum int64
	stableBefore.Each(func(o kadm.ListedOffset) { stableSum += o.Offset })
	stableOpen.Each(func(o kadm.ListedOffset) { stableOpenSum += o.Offset })
	endOpen.Each(func(o kadm.ListedOffset) { endSum += o.Offset })
	if stableOpenSum != stableSum || endSum != stableSum+1 {
		t.Fatalf("open transaction: stable offsets sum %d (before %d), end offsets sum %d; want %d and %d",
			stableOpenSum, stableSum, endSum, stableSum, stableSum+1)
	}
	if err := cl.EndTransaction(ctx, kgo.TryCommit); err != nil {
		t.Fatal(err)
	}
	if got := readAll(t, b, "txn", true); !slices.Contains(got, "open") {
		t.Fatalf("committed record not visible to read_committed: %v", got)
	}

	// The coordinator reports the transactional id.
	described, err := adm.DescribeTransactions(ctx, "tx-commit-abort")
	if err != nil {
		t.Fatal(err)
	}
	if d := described["tx-commit-abort"]; d.State != "CompleteCommit" || d.ProducerID < 0 {
		t.Fatalf("describe transactions: %+v", d)
	}
	wantEpoch(ctx, t, adm, "tx-commit-abort", v2, 4)

	// ListTransactions v2 filters by a pattern the whole id must match.
	other := txnProducer(b, "tx-other")
	produceTxn(t, other, "txn", true, "o1")
	for _, tc := range []struct {
		pattern string
		want    []string
	}{
		{"", []string{"tx-commit-abort", "tx-other"}},
		{"tx-.*", []string{"tx-commit-abort", "tx-other"}},
		{"tx-o.*", []string{"tx-other"}},
		{"tx", nil}, // a match of part of the id is not enough
	} {
		req := kmsg.NewPtrListTransactionsRequest()
		req.SetVersion(2)
		req.TransactionalIDPattern = &tc.pattern
		resp, err := req.RequestWith(ctx, cl)
		if err != nil || resp.ErrorCode != 0 {
			t.Fatalf("ListTransactions %q: %v %+v", tc.pattern, err, resp)
		}
		var ids []string
		for _, st := range resp.TransactionStates {
			ids = append(ids, st.TransactionalID)
		}
		slices.Sort(ids)
		if !slices.Equal(ids, tc.want) {
			t.Errorf("ListTransactions %q: %v, want %v", tc.pattern, ids, tc.want)
		}
	}
	bad := kmsg.NewPtrListTransactionsRequest()
	bad.SetVersion(2)
	bad.TransactionalIDPattern = kmsg.StringPtr("tx-(")
	if resp, err := bad.RequestWith(ctx, cl); err != nil || resp.ErrorCode != kerr.InvalidRegularExpression.Code {
		t.Fatalf("ListTransactions with a bad pattern: %v %+v, want INVALID_REGULAR_EXPRESSION", err, resp)
	}
}

func TestTransactionalProducerIsFenced(t *testing.T) {
	b := brokertest.Start(t, nil)
	createTopic(t, b.Admin(), "fence", 1, nil)
	ctx := brokertest.Context(t, 30*time.Second)

	old := txnProducer(b, "tx-fence")
	if err := old.BeginTransaction(); err != nil {
		t.Fatal(err)
	}
	if err := old.ProduceSync(ctx, &kgo.Record{Topic: "fence", Value: []byte("zombie")}).FirstErr(); err != nil {
		t.Fatal(err)
	}

	// A new instance with the same transactional id fences the old one and
	// aborts its open transaction.
	fresh := txnProducer(b, "tx-fence")
	produceTxn(t, fresh, "fence", true, "fresh")

	err := old.ProduceSync(ctx, &kgo.Record{Topic: "fence", Value: []byte("late")}).FirstErr()
	if err == nil {
		err = old.EndTransaction(ctx, kgo.TryCommit)
	}
	if !errors.Is(err, kerr.InvalidProducerEpoch) && !errors.Is(err, kerr.ProducerFenced) {
		t.Fatalf("fenced producer: got %v, want INVALID_PRODUCER_EPOCH or PRODUCER_FENCED", err)
	}
	if got := readAll(t, b, "fence", true); !slices.Equal(got, []string{"fresh"}) {
		t.Fatalf("read_committed got %v, want [fresh]", got)
	}
}

func TestTransactionTimeoutAborts(t *testing.T) {
	b := brokertest.Start(t, map[string]string{
		"transaction.abort.timed.out.transaction.cleanup.interval.ms": "100",
	})
	createTopic(t, b.Admin(), "timeout", 1, nil)
	ctx := brokertest.Context(t, 30*time.Second)
	cl := txnProducer(b, "tx-timeout", kgo.TransactionTimeout(500*time.Millisecond))
	if err := cl.BeginTransaction(); err != nil {
		t.Fatal(err)
	}
	if err := cl.ProduceSync(ctx, &kgo.Record{Topic: "timeout", Value: []byte("hung")}).FirstErr(); err != nil {
		t.Fatal(err)
	}
	adm := b.Admin()
	waitFor(t, 10*time.Second, "the timed-out transaction to be aborted", func() bool {
		stable, err := adm.ListCommittedOffsets(ctx, "timeout")
		if err != nil {
			return false
		}
		o, _ := stable.Lookup("timeout", 0)
		return o.Offset >= 2 // the record and the abort marker
	})
	// A later plain record shows where read_committed stands.
	plain := b.Client()
	if err := plain.ProduceSync(ctx, &kgo.Record{Topic: "timeout", Value: []byte("after")}).FirstErr(); err != nil {
		t.Fatal(err)
	}
	if got := readAll(t, b, "timeout", true); !slices.Equal(got, []string{"after"}) {
		t.Fatalf("read_committed after timeout got %v, want [after]", got)
	}
	if err := cl.EndTransaction(ctx, kgo.TryCommit); err == nil {
		t.Fatal("committing a transaction the coordinator aborted succeeded")
	}
}

func TestTransactionSurvivesRestart(t *testing.T) {
	b := brokertest.Start(t, nil)
	createTopic(t, b.Admin(), "restart", 2, nil)
	ctx := brokertest.Context(t, 60*time.Second)
	cl := txnProducer(b, "tx-restart")
	produceTxn(t, cl, "restart", false, "before-aborted")
	if err := cl.BeginTransaction(); err != nil {
		t.Fatal(err)
	}
	for _, v := range []string{"x", "y", "z"} {
		if err := cl.ProduceSync(ctx, &kgo.Record{Topic: "restart", Value: []byte(v)}).FirstErr(); err != nil {
			t.Fatal(err)
		}
	}
	b.Restart()
	if err := cl.EndTransaction(ctx, kgo.TryCommit); err != nil {
		t.Fatalf("commit after restart: %v", err)
	}
	if got := readAll(t, b, "restart", true); !slices.Equal(got, []string{"x", "y", "z"}) {
		t.Fatalf("read_committed after restart got %v, want [x y z]", got)
	}
	// The aborted transaction's index survives a second restart.
	b.Restart()
	if got := readAll(t, b, "restart", true); !slices.Equal(got, []string{"x", "y", "z"}) {
		t.Fatalf("read_committed after second restart got %v, want [x y z]", got)
	}
}

// TestExactlyOnceConsumeTransformProduce runs franz-go's GroupTransactSession:
// consumed offsets are committed in the same transaction as the output, so
// an aborted round changes neither.
func TestExactlyOnceConsumeTransformProduce(t *testing.T) {
	transactionProtocols(t, testExactlyOnceConsumeTransformProduce)
}

func testExactlyOnceConsumeTransformProduce(t *testing.T, b *brokertest.Broker, v2 bool) {
	adm := b.Admin()
	createTopic(t, adm, "eos-in", 2, nil)
	createTopic(t, adm, "eos-out", 2, nil)
	ctx := brokertest.Context(t, 60*time.Second)

	in := b.Client(kgo.DefaultProduceTopic("eos-in"))
	for i := range 40 {
		if err := in.ProduceSync(ctx, kgo.StringRecord("in"+strconv.Itoa(i))).FirstErr(); err != nil {
			t.Fatal(err)
		}
	}

	sess, err := kgo.NewGroupTransactSession(
		kgo.SeedBrokers(b.Addr),
		kgo.TransactionalID("tx-eos"),
		kgo.ConsumerGroup("eos-group"),
		kgo.ConsumeTopics("eos-in"),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
		kgo.FetchIsolationLevel(kgo.ReadCommitted()),
		kgo.RequireStableFetchOffsets(),
		kgo.FetchMaxWait(100*time.Millisecond),
	)
	if err != nil {
		t.Fatal(err)
	}
	defer sess.Close()

	// round consumes what is there, produces "out"+value, and ends the
	// transaction; it returns how many records it transformed.
	round := func(commit bool) int {
		t.Helper()
		pollCtx, cancel := context.WithTimeout(ctx, 3*time.Second)
		defer cancel()
		fs := sess.PollFetches(pollCtx)
		if err := sess.Begin(); err != nil {
			t.Fatal(err)
		}
		n := 0
		fs.EachRecord(func(r *kgo.Record) {
			n++
			sess.Produce(ctx, &kgo.Record{Topic: "eos-out", Value: []byte("out-" + string(r.Value))}, func(_ *kgo.Record, err error) {
				if err != nil && commit { // aborting fails what is still buffered
					t.Errorf("produce: %v", err)
				}
			})
		})
		ok, err := sess.End(ctx, kgo.TransactionEndTry(commit))
		if err != nil {
			t.Fatalf("end (commit=%v): %v", commit, err)
		}
		if commit && n > 0 && !ok {
			t.Fatal("commit was aborted")
		}
		return n
	}
	total := 0
	for total < 40 && ctx.Err() == nil {
		total += round(true)
	}
	if total != 40 {
		t.Fatalf("transformed %d records, want 40", total)
	}
	offsets := func() int64 {
		t.Helper()
		got, err := adm.FetchOffsets(ctx, "eos-group")
		if err != nil {
			t.Fatal(err)
		}
		var sum int64
		got.Each(func(o kadm.OffsetResponse) { sum += o.At })
		return sum
	}
	if sum := offsets(); sum != 40 {
		t.Fatalf("committed offsets sum %d, want 40", sum)
	}

	// An aborted round: its output is invisible and the group's offsets do
	// not move.
	for i := range 5 {
		if err := in.ProduceSync(ctx, kgo.StringRecord(fmt.Sprintf("more%d", i))).FirstErr(); err != nil {
			t.Fatal(err)
		}
	}
	aborted := 0
	for aborted == 0 && ctx.Err() == nil {
		aborted = round(false)
	}
	if sum := offsets(); sum != 40 {
		t.Fatalf("committed offsets sum %d after an aborted round, want 40", sum)
	}
	got := readAll(t, b, "eos-out", true)
	want := make([]string, 40)
	for i := range want {
		want[i] = "out-in" + strconv.Itoa(i)
	}
	if !slices.Equal(got, sorted(want)) {
		t.Fatalf("read_committed output has %d records, want the 40 committed ones: %v", len(got), got)
	}
	wantEpoch(ctx, t, adm, "tx-eos", v2, 2)
}

// TestTransactionRequestErrors sends transaction requests a correct client
// would not, and checks each gets the error code Kafka answers.
func TestTransactionRequestErrors(t *testing.T) {
	b := brokertest.Start(t, map[string]string{"transaction.max.timeout.ms": "60000"})
	createTopic(t, b.Admin(), "errs", 1, nil)
	ctx := brokertest.Context(t, 30*time.Second)
	cl := b.Client()

	initReq := func(id string, timeoutMs int32) *kmsg.InitProducerIDResponse {
		t.Helper()
		req := kmsg.NewPtrInitProducerIDRequest()
		req.TransactionalID = &id
		req.TransactionTimeoutMillis = timeoutMs
		resp, err := req.RequestWith(ctx, cl)
		if err != nil {
			t.Fatal(err)
		}
		return resp
	}
	wantErr := func(what string, code int16, want *kerr.Error) {
		t.Helper()
		if code != want.Code {
			t.Errorf("%s: got %v, want %s", what, kerr.ErrorForCode(code), want.Message)
		}
	}

	wantErr("timeout above transaction.max.timeout.ms", initReq("e1", 120000).ErrorCode, kerr.InvalidTransactionTimeout)
	init := initReq("e1", 10000)
	wantErr("init", init.ErrorCode, &kerr.Error{Message: "none", Code: 0})

	add := func(id string, pid int64, epoch int16, topic string, p int32) int16 {
		t.Helper()
		req := kmsg.NewPtrAddPartitionsToTxnRequest()
		req.TransactionalID, req.ProducerID, req.ProducerEpoch = id, pid, epoch
		rt := kmsg.NewAddPartitionsToTxnRequestTopic()
		rt.Topic, rt.Partitions = topic, []int32{p}
		req.Topics = append(req.Topics, rt)
		resp, err := req.RequestWith(ctx, cl)
		if err != nil {
			t.Fatal(err)
		}
		return resp.Topics[0].Partitions[0].ErrorCode
	}
	wantErr("unknown transactional id", add("nope", init.ProducerID, init.ProducerEpoch, "errs", 0), kerr.InvalidProducerIDMapping)
	wantErr("wrong producer id", add("e1", init.ProducerID+1000, init.ProducerEpoch, "errs", 0), kerr.InvalidProducerIDMapping)
	wantErr("stale epoch", add("e1", init.ProducerID, init.ProducerEpoch-1, "errs", 0), kerr.ProducerFenced)
	wantErr("unknown partition", add("e1", init.ProducerID, init.ProducerEpoch, "errs", 7), kerr.UnknownTopicOrPartition)
	wantErr("internal topic", add("e1", init.ProducerID, init.ProducerEpoch, "__consumer_offsets", 0), kerr.InvalidTopicException)

	end := kmsg.NewPtrEndTxnRequest()
	end.TransactionalID, end.ProducerID, end.ProducerEpoch, end.Commit = "e1", init.ProducerID, init.ProducerEpoch, true
	endResp, err := end.RequestWith(ctx, cl)
	if err != nil {
		t.Fatal(err)
	}
	wantErr("commit with no transaction", endResp.ErrorCode, kerr.InvalidTxnState)

	// A transactional batch to a partition the transaction did not add is
	// refused and not stored.
	batch := record.Build(record.BatchSpec{
		ProducerID: init.ProducerID, ProducerEpoch: init.ProducerEpoch, BaseSequence: 0,
		Transactional: true, Timestamp: time.Now().UnixMilli(),
		Records: []record.RecordSpec{{Value: []byte("stray")}},
	})
	// v11: transaction protocol v1, where Produce does not add partitions.
	prodResp := dial(t, b.Addr).roundTrip(txnProduce(11, "e1", "errs", batch)).(*kmsg.ProduceResponse)
	wantErr("transactional batch outside the transaction", prodResp.Topics[0].Partitions[0].ErrorCode, kerr.InvalidTxnState)
	ends, err := b.Admin().ListEndOffsets(ctx, "errs")
	if err != nil {
		t.Fatal(err)
	}
	if o, _ := ends.Lookup("errs", 0); o.Offset != 0 {
		t.Errorf("a refused transactional batch was stored: end offset %d", o.Offset)
	}
}

// txnProduce is a Produce request at version of one batch to partition 0 of
// topic for the transactional id.
func txnProduce(version int16, txnID, topic string, batch []byte) *kmsg.ProduceRequest {
	prod := kmsg.NewPtrProduceRequest()
	prod.Version, prod.Acks, prod.TimeoutMillis = version, -1, 5000
	prod.TransactionID = &txnID
	pt := kmsg.NewProduceRequestTopic()
	pt.Topic = topic
	pp := kmsg.NewProduceRequestTopicPartition()
	pp.Partition, pp.Records = 0, batch
	pt.Partitions = append(pt.Partitions, pp)
	prod.Topics = append(prod.Topics, pt)
	return prod
}

// TestTransactionProtocolV2Requests drives transaction protocol v2 (KIP-890
// part 2) request by request: Produce v12 and TxnOffsetCommit v5+ add their
// partitions to the transaction themselves, EndTxn v5 bumps the epoch and
// names it, a retried EndTxn gets the same answer, and the ended
// transaction's epoch can no longer write.
func TestTransactionProtocolV2Requests(t *testing.T) {
	b := brokertest.Start(t, nil)
	createTopic(t, b.Admin(), "v2", 1, nil)
	ctx := brokertest.Context(t, 30*time.Second)
	adm := b.Admin()
	rc := dial(t, b.Addr)
	const id = "v2-tx"

	initReq := kmsg.NewPtrInitProducerIDRequest()
	initReq.Version = 5
	initReq.TransactionalID, initReq.TransactionTimeoutMillis = kmsg.StringPtr(id), 10000
	init := rc.roundTrip(initReq).(*kmsg.InitProducerIDResponse)
	if init.ErrorCode != 0 {
		t.Fatalf("init: %v", kerr.ErrorForCode(init.ErrorCode))
	}
	pid, epoch := init.ProducerID, init.ProducerEpoch
	batch := func(epoch int16, seq int32, value string) []byte {
		return record.Build(record.BatchSpec{
			ProducerID: pid, ProducerEpoch: epoch, BaseSequence: seq,
			Transactional: true, Timestamp: time.Now().UnixMilli(),
			Records: []record.RecordSpec{{Value: []byte(value)}},
		})
	}
	produce := func(epoch int16, seq int32, value string) int16 {
		t.Helper()
		resp := rc.roundTrip(txnProduce(12, id, "v2", batch(epoch, seq, value))).(*kmsg.ProduceResponse)
		return resp.Topics[0].Partitions[0].ErrorCode
	}
	if code := produce(epoch, 0, "first"); code != 0 {
		t.Fatalf("produce v12 to a partition not yet in the transaction: %v", kerr.ErrorForCode(code))
	}
	described, err := adm.DescribeTransactions(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	if d := described[id]; d.State != "Ongoing" || len(d.Topics["v2"]) != 1 {
		t.Fatalf("after produce v12: %+v", d)
	}

	// v6 names topics by id: an unknown id fails on its own.
	listed, err := adm.ListTopics(ctx, "v2")
	if err != nil {
		t.Fatal(err)
	}
	known, unknown := [16]byte(listed["v2"].ID), [16]byte{0xde, 0xad}
	commit := kmsg.NewPtrTxnOffsetCommitRequest()
	commit.Version = 6
	commit.TransactionalID, commit.Group, commit.ProducerID, commit.ProducerEpoch = id, "v2-group", pid, epoch
	commit.Generation = -1
	for _, topicID := range [][16]byte{known, unknown} {
		ct := kmsg.NewTxnOffsetCommitRequestTopic()
		ct.TopicID = topicID
		cp := kmsg.NewTxnOffsetCommitRequestTopicPartition()
		cp.Partition, cp.Offset = 0, 7
		ct.Partitions = append(ct.Partitions, cp)
		commit.Topics = append(commit.Topics, ct)
	}
	commitResp := rc.roundTrip(commit).(*kmsg.TxnOffsetCommitResponse)
	wantCommit := map[[16]byte]int16{known: 0, unknown: kerr.UnknownTopicID.Code}
	if len(commitResp.Topics) != 2 {
		t.Fatalf("TxnOffsetCommit v6 answered %d topics", len(commitResp.Topics))
	}
	for _, rt := range commitResp.Topics {
		if want, ok := wantCommit[rt.TopicID]; !ok || rt.Partitions[0].ErrorCode != want {
			t.Fatalf("TxnOffsetCommit v6 without AddOffsetsToTxn, topic %x: %v, want %v", rt.TopicID, kerr.ErrorForCode(rt.Partitions[0].ErrorCode), kerr.ErrorForCode(want))
		}
	}

	end := func(epoch int16, commit bool) *kmsg.EndTxnResponse {
		t.Helper()
		req := kmsg.NewPtrEndTxnRequest()
		req.Version = 5
		req.TransactionalID, req.ProducerID, req.ProducerEpoch, req.Commit = id, pid, epoch, commit
		return rc.roundTrip(req).(*kmsg.EndTxnResponse)
	}
	for _, what := range []string{"commit", "retried commit"} {
		if resp := end(epoch, true); resp.ErrorCode != 0 || resp.ProducerID != pid || resp.ProducerEpoch != epoch+1 {
			t.Fatalf("%s: %v, producer %d epoch %d; want %d/%d", what, kerr.ErrorForCode(resp.ErrorCode), resp.ProducerID, resp.ProducerEpoch, pid, epoch+1)
		}
	}
	// A late write of the committed transaction is fenced, not taken into
	// the next one.
	if code := produce(epoch, 1, "late"); code != kerr.InvalidProducerEpoch.Code {
		t.Fatalf("produce with the ended transaction's epoch: %v, want INVALID_PRODUCER_EPOCH", kerr.ErrorForCode(code))
	}
	if got := readAll(t, b, "v2", true); !slices.Equal(got, []string{"first"}) {
		t.Fatalf("read_committed: %v", got)
	}
	offsets, err := adm.FetchOffsets(ctx, "v2-group")
	if err != nil {
		t.Fatal(err)
	}
	if o, _ := offsets.Lookup("v2", 0); o.At != 7 {
		t.Fatalf("committed offset %d, want 7", o.At)
	}
	// The next transaction runs at the new epoch, its sequence from 0.
	if code := produce(epoch+1, 0, "second"); code != 0 {
		t.Fatalf("produce at the bumped epoch: %v", kerr.ErrorForCode(code))
	}
	if resp := end(epoch+1, false); resp.ErrorCode != 0 || resp.ProducerEpoch != epoch+2 {
		t.Fatalf("abort: %v epoch %d", kerr.ErrorForCode(resp.ErrorCode), resp.ProducerEpoch)
	}
	if got := readAll(t, b, "v2", true); !slices.Equal(got, []string{"first"}) {
		t.Fatalf("read_committed after the abort: %v", got)
	}
	if resp := end(epoch+2, true); resp.ErrorCode != kerr.InvalidTxnState.Code {
		t.Fatalf("commit with no transaction open: %v", kerr.ErrorForCode(resp.ErrorCode))
	}
}
