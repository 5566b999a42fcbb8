package handler

// AddPartitionsToTxn: v0-3
//
// Behavior:
// * Adds the partitions to the producer's transaction (starting one), so
//   the coordinator writes their markers when it ends; the producer may
//   write transactional batches only to partitions added here
// * Unknown topics or partitions → UNKNOWN_TOPIC_OR_PARTITION, and every
//   other partition of the request OPERATION_NOT_ATTEMPTED (nothing added);
//   internal topics → INVALID_TOPIC_EXCEPTION likewise
// * Producer checks: unknown id → INVALID_PRODUCER_ID_MAPPING, stale epoch
//   → PRODUCER_FENCED, a transaction still completing →
//   CONCURRENT_TRANSACTIONS (the client retries)
//
// Version notes:
// * v2: PRODUCER_FENCED (older versions get INVALID_PRODUCER_EPOCH)
// * v3: flexible
// * v4+ (broker-to-broker batches, KIP-890) are not served

import (
	"context"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/samsa-broker/samsa/internal/acl"
	"github.com/samsa-broker/samsa/internal/conn"
	"github.com/samsa-broker/samsa/internal/txn"
)

func (h *Handler) handleAddPartitionsToTxn(_ context.Context, req *conn.Request) conn.Reply {
	r := req.Body.(*kmsg.AddPartitionsToTxnRequest)
	resp := r.ResponseKind().(*kmsg.AddPartitionsToTxnResponse)
	var parts []txn.TopicPartition
	failed := false
	txnAllowed := h.allowedTxn(req, acl.OpWrite, r.TransactionalID)
	writable := map[string]bool{}
	for _, rt := range r.Topics {
		writable[rt.Topic] = h.allowedTopic(req, acl.OpWrite, rt.Topic)
		for _, p := range rt.Partitions {
			parts = append(parts, txn.TopicPartition{Topic: rt.Topic, Partition: p})
			if !txnAllowed || !writable[rt.Topic] || h.txnPartitionCode(rt.Topic, p) != 0 {
				failed = true
			}
		}
	}
	answer := func(codeFor func(tp txn.TopicPartition) int16) *kmsg.AddPartitionsToTxnResponse {
		for _, rt := range r.Topics {
			t := kmsg.NewAddPartitionsToTxnResponseTopic()
			t.Topic = rt.Topic
			for _, p := range rt.Partitions {
				pr := kmsg.NewAddPartitionsToTxnResponseTopicPartition()
				pr.Partition, pr.ErrorCode = p, codeFor(txn.TopicPartition{Topic: rt.Topic, Partition: p})
				t.Partitions = append(t.Partitions, pr)
			}
			resp.Topics = append(resp.Topics, t)
		}
		return resp
	}
	if failed {
		return respond(answer(func(tp txn.TopicPartition) int16 {
			if !txnAllowed {
				return kerr.TransactionalIDAuthorizationFailed.Code
			}
			if !writable[tp.Topic] {
				return kerr.TopicAuthorizationFailed.Code
			}
			if code := h.txnPartitionCode(tp.Topic, tp.Partition); code != 0 {
				return code
			}
			return kerr.OperationNotAttempted.Code
		}))
	}
	return await(func(ctx context.Context) kmsg.Response {
		err := h.opts.Transactions.AddPartitions(ctx, r.TransactionalID, r.ProducerID, r.ProducerEpoch, parts, false)
		if err != nil {
			h.log.Debug("AddPartitionsToTxn refused", "transactional_id", r.TransactionalID, "err", err)
		}
		code := txnErrorCode(err, r.Version, 2)
		return answer(func(txn.TopicPartition) int16 { return code })
	})
}

// txnPartitionCode checks that a partition may join a transaction.
func (h *Handler) txnPartitionCode(topic string, partition int32) int16 {
	p, ok := h.catalog.Partition(topic, partition)
	switch {
	case !ok:
		return kerr.UnknownTopicOrPartition.Code
	case p.Internal:
		return kerr.InvalidTopicException.Code
	}
	return 0
}
