package handler

// DescribeTransactions: v0
//
// Behavior:
// * The state, producer, timeout, start time and partitions of each named
//   transactional id; an unknown one → TRANSACTIONAL_ID_NOT_FOUND
//
// Version notes:
// * v0: flexible

import (
	"context"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/samsa-broker/samsa/internal/acl"
	"github.com/samsa-broker/samsa/internal/conn"
)

func (h *Handler) handleDescribeTransactions(_ context.Context, req *conn.Request) conn.Reply {
	r := req.Body.(*kmsg.DescribeTransactionsRequest)
	resp := r.ResponseKind().(*kmsg.DescribeTransactionsResponse)
	for _, id := range r.TransactionalIDs {
		st := kmsg.NewDescribeTransactionsResponseTransactionState()
		st.TransactionalID = id
		if !h.allowedTxn(req, acl.OpDescribe, id) {
			st.ErrorCode = kerr.TransactionalIDAuthorizationFailed.Code
			resp.TransactionStates = append(resp.TransactionStates, st)
			continue
		}
		info, ok, err := h.opts.Transactions.Describe(id)
		switch {
		case err != nil:
			st.ErrorCode = errorCode(err)
		case !ok:
			st.ErrorCode = kerr.TransactionalIDNotFound.Code
		default:
			st.State = info.State.String()
			st.TimeoutMillis = int32(info.Timeout.Milliseconds())
			st.StartTimestamp = -1
			if !info.Started.IsZero() {
				st.StartTimestamp = info.Started.UnixMilli()
			}
			st.ProducerID, st.ProducerEpoch = info.ProducerID, info.Epoch
			for _, tp := range info.Partitions {
				if n := len(st.Topics); n == 0 || st.Topics[n-1].Topic != tp.Topic {
					t := kmsg.NewDescribeTransactionsResponseTransactionStateTopic()
					t.Topic = tp.Topic
					st.Topics = append(st.Topics, t)
				}
				t := &st.Topics[len(st.Topics)-1]
				t.Partitions = append(t.Partitions, tp.Partition)
			}
		}
		resp.TransactionStates = append(resp.TransactionStates, st)
	}
	return respond(resp)
}
