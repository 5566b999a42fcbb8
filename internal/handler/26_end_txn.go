package handler

// EndTxn: v0-4
//
// Behavior:
// * Commits or aborts the producer's transaction: the coordinator logs the
//   decision, writes a COMMIT or ABORT marker to every partition of the
//   transaction (and the __consumer_offsets partitions of its offsets), and
//   answers once all of it is durable, so the next transaction may start
//   at once
// * Retrying a completed EndTxn succeeds; the opposite decision, or ending
//   no transaction → INVALID_TXN_STATE
//
// Version notes:
// * v2: PRODUCER_FENCED (older versions get INVALID_PRODUCER_EPOCH)
// * v3: flexible
// * v4: the client handles TRANSACTION_ABORTABLE (KIP-890; never sent). v5
//   (transactions v2, an epoch bump per transaction) is not offered

import (
	"context"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/samsa-broker/samsa/internal/acl"
	"github.com/samsa-broker/samsa/internal/conn"
)

func (h *Handler) handleEndTxn(_ context.Context, req *conn.Request) conn.Reply {
	r := req.Body.(*kmsg.EndTxnRequest)
	resp := r.ResponseKind().(*kmsg.EndTxnResponse)
	if !h.allowedTxn(req, acl.OpWrite, r.TransactionalID) {
		resp.ErrorCode = kerr.TransactionalIDAuthorizationFailed.Code
		return respond(resp)
	}
	return await(func(ctx context.Context) kmsg.Response {
		err := h.opts.Transactions.EndTxn(ctx, r.TransactionalID, r.ProducerID, r.ProducerEpoch, r.Commit)
		if err != nil {
			h.log.Debug("EndTxn refused", "transactional_id", r.TransactionalID, "commit", r.Commit, "err", err)
		}
		resp.ErrorCode = txnErrorCode(err, r.Version, 2)
		return resp
	})
}
