package handler

// DescribeClientQuotas: v0-1
//
// Behavior:
// * Returns the quotas of every entity matching all filter components
//   (exact name, the type's default, or any entity of the type); strict
//   leaves out entities with other component types
// * A malformed filter (empty or repeated type, unknown match type, ip
//   with user or client-id) → INVALID_REQUEST; an unknown entity type →
//   UNSUPPORTED_VERSION, as Kafka answers
// * Needs DESCRIBE_CONFIGS on the cluster
//
// Version notes:
// * v1: flexible

import (
	"context"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/samsa-broker/samsa/internal/acl"
	"github.com/samsa-broker/samsa/internal/conn"
	"github.com/samsa-broker/samsa/internal/quota"
)

func (h *Handler) handleDescribeClientQuotas(_ context.Context, req *conn.Request) conn.Reply {
	r := req.Body.(*kmsg.DescribeClientQuotasRequest)
	resp := r.ResponseKind().(*kmsg.DescribeClientQuotasResponse)
	if !h.allowedCluster(req, acl.OpDescribeConfigs) {
		resp.ErrorCode = kerr.ClusterAuthorizationFailed.Code
		return respond(resp)
	}
	filter := make([]quota.FilterComponent, len(r.Components))
	for i, c := range r.Components {
		filter[i] = quota.FilterComponent{Type: c.EntityType, MatchType: int8(c.MatchType), Match: c.Match}
	}
	entries, err := h.opts.Quotas.ClientQuotas().Describe(filter, r.Strict)
	if err != nil {
		resp.ErrorCode, resp.ErrorMessage = errorCode(err), errorMessage(err)
		return respond(resp)
	}
	resp.Entries = []kmsg.DescribeClientQuotasResponseEntry{}
	for _, e := range entries {
		re := kmsg.NewDescribeClientQuotasResponseEntry()
		for _, c := range e.Entity {
			ent := kmsg.NewDescribeClientQuotasResponseEntryEntity()
			ent.Type, ent.Name = c.Type, c.Name
			re.Entity = append(re.Entity, ent)
		}
		for key, value := range e.Values {
			v := kmsg.NewDescribeClientQuotasResponseEntryValue()
			v.Key, v.Value = key, value
			re.Values = append(re.Values, v)
		}
		resp.Entries = append(resp.Entries, re)
	}
	return respond(resp)
}
