package handler

// SaslHandshake: v0-1
//
// Behavior:
// * On a SASL listener, picks the mechanism of the SaslAuthenticate
//   requests that follow; an unknown or disabled one gets
//   UNSUPPORTED_SASL_MECHANISM with the enabled list
// * On a listener without SASL, ILLEGAL_SASL_STATE
// * Once authenticated, starts a re-authentication (KIP-368) when
//   connections.max.reauth.ms gave the session a lifetime, at most once a
//   second, as Kafka; it must keep the mechanism (else the SaslAuthenticate
//   that follows fails, as in Kafka) and the principal. Otherwise
//   ILLEGAL_SASL_STATE
//
// Version notes:
// * v0: the client then sends bare SASL tokens, not SaslAuthenticate
//   requests (Kafka 0.10's framing); a failed authentication just closes
//   the connection. librdkafka needs v0 advertised to use SASL at all,
//   and then speaks v1

import (
	"context"
	"fmt"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/samsa-broker/samsa/internal/conn"
	"github.com/samsa-broker/samsa/internal/security"
)

func (h *Handler) handleSaslHandshake(_ context.Context, req *conn.Request) conn.Reply {
	r := req.Body.(*kmsg.SASLHandshakeRequest)
	resp := r.ResponseKind().(*kmsg.SASLHandshakeResponse)
	auth := h.opts.Authenticators[req.Conn.Listener]
	reauth := auth != nil && !req.Conn.NeedsSASL.Load()
	if auth == nil || reauth && (!req.Conn.SessionExpires() || !req.Conn.StartReauthentication(time.Now())) {
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
	if reauth && r.Mechanism != req.Conn.Mechanism() {
		req.Conn.Auth = refusedExchange{reauthError(fmt.Sprintf(
			"SASL mechanism '%s' requested by client is not supported for re-authentication of mechanism '%s'",
			r.Mechanism, req.Conn.Mechanism()))}
		if req.Header.Version == 0 {
			req.Conn.RawSASL.Store(true)
		}
		return respond(resp)
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
		if _, err := h.finishAuthentication(sess, exchange); err != nil {
			h.log.Warn("closing connection: SASL re-authentication failed", "mechanism", sess.Mechanism(), "remote", sess.RemoteAddr, "err", err)
			return nil, false
		}
	}
	return reply, true
}

// finishAuthentication records a completed SASL exchange: the connection's
// principal and, with connections.max.reauth.ms, when its session ends
// (returned in milliseconds for SaslAuthenticate v1+). A re-authentication
// must name the principal the connection has, as in Kafka.
func (h *Handler) finishAuthentication(sess *conn.Session, exchange security.Exchange) (lifetimeMs int64, err error) {
	principal := exchange.Principal()
	if !sess.NeedsSASL.Load() && sess.Principal() != principal {
		return 0, reauthError(fmt.Sprintf("Cannot change principals during re-authentication from User:%s: User:%s",
			sess.Principal(), principal))
	}
	token := false
	if t, ok := exchange.(interface{ TokenAuthenticated() bool }); ok {
		token = t.TokenAuthenticated()
	}
	sess.SetAuthenticated(principal, sess.Mechanism(), token)
	lifetime := h.opts.Broker.ConnectionsMaxReauth(sess.Listener, sess.Mechanism())
	if lifetime <= 0 {
		sess.SetSessionExpiry(time.Time{})
		return 0, nil
	}
	// A session never outlives the delegation token it authenticated
	// with.
	if c, ok := exchange.(interface{ CredentialExpiry() time.Time }); ok {
		if expiry := c.CredentialExpiry(); !expiry.IsZero() {
			lifetime = max(min(lifetime, time.Until(expiry)), time.Millisecond)
		}
	}
	sess.SetSessionExpiry(time.Now().Add(lifetime))
	return lifetime.Milliseconds(), nil
}

// reauthError is a re-authentication refused with Kafka's message: it
// answers SASL_AUTHENTICATION_FAILED.
type reauthError string

func (e reauthError) Error() string { return string(e) }
func (e reauthError) Unwrap() error { return security.ErrAuthenticationFailed }

// refusedExchange fails the SaslAuthenticate that follows a
// re-authentication handshake naming another mechanism: Kafka accepts that
// handshake and fails the authentication.
type refusedExchange struct{ err error }

func (e refusedExchange) Step([]byte) ([]byte, bool, error) { return nil, false, e.err }
func (refusedExchange) Principal() string                   { return "" }
