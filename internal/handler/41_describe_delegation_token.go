package handler

// DescribeDelegationToken: v0-3
//
// Behavior:
// * Lists the tokens of the owners named (theirs or those they renew; null:
//   every owner; an empty list: none) that the requester may see: its own, those it requested or may
//   renew, and others with DESCRIBE on the token or DESCRIBE_TOKENS on the
//   owner (KIP-373)
// * The connection checks of CreateDelegationToken
//
// Version notes:
// * v2: flexible
// * v3: each token's requester

import (
	"context"
	"slices"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/samsa-broker/samsa/internal/conn"
	"github.com/samsa-broker/samsa/internal/metadata"
)

func (h *Handler) handleDescribeDelegationToken(_ context.Context, req *conn.Request) conn.Reply {
	r := req.Body.(*kmsg.DescribeDelegationTokenRequest)
	resp := r.ResponseKind().(*kmsg.DescribeDelegationTokenResponse)
	if code := h.tokenRequestCode(req); code != 0 {
		resp.ErrorCode = code
		return respond(resp)
	}
	if r.Owners != nil && len(r.Owners) == 0 {
		return respond(resp)
	}
	var owners []string
	for _, o := range r.Owners {
		owners = append(owners, o.PrincipalType+":"+o.PrincipalName)
	}
	// A token belongs to an owner named if it is theirs or they renew it,
	// as Kafka filters.
	tokens, err := h.opts.Tokens.Describe(func(t metadata.DelegationToken) bool {
		named := owners == nil || slices.ContainsFunc(owners, func(o string) bool { return o == t.Owner || slices.Contains(t.Renewers, o) })
		return named && h.tokenVisible(req, t)
	})
	if err != nil {
		resp.ErrorCode = errorCode(err)
		return respond(resp)
	}
	for _, t := range tokens {
		d := kmsg.NewDescribeDelegationTokenResponseTokenDetail()
		d.PrincipalType, d.PrincipalName = splitPrincipal(t.Owner)
		d.TokenRequesterPrincipalType, d.TokenRequesterPrincipalName = splitPrincipal(t.Requester)
		d.IssueTimestamp, d.ExpiryTimestamp, d.MaxTimestamp = t.Issued, t.Expiry, t.Max
		d.TokenID, d.HMAC = t.ID, t.HMAC
		for _, rn := range t.Renewers {
			dr := kmsg.NewDescribeDelegationTokenResponseTokenDetailRenewer()
			dr.PrincipalType, dr.PrincipalName = splitPrincipal(rn)
			d.Renewers = append(d.Renewers, dr)
		}
		resp.TokenDetails = append(resp.TokenDetails, d)
	}
	return respond(resp)
}
