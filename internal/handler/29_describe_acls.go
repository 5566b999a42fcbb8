package handler

// DescribeAcls: v0-3
//
// Behavior:
// * Returns every binding the filter matches, grouped by resource pattern
// * Needs DESCRIBE on the cluster (CLUSTER_AUTHORIZATION_FAILED otherwise)
// * Without an authorizer: SECURITY_DISABLED, as Kafka
// * An invalid filter (UNKNOWN enums): INVALID_REQUEST
//
// Version notes:
// * v1: pattern type (v0 filters literal patterns only)
// * v2: flexible versions
// * v3: the USER resource type (same semantics here)

import (
	"context"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/samsa-broker/samsa/internal/acl"
	"github.com/samsa-broker/samsa/internal/conn"
)

func (h *Handler) handleDescribeAcls(_ context.Context, req *conn.Request) conn.Reply {
	r := req.Body.(*kmsg.DescribeACLsRequest)
	resp := r.ResponseKind().(*kmsg.DescribeACLsResponse)
	fail := func(code int16, err error) conn.Reply {
		resp.ErrorCode = code
		resp.ErrorMessage = errorMessage(err)
		return respond(resp)
	}
	if err := h.aclAPIRefusal(req, acl.OpDescribe); err != nil {
		return fail(errorCode(err), err)
	}
	f := acl.Filter{
		ResourceType: acl.ResourceType(r.ResourceType), ResourceName: r.ResourceName,
		PatternType: acl.PatternType(r.ResourcePatternType), Principal: r.Principal, Host: r.Host,
		Operation: acl.Operation(r.Operation), Permission: acl.Permission(r.PermissionType),
	}
	if err := f.Validate(); err != nil {
		return fail(errorCode(err), err)
	}
	var last *kmsg.DescribeACLsResponseResource
	for _, b := range h.opts.ACLs.ACLs().Select(f) {
		// Select returns bindings sorted by resource pattern first.
		if last == nil || last.ResourceType != kmsg.ACLResourceType(b.ResourceType) ||
			last.ResourceName != b.ResourceName || last.ResourcePatternType != kmsg.ACLResourcePatternType(b.PatternType) {
			res := kmsg.NewDescribeACLsResponseResource()
			res.ResourceType = kmsg.ACLResourceType(b.ResourceType)
			res.ResourceName = b.ResourceName
			res.ResourcePatternType = kmsg.ACLResourcePatternType(b.PatternType)
			resp.Resources = append(resp.Resources, res)
			last = &resp.Resources[len(resp.Resources)-1]
		}
		e := kmsg.NewDescribeACLsResponseResourceACL()
		e.Principal, e.Host = b.Principal, b.Host
		e.Operation = kmsg.ACLOperation(b.Operation)
		e.PermissionType = kmsg.ACLPermissionType(b.Permission)
		last.ACLs = append(last.ACLs, e)
	}
	return respond(resp)
}
