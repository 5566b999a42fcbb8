package handler

// SaslAuthenticate: v0-2
//
// Behavior:
// * Feeds the client's token to the exchange SaslHandshake started and
//   returns the server's token; once the exchange succeeds the connection
//   is authenticated as the user it named
// * Wrong credentials: SASL_AUTHENTICATION_FAILED with a message, and the
//   connection closes after the response, as in Kafka
// * Without a preceding SaslHandshake: ILLEGAL_SASL_STATE, then close
//
// Version notes:
// * v1+: session_lifetime_ms is connections.max.reauth.ms (0: the session
//   never ends); the client must re-authenticate before then (KIP-368),
//   and the connection closes at its next request after that
// * v2: flexible versions

import (
	"context"
	"errors"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/samsa-broker/samsa/internal/conn"
	"github.com/samsa-broker/samsa/internal/security"
)

func (h *Handler) handleSaslAuthenticate(_ context.Context, req *conn.Request) conn.Reply {
	r := req.Body.(*kmsg.SASLAuthenticateRequest)
	resp := r.ResponseKind().(*kmsg.SASLAuthenticateResponse)
	exchange, _ := req.Conn.Auth.(security.Exchange)
	if exchange == nil {
		resp.ErrorCode = kerr.IllegalSaslState.Code
		msg := "SaslAuthenticate without a SaslHandshake choosing the mechanism"
		resp.ErrorMessage = &msg
		h.log.Warn("closing connection: "+msg, "remote", req.Conn.RemoteAddr)
		return conn.Reply{Response: resp, Close: true}
	}
	reply, done, err := exchange.Step(r.SASLAuthBytes)
	if err == nil && done {
		req.Conn.Auth = nil
		resp.SessionLifetimeMillis, err = h.finishAuthentication(req.Conn, exchange)
	}
	if err != nil {
		req.Conn.Auth = nil
		resp.ErrorCode = errorCode(err)
		msg := "Authentication failed during authentication due to invalid credentials with SASL mechanism " + req.Conn.Mechanism()
		var refused reauthError
		if errors.As(err, &refused) {
			msg = string(refused)
		}
		resp.ErrorMessage = &msg
		h.log.Warn("closing connection: SASL authentication failed", "mechanism", req.Conn.Mechanism(), "remote", req.Conn.RemoteAddr, "err", err)
		return conn.Reply{Response: resp, Close: true}
	}
	resp.SASLAuthBytes = reply
	if done {
		h.log.Debug("SASL authenticated", "principal", exchange.Principal(), "mechanism", req.Conn.Mechanism(),
			"remote", req.Conn.RemoteAddr, "session_lifetime_ms", resp.SessionLifetimeMillis)
	}
	return respond(resp)
}
