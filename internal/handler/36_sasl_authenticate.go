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
// * v1+: session_lifetime_ms is 0 (no re-authentication required)
// * v2: flexible versions

import (
	"context"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/samsa-broker/samsa/internal/conn"
	"github.com/samsa-broker/samsa/internal/security"
)

func (h *Handler) handleSaslAuthenticate(_ context.Context, req *conn.Request) conn.Reply {
	r := req.Body.(*kmsg.SASLAuthenticateRequest)
	resp := r.ResponseKind().(*kmsg.SASLAuthenticateResponse)
	exchange, _ := req.Conn.Auth.(security.Exchange)
	if exchange == nil || !req.Conn.NeedsSASL.Load() {
		resp.ErrorCode = kerr.IllegalSaslState.Code
		msg := "SaslAuthenticate without a SaslHandshake choosing the mechanism"
		resp.ErrorMessage = &msg
		h.log.Warn("closing connection: "+msg, "remote", req.Conn.RemoteAddr)
		return conn.Reply{Response: resp, Close: true}
	}
	reply, done, err := exchange.Step(r.SASLAuthBytes)
	if err != nil {
		req.Conn.Auth = nil
		resp.ErrorCode = errorCode(err)
		msg := "Authentication failed during authentication due to invalid credentials with SASL mechanism " + req.Conn.Mechanism()
		resp.ErrorMessage = &msg
		h.log.Warn("closing connection: SASL authentication failed", "mechanism", req.Conn.Mechanism(), "remote", req.Conn.RemoteAddr, "err", err)
		return conn.Reply{Response: resp, Close: true}
	}
	resp.SASLAuthBytes = reply
	if done {
		req.Conn.Auth = nil
		req.Conn.SetAuthenticated(exchange.Principal(), req.Conn.Mechanism())
		h.log.Debug("SASL authenticated", "principal", exchange.Principal(), "mechanism", req.Conn.Mechanism(), "remote", req.Conn.RemoteAddr)
	}
	return respond(resp)
}
