package handler

// TxnOffsetCommit: v0-6
//
// Behavior:
// * Stores the offsets as pending in the group coordinator, written to
//   __consumer_offsets as a transactional batch: they become the group's
//   committed offsets when the transaction's COMMIT marker reaches that
//   partition, and are dropped by an ABORT
// * The producer must have added the group with AddOffsetsToTxn in its open
//   transaction (v5+: the commit adds it): otherwise INVALID_TXN_STATE (or
//   the producer errors of AddPartitionsToTxn) on every partition
// * Group checks (v3+ member and generation) as OffsetCommit
//
// Version notes:
// * v2: leader epoch
// * v3: flexible; generation, member and instance id; PRODUCER_FENCED
//   (older versions get INVALID_PRODUCER_EPOCH)
// * v4: the client handles TRANSACTION_ABORTABLE (KIP-890; never sent)
// * v5: transaction protocol v2 (KIP-890 part 2): the commit adds the
//   group's __consumer_offsets partition to the transaction itself, starting
//   one if none is open, as AddOffsetsToTxn did
// * v6: topics named by id (KIP-516); an unknown id → UNKNOWN_TOPIC_ID

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
	allowed, denied := split(r.Topics, func(t kmsg.TxnOffsetCommitRequestTopic) bool {
		name, known := h.topicNameOf(t.Topic, t.TopicID, r.Version >= 6)
		return !known || h.allowedTopic(req, acl.OpRead, name) // the coordinator answers an unknown id
	})
	if len(denied) > 0 {
		// As Kafka: denied topics fail and the rest is not attempted.
		deniedReq, notAttempted := *r, *r
		deniedReq.Topics, notAttempted.Topics = denied, allowed
		resp := group.TxnCommitFailure(&deniedReq, kerr.TopicAuthorizationFailed.Code)
		resp.Topics = append(resp.Topics, group.TxnCommitFailure(&notAttempted, kerr.OperationNotAttempted.Code).Topics...)
		return respond(resp)
	}
	tp := txn.TopicPartition{Topic: OffsetsTopic, Partition: h.groups.PartitionFor(r.Group)}
	refused := func(err error) *kmsg.TxnOffsetCommitResponse {
		h.log.Debug("TxnOffsetCommit refused", "transactional_id", r.TransactionalID, "group", r.Group, "err", err)
		return group.TxnCommitFailure(r, txnErrorCode(err, r.Version, 3))
	}
	if r.Version < 5 {
		if err := h.opts.Transactions.Verify(r.ProducerID, r.ProducerEpoch, tp); err != nil {
			return respond(refused(err))
		}
		return viaCoordinator(req, h.groups.TxnOffsetCommit)
	}
	return viaCoordinator(req, func(ctx context.Context, r *kmsg.TxnOffsetCommitRequest) *kmsg.TxnOffsetCommitResponse {
		if err := h.opts.Transactions.AddPartitions(ctx, r.TransactionalID, r.ProducerID, r.ProducerEpoch, []txn.TopicPartition{tp}, true); err != nil {
			return refused(err)
		}
		return h.groups.TxnOffsetCommit(ctx, r)
	})
}
