package handler

// SaslHandshake: v1
//
// Behavior:
// * On a SASL listener, picks the mechanism of the SaslAuthenticate
//   requests that follow; an unknown or disabled one gets
//   UNSUPPORTED_SASL_MECHANISM with the enabled list
// * On a listener without SASL, or once authenticated, ILLEGAL_SASL_STATE
//
// Version notes:
// * v0 (raw SASL tokens after the handshake, Kafka 0.10 clients) is not
//   offered: every client since Kafka 1.0 uses v1 and SaslAuthenticate

import (
	"context"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/samsa-broker/samsa/internal/conn"
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
	exchange, err := auth.Start(r.Mechanism)
	if err != nil {
		resp.ErrorCode = errorCode(err)
		h.log.Info("SASL handshake refused", "mechanism", r.Mechanism, "remote", req.Conn.RemoteAddr, "err", err)
		return respond(resp)
	}
	req.Conn.SetMechanism(r.Mechanism)
	req.Conn.Auth = exchange
	return respond(resp)
}
