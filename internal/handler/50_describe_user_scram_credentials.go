package handler

// DescribeUserScramCredentials: v0
//
// Behavior:
// * No users named (null or empty): every user with a SCRAM credential
// * A named user without any: RESOURCE_NOT_FOUND; named twice:
//   DUPLICATE_RESOURCE
// * Only mechanisms and iterations are returned, never salts or keys

import (
	"context"
	"slices"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/samsa-broker/samsa/internal/acl"
	"github.com/samsa-broker/samsa/internal/conn"
	"github.com/samsa-broker/samsa/internal/security"
)

// scramMechanismCode is Kafka's ScramMechanism numbering (0 = unknown).
func scramMechanismCode(mechanism string) int8 {
	return int8(slices.Index(security.ScramMechanisms, mechanism) + 1)
}

func scramMechanismName(code int8) (string, bool) {
	if code < 1 || int(code) > len(security.ScramMechanisms) {
		return "", false
	}
	return security.ScramMechanisms[code-1], true
}

func (h *Handler) handleDescribeUserScramCredentials(_ context.Context, req *conn.Request) conn.Reply {
	r := req.Body.(*kmsg.DescribeUserSCRAMCredentialsRequest)
	resp := r.ResponseKind().(*kmsg.DescribeUserSCRAMCredentialsResponse)
	if !h.allowedCluster(req, acl.OpDescribe) {
		resp.ErrorCode = kerr.ClusterAuthorizationFailed.Code
		return respond(resp)
	}
	users := h.opts.Credentials.ScramUsers()
	var names []string
	if len(r.Users) == 0 {
		for name := range users {
			names = append(names, name)
		}
		slices.Sort(names)
	} else {
		for _, u := range r.Users {
			names = append(names, u.Name)
		}
	}
	seen := map[string]int{}
	for _, n := range names {
		seen[n]++
	}
	reported := map[string]bool{}
	for _, name := range names {
		if reported[name] {
			continue // one result per user, as Kafka
		}
		reported[name] = true
		result := kmsg.NewDescribeUserSCRAMCredentialsResponseResult()
		result.User = name
		creds, ok := users[name]
		switch {
		case seen[name] > 1:
			result.ErrorCode = kerr.DuplicateResource.Code
			result.ErrorMessage = strPtr("Cannot describe SCRAM credentials for the same user twice in a single request: " + name)
		case !ok:
			result.ErrorCode = kerr.ResourceNotFound.Code
			result.ErrorMessage = strPtr("Attempt to describe a user credential that does not exist: " + name)
		default:
			for _, mech := range security.ScramMechanisms {
				if iters, ok := creds[mech]; ok {
					info := kmsg.NewDescribeUserSCRAMCredentialsResponseResultCredentialInfo()
					info.Mechanism, info.Iterations = scramMechanismCode(mech), int32(iters)
					result.CredentialInfos = append(result.CredentialInfos, info)
				}
			}
		}
		resp.Results = append(resp.Results, result)
	}
	return respond(resp)
}

func strPtr(s string) *string { return &s }
