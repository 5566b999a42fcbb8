package handler

// SaslHandshake: v0-1
//
// Behavior:
// * On a SASL listener, picks the mechanism of the SaslAuthenticate
//   requests that follow; an unknown or disabled one gets
//   UNSUPPORTED_SASL_MECHANISM with the enabled list
// * On a listener without SASL, or once authenticated, ILLEGAL_SASL_STATE
//
// Version notes:
// * v0: the client then sends bare SASL tokens, not SaslAuthenticate
//   requests (Kafka 0.10's framing); a failed authentication just closes
//   the connection. librdkafka needs v0 advertised to use SASL at all,
//   and then speaks v1

import (
	"context"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/samsa-broker/samsa/internal/conn"
	"github.com/samsa-broker/samsa/internal/security"
)

func (h *Handler) handleSaslHandshake(_ context.Context, req *conn.Request) conn.Reply {
	r := req.Body.(*kmsg.SASLHandshakeRequest)
	resp := r.ResponseKind().(*kmsg.SASLHandshakeResponse)
	auth := h.opts.Authenticators[req.Conn.Listener]
	if auth == nil || !req.Conn.NeedsSASL.Load() {
		resp.ErrorCode = kerr.IllegalSaslState.Code
		h.log.Warn("closing connection: SaslHandshake outside a SASL authentication", "listener", req.Conn.Listener, "remote", req.Conn.RemoteAddr)
		return conn.Reply{Response: resp, Close: true}
	}
	resp.SupportedMechanisms = auth.Mechanisms()
	if req.Conn.Auth != nil {
		// A second handshake in the middle of an exchange, as Kafka.
		resp.ErrorCode = kerr.IllegalSaslState.Code
		h.log.Warn("closing connection: SaslHandshake during a SASL exchange", "remote", req.Conn.RemoteAddr)
		return conn.Reply{Response: resp, Close: true}
	}
	exchange, err := auth.Start(r.Mechanism)
	if err != nil {
		// Kafka closes the connection after telling the client which
		// mechanisms it could have used.
		resp.ErrorCode = errorCode(err)
		h.log.Info("closing connection: SASL mechanism refused", "mechanism", r.Mechanism, "remote", req.Conn.RemoteAddr, "err", err)
		return conn.Reply{Response: resp, Close: true}
	}
	req.Conn.SetMechanism(r.Mechanism)
	req.Conn.Auth = exchange
	if req.Header.Version == 0 {
		req.Conn.RawSASL.Store(true)
	}
	return respond(resp)
}

// RawSASL implements conn.Dispatcher: one step of a SaslHandshake v0
// authentication.
func (h *Handler) RawSASL(_ context.Context, sess *conn.Session, token []byte) ([]byte, bool) {
	exchange, _ := sess.Auth.(security.Exchange)
	if exchange == nil {
		return nil, false
	}
	reply, done, err := exchange.Step(token)
	if err != nil {
		h.log.Warn("closing connection: SASL authentication failed", "mechanism", sess.Mechanism(), "remote", sess.RemoteAddr, "err", err)
		return nil, false
	}
	if done {
		sess.Auth = nil
		sess.RawSASL.Store(false)
		sess.SetAuthenticated(exchange.Principal(), sess.Mechanism())
	}
	return reply, true
}
