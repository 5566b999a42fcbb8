package handler

// FindCoordinator: v0-6
//
// Behavior:
// * This broker coordinates every group and transactional id
// * Key type 0 (group) and 1 (transaction); others → INVALID_REQUEST
// * Needs DESCRIBE on the group or transactional id
//
// Version notes:
// * v1: key type, error message
// * v3: flexible
// * v4: batched keys (coordinators array)
// * v5: the client handles TRANSACTION_ABORTABLE (KIP-890; never sent)
// * v6: key type 2, share groups (KIP-932): not served, INVALID_REQUEST

import (
	"context"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/samsa-broker/samsa/internal/acl"
	"github.com/samsa-broker/samsa/internal/conn"
)

func (h *Handler) handleFindCoordinator(_ context.Context, req *conn.Request) conn.Reply {
	r := req.Body.(*kmsg.FindCoordinatorRequest)
	resp := r.ResponseKind().(*kmsg.FindCoordinatorResponse)
	ep := h.endpointFor(req.Conn.Listener)
	code := int16(0)
	if r.CoordinatorType != 0 && r.CoordinatorType != 1 {
		code = kerr.InvalidRequest.Code
	}
	if r.Version >= 4 {
		for _, key := range r.CoordinatorKeys {
			c := kmsg.NewFindCoordinatorResponseCoordinator()
			c.Key, c.NodeID, c.Host, c.Port, c.ErrorCode = key, h.opts.NodeID, ep.Host, ep.Port, code
			if code == 0 {
				c.ErrorCode = h.coordinatorKeyDenied(req, r.CoordinatorType, key)
			}
			if c.ErrorCode != 0 {
				c.NodeID, c.Host, c.Port = -1, "", -1
			}
			resp.Coordinators = append(resp.Coordinators, c)
		}
		return respond(resp)
	}
	if code == 0 {
		code = h.coordinatorKeyDenied(req, r.CoordinatorType, r.CoordinatorKey)
	}
	resp.ErrorCode = code
	resp.NodeID, resp.Host, resp.Port = h.opts.NodeID, ep.Host, ep.Port
	if code != 0 {
		resp.NodeID, resp.Host, resp.Port = -1, "", -1
	}
	return respond(resp)
}

// coordinatorKeyDenied is GROUP_ or TRANSACTIONAL_ID_AUTHORIZATION_FAILED
// when the request may not describe the key, else 0.
func (h *Handler) coordinatorKeyDenied(req *conn.Request, keyType int8, key string) int16 {
	if keyType == 1 {
		if !h.allowedTxn(req, acl.OpDescribe, key) {
			return kerr.TransactionalIDAuthorizationFailed.Code
		}
		return 0
	}
	if !h.allowedGroup(req, acl.OpDescribe, key) {
		return kerr.GroupAuthorizationFailed.Code
	}
	return 0
}
