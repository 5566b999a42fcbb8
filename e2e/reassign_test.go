package e2e

import (
	"errors"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/samsa-broker/samsa/internal/brokertest"
)

// TestElectionsAndReassignmentsOnOneBroker: the tools that move leaders and
// replicas get Kafka's answers for a cluster whose only broker already leads
// every partition.
func TestElectionsAndReassignmentsOnOneBroker(t *testing.T) {
	b := brokertest.Start(t, nil)
	adm := b.Admin()
	ctx := brokertest.Context(t, 30*time.Second)
	createTopic(t, adm, "moves", 2, nil)

	for _, how := range []kadm.ElectLeadersHow{kadm.ElectPreferredReplica, kadm.ElectLiveReplica} {
		res, err := adm.ElectLeaders(ctx, how, kadm.TopicsSet{"moves": {0: {}, 1: {}}, "nope": {0: {}}})
		if err != nil {
			t.Fatalf("elect leaders (%v): %v", how, err)
		}
		for p := int32(0); p < 2; p++ {
			if r, ok := res["moves"][p]; !ok || !errors.Is(r.Err, kerr.ElectionNotNeeded) {
				t.Fatalf("elect moves-%d (%v): %+v", p, how, r)
			}
		}
		if r := res["nope"][0]; !errors.Is(r.Err, kerr.UnknownTopicOrPartition) {
			t.Fatalf("elect an unknown topic: %+v", r)
		}
	}
	if res, err := adm.ElectLeaders(ctx, kadm.ElectPreferredReplica, nil); err != nil || len(res) != 0 {
		t.Fatalf("elect every partition: %v %v", res, err)
	}

	var req kadm.AlterPartitionAssignmentsReq
	req.Assign("moves", 0, []int32{0})
	req.Assign("moves", 1, []int32{0, 0})
	req.Assign("moves", 2, []int32{0})
	req.CancelAssign("nope", 0)
	req.CancelAssign("moves", 0)
	alt, err := adm.AlterPartitionAssignments(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	if err := alt["moves"][0].Err; !errors.Is(err, kerr.NoReassignmentInProgress) {
		t.Fatalf("cancel of moves-0 (sent after its assignment): %v", err)
	}
	if err := alt["moves"][1].Err; !errors.Is(err, kerr.InvalidReplicaAssignment) {
		t.Fatalf("a broker named twice: %v", err)
	}
	if err := alt["moves"][2].Err; !errors.Is(err, kerr.UnknownTopicOrPartition) {
		t.Fatalf("an unknown partition: %v", err)
	}
	if err := alt["nope"][0].Err; !errors.Is(err, kerr.UnknownTopicOrPartition) {
		t.Fatalf("an unknown topic: %v", err)
	}

	req = kadm.AlterPartitionAssignmentsReq{}
	req.Assign("moves", 0, []int32{0})
	req.Assign("moves", 1, []int32{7})
	alt, err = adm.AlterPartitionAssignments(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	if err := alt["moves"][0].Err; err != nil {
		t.Fatalf("assigning the current replica: %v", err)
	}
	if r := alt["moves"][1]; !errors.Is(r.Err, kerr.InvalidReplicaAssignment) || r.ErrMessage == "" {
		t.Fatalf("an unknown broker: %+v", r)
	}

	list, err := adm.ListPartitionReassignments(ctx, kadm.TopicsSet{"moves": {0: {}, 1: {}}})
	if err != nil || len(list) != 0 {
		t.Fatalf("list reassignments: %v %v", list, err)
	}
	md, err := adm.Metadata(ctx, "moves")
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range md.Topics["moves"].Partitions {
		if p.Leader != 0 || len(p.Replicas) != 1 || p.Replicas[0] != 0 {
			t.Fatalf("partition %d after the no-op moves: %+v", p.Partition, p)
		}
	}
}

// TestDescribeProducers: the idempotent state a partition keeps per producer
// is visible, with an open transaction's first offset.
func TestDescribeProducers(t *testing.T) {
	b := brokertest.Start(t, nil)
	adm := b.Admin()
	ctx := brokertest.Context(t, 30*time.Second)
	createTopic(t, adm, "producers", 1, nil)

	idem := b.Client(kgo.DefaultProduceTopic("producers"))
	for i := 0; i < 5; i++ {
		if err := idem.ProduceSync(ctx, kgo.StringRecord("v")).FirstErr(); err != nil {
			t.Fatal(err)
		}
	}
	txn := b.Client(kgo.DefaultProduceTopic("producers"), kgo.TransactionalID("describe-me"))
	if err := txn.BeginTransaction(); err != nil {
		t.Fatal(err)
	}
	if err := txn.ProduceSync(ctx, kgo.StringRecord("t")).FirstErr(); err != nil {
		t.Fatal(err)
	}

	described := func() map[int64]kadm.DescribedProducer {
		t.Helper()
		res, err := adm.DescribeProducers(ctx, kadm.TopicsSet{"producers": {0: {}}})
		if err != nil {
			t.Fatal(err)
		}
		p := res["producers"].Partitions[0]
		if p.Err != nil {
			t.Fatal(p.Err)
		}
		return p.ActiveProducers
	}
	got := described()
	if len(got) != 2 {
		t.Fatalf("want 2 producers, got %+v", got)
	}
	var plain, transactional kadm.DescribedProducer
	for _, p := range got {
		if p.LastSequence == 4 {
			plain = p
		} else {
			transactional = p
		}
	}
	if plain.ProducerID < 0 || plain.CurrentTxnStartOffset != -1 || plain.LastTimestamp <= 0 {
		t.Fatalf("idempotent producer: %+v", plain)
	}
	if transactional.LastSequence != 0 || transactional.CurrentTxnStartOffset != 5 {
		t.Fatalf("transactional producer: %+v", transactional)
	}
	if err := txn.EndTransaction(ctx, kgo.TryAbort); err != nil {
		t.Fatal(err)
	}
	if p := described()[transactional.ProducerID]; p.CurrentTxnStartOffset != -1 {
		t.Fatalf("after the abort: %+v", p)
	}

	// The clients route this request by metadata, so an unknown partition is
	// asked of the broker directly.
	req := kmsg.NewPtrDescribeProducersRequest()
	rt := kmsg.NewDescribeProducersRequestTopic()
	rt.Topic, rt.Partitions = "producers", []int32{1}
	req.Topics = append(req.Topics, rt)
	kresp, err := idem.Broker(0).Request(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	resp := kresp.(*kmsg.DescribeProducersResponse)
	if code := resp.Topics[0].Partitions[0].ErrorCode; code != kerr.UnknownTopicOrPartition.Code {
		t.Fatalf("unknown partition: error %d", code)
	}
}
