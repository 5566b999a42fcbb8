package handler

// EndTxn: v0-5
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
// * v4: the client handles TRANSACTION_ABORTABLE (KIP-890; never sent)
// * v5: transaction protocol v2 (KIP-890 part 2): every EndTxn bumps the
//   epoch (the markers carry the new one, so a late write of the ended
//   transaction is fenced) and the response names the producer id and epoch
//   of the next transaction (a new id once the epoch runs out). A retry of
//   a lost response names the epoch before the bump and gets the same
//   answer; an abort with no transaction open is allowed

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
		pid, epoch, err := h.opts.Transactions.EndTxn(ctx, r.TransactionalID, r.ProducerID, r.ProducerEpoch, r.Commit, r.Version >= 5)
		if err != nil {
			h.log.Debug("EndTxn refused", "transactional_id", r.TransactionalID, "commit", r.Commit, "err", err)
		} else if r.Version >= 5 {
			resp.ProducerID, resp.ProducerEpoch = pid, epoch
		}
		resp.ErrorCode = txnErrorCode(err, r.Version, 2)
		return resp
	})
}
