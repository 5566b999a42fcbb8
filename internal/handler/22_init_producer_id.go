package handler

// InitProducerId: v0-4
//
// Behavior:
// * Without a transactional id: a fresh producer id (unique across restarts,
//   allocated in blocks through the metadata log) with epoch 0
// * Without a transactional id a fresh id is allocated even when the request
//   names one (v3+), as Kafka does: naming another producer's id must not
//   fence it
// * With a transactional id: the id's producer id is kept and its epoch
//   bumped, fencing older instances (transactions themselves are not yet
//   supported: see docs/UNSUPPORTED.md)
//
// Version notes:
// * v2: flexible
// * v3: producer id/epoch for epoch bumps

import (
	"context"
	"math"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/samsa-broker/samsa/internal/conn"
)

func (h *Handler) handleInitProducerID(_ context.Context, req *conn.Request) conn.Reply {
	r := req.Body.(*kmsg.InitProducerIDRequest)
	resp := r.ResponseKind().(*kmsg.InitProducerIDResponse)
	resp.ProducerID, resp.ProducerEpoch = -1, -1
	if r.TransactionalID != nil {
		h.txnMu.Lock()
		defer h.txnMu.Unlock()
		cur, ok := h.txnIDs[*r.TransactionalID]
		if !ok || cur.epoch == math.MaxInt16-1 {
			id, err := h.opts.ProducerIDs.NextProducerID()
			if err != nil {
				resp.ErrorCode = kerr.CoordinatorNotAvailable.Code
				return respond(resp)
			}
			cur = producerIDEpoch{id: id, epoch: 0}
		} else {
			cur.epoch++
		}
		h.txnIDs[*r.TransactionalID] = cur
		resp.ProducerID, resp.ProducerEpoch = cur.id, cur.epoch
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
