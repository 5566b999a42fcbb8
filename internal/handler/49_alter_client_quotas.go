package handler

// AlterClientQuotas: v0-1
//
// Behavior:
// * Sets or removes quota values per entity: user, client-id (together or
//   alone; a null name is the default entity) or ip alone. Stored in the
//   metadata log, so they survive restarts
// * producer_byte_rate and consumer_byte_rate are enforced (throttling, see
//   Produce and Fetch), controller_mutation_rate too (see CreateTopics,
//   CreatePartitions, DeleteTopics) and request_percentage (handler time,
//   every API but ApiVersions and SASL); connection_creation_rate is stored
//   and described but not enforced
// * Each entry succeeds or fails alone: a malformed entity, an unknown
//   key, a key given twice, a value ≤ 0 or a fractional byte rate →
//   INVALID_REQUEST
// * ValidateOnly checks without storing
// * Needs ALTER_CONFIGS on the cluster
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

func (h *Handler) handleAlterClientQuotas(_ context.Context, req *conn.Request) conn.Reply {
	r := req.Body.(*kmsg.AlterClientQuotasRequest)
	resp := r.ResponseKind().(*kmsg.AlterClientQuotasResponse)
	allowed := h.allowedCluster(req, acl.OpAlterConfigs)
	for _, re := range r.Entries {
		out := kmsg.NewAlterClientQuotasResponseEntry()
		components := make([]quota.Component, len(re.Entity))
		for i, c := range re.Entity {
			components[i] = quota.Component{Type: c.Type, Name: c.Name}
			ent := kmsg.NewAlterClientQuotasResponseEntryEntity()
			ent.Type, ent.Name = c.Type, c.Name
			out.Entity = append(out.Entity, ent)
		}
		if !allowed {
			out.ErrorCode = kerr.ClusterAuthorizationFailed.Code
		} else if err := h.alterClientQuota(components, re.Ops, r.ValidateOnly); err != nil {
			out.ErrorCode, out.ErrorMessage = errorCode(err), errorMessage(err)
		}
		resp.Entries = append(resp.Entries, out)
	}
	return respond(resp)
}

func (h *Handler) alterClientQuota(components []quota.Component, reqOps []kmsg.AlterClientQuotasRequestEntryOp, validateOnly bool) error {
	entity, err := quota.NewEntity(components)
	if err != nil {
		return err
	}
	ops := make([]quota.Op, len(reqOps))
	seen := map[string]bool{}
	for i, op := range reqOps {
		if seen[op.Key] {
			return quota.Invalidf("duplicate quota key %s", op.Key)
		}
		seen[op.Key] = true
		ops[i] = quota.Op{Key: op.Key, Value: op.Value, Remove: op.Remove}
	}
	if err := quota.CheckOps(entity, ops); err != nil || validateOnly || len(ops) == 0 {
		return err
	}
	return h.opts.Quotas.AlterClientQuotas(entity, ops)
}
