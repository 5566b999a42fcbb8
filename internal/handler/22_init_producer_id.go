package handler

// InitProducerId: v0-5
//
// Behavior:
// * Without a transactional id: a fresh producer id (unique across restarts,
//   allocated in blocks through the metadata log) with epoch 0
// * Without a transactional id a fresh id is allocated even when the request
//   names one (v3+), as Kafka does: naming another producer's id must not
//   fence it
// * With a transactional id: the transaction coordinator keeps the id's
//   producer id and bumps its epoch, fencing older instances; a transaction
//   the previous instance left open is aborted first
// * An empty transactional id → INVALID_REQUEST; a timeout above
//   transaction.max.timeout.ms → INVALID_TRANSACTION_TIMEOUT
//
// Version notes:
// * v2: flexible
// * v3: producer id/epoch for epoch bumps (a stale pair is fenced)
// * v4: PRODUCER_FENCED (older versions get INVALID_PRODUCER_EPOCH)
// * v5: the client handles TRANSACTION_ABORTABLE (KIP-890; never sent)

import (
	"context"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/samsa-broker/samsa/internal/acl"
	"github.com/samsa-broker/samsa/internal/conn"
)

func (h *Handler) handleInitProducerID(_ context.Context, req *conn.Request) conn.Reply {
	r := req.Body.(*kmsg.InitProducerIDRequest)
	resp := r.ResponseKind().(*kmsg.InitProducerIDResponse)
	resp.ProducerID, resp.ProducerEpoch = -1, -1
	if r.TransactionalID != nil {
		if *r.TransactionalID == "" {
			resp.ErrorCode = kerr.InvalidRequest.Code
			return respond(resp)
		}
		if !h.allowedTxn(req, acl.OpWrite, *r.TransactionalID) {
			resp.ErrorCode = kerr.TransactionalIDAuthorizationFailed.Code
			return respond(resp)
		}
		return await(func(ctx context.Context) kmsg.Response {
			timeout := time.Duration(r.TransactionTimeoutMillis) * time.Millisecond
			id, epoch, err := h.opts.Transactions.InitProducerID(ctx, *r.TransactionalID, timeout, r.ProducerID, r.ProducerEpoch)
			if err != nil {
				h.log.Debug("InitProducerId refused", "transactional_id", *r.TransactionalID, "err", err)
				resp.ErrorCode = txnErrorCode(err, r.Version, 4)
				return resp
			}
			resp.ProducerID, resp.ProducerEpoch = id, epoch
			return resp
		})
	}
	// An idempotent producer needs IDEMPOTENT_WRITE on the cluster or WRITE
	// on some topic.
	if !h.allowedCluster(req, acl.OpIdempotentWrite) && !h.allowedAnyTopic(req, acl.OpWrite) {
		resp.ErrorCode = kerr.ClusterAuthorizationFailed.Code
		return respond(resp)
	}
	id, err := h.opts.ProducerIDs.NextProducerID()
	if err != nil {
		h.log.Error("allocate producer id", "err", err)
		resp.ErrorCode = kerr.CoordinatorNotAvailable.Code
		return respond(resp)
	}
	resp.ProducerID, resp.ProducerEpoch = id, 0
	return respond(resp)
}
