package handler

// IncrementalAlterConfigs: v0-1
//
// Behavior:
// * TOPIC: applies SET (0), DELETE (1), APPEND (2) and SUBTRACT (3, list
//   configs) to the topic's current overrides; the result is validated as a
//   whole (INVALID_CONFIG, nothing changes); validate-only checks only
// * BROKER: this broker's id or "" (the cluster default) changes its dynamic
//   configs: the topic defaults (log.*, message.max.bytes, ...) apply to
//   every partition at once, unknown names are kept; a config Samsa reads at
//   start-up only, a bad value or another broker id → INVALID_REQUEST, as
//   Kafka answers
// * BROKER_LOGGER: this broker's id; SET a logger's level (TRACE, DEBUG,
//   INFO, WARN, ERROR, FATAL) or DELETE it (follow the root again), checked
//   all first: an unknown logger or level → INVALID_CONFIG, APPEND,
//   SUBTRACT or deleting root → INVALID_REQUEST
// * GROUP (KIP-848): SET or DELETE consumer.session.timeout.ms and
//   consumer.heartbeat.interval.ms, checked as a whole against the broker's
//   group.consumer.min/max.* ranges: an unknown name or a value out of range
//   → INVALID_CONFIG; applies from the group's next heartbeat
// * Needs ALTER_CONFIGS on the topic or group, or on the cluster for BROKER and
//   BROKER_LOGGER
//
// Version notes:
// * v1: flexible

import (
	"context"
	"strings"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/samsa-broker/samsa/internal/acl"
	"github.com/samsa-broker/samsa/internal/config"
	"github.com/samsa-broker/samsa/internal/conn"
	"github.com/samsa-broker/samsa/internal/topics"
)

func (h *Handler) handleIncrementalAlterConfigs(_ context.Context, req *conn.Request) conn.Reply {
	r := req.Body.(*kmsg.IncrementalAlterConfigsRequest)
	resp := r.ResponseKind().(*kmsg.IncrementalAlterConfigsResponse)
	for _, rr := range r.Resources {
		res := kmsg.NewIncrementalAlterConfigsResponseResource()
		res.ResourceType, res.ResourceName = rr.ResourceType, rr.ResourceName
		if code := h.configsDenied(req, acl.OpAlterConfigs, int8(rr.ResourceType), rr.ResourceName); code != 0 {
			res.ErrorCode = code
			resp.Resources = append(resp.Resources, res)
			continue
		}
		switch rr.ResourceType {
		case resourceTopic:
			if err := h.incrementalAlterTopic(rr, r.ValidateOnly); err != nil {
				res.ErrorCode, res.ErrorMessage = errorCode(err), errorMessage(err)
			}
		case resourceBroker:
			ops := rr.Configs
			if ops == nil {
				ops = []kmsg.IncrementalAlterConfigsRequestResourceConfig{}
			}
			if err := h.alterBrokerConfigs(rr.ResourceName, nil, ops, r.ValidateOnly); err != nil {
				res.ErrorCode, res.ErrorMessage = errorCode(err), errorMessage(err)
			}
		case resourceBrokerLogger:
			if err := h.alterBrokerLoggers(rr.ResourceName, rr.Configs, r.ValidateOnly); err != nil {
				res.ErrorCode, res.ErrorMessage = errorCode(err), errorMessage(err)
			}
		case resourceGroup:
			if err := h.incrementalAlterGroup(rr, r.ValidateOnly); err != nil {
				res.ErrorCode, res.ErrorMessage = errorCode(err), errorMessage(err)
			}
		default:
			res.ErrorCode = kerr.InvalidRequest.Code
		}
		resp.Resources = append(resp.Resources, res)
	}
	return respond(resp)
}

func (h *Handler) incrementalAlterTopic(rr kmsg.IncrementalAlterConfigsRequestResource, validateOnly bool) error {
	isList := func(name string) bool {
		info, ok := config.DescribeTopic(name)
		return ok && info.Type == config.TypeList
	}
	return h.catalog.UpdateConfigs(rr.ResourceName, func(current map[string]string) (map[string]string, error) {
		base := func(name string) []string { return h.opts.Broker.TopicList(current, name) }
		return applyConfigOps(current, rr.Configs, isList, base, topics.ErrInvalidConfig)
	}, validateOnly)
}

func splitList(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}
