package handler

// AlterConfigs: v0-2
//
// Behavior:
// * TOPIC: replaces the topic's overrides with exactly the given set (Kafka's
//   non-incremental semantics); invalid names or values → INVALID_CONFIG and
//   nothing changes; validate-only checks without changing
// * BROKER: replaces the dynamic configs of this broker (its id) or of the
//   cluster default (""), as IncrementalAlterConfigs checks them
// * Needs ALTER_CONFIGS on the topic, or on the cluster for BROKER
//
// Version notes:
// * v2: flexible

import (
	"context"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/samsa-broker/samsa/internal/acl"
	"github.com/samsa-broker/samsa/internal/conn"
)

func (h *Handler) handleAlterConfigs(_ context.Context, req *conn.Request) conn.Reply {
	r := req.Body.(*kmsg.AlterConfigsRequest)
	resp := r.ResponseKind().(*kmsg.AlterConfigsResponse)
	for _, rr := range r.Resources {
		res := kmsg.NewAlterConfigsResponseResource()
		res.ResourceType, res.ResourceName = rr.ResourceType, rr.ResourceName
		if code := h.configsDenied(req, acl.OpAlterConfigs, int8(rr.ResourceType), rr.ResourceName); code != 0 {
			res.ErrorCode = code
			resp.Resources = append(resp.Resources, res)
			continue
		}
		switch rr.ResourceType {
		case resourceTopic:
			configs := map[string]string{}
			for _, c := range rr.Configs {
				if c.Value != nil {
					configs[c.Name] = *c.Value
				}
			}
			if err := h.catalog.SetConfigs(rr.ResourceName, configs, r.ValidateOnly); err != nil {
				res.ErrorCode, res.ErrorMessage = errorCode(err), errorMessage(err)
			}
		case resourceBroker:
			configs := map[string]string{}
			for _, c := range rr.Configs {
				if c.Value != nil {
					configs[c.Name] = *c.Value
				}
			}
			if err := h.alterBrokerConfigs(rr.ResourceName, configs, nil, r.ValidateOnly); err != nil {
				res.ErrorCode, res.ErrorMessage = errorCode(err), errorMessage(err)
			}
		default:
			res.ErrorCode = kerr.InvalidRequest.Code
		}
		resp.Resources = append(resp.Resources, res)
	}
	return respond(resp)
}
