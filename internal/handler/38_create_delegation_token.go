package handler

// CreateDelegationToken: v0-3
//
// Behavior:
// * Issues a delegation token (internal/tokens) owned by the requester, or
//   with v3 by the owner it names (CREATE_TOKENS on that user, else
//   DELEGATION_TOKEN_AUTHORIZATION_FAILED); renewers and owner must be User
//   principals (INVALID_PRINCIPAL_TYPE)
// * Without delegation.token.secret.key → DELEGATION_TOKEN_AUTH_DISABLED; on
//   an unauthenticated connection (PLAINTEXT, SSL without a client
//   certificate) or one authenticated with a token →
//   DELEGATION_TOKEN_REQUEST_NOT_ALLOWED, as Kafka
// * A max lifetime of 0 or less, or over delegation.token.max.lifetime.ms,
//   is that maximum; the token expires after delegation.token.expiry.time.ms
//   unless renewed
//
// Version notes:
// * v1: throttle behaviour (no change here)
// * v2: flexible
// * v3: owner principal; the requester is reported

import (
	"context"
	"math"
	"strings"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/samsa-broker/samsa/internal/acl"
	"github.com/samsa-broker/samsa/internal/conn"
	"github.com/samsa-broker/samsa/internal/metadata"
	"github.com/samsa-broker/samsa/internal/tokens"
)

// tokenRequestCode is DELEGATION_TOKEN_AUTH_DISABLED without a secret,
// DELEGATION_TOKEN_REQUEST_NOT_ALLOWED on a connection that may not manage
// tokens (Kafka's allowTokenRequests), else 0.
func (h *Handler) tokenRequestCode(req *conn.Request) int16 {
	switch {
	case h.opts.Tokens == nil || !h.opts.Tokens.Enabled():
		return kerr.DelegationTokenAuthDisabled.Code
	case req.Conn.TokenAuthenticated() || req.Conn.Principal() == "ANONYMOUS":
		return kerr.DelegationTokenRequestNotAllowed.Code
	}
	return 0
}

// millisDuration converts a request's milliseconds to a duration, saturating
// instead of overflowing (a period of MaxInt64 means "as long as allowed").
func millisDuration(ms int64) time.Duration {
	const maxMillis = math.MaxInt64 / int64(time.Millisecond)
	return time.Duration(max(min(ms, maxMillis), -maxMillis)) * time.Millisecond
}

// userPrincipal returns "User:name", or false for another principal type.
func userPrincipal(typ, name string) (string, bool) {
	return "User:" + name, typ == "User"
}

// splitPrincipal returns a stored "User:name" principal's type and name.
func splitPrincipal(p string) (typ, name string) {
	typ, name, _ = strings.Cut(p, ":")
	return typ, name
}

func (h *Handler) handleCreateDelegationToken(_ context.Context, req *conn.Request) conn.Reply {
	r := req.Body.(*kmsg.CreateDelegationTokenRequest)
	resp := r.ResponseKind().(*kmsg.CreateDelegationTokenResponse)
	requester := "User:" + req.Conn.Principal()
	owner := requester
	resp.PrincipalType, resp.PrincipalName = splitPrincipal(owner)
	resp.TokenRequesterPrincipalType, resp.TokenRequesterPrincipalName = splitPrincipal(requester)
	fail := func(code int16) conn.Reply {
		resp.ErrorCode = code
		return respond(resp)
	}
	if code := h.tokenRequestCode(req); code != 0 {
		return fail(code)
	}
	if r.OwnerPrincipalName != nil && *r.OwnerPrincipalName != "" {
		typ := ""
		if r.OwnerPrincipalType != nil {
			typ = *r.OwnerPrincipalType
		}
		var ok bool
		if owner, ok = userPrincipal(typ, *r.OwnerPrincipalName); !ok {
			return fail(kerr.InvalidPrincipalType.Code)
		}
		resp.PrincipalType, resp.PrincipalName = splitPrincipal(owner)
	}
	renewers := make([]string, 0, len(r.Renewers))
	for _, rn := range r.Renewers {
		p, ok := userPrincipal(rn.PrincipalType, rn.PrincipalName)
		if !ok {
			return fail(kerr.InvalidPrincipalType.Code)
		}
		renewers = append(renewers, p)
	}
	// A user resource is named by the principal, User:name, as
	// kafka-acls --user-principal stores it.
	if owner != requester && !h.allowed(req, acl.OpCreateTokens, acl.ResourceUser, owner) {
		return fail(kerr.DelegationTokenAuthorizationFailed.Code)
	}
	tok, err := h.opts.Tokens.Create(owner, requester, renewers, millisDuration(r.MaxLifetimeMillis))
	if err != nil {
		h.log.Warn("could not create a delegation token", "owner", owner, "err", err)
		return fail(errorCode(err))
	}
	resp.IssueTimestamp, resp.ExpiryTimestamp, resp.MaxTimestamp = tok.Issued, tok.Expiry, tok.Max
	resp.TokenID, resp.HMAC = tok.ID, tok.HMAC
	return respond(resp)
}

// tokenVisible reports whether the requester of req may see t: its owner,
// requester and renewers may, others need DESCRIBE on the token or
// DESCRIBE_TOKENS on its owner (KIP-373).
func (h *Handler) tokenVisible(req *conn.Request, t metadata.DelegationToken) bool {
	if tokens.MayDescribe(t, "User:"+req.Conn.Principal()) {
		return true
	}
	return h.allowed(req, acl.OpDescribe, acl.ResourceDelegationToken, t.ID) ||
		h.allowed(req, acl.OpDescribeTokens, acl.ResourceUser, t.Owner)
}
