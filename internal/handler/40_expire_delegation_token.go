package handler

// ExpireDelegationToken: v0-2
//
// Behavior:
// * Sets the token the HMAC names to expire after the expiry period from
//   now (never past its max lifetime); a negative period removes it at once
// * The owner and renewer checks and errors of RenewDelegationToken
//
// Version notes:
// * v2: flexible

import (
	"context"
	"time"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/samsa-broker/samsa/internal/conn"
)

func (h *Handler) handleExpireDelegationToken(_ context.Context, req *conn.Request) conn.Reply {
	r := req.Body.(*kmsg.ExpireDelegationTokenRequest)
	resp := r.ResponseKind().(*kmsg.ExpireDelegationTokenResponse)
	resp.ExpiryTimestamp, resp.ErrorCode = h.changeTokenExpiry(req, "expire", func(principal string) (time.Time, error) {
		return h.opts.Tokens.Expire(r.HMAC, principal, millisDuration(r.ExpiryPeriodMillis))
	})
	return respond(resp)
}
