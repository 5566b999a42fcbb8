package handler

// DeleteAcls: v0-3
//
// Behavior:
// * Deletes every binding any filter matches, in one metadata-log event,
//   and returns per filter the bindings it matched (a binding two filters
//   match is listed under both)
// * Needs ALTER on the cluster (CLUSTER_AUTHORIZATION_FAILED per filter)
// * Without an authorizer: SECURITY_DISABLED per filter, as Kafka
// * An invalid filter: INVALID_REQUEST for that filter; the others apply
//
// Version notes:
// * v1: pattern type (v0 filters literal patterns)
// * v2: flexible versions
// * v3: the USER resource type

import (
	"context"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/samsa-broker/samsa/internal/acl"
	"github.com/samsa-broker/samsa/internal/conn"
)

func (h *Handler) handleDeleteAcls(_ context.Context, req *conn.Request) conn.Reply {
	r := req.Body.(*kmsg.DeleteACLsRequest)
	resp := r.ResponseKind().(*kmsg.DeleteACLsResponse)
	cause := h.aclAPIRefusal(req, acl.OpAlter)
	code := errorCode(cause)
	var valid []acl.Filter
	var validIdx []int
	for i, rf := range r.Filters {
		res := kmsg.NewDeleteACLsResponseResult()
		res.ErrorCode, res.ErrorMessage = code, errorMessage(cause)
		if code == 0 {
			f := acl.Filter{
				ResourceType: acl.ResourceType(rf.ResourceType), ResourceName: rf.ResourceName,
				PatternType: acl.PatternType(rf.ResourcePatternType), Principal: rf.Principal, Host: rf.Host,
				Operation: acl.Operation(rf.Operation), Permission: acl.Permission(rf.PermissionType),
			}
			if err := f.Validate(); err != nil {
				res.ErrorCode, res.ErrorMessage = errorCode(err), errorMessage(err)
			} else {
				valid = append(valid, f)
				validIdx = append(validIdx, i)
			}
		}
		resp.Results = append(resp.Results, res)
	}
	if len(valid) == 0 {
		return respond(resp)
	}
	matched, err := h.opts.ACLs.DeleteACLs(valid)
	if err != nil {
		h.log.Error("deleting ACLs failed", "err", err)
		for _, i := range validIdx {
			resp.Results[i].ErrorCode, resp.Results[i].ErrorMessage = errorCode(err), errorMessage(err)
		}
		return respond(resp)
	}
	deleted := 0
	for j, i := range validIdx {
		for _, b := range matched[j] {
			m := kmsg.NewDeleteACLsResponseResultMatchingACL()
			m.ResourceType = kmsg.ACLResourceType(b.ResourceType)
			m.ResourceName = b.ResourceName
			m.ResourcePatternType = kmsg.ACLResourcePatternType(b.PatternType)
			m.Principal, m.Host = b.Principal, b.Host
			m.Operation = kmsg.ACLOperation(b.Operation)
			m.PermissionType = kmsg.ACLPermissionType(b.Permission)
			resp.Results[i].MatchingACLs = append(resp.Results[i].MatchingACLs, m)
			deleted++
		}
	}
	if deleted > 0 {
		h.log.Info("ACLs deleted", "matched", deleted, "by", subjectOf(req).principal)
	}
	return respond(resp)
}
