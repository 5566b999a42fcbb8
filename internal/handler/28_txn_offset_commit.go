package handler

// TxnOffsetCommit: v0-4
//
// Behavior:
// * Stores the offsets as pending in the group coordinator, written to
//   __consumer_offsets as a transactional batch: they become the group's
//   committed offsets when the transaction's COMMIT marker reaches that
//   partition, and are dropped by an ABORT
// * The producer must have added the group with AddOffsetsToTxn in its open
//   transaction: otherwise INVALID_TXN_STATE (or the producer errors of
//   AddPartitionsToTxn) on every partition
// * Group checks (v3+ member and generation) as OffsetCommit
//
// Version notes:
// * v2: leader epoch
// * v3: flexible; generation, member and instance id; PRODUCER_FENCED
//   (older versions get INVALID_PRODUCER_EPOCH)
// * v4: the client handles TRANSACTION_ABORTABLE (KIP-890; never sent)
// * v5 (transactions v2) is not offered

import (
	"context"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/samsa-broker/samsa/internal/acl"
	"github.com/samsa-broker/samsa/internal/conn"
	"github.com/samsa-broker/samsa/internal/group"
	"github.com/samsa-broker/samsa/internal/txn"
)

func (h *Handler) handleTxnOffsetCommit(_ context.Context, req *conn.Request) conn.Reply {
	r := req.Body.(*kmsg.TxnOffsetCommitRequest)
	if r.Group == "" {
		return respond(group.TxnCommitFailure(r, kerr.InvalidGroupID.Code))
	}
	if !h.allowedTxn(req, acl.OpWrite, r.TransactionalID) {
		return respond(group.TxnCommitFailure(r, kerr.TransactionalIDAuthorizationFailed.Code))
	}
	if !h.allowedGroup(req, acl.OpRead, r.Group) {
		return respond(group.TxnCommitFailure(r, kerr.GroupAuthorizationFailed.Code))
	}
	allowed, denied := split(r.Topics, func(t kmsg.TxnOffsetCommitRequestTopic) bool { return h.allowedTopic(req, acl.OpRead, t.Topic) })
	if len(denied) > 0 {
		// As Kafka: denied topics fail and the rest is not attempted.
		deniedReq, notAttempted := *r, *r
		deniedReq.Topics, notAttempted.Topics = denied, allowed
		resp := group.TxnCommitFailure(&deniedReq, kerr.TopicAuthorizationFailed.Code)
		resp.Topics = append(resp.Topics, group.TxnCommitFailure(&notAttempted, kerr.OperationNotAttempted.Code).Topics...)
		return respond(resp)
	}
	tp := txn.TopicPartition{Topic: OffsetsTopic, Partition: h.groups.PartitionFor(r.Group)}
	if err := h.opts.Transactions.Verify(r.ProducerID, r.ProducerEpoch, tp); err != nil {
		h.log.Debug("TxnOffsetCommit refused", "transactional_id", r.TransactionalID, "group", r.Group, "err", err)
		return respond(group.TxnCommitFailure(r, txnErrorCode(err, r.Version, 3)))
	}
	return viaCoordinator(req, h.groups.TxnOffsetCommit)
}
