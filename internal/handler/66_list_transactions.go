package handler

// ListTransactions: v0-2
//
// Behavior:
// * Every transactional id with its producer id and state, filtered by
//   state names and producer ids when given; an unknown state name is
//   ignored (matches nothing), as Kafka does
// * v1's duration filter keeps transactions open longer than it
// * v2's transactional id pattern keeps ids it matches whole (RE2 syntax,
//   as Kafka's); one that does not compile → INVALID_REGULAR_EXPRESSION
//
// Version notes:
// * v0: flexible
// * v1: duration filter
// * v2: transactional id pattern

import (
	"context"
	"regexp"
	"slices"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/samsa-broker/samsa/internal/acl"
	"github.com/samsa-broker/samsa/internal/conn"
)

func (h *Handler) handleListTransactions(_ context.Context, req *conn.Request) conn.Reply {
	r := req.Body.(*kmsg.ListTransactionsRequest)
	resp := r.ResponseKind().(*kmsg.ListTransactionsResponse)
	resp.TransactionStates = []kmsg.ListTransactionsResponseTransactionState{}
	var pattern *regexp.Regexp
	if p := r.TransactionalIDPattern; r.Version >= 2 && p != nil && *p != "" {
		var err error
		if pattern, err = regexp.Compile("^(?:" + *p + ")$"); err != nil {
			resp.ErrorCode = kerr.InvalidRegularExpression.Code
			return respond(resp)
		}
	}
	list, err := h.opts.Transactions.List()
	if err != nil {
		resp.ErrorCode = errorCode(err)
		return respond(resp)
	}
	now := time.Now()
	for _, info := range list {
		switch {
		case !h.allowedTxn(req, acl.OpDescribe, info.ID):
			continue
		case len(r.StateFilters) > 0 && !slices.Contains(r.StateFilters, info.State.String()):
			continue
		case len(r.ProducerIDFilters) > 0 && !slices.Contains(r.ProducerIDFilters, info.ProducerID):
			continue
		case pattern != nil && !pattern.MatchString(info.ID):
			continue
		case r.DurationFilterMillis >= 0 && r.Version >= 1 &&
			(info.Started.IsZero() || now.Sub(info.Started) < time.Duration(r.DurationFilterMillis)*time.Millisecond):
			continue
		}
		st := kmsg.NewListTransactionsResponseTransactionState()
		st.TransactionalID, st.ProducerID, st.TransactionState = info.ID, info.ProducerID, info.State.String()
		resp.TransactionStates = append(resp.TransactionStates, st)
	}
	return respond(resp)
}
