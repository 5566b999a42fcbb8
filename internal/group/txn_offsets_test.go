package group

import (
	"testing"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

func txnCommitReq(group string, producerID int64, offsets map[int32]int64) *kmsg.TxnOffsetCommitRequest {
	req := kmsg.NewPtrTxnOffsetCommitRequest()
	req.Version = 3
	req.TransactionalID = "tx"
	req.Group = group
	req.ProducerID = producerID
	req.ProducerEpoch = 0
	req.Generation = -1
	t := kmsg.NewTxnOffsetCommitRequestTopic()
	t.Topic = "orders"
	for _, p := range sortedKeys(offsets) {
		rp := kmsg.NewTxnOffsetCommitRequestTopicPartition()
		rp.Partition, rp.Offset = p, offsets[p]
		t.Partitions = append(t.Partitions, rp)
	}
	req.Topics = append(req.Topics, t)
	return req
}

// fetchOffset returns the committed offset and error code of orders-p, asking
// for stable offsets when stable is set.
func (e *env) fetchOffset(group string, p int32, stable bool) (int64, int16) {
	e.t.Helper()
	req := kmsg.NewPtrOffsetFetchRequest()
	req.Version = 8
	req.RequireStable = stable
	rg := kmsg.NewOffsetFetchRequestGroup()
	rg.Group = group
	rt := kmsg.NewOffsetFetchRequestGroupTopic()
	rt.Topic, rt.Partitions = "orders", []int32{p}
	rg.Topics = append(rg.Topics, rt)
	req.Groups = append(req.Groups, rg)
	resp := e.c.OffsetFetch(e.ctx(), req)
	g := resp.Groups[0]
	if g.ErrorCode != 0 {
		return -1, g.ErrorCode
	}
	fp := g.Topics[0].Partitions[0]
	return fp.Offset, fp.ErrorCode
}

func TestTxnOffsetsCountOnlyOnCommit(t *testing.T) {
	log := newMemLog()
	e := newEnv(t, log)
	part := e.c.PartitionFor("g")

	resp := e.c.TxnOffsetCommit(e.ctx(), txnCommitReq("g", 7, map[int32]int64{0: 10, 1: 20}))
	for _, p := range resp.Topics[0].Partitions {
		wantCode(t, "txn commit", p.ErrorCode, 0)
	}
	if off, code := e.fetchOffset("g", 0, false); off != -1 || code != 0 {
		t.Fatalf("before the marker: offset %d code %d, want -1 0", off, code)
	}
	if _, code := e.fetchOffset("g", 0, true); code != kerr.UnstableOffsetCommit.Code {
		t.Fatalf("require_stable before the marker: code %d, want UNSTABLE_OFFSET_COMMIT", code)
	}

	// A restart keeps the offsets pending.
	e.restart()
	if _, code := e.fetchOffset("g", 1, true); code != kerr.UnstableOffsetCommit.Code {
		t.Fatalf("after restart: code %d, want UNSTABLE_OFFSET_COMMIT", code)
	}
	if err := e.c.CompleteTxn(e.ctx(), part, 7, 0, true); err != nil {
		t.Fatal(err)
	}
	for p, want := range map[int32]int64{0: 10, 1: 20} {
		if off, code := e.fetchOffset("g", p, true); off != want || code != 0 {
			t.Fatalf("after commit partition %d: offset %d code %d, want %d", p, off, code, want)
		}
	}

	// An aborted transaction leaves the committed offsets as they were.
	e.c.TxnOffsetCommit(e.ctx(), txnCommitReq("g", 8, map[int32]int64{0: 99}))
	if err := e.c.CompleteTxn(e.ctx(), part, 8, 0, false); err != nil {
		t.Fatal(err)
	}
	if off, _ := e.fetchOffset("g", 0, true); off != 10 {
		t.Fatalf("after abort: offset %d, want 10", off)
	}

	// Replay reaches the same state.
	e.restart()
	if off, code := e.fetchOffset("g", 0, true); off != 10 || code != 0 {
		t.Fatalf("after replay: offset %d code %d, want 10 0", off, code)
	}
	if off, _ := e.fetchOffset("g", 1, true); off != 20 {
		t.Fatalf("after replay: partition 1 offset %d, want 20", off)
	}

	// Markers went only where the producer had written; a second
	// CompleteTxn for a finished producer writes nothing.
	before := len(log.parts[part])
	if err := e.c.CompleteTxn(e.ctx(), part, 8, 0, true); err != nil {
		t.Fatal(err)
	}
	if after := len(log.parts[part]); after != before {
		t.Fatalf("a marker for a finished transaction was written (%d → %d entries)", before, after)
	}
}

func TestTxnOffsetCommitChecksTheMember(t *testing.T) {
	e := newEnv(t, newMemLog())
	req := txnCommitReq("absent", 1, map[int32]int64{0: 1})
	req.Generation = 3
	resp := e.c.TxnOffsetCommit(e.ctx(), req)
	wantCode(t, "unknown group with a generation", resp.Topics[0].Partitions[0].ErrorCode, kerr.IllegalGeneration.Code)

	req = txnCommitReq("g", 1, map[int32]int64{9: 1})
	resp = e.c.TxnOffsetCommit(e.ctx(), req)
	wantCode(t, "unknown partition", resp.Topics[0].Partitions[0].ErrorCode, kerr.UnknownTopicOrPartition.Code)
}

// Removing a partition's offsets (a deleted topic, OffsetDelete) removes
// what open transactions hold for it too, in memory and on replay: the
// transaction's COMMIT marker does not bring it back, before or after a
// restart, while its other partitions commit.
func TestRemovedOffsetsLosePendingTransactionalOffsets(t *testing.T) {
	e := newEnv(t, newMemLog())
	part := e.c.PartitionFor("g")
	wantCode(t, "plain commit", e.c.OffsetCommit(e.ctx(), commitReq("g", "", -1, "orders", map[int32]int64{3: 1})).Topics[0].Partitions[0].ErrorCode, 0)
	e.c.TxnOffsetCommit(e.ctx(), txnCommitReq("g", 7, map[int32]int64{0: 10, 1: 20}))
	del := kmsg.NewPtrOffsetDeleteRequest()
	del.Group = "g"
	del.Topics = []kmsg.OffsetDeleteRequestTopic{{Topic: "orders", Partitions: []kmsg.OffsetDeleteRequestTopicPartition{{Partition: 0}}}}
	wantCode(t, "offset delete", e.c.OffsetDelete(e.ctx(), del).Topics[0].Partitions[0].ErrorCode, 0)
	if err := e.c.CompleteTxn(e.ctx(), part, 7, 0, true); err != nil {
		t.Fatal(err)
	}
	check := func(when string) {
		t.Helper()
		if off, _ := e.fetchOffset("g", 0, false); off != -1 {
			t.Fatalf("%s: deleted partition 0 has offset %d", when, off)
		}
		if off, _ := e.fetchOffset("g", 1, false); off != 20 {
			t.Fatalf("%s: partition 1 has offset %d, want the committed 20", when, off)
		}
	}
	check("after the marker")
	e.restart()
	check("after a restart")

	// A deleted topic: the same, and a marker still ends the transaction.
	e.c.TxnOffsetCommit(e.ctx(), txnCommitReq("g", 8, map[int32]int64{2: 30}))
	if err := e.c.TopicsDeleted(e.ctx(), []string{"orders"}); err != nil {
		t.Fatal(err)
	}
	if err := e.c.CompleteTxn(e.ctx(), part, 8, 0, true); err != nil {
		t.Fatal(err)
	}
	e.restart() // "orders" still exists for this env's catalog: only the tombstones remove it
	for p := int32(0); p < 4; p++ {
		if off, _ := e.fetchOffset("g", p, false); off != -1 {
			t.Fatalf("after the topic's deletion and a restart: partition %d has offset %d", p, off)
		}
	}
}
