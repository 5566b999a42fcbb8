package handler

// RenewDelegationToken: v0-2
//
// Behavior:
// * Extends the token the HMAC names by the renew time from now (negative:
//   delegation.token.expiry.time.ms), never past its max lifetime, and
//   answers the new expiry
// * Only the token's owner or a renewer may (DELEGATION_TOKEN_OWNER_MISMATCH);
//   an unknown HMAC → DELEGATION_TOKEN_NOT_FOUND, an expired token →
//   DELEGATION_TOKEN_EXPIRED; the connection checks of CreateDelegationToken
//
// Version notes:
// * v2: flexible

import (
	"context"
	"time"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/samsa-broker/samsa/internal/conn"
)

func (h *Handler) handleRenewDelegationToken(_ context.Context, req *conn.Request) conn.Reply {
	r := req.Body.(*kmsg.RenewDelegationTokenRequest)
	resp := r.ResponseKind().(*kmsg.RenewDelegationTokenResponse)
	resp.ExpiryTimestamp, resp.ErrorCode = h.changeTokenExpiry(req, "renew", func(principal string) (time.Time, error) {
		return h.opts.Tokens.Renew(r.HMAC, principal, millisDuration(r.RenewTimeMillis))
	})
	return respond(resp)
}

// changeTokenExpiry runs a Renew or ExpireDelegationToken's change for the
// requester and returns the new expiry (-1 on an error) and error code.
func (h *Handler) changeTokenExpiry(req *conn.Request, what string, change func(principal string) (time.Time, error)) (int64, int16) {
	if code := h.tokenRequestCode(req); code != 0 {
		return -1, code
	}
	expiry, err := change("User:" + req.Conn.Principal())
	if err != nil {
		h.log.Debug("delegation token change refused", "change", what, "principal", req.Conn.Principal(), "err", err)
		return -1, errorCode(err)
	}
	return expiry.UnixMilli(), 0
}
