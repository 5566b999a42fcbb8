package handler

// CreateAcls: v0-3
//
// Behavior:
// * Stores every valid binding in one metadata-log event (durable before
//   the answer); each creation has its own result, in request order
// * Needs ALTER on the cluster (CLUSTER_AUTHORIZATION_FAILED per creation)
// * Without an authorizer: SECURITY_DISABLED per creation, as Kafka
// * Invalid bindings (ANY/MATCH/UNKNOWN enums, a principal not of the form
//   Type:name, a host that is neither * nor an IP, a cluster resource not
//   named kafka-cluster): INVALID_REQUEST with a message; the others are
//   still created
// * Creating a binding that exists is a success and keeps one copy
//
// Version notes:
// * v1: pattern type (v0 creates literal patterns)
// * v2: flexible versions
// * v3: the USER resource type

import (
	"context"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/samsa-broker/samsa/internal/acl"
	"github.com/samsa-broker/samsa/internal/conn"
)

func (h *Handler) handleCreateAcls(_ context.Context, req *conn.Request) conn.Reply {
	r := req.Body.(*kmsg.CreateACLsRequest)
	resp := r.ResponseKind().(*kmsg.CreateACLsResponse)
	cause := h.aclAPIRefusal(req, acl.OpAlter)
	code := errorCode(cause)
	var valid []acl.Binding
	var validIdx []int
	for i, c := range r.Creations {
		res := kmsg.NewCreateACLsResponseResult()
		res.ErrorCode, res.ErrorMessage = code, errorMessage(cause)
		if code == 0 {
			b := acl.Binding{
				ResourceType: acl.ResourceType(c.ResourceType), ResourceName: c.ResourceName,
				PatternType: acl.PatternType(c.ResourcePatternType), Principal: c.Principal, Host: c.Host,
				Operation: acl.Operation(c.Operation), Permission: acl.Permission(c.PermissionType),
			}
			if err := b.Validate(); err != nil {
				res.ErrorCode, res.ErrorMessage = errorCode(err), errorMessage(err)
			} else {
				valid = append(valid, b)
				validIdx = append(validIdx, i)
			}
		}
		resp.Results = append(resp.Results, res)
	}
	if err := h.opts.ACLs.CreateACLs(valid); err != nil {
		h.log.Error("storing ACLs failed", "err", err)
		for _, i := range validIdx {
			resp.Results[i].ErrorCode, resp.Results[i].ErrorMessage = errorCode(err), errorMessage(err)
		}
	} else if len(valid) > 0 {
		h.log.Info("ACLs created", "count", len(valid), "by", subjectOf(req).principal)
	}
	return respond(resp)
}
