package handler

// AddOffsetsToTxn: v0-4
//
// Behavior:
// * Adds the group's __consumer_offsets partition to the transaction, as
//   Kafka does, so the offsets the producer then commits with
//   TxnOffsetCommit are committed or discarded by the transaction's marker
// * Empty group id → INVALID_GROUP_ID; producer checks as AddPartitionsToTxn
//
// Version notes:
// * v2: PRODUCER_FENCED (older versions get INVALID_PRODUCER_EPOCH)
// * v3: flexible
// * v4: the client handles TRANSACTION_ABORTABLE (KIP-890; never sent)

import (
	"context"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/samsa-broker/samsa/internal/acl"
	"github.com/samsa-broker/samsa/internal/conn"
	"github.com/samsa-broker/samsa/internal/txn"
)

// OffsetsTopic is Kafka's internal topic of group offsets.
const OffsetsTopic = "__consumer_offsets"

func (h *Handler) handleAddOffsetsToTxn(_ context.Context, req *conn.Request) conn.Reply {
	r := req.Body.(*kmsg.AddOffsetsToTxnRequest)
	resp := r.ResponseKind().(*kmsg.AddOffsetsToTxnResponse)
	if r.Group == "" {
		resp.ErrorCode = kerr.InvalidGroupID.Code
		return respond(resp)
	}
	if !h.allowedTxn(req, acl.OpWrite, r.TransactionalID) {
		resp.ErrorCode = kerr.TransactionalIDAuthorizationFailed.Code
		return respond(resp)
	}
	if !h.allowedGroup(req, acl.OpRead, r.Group) {
		resp.ErrorCode = kerr.GroupAuthorizationFailed.Code
		return respond(resp)
	}
	tp := txn.TopicPartition{Topic: OffsetsTopic, Partition: h.groups.PartitionFor(r.Group)}
	return await(func(ctx context.Context) kmsg.Response {
		err := h.opts.Transactions.AddPartitions(ctx, r.TransactionalID, r.ProducerID, r.ProducerEpoch, []txn.TopicPartition{tp}, false)
		if err != nil {
			h.log.Debug("AddOffsetsToTxn refused", "transactional_id", r.TransactionalID, "err", err)
		}
		resp.ErrorCode = txnErrorCode(err, r.Version, 2)
		return resp
	})
}
